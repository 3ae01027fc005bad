# What `winprov prepare-image --check` needs to know about the build VM before sysprep (README "Baking
# winprov into an image"): facts only, read without changing anything; cli/image-check.ts turns them into
# OK, WARN and FAIL with the fix. Registry values are read with .NET (no provider, no module).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Test-WinprovRegistryKey {
    param([Parameter(Mandatory = $true)] [string] $Path)
    $key = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey($Path)
    if ($null -eq $key) { return $false }
    $key.Close()
    return $true
}

function Get-WinprovRegistryValue {
    # One HKLM (or, with -CurrentUser, HKCU) value, $null when the key or the value is absent.
    param(
        [Parameter(Mandatory = $true)] [string] $Path,
        [Parameter(Mandatory = $true)] [string] $Name,
        [switch] $CurrentUser
    )
    $hive = [Microsoft.Win32.Registry]::LocalMachine
    if ($CurrentUser) { $hive = [Microsoft.Win32.Registry]::CurrentUser }
    $key = $hive.OpenSubKey($Path)
    if ($null -eq $key) { return $null }
    try {
        return $key.GetValue($Name)
    } finally {
        $key.Close()
    }
}

function Get-WinprovBitLockerFact {
    # Sysprep cannot generalize an encrypted OS volume. The BitLocker module exists only where the
    # BitLocker feature is installed (Windows Server); without it the volume cannot be encrypted.
    param([Parameter(Mandatory = $true)] [string] $MountPoint)
    try {
        $volume = @(Get-BitLockerVolume -MountPoint $MountPoint -ErrorAction Stop) | Select-Object -First 1
    } catch [System.Management.Automation.CommandNotFoundException] {
        return @{ available = $false }
    }
    if ($null -eq $volume) { return @{ available = $false } }
    return @{
        available = $true
        mountPoint = $MountPoint
        volumeStatus = [string]$volume.VolumeStatus
        protectionStatus = [string]$volume.ProtectionStatus
        encryptionPercentage = [double]$volume.EncryptionPercentage
    }
}

function Get-WinprovAppxFact {
    # Sysprep fails on a package "installed for a user, but not provisioned for all users" (Microsoft's
    # KB 2769827). Installed packages: Get-AppxPackage -AllUsers (Appx module, in Windows PowerShell 5.1).
    # Provisioned ones: Get-AppxProvisionedPackage belongs to the DISM module, which the 5.1 profile this
    # project checks against does not cover; the same list is the subkeys of AppxAllUserStore\Applications
    # (one per provisioned package full name; its sibling Deprovisioned is the key Microsoft documents for
    # keeping removed apps from returning), read here.
    param()
    try {
        $packages = @(Get-AppxPackage -AllUsers -ErrorAction Stop)
    } catch [System.Management.Automation.CommandNotFoundException] {
        return @{ available = $false }
    }
    $installed = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($package in $packages) {
        $users = 0
        if ($null -ne $package.PSObject.Properties['PackageUserInformation']) {
            foreach ($information in @($package.PackageUserInformation)) {
                if ($null -ne $information -and [string]$information.InstallState -eq 'Installed') { $users += 1 }
            }
        }
        $installed.Add(@{
                name = [string]$package.Name
                fullName = [string]$package.PackageFullName
                publisherId = [string]$package.PublisherId
                isFramework = [bool]$package.IsFramework
                signatureKind = [string]$package.SignatureKind
                installedUsers = $users
            })
    }
    $provisioned = New-Object -TypeName System.Collections.Generic.List[string]
    $store = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey('SOFTWARE\Microsoft\Windows\CurrentVersion\Appx\AppxAllUserStore\Applications')
    if ($null -ne $store) {
        try {
            foreach ($name in $store.GetSubKeyNames()) { $provisioned.Add([string]$name) }
        } finally {
            $store.Close()
        }
    }
    return @{ available = $true; installed = $installed.ToArray(); provisioned = $provisioned.ToArray() }
}

function Get-WinprovPendingReboot {
    # The places Windows records a reboot it still owes: servicing (a reboot, or packages waiting for
    # one), Windows Update, and file renames (both lists Session Manager keeps).
    param()
    $pending = New-Object -TypeName System.Collections.Generic.List[string]
    if (Test-WinprovRegistryKey -Path 'SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending') { $pending.Add('Component Based Servicing\RebootPending') }
    if (Test-WinprovRegistryKey -Path 'SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\PackagesPending') { $pending.Add('Component Based Servicing\PackagesPending') }
    if (Test-WinprovRegistryKey -Path 'SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired') { $pending.Add('WindowsUpdate\Auto Update\RebootRequired') }
    foreach ($name in @('PendingFileRenameOperations', 'PendingFileRenameOperations2')) {
        $renames = Get-WinprovRegistryValue -Path 'SYSTEM\CurrentControlSet\Control\Session Manager' -Name $name
        if ($null -ne $renames -and @($renames | Where-Object { [string]$_ -ne '' }).Count -gt 0) { $pending.Add('Session Manager\' + $name) }
    }
    return $pending.ToArray()
}

function Get-WinprovPolicyExecutionPolicy {
    # The Group Policy execution policy of one scope, as PowerShell derives it: EnableScripts 0 is
    # Restricted, 1 takes ExecutionPolicy; '' when the policy is not configured (bootstrap.ps1 refuses
    # the session for Restricted and AllSigned before this script runs).
    param([switch] $CurrentUser)
    $path = 'SOFTWARE\Policies\Microsoft\Windows\PowerShell'
    $enable = Get-WinprovRegistryValue -Path $path -Name 'EnableScripts' -CurrentUser:$CurrentUser
    if ($null -eq $enable) { return '' }
    if ([int]$enable -eq 0) { return 'Restricted' }
    return [string](Get-WinprovRegistryValue -Path $path -Name 'ExecutionPolicy' -CurrentUser:$CurrentUser)
}

function Test-WinprovPolicyFlag {
    param([Parameter(Mandatory = $true)] [string] $Path, [Parameter(Mandatory = $true)] [string] $Name)
    $value = Get-WinprovRegistryValue -Path ('SOFTWARE\Policies\Microsoft\Windows\PowerShell\' + $Path) -Name $Name
    return ($null -ne $value -and [string]$value -eq '1')
}

function Get-WinprovImageFacts {
    param([Parameter(Mandatory = $true)] $Request)
    return @{
        bitLocker = (Get-WinprovBitLockerFact -MountPoint ([string]$Request.systemDrive))
        appx = (Get-WinprovAppxFact)
        pendingReboot = @(Get-WinprovPendingReboot)
        imageState = [string](Get-WinprovRegistryValue -Path 'SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' -Name 'ImageState')
        executionPolicy = @{ machinePolicy = (Get-WinprovPolicyExecutionPolicy); userPolicy = (Get-WinprovPolicyExecutionPolicy -CurrentUser) }
        logging = @{
            moduleLogging = (Test-WinprovPolicyFlag -Path 'ModuleLogging' -Name 'EnableModuleLogging')
            scriptBlockLogging = (Test-WinprovPolicyFlag -Path 'ScriptBlockLogging' -Name 'EnableScriptBlockLogging')
            transcription = (Test-WinprovPolicyFlag -Path 'Transcription' -Name 'EnableTranscripting')
        }
    }
}
