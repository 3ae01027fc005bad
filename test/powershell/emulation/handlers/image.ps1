# What prepare-image reads and removes on a build VM (remote-access.ps1, image-check.ps1):
# - NetSecurity Get-NetFirewallPortFilter (MSFT_NetProtocolPortFilter, InstanceID = the rule's Name) and
#   Remove-NetFirewallRule over state.firewallRules;
# - (Remove-WSManInstance is wsman.ps1's);
# - BitLocker Get-BitLockerVolume over state.bitLocker ({volumes: [{mountPoint, volumeStatus,
#   protectionStatus, encryptionPercentage}]}); without state.bitLocker the module is not installed
#   (Windows Server without the BitLocker feature): CommandNotFoundException, as PowerShell raises it;
# - Appx Get-AppxPackage -AllUsers over state.appx ({packages: [{name, publisherId, version, architecture,
#   isFramework, signatureKind, users: [sid]}]}); without state.appx the module is absent (Server Core).
# Provisioned packages are registry keys (AppxAllUserStore\Applications\<full name>) in state.registry.

function Write-EmuModuleMissing($Cmdlet, [string] $Command) {
    $message = 'The term ''' + $Command + ''' is not recognized as the name of a cmdlet, function, script file, or operable program.'
    $exception = [System.Management.Automation.CommandNotFoundException]::new($message)
    Write-EmuError -Cmdlet $Cmdlet -Exception $exception -ErrorId 'CommandNotFoundException' -Category ObjectNotFound -Target $Command -Terminating
}

$script:Handlers['Get-NetFirewallPortFilter'] = {
    param($Cmdlet, $Bound, $Fault)
    foreach ($rule in (Get-EmuList (Get-EmuState) 'firewallRules')) {
        $protocol = [string]$rule['protocol']
        if ($Bound.Contains('Protocol') -and $protocol -ne [string]$Bound['Protocol']) { continue }
        $ports = @()
        if ($null -ne $rule['localPort']) { $ports = @($rule['localPort'] | Microsoft.PowerShell.Core\ForEach-Object { [string]$_ }) }
        if ($ports.Count -eq 0) { $ports = @('Any') }
        ConvertTo-EmuCimObject -ClassName 'MSFT_NetProtocolPortFilter' -Namespace 'ROOT/StandardCimv2' -Properties ([ordered]@{
                InstanceID = [string]$rule['name']; Protocol = $protocol; LocalPort = $ports; RemotePort = @('Any')
            })
    }
}

$script:Handlers['Remove-NetFirewallRule'] = {
    param($Cmdlet, $Bound, $Fault)
    $rules = Get-EmuList (Get-EmuState) 'firewallRules'
    foreach ($name in @($Bound['Name'])) {
        $rule = Find-EmuFirewallRule $name
        if ($null -eq $rule) { Write-EmuFirewallRuleNotFound -Cmdlet $Cmdlet -Name $name; continue }
        if (-not $Cmdlet.ShouldProcess($name, 'Remove-NetFirewallRule')) { continue }
        $null = $rules.Remove($rule)
    }
    Save-EmuState
}

$script:Handlers['Get-BitLockerVolume'] = {
    param($Cmdlet, $Bound, $Fault)
    $state = Get-EmuState
    if (-not $state.ContainsKey('bitLocker')) { Write-EmuModuleMissing $Cmdlet 'Get-BitLockerVolume' }
    foreach ($volume in (Get-EmuList (Get-EmuMap $state 'bitLocker') 'volumes')) {
        if ($Bound.Contains('MountPoint') -and @($Bound['MountPoint']) -notcontains [string]$volume['mountPoint']) { continue }
        # BitLockerVolume's properties as the BitLocker module returns them (enum values as their names).
        [pscustomobject]@{
            ComputerName = 'WIN-IMG4SYSPREP'; MountPoint = [string]$volume['mountPoint']; VolumeType = 'OperatingSystem'
            VolumeStatus = [string]$volume['volumeStatus']; ProtectionStatus = [string]$volume['protectionStatus']
            EncryptionPercentage = [single]$volume['encryptionPercentage']; KeyProtector = @()
        }
    }
}

$script:Handlers['Get-AppxPackage'] = {
    param($Cmdlet, $Bound, $Fault)
    $state = Get-EmuState
    if (-not $state.ContainsKey('appx')) { Write-EmuModuleMissing $Cmdlet 'Get-AppxPackage' }
    foreach ($package in (Get-EmuList (Get-EmuMap $state 'appx') 'packages')) {
        $users = @($package['users'])
        if (-not [bool]$Bound['AllUsers'] -and $users.Count -eq 0) { continue }
        $name = [string]$package['name']
        $fullName = $name + '_' + [string]$package['version'] + '_' + [string]$package['architecture'] + '__' + [string]$package['publisherId']
        $information = @($users | Microsoft.PowerShell.Core\ForEach-Object { [pscustomobject]@{ UserSecurityId = [pscustomobject]@{ Sid = [string]$_ }; InstallState = 'Installed' } })
        [pscustomobject]@{
            Name = $name; PackageFullName = $fullName; PackageFamilyName = ($name + '_' + [string]$package['publisherId'])
            PublisherId = [string]$package['publisherId']; Version = [string]$package['version']; Architecture = [string]$package['architecture']
            IsFramework = [bool]$package['isFramework']; SignatureKind = [string]$package['signatureKind']; NonRemovable = $false
            PackageUserInformation = $information
        }
    }
}
