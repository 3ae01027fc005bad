# Hyper-V data exchange (KVP): values under HKLM\SOFTWARE\Microsoft\Virtual Machine\Guest are sent by
# the integration services to the host, where the platform reads PROVISIONING_REPORT. The TypeScript
# side has already cut the value to 1024 UTF-8 bytes, the size Azure reads (cloud-init's
# HV_KVP_AZURE_MAX_VALUE_SIZE).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Set-WinprovKvpReport {
    param([Parameter(Mandatory = $true)] $Request)
    $key = [Microsoft.Win32.Registry]::LocalMachine.CreateSubKey('SOFTWARE\Microsoft\Virtual Machine\Guest')
    try {
        $key.SetValue('PROVISIONING_REPORT', [string]$Request.report, [Microsoft.Win32.RegistryValueKind]::String)
    } finally {
        $key.Close()
    }
    return @{ written = $true }
}

# Other values winprov publishes beside PROVISIONING_REPORT: only the names listed here (the first-boot
# script's outcome, src/first-boot/publish.ts), so a request can never write an arbitrary value name.
function Set-WinprovKvpValue {
    param([Parameter(Mandatory = $true)] $Request)
    $name = [string]$Request.name
    if (@('FIRST_BOOT_SCRIPT') -notcontains $name) {
        throw 'the KVP value name is not one winprov writes'
    }
    $key = [Microsoft.Win32.Registry]::LocalMachine.CreateSubKey('SOFTWARE\Microsoft\Virtual Machine\Guest')
    try {
        $key.SetValue($name, [string]$Request.value, [Microsoft.Win32.RegistryValueKind]::String)
    } finally {
        $key.Close()
    }
    return @{ written = $true }
}
