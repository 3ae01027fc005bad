# Network verbs: the interface that reaches the fabric, DHCP on it, and the DHCP client's cached options.
# Only language-neutral values are read (enum values, addresses, GUIDs, registry bytes); the localized
# text of netsh or ipconfig is never parsed. Every NetTCPIP/NetAdapter/DnsClient cmdlet is a function of a
# CDXML module and is given -ErrorAction itself: such functions do not see their caller's preference
# variables (PowerShell issues 4568 and 24389).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Get-WinprovInterfaceState {
    # The domain view of one interface: alias, index, GUID, MAC, IPv4 DHCP state, IPv4 addresses.
    param([Parameter(Mandatory = $true)] [int] $Index)
    $adapter = Get-NetAdapter -InterfaceIndex $Index -IncludeHidden -ErrorAction Stop
    $ipInterface = Get-NetIPInterface -InterfaceIndex $Index -AddressFamily IPv4 -ErrorAction Stop
    $addresses = @(Get-NetIPAddress -InterfaceIndex $Index -AddressFamily IPv4 -ErrorAction SilentlyContinue | ForEach-Object { [string]$_.IPAddress })
    # Dhcp is the NetTCPIP enum (Disabled = 0, Enabled = 1): its name is never localized; the raw CIM
    # value is accepted too in case the type data that names it is missing.
    $dhcp = [string]$ipInterface.Dhcp
    return @{
        name = [string]$adapter.Name
        index = [int]$Index
        id = [string]$adapter.InterfaceGuid
        mac = [string]$adapter.MacAddress
        dhcpEnabled = ($dhcp -eq 'Enabled' -or $dhcp -eq '1')
        addresses = $addresses
    }
}

function Get-WinprovInterfaceMetric {
    param([Parameter(Mandatory = $true)] [int] $Index)
    $ipInterface = Get-NetIPInterface -InterfaceIndex $Index -AddressFamily IPv4 -ErrorAction SilentlyContinue
    # An interface without IPv4 settings can hold no usable default route: rank it last.
    if ($null -eq $ipInterface) { return [long]1000000000 }
    return [long]$ipInterface.InterfaceMetric
}

function Get-WinprovFabricInterface {
    # Find-NetRoute answers with the MSFT_NetIPAddress and the MSFT_NetRoute the stack would use for the
    # address; the route's InterfaceIndex is the interface. Without such a route (no gateway yet), the
    # IPv4 default route with the lowest effective metric (route metric + interface metric) is used.
    param([Parameter(Mandatory = $true)] $Request)
    $address = [string]$Request.fabricAddress
    $index = $null
    try {
        $route = @(Find-NetRoute -RemoteIPAddress $address -ErrorAction Stop | Where-Object { $_.CimClass.CimClassName -eq 'MSFT_NetRoute' }) | Select-Object -First 1
        if ($null -ne $route) { $index = [int]$route.InterfaceIndex }
    } catch {
        # Find-NetRoute fails when no route reaches the address; the default route below decides then.
        $index = $null
    }
    if ($null -eq $index) {
        $best = $null
        $bestMetric = [long]::MaxValue
        foreach ($candidate in @(Get-NetRoute -AddressFamily IPv4 -DestinationPrefix '0.0.0.0/0' -ErrorAction SilentlyContinue)) {
            $metric = [long]$candidate.RouteMetric + (Get-WinprovInterfaceMetric -Index ([int]$candidate.InterfaceIndex))
            if ($metric -lt $bestMetric) { $best = $candidate; $bestMetric = $metric }
        }
        if ($null -eq $best) { throw (New-Object -TypeName System.InvalidOperationException -ArgumentList 'no IPv4 route reaches the fabric address and there is no IPv4 default route') }
        $index = [int]$best.InterfaceIndex
    }
    return (Get-WinprovInterfaceState -Index $index)
}

function Enable-WinprovDhcp {
    # Turns IPv4 DHCP on and undoes a static setup: -Dhcp Enabled leaves manually added addresses, a
    # static default gateway (a NetMgmt route) and static DNS servers in place, so they are removed and
    # DNS is reset to what DHCP gives. The DHCP client service must run for any of this to take effect
    # (Azure's "prepare a Windows VHD" guidance sets it to Automatic). Then waits, up to waitMs, for a
    # DHCP-assigned address that is not APIPA (169.254.0.0/16).
    param([Parameter(Mandatory = $true)] $Request)
    $index = [int]$Request.index
    $waitMs = [int]$Request.waitMs
    $client = @(Get-Service | Where-Object { $_.Name -eq 'Dhcp' }) | Select-Object -First 1
    if ($null -ne $client) {
        if ([string]$client.StartType -ne 'Automatic') { Set-Service -Name 'Dhcp' -StartupType Automatic }
        if ($client.Status -ne [System.ServiceProcess.ServiceControllerStatus]::Running) { Start-Service -Name 'Dhcp' }
    }
    Set-NetIPInterface -InterfaceIndex $index -AddressFamily IPv4 -Dhcp Enabled -ErrorAction Stop
    Get-NetIPAddress -InterfaceIndex $index -AddressFamily IPv4 -PrefixOrigin Manual -ErrorAction SilentlyContinue | Remove-NetIPAddress -Confirm:$false -ErrorAction Stop
    Get-NetRoute -InterfaceIndex $index -AddressFamily IPv4 -DestinationPrefix '0.0.0.0/0' -Protocol NetMgmt -ErrorAction SilentlyContinue | Remove-NetRoute -Confirm:$false -ErrorAction Stop
    Set-DnsClientServerAddress -InterfaceIndex $index -ResetServerAddresses -ErrorAction Stop

    $deadline = [DateTime]::UtcNow.AddMilliseconds($waitMs)
    $acquired = $false
    while ($true) {
        # PrefixOrigin Dhcp is 3 in MSFT_NetIPAddress; the raw value counts too, as for Dhcp above.
        $leased = @(Get-NetIPAddress -InterfaceIndex $index -AddressFamily IPv4 -ErrorAction SilentlyContinue | Where-Object {
                ([string]$_.PrefixOrigin -eq 'Dhcp' -or [string]$_.PrefixOrigin -eq '3') -and -not ([string]$_.IPAddress).StartsWith('169.254.')
            })
        if ($leased.Count -gt 0) { $acquired = $true; break }
        if ([DateTime]::UtcNow -ge $deadline) { break }
        Start-Sleep -Milliseconds 500
    }
    $state = Get-WinprovInterfaceState -Index $index
    $state.addressAcquired = $acquired
    return $state
}

function Get-WinprovDhcpInterfaceOptions {
    # REG_BINARY HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces\{GUID}\DhcpInterfaceOptions,
    # returned as base64 for the TypeScript parser (src/net/dhcp-cache.ts). The GUID is parsed as a
    # [guid] and formatted again, so the key name is always "{xxxxxxxx-...}" and never a path.
    param([Parameter(Mandatory = $true)] $Request)
    $guid = [guid]::Parse([string]$Request.interfaceId)
    $interfaces = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey('SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces')
    if ($null -eq $interfaces) { return @{ found = $false } }
    try {
        $key = $interfaces.OpenSubKey($guid.ToString('B'))
        if ($null -eq $key) { return @{ found = $false } }
        try {
            $value = $key.GetValue('DhcpInterfaceOptions')
            if ($value -isnot [byte[]]) { return @{ found = $false } }
            return @{ found = $true; options = [System.Convert]::ToBase64String($value) }
        } finally {
            $key.Close()
        }
    } finally {
        $interfaces.Close()
    }
}
