# The Windows Guest Agent services. The image keeps them Disabled; winprov sets them Automatic only
# when the VM asks for the guest agent, and never starts them: a guest agent that runs before Ready is
# reported makes the fabric fail the deployment (OSProvisioningClientError).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Get-WinprovGuestAgentControllers {
    # The installed ones among RdAgent, WindowsAzureGuestAgent, WindowsAzureTelemetryService (exact
    # names: Get-Service -Name would treat wildcard characters as a pattern).
    param()
    $names = @('RdAgent', 'WindowsAzureGuestAgent', 'WindowsAzureTelemetryService')
    $all = @(Get-Service)
    foreach ($name in $names) {
        $service = @($all | Where-Object { $_.Name -eq $name }) | Select-Object -First 1
        if ($null -ne $service) { $service }
    }
}

function Get-WinprovGuestAgentServices {
    # StartType is the .NET ServiceStartMode name (Automatic, Manual, Disabled), never localized;
    # delayed automatic start reads as Automatic in Windows PowerShell 5.1.
    param([Parameter(Mandatory = $true)] [AllowNull()] $Request)
    $installed = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($service in @(Get-WinprovGuestAgentControllers)) {
        $service.Refresh()
        $installed.Add(@{
                name = [string]$service.Name
                startMode = [string]$service.StartType
                running = ($service.Status -eq [System.ServiceProcess.ServiceControllerStatus]::Running)
            })
    }
    return @{ installed = $installed.ToArray() }
}

function Set-WinprovGuestAgentServices {
    param([Parameter(Mandatory = $true)] $Request)
    $mode = 'Disabled'
    if ([bool]$Request.enabled) { $mode = 'Automatic' }
    foreach ($service in @(Get-WinprovGuestAgentControllers)) {
        Set-Service -Name $service.Name -StartupType $mode
    }
    return (Get-WinprovGuestAgentServices -Request $Request)
}
