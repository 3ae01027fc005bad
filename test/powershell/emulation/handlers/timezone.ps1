# Get-TimeZone / Set-TimeZone: state.timeZone.id, a Windows time zone id. .NET on Linux knows the
# Windows ids (through ICU), so the real TimeZoneInfo answers.

$script:Handlers['Get-TimeZone'] = {
    param($Cmdlet, $Bound, $Fault)
    if ([bool]$Bound['ListAvailable']) { [System.TimeZoneInfo]::GetSystemTimeZones(); return }
    [System.TimeZoneInfo]::FindSystemTimeZoneById([string](Get-EmuMap (Get-EmuState) 'timeZone')['id'])
}

$script:Handlers['Set-TimeZone'] = {
    param($Cmdlet, $Bound, $Fault)
    $id = $null
    if ($Bound.Contains('Id')) { $id = [string]$Bound['Id'] }
    elseif ($Bound.Contains('InputObject')) { $id = [string]$Bound['InputObject'].Id }
    else {
        foreach ($zone in [System.TimeZoneInfo]::GetSystemTimeZones()) { if ($zone.StandardName -eq [string]$Bound['Name']) { $id = $zone.Id } }
    }
    $zone = $null
    $iana = $null
    if ($null -ne $id -and [System.TimeZoneInfo]::TryConvertWindowsIdToIanaId($id, [ref]$iana)) {
        try { $zone = [System.TimeZoneInfo]::FindSystemTimeZoneById($id) } catch { $zone = $null }
    }
    if ($null -eq $zone) {
        $message = 'The time zone ''' + [string]$id + ''' was not found on the local computer.'
        Write-EmuError -Cmdlet $Cmdlet -Exception ([System.TimeZoneNotFoundException]::new($message)) -ErrorId 'TimeZoneNotFound' -Category InvalidArgument -Target $id -Terminating
    }
    if (-not $Cmdlet.ShouldProcess($id, 'Set-TimeZone')) { return }
    (Get-EmuMap (Get-EmuState) 'timeZone')['id'] = $zone.Id
    $registry = Get-EmuMap (Get-EmuState) 'registry'
    (Get-EmuMap $registry 'SYSTEM\CurrentControlSet\Control\TimeZoneInformation')['TimeZoneKeyName'] = @{ kind = 'String'; data = $zone.Id }
    Save-EmuState
    if ([bool]$Bound['PassThru']) { $zone }
}
