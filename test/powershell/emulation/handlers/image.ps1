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

# Remove-Item on the certificate provider's paths only (Cert:\LocalMachine\<store>\<thumbprint>), the one
# use remote-access.ps1 makes of it: the certificate goes from state.certificates, and with -DeleteKey its
# private key from state.machineKeys (the public keys of the key containers in MachineKeys; X509Store.Add
# of a certificate with a key puts one there, X509Store.Remove leaves it, as Windows does).
$script:Handlers['Remove-Item'] = {
    param($Cmdlet, $Bound, $Fault)
    $paths = @($Bound['Path']) + @($Bound['LiteralPath']) | Microsoft.PowerShell.Core\Where-Object { $null -ne $_ }
    foreach ($path in $paths) {
        if ([string]$path -notmatch '^Cert:\\LocalMachine\\([^\\]+)\\([0-9A-Fa-f]{40})$') {
            Write-EmuError -Cmdlet $Cmdlet -Exception ([System.NotImplementedException]::new('the Windows emulation removes only Cert:\LocalMachine\<store>\<thumbprint> items, not ' + $path)) -ErrorId 'EmulationNotImplemented' -Category NotImplemented -Terminating
        }
        $storeName = $Matches[1]
        $thumbprint = $Matches[2].ToUpperInvariant()
        $stores = Get-EmuMap (Get-EmuState) 'certificates'
        $entry = $null
        $list = $null
        foreach ($name in $stores.Keys) {
            if ($name -ne $storeName) { continue }
            $list = $stores[$name]
            foreach ($candidate in $list) { if (([string]$candidate['thumbprint']).ToUpperInvariant() -eq $thumbprint) { $entry = $candidate } }
        }
        if ($null -eq $entry) {
            $message = 'Cannot find path ''' + $path + ''' because it does not exist.'
            Write-EmuError -Cmdlet $Cmdlet -Exception ([System.Management.Automation.ItemNotFoundException]::new($message)) -ErrorId 'PathNotFound' -Category ObjectNotFound -Target $path
            continue
        }
        if ([bool]$Bound['DeleteKey'] -and [bool]$entry['hasPrivateKey']) {
            $publicKey = [WinprovEmulation.FakeX509Store]::FromState($entry).GetPublicKeyString()
            $null = (Get-EmuList (Get-EmuState) 'machineKeys').Remove($publicKey)
        }
        $null = $list.Remove($entry)
    }
    Save-EmuState
}
