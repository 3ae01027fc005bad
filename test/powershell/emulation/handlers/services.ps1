# Microsoft.PowerShell.Management service cmdlets: state.services ({name, displayName, status, startType}).

function Find-EmuService([string] $Name) { return [WinprovEmulation.ServiceController]::Find($Name) }

function Write-EmuServiceNotFound($Cmdlet, [string] $Name, [string] $ErrorId) {
    $message = 'Cannot find any service with service name ''' + $Name + '''.'
    Write-EmuError -Cmdlet $Cmdlet -Exception ([System.InvalidOperationException]::new($message)) -ErrorId $ErrorId -Category ObjectNotFound -Target $Name
}

function Get-EmuServiceNames($Bound) {
    if ($Bound.Contains('InputObject')) { return @(@($Bound['InputObject']).ForEach({ [string]$_.Name })) }
    return @($Bound['Name'])
}

$script:Handlers['Get-Service'] = {
    param($Cmdlet, $Bound, $Fault)
    $services = Get-EmuList (Get-EmuState) 'services'
    if (-not $Bound.Contains('Name')) {
        foreach ($service in $services) { [WinprovEmulation.ServiceController]::new($service) }
        return
    }
    foreach ($name in @($Bound['Name'])) {
        $matched = $false
        foreach ($service in $services) {
            if ([string]$service['name'] -like [string]$name) { $matched = $true; [WinprovEmulation.ServiceController]::new($service) }
        }
        if (-not $matched -and -not [System.Management.Automation.WildcardPattern]::ContainsWildcardCharacters([string]$name)) {
            Write-EmuServiceNotFound $Cmdlet $name 'NoServiceFoundForGivenName'
        }
    }
}

$script:Handlers['Set-Service'] = {
    param($Cmdlet, $Bound, $Fault)
    foreach ($name in (Get-EmuServiceNames $Bound)) {
        $service = Find-EmuService $name
        if ($null -eq $service) {
            $message = 'Service ' + $name + ' was not found on computer ''.''.'
            Write-EmuError -Cmdlet $Cmdlet -Exception ([System.InvalidOperationException]::new($message)) -ErrorId 'InvalidOperationException' -Category ObjectNotFound -Target $name
            continue
        }
        if (-not $Cmdlet.ShouldProcess($name, 'Set-Service')) { continue }
        if ($Bound.Contains('StartupType')) {
            $service['startType'] = [string]$Bound['StartupType']
            # The Start value under the service's key, as services.exe keeps it.
            $start = @{ Boot = 0; System = 1; Automatic = 2; Manual = 3; Disabled = 4 }[[string]$Bound['StartupType']]
            $registry = Get-EmuMap (Get-EmuState) 'registry'
            $key = Get-EmuMap $registry ('SYSTEM\CurrentControlSet\Services\' + [string]$service['name'])
            $key['Start'] = @{ kind = 'DWord'; data = [long]$start }
        }
        if ($Bound.Contains('DisplayName')) { $service['displayName'] = [string]$Bound['DisplayName'] }
        if ($Bound.Contains('Status')) { $service['status'] = [string]$Bound['Status'] }
    }
    Save-EmuState
}

$script:Handlers['Start-Service'] = {
    param($Cmdlet, $Bound, $Fault)
    foreach ($name in (Get-EmuServiceNames $Bound)) {
        $service = Find-EmuService $name
        if ($null -eq $service) { Write-EmuServiceNotFound $Cmdlet $name 'NoServiceFoundForGivenName'; continue }
        if ([string]$service['startType'] -eq 'Disabled' -or [bool]$service['failsToStart']) {
            $inner = [WinprovEmulation.Errors]::Win32(1058, 'The service cannot be started, either because it is disabled or because it has no enabled devices associated with it.')
            if ([bool]$service['failsToStart']) { $inner = [WinprovEmulation.Errors]::Win32(1053, 'The service did not respond to the start or control request in a timely fashion.') }
            $message = 'Service ''' + [string]$service['displayName'] + ' (' + $name + ')'' cannot be started due to the following error: Cannot start service ' + $name + ' on computer ''.''.'
            $exception = [System.InvalidOperationException]::new($message, [System.InvalidOperationException]::new('Cannot start service ' + $name + ' on computer ''.''.', $inner))
            Write-EmuError -Cmdlet $Cmdlet -Exception $exception -ErrorId 'CouldNotStartService' -Category OpenError -Target $name
            continue
        }
        if (-not $Cmdlet.ShouldProcess($name, 'Start-Service')) { continue }
        $service['status'] = 'Running'
    }
    Save-EmuState
}
