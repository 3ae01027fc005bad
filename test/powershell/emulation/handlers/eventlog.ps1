# Get-WinEvent -FilterHashtable over state.eventLog.entries (written by the fake EventLog, Fakes.cs).

$script:Handlers['Get-WinEvent'] = {
    param($Cmdlet, $Bound, $Fault)
    if (-not $Bound.Contains('FilterHashtable')) {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([System.NotImplementedException]::new('the emulation answers Get-WinEvent -FilterHashtable only')) -ErrorId 'EmulationNotImplemented' -Category NotImplemented -Terminating
    }
    $eventLog = Get-EmuMap (Get-EmuState) 'eventLog'
    $sources = Get-EmuMap $eventLog 'sources'
    $selected = [System.Collections.Generic.List[object]]::new()
    foreach ($filter in @($Bound['FilterHashtable'])) {
        $logs = @($filter['LogName'])
        $providers = @()
        if ($filter.ContainsKey('ProviderName')) {
            $providers = @($filter['ProviderName'])
            foreach ($provider in $providers) {
                $known = $false
                foreach ($log in $sources.Keys) { if (@($sources[$log]) -contains $provider) { $known = $true } }
                if (-not $known) {
                    $message = 'There is not an event provider on the localhost computer that matches "' + $provider + '".'
                    Write-EmuError -Cmdlet $Cmdlet -Exception ([System.Exception]::new($message)) -ErrorId 'NoMatchingProvidersFound' -Category ObjectNotFound -Target $provider
                    return
                }
            }
        }
        $levels = @()
        if ($filter.ContainsKey('Level')) { $levels = @($filter['Level'] | Microsoft.PowerShell.Core\ForEach-Object { [int]$_ }) }
        foreach ($entry in (Get-EmuList $eventLog 'entries')) {
            if ($filter.ContainsKey('LogName') -and $logs -notcontains [string]$entry['log']) { continue }
            if ($providers.Count -gt 0 -and $providers -notcontains [string]$entry['source']) { continue }
            if ($levels.Count -gt 0 -and $levels -notcontains [int]$entry['level']) { continue }
            if ($filter.ContainsKey('Id') -and @($filter['Id']) -notcontains [int]$entry['id']) { continue }
            $selected.Add($entry)
        }
    }
    if ($selected.Count -eq 0) {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([System.Exception]::new('No events were found that match the specified selection criteria.')) -ErrorId 'NoMatchingEventsFound' -Category ObjectNotFound -Target $null
        return
    }
    # Newest first, as Get-WinEvent reads.
    $ordered = @($selected.ToArray())
    [array]::Reverse($ordered)
    $max = [int]::MaxValue
    if ($Bound.Contains('MaxEvents')) { $max = [int]$Bound['MaxEvents'] }
    $count = 0
    foreach ($entry in $ordered) {
        if ($count -ge $max) { break }
        $count++
        $record = [pscustomobject]@{
            Id = [int]$entry['id']; Level = [byte]$entry['level']; ProviderName = [string]$entry['source']; LogName = [string]$entry['log']
            TimeCreated = [datetime]::Parse([string]$entry['timeCreated'], [System.Globalization.CultureInfo]::InvariantCulture, [System.Globalization.DateTimeStyles]::RoundtripKind)
            Message = [string]$entry['message']; RecordId = [long]$entry['recordId']
            Properties = @([pscustomobject]@{ Value = [string]$entry['message'] })
        }
        $record.PSObject.TypeNames.Insert(0, 'System.Diagnostics.Eventing.Reader.EventLogRecord')
        $record
    }
}
