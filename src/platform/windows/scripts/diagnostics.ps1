# Read-only facts for collect-logs: the registry values that tell how Windows Setup, DHCP and the guest
# agent hand-off went, and extracts of the Application (source winprov) and System event logs. Every key
# and value name is fixed here and every key is opened read-only. Nothing secret is read on purpose:
# DhcpInterfaceOptions (raw DHCP options) is left out, and neither custom data nor ovf-env.xml is opened.
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function ConvertTo-WinprovRegistryValue {
    # One value as JSON carries it: strings as stored (REG_EXPAND_SZ not expanded), REG_MULTI_SZ as an
    # array, REG_DWORD and REG_QWORD as unsigned decimal text (.NET hands them over signed, and JSON
    # numbers lose precision above 2^53), binary as base64 of at most its first 256 bytes.
    param(
        [Parameter(Mandatory = $true)] [Microsoft.Win32.RegistryKey] $Key,
        [Parameter(Mandatory = $true)] [AllowEmptyString()] [string] $Name
    )
    $kind = $Key.GetValueKind($Name)
    $raw = $Key.GetValue($Name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
    $data = $null
    $length = 0
    if ($kind -eq [Microsoft.Win32.RegistryValueKind]::DWord) {
        $data = [string][System.BitConverter]::ToUInt32([System.BitConverter]::GetBytes([int]$raw), 0)
    } elseif ($kind -eq [Microsoft.Win32.RegistryValueKind]::QWord) {
        $data = [string][System.BitConverter]::ToUInt64([System.BitConverter]::GetBytes([long]$raw), 0)
    } elseif ($kind -eq [Microsoft.Win32.RegistryValueKind]::MultiString) {
        $data = @([string[]]$raw)
    } elseif ($kind -eq [Microsoft.Win32.RegistryValueKind]::String -or $kind -eq [Microsoft.Win32.RegistryValueKind]::ExpandString) {
        $data = [string]$raw
    } elseif ($raw -is [byte[]]) {
        $length = $raw.Length
        $data = [System.Convert]::ToBase64String($raw, 0, [System.Math]::Min($raw.Length, 256))
    }
    return @{ name = $Name; kind = [string]$kind; data = $data; length = $length }
}

function Get-WinprovRegistryKey {
    # One HKLM key: the named values, or all of its values when no names are given. A missing key, a
    # missing value or a key this account may not read is reported, never a failure of the whole verb.
    param(
        [Parameter(Mandatory = $true)] [string] $Path,
        [string[]] $Names
    )
    $values = New-Object -TypeName System.Collections.Generic.List[object]
    $missing = New-Object -TypeName System.Collections.Generic.List[string]
    $entry = @{ path = ('HKLM\' + $Path); exists = $false; values = @(); missing = @(); error = $null }
    try {
        $key = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey($Path, $false)
        if ($null -eq $key) { return $entry }
        try {
            $entry.exists = $true
            $present = @($key.GetValueNames())
            $wanted = $present
            if ($null -ne $Names -and $Names.Count -gt 0) { $wanted = $Names }
            foreach ($name in $wanted) {
                if ($present -notcontains $name) { $missing.Add($name); continue }
                $values.Add((ConvertTo-WinprovRegistryValue -Key $key -Name $name))
            }
        } finally {
            $key.Close()
        }
    } catch {
        $entry.error = $_.ToString()
    }
    $entry.values = $values.ToArray()
    $entry.missing = $missing.ToArray()
    return $entry
}

function Get-WinprovRegistryFacts {
    # Setup state, sysprep state, Hyper-V KVP pools, the Azure guest agent's keys, each interface's DHCP
    # state and the guest agent services' start values, in that order.
    param()
    $keys = New-Object -TypeName System.Collections.Generic.List[object]
    $keys.Add((Get-WinprovRegistryKey -Path 'SYSTEM\Setup' -Names @('SystemSetupInProgress', 'SetupType', 'CmdLine', 'OOBEInProgress', 'SetupPhase', 'RestartSetup')))
    $keys.Add((Get-WinprovRegistryKey -Path 'SYSTEM\Setup\Status\SysprepStatus'))
    $keys.Add((Get-WinprovRegistryKey -Path 'SOFTWARE\Microsoft\Virtual Machine\Guest'))
    $keys.Add((Get-WinprovRegistryKey -Path 'SOFTWARE\Microsoft\Virtual Machine\Guest\Parameters'))
    $keys.Add((Get-WinprovRegistryKey -Path 'SOFTWARE\Microsoft\Windows Azure'))
    $keys.Add((Get-WinprovRegistryKey -Path 'SOFTWARE\Microsoft\GuestAgent'))
    $keys.Add((Get-WinprovRegistryKey -Path 'SYSTEM\CurrentControlSet\Services\EventLog\Application\winprov'))
    $interfacesPath = 'SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces'
    $interfaces = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey($interfacesPath, $false)
    if ($null -ne $interfaces) {
        try { $interfaceIds = @($interfaces.GetSubKeyNames() | Sort-Object) } finally { $interfaces.Close() }
        foreach ($interfaceId in $interfaceIds) {
            # The key names come from Windows ({GUID} per interface) and only ever name a subkey.
            $keys.Add((Get-WinprovRegistryKey -Path ($interfacesPath + '\' + $interfaceId) -Names @('EnableDHCP', 'DhcpIPAddress', 'DhcpSubnetMask', 'DhcpServer', 'DhcpDefaultGateway', 'IPAddress', 'DefaultGateway')))
        }
    }
    foreach ($service in @('RdAgent', 'WindowsAzureGuestAgent', 'WindowsAzureTelemetryService')) {
        $keys.Add((Get-WinprovRegistryKey -Path ('SYSTEM\CurrentControlSet\Services\' + $service) -Names @('Start', 'DelayedAutostart', 'ImagePath')))
    }
    return $keys.ToArray()
}

function Get-WinprovEventExtract {
    # The newest events matching the filter: UTC time, id, level number (its display name is localized),
    # provider and message. "No events were found" (NoMatchingEventsFound) is an empty extract; any other
    # failure, such as a provider that was never registered, is reported as text.
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Filter,
        [Parameter(Mandatory = $true)] [int] $MaxEvents
    )
    $events = New-Object -TypeName System.Collections.Generic.List[object]
    try {
        $records = @(Get-WinEvent -FilterHashtable $Filter -MaxEvents $MaxEvents -ErrorAction Stop)
    } catch {
        if ([string]$_.FullyQualifiedErrorId -like 'NoMatchingEventsFound*') { return @{ events = @(); error = $null } }
        return @{ events = @(); error = $_.ToString() }
    }
    foreach ($record in $records) {
        $message = $null
        try { $message = [string]$record.Message } catch { $message = $null }
        if ([string]::IsNullOrEmpty($message)) {
            # No message text (the source's message file is missing): the insertion strings still tell.
            $inserts = @($record.Properties | ForEach-Object { [string]$_.Value })
            $message = '(no message text; insertion strings: ' + ($inserts -join ' | ') + ')'
        }
        if ($message.Length -gt 8000) { $message = $message.Substring(0, 8000) + ' [cut at 8000 characters]' }
        $time = ''
        if ($null -ne $record.TimeCreated) { $time = $record.TimeCreated.ToUniversalTime().ToString('o', [System.Globalization.CultureInfo]::InvariantCulture) }
        $level = 0
        if ($null -ne $record.Level) { $level = [int]$record.Level }
        $events.Add(@{ time = $time; id = [int]$record.Id; level = $level; provider = [string]$record.ProviderName; message = $message })
    }
    return @{ events = $events.ToArray(); error = $null }
}

function Get-WinprovDiagnostics {
    # The last 200 Application events of source winprov, and the last 100 critical, error and warning
    # events (levels 1-3) of the System log.
    param([Parameter(Mandatory = $true)] $Request)
    return @{
        registry = @(Get-WinprovRegistryFacts)
        winprovEvents = (Get-WinprovEventExtract -Filter @{ LogName = 'Application'; ProviderName = 'winprov' } -MaxEvents 200)
        systemEvents = (Get-WinprovEventExtract -Filter @{ LogName = 'System'; Level = @(1, 2, 3) } -MaxEvents 100)
    }
}
