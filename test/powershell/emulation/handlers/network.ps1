# NetTCPIP, NetAdapter and DnsClient: state.network.interfaces / addresses / routes. These are CDXML
# commands on Windows (functions): their objects are CIM instances (here PSCustomObjects with CimClass and
# the CIM type name), their errors non-terminating with ids such as CmdletizationQuery_NotFound_*.

function Get-EmuInterface {
    param([int] $Index, [switch] $IncludeHidden)
    foreach ($interface in (Get-EmuList (Get-EmuMap (Get-EmuState) 'network') 'interfaces')) {
        if ([int]$interface['index'] -eq $Index -and ($IncludeHidden -or -not [bool]$interface['hidden'])) { return $interface }
    }
    return $null
}

function Get-EmuInterfaces { return , (Get-EmuList (Get-EmuMap (Get-EmuState) 'network') 'interfaces') }
function Get-EmuAddresses { return , (Get-EmuList (Get-EmuMap (Get-EmuState) 'network') 'addresses') }
function Get-EmuRoutes { return , (Get-EmuList (Get-EmuMap (Get-EmuState) 'network') 'routes') }

function Write-EmuNotFound {
    param($Cmdlet, [string] $Class, [string] $Property, $Value)
    $message = 'No ' + $Class + ' objects found with property ''' + $Property + ''' equal to ''' + [string]$Value + '''.  Verify the value of the property and retry.'
    Write-EmuError -Cmdlet $Cmdlet -Exception ([System.Management.Automation.ItemNotFoundException]::new($message)) -ErrorId ('CmdletizationQuery_NotFound_' + $Property) -Category ObjectNotFound -Target $Value
}

function Test-EmuFilter {
    # CDXML query parameters: each given parameter's values must contain the entry's value.
    param([System.Collections.IDictionary] $Bound, [string] $Parameter, $Value)
    if (-not $Bound.Contains($Parameter)) { return $true }
    foreach ($wanted in @($Bound[$Parameter])) {
        if ([string]$wanted -like [string]$Value -or [string]$wanted -eq [string]$Value) { return $true }
        if ([string]$Value -like [string]$wanted) { return $true }
    }
    return $false
}

function ConvertTo-EmuAdapter([hashtable] $Interface) {
    return ConvertTo-EmuCimObject -ClassName 'MSFT_NetAdapter' -Namespace 'ROOT/StandardCimv2' -Properties ([ordered]@{
            Name = [string]$Interface['alias']; InterfaceAlias = [string]$Interface['alias']; InterfaceIndex = [uint32]$Interface['index']; ifIndex = [uint32]$Interface['index']
            InterfaceGuid = [string]$Interface['guid']; MacAddress = [string]$Interface['mac']; InterfaceDescription = [string]$Interface['description']; Status = [string]$Interface['status']
            Hidden = [bool]$Interface['hidden']
        })
}

function ConvertTo-EmuIPInterface([hashtable] $Interface) {
    $dhcp = 'Disabled'
    if ([bool]$Interface['dhcp']) { $dhcp = 'Enabled' }
    return ConvertTo-EmuCimObject -ClassName 'MSFT_NetIPInterface' -Namespace 'ROOT/StandardCimv2' -Properties ([ordered]@{
            InterfaceAlias = [string]$Interface['alias']; InterfaceIndex = [uint32]$Interface['index']; ifIndex = [uint32]$Interface['index']; AddressFamily = 'IPv4'
            Dhcp = $dhcp; InterfaceMetric = [uint32]$Interface['interfaceMetric']; ConnectionState = 'Connected'
        })
}

function Get-EmuAlias([int] $Index) {
    $interface = Get-EmuInterface -Index $Index -IncludeHidden
    if ($null -eq $interface) { return '' }
    return [string]$interface['alias']
}

function ConvertTo-EmuAddress([hashtable] $Address) {
    return ConvertTo-EmuCimObject -ClassName 'MSFT_NetIPAddress' -Namespace 'ROOT/StandardCimv2' -Properties ([ordered]@{
            IPAddress = [string]$Address['ipAddress']; InterfaceIndex = [uint32]$Address['interfaceIndex']; InterfaceAlias = (Get-EmuAlias ([int]$Address['interfaceIndex']))
            AddressFamily = [string]$Address['addressFamily']; PrefixLength = [byte]$Address['prefixLength']; PrefixOrigin = [string]$Address['prefixOrigin']
        })
}

function ConvertTo-EmuRoute([hashtable] $Route) {
    return ConvertTo-EmuCimObject -ClassName 'MSFT_NetRoute' -Namespace 'ROOT/StandardCimv2' -Properties ([ordered]@{
            DestinationPrefix = [string]$Route['destinationPrefix']; NextHop = [string]$Route['nextHop']; RouteMetric = [uint16]$Route['routeMetric']
            InterfaceIndex = [uint32]$Route['interfaceIndex']; InterfaceAlias = (Get-EmuAlias ([int]$Route['interfaceIndex'])); Protocol = [string]$Route['protocol']
            AddressFamily = [string]$Route['addressFamily']
        })
}

$script:Handlers['Get-NetAdapter'] = {
    param($Cmdlet, $Bound, $Fault)
    $found = $false
    foreach ($interface in (Get-EmuInterfaces)) {
        if ([bool]$interface['hidden'] -and -not [bool]$Bound['IncludeHidden']) { continue }
        if (-not (Test-EmuFilter $Bound 'InterfaceIndex' $interface['index'])) { continue }
        if (-not (Test-EmuFilter $Bound 'Name' $interface['alias'])) { continue }
        if (-not (Test-EmuFilter $Bound 'InterfaceDescription' $interface['description'])) { continue }
        $found = $true
        ConvertTo-EmuAdapter $interface
    }
    if (-not $found -and $Bound.Contains('InterfaceIndex')) { Write-EmuNotFound $Cmdlet 'MSFT_NetAdapter' 'InterfaceIndex' ($Bound['InterfaceIndex'] -join ',') }
    elseif (-not $found -and $Bound.Contains('Name')) { Write-EmuNotFound $Cmdlet 'MSFT_NetAdapter' 'Name' ($Bound['Name'] -join ',') }
}

$script:Handlers['Get-NetIPInterface'] = {
    param($Cmdlet, $Bound, $Fault)
    $found = $false
    foreach ($interface in (Get-EmuInterfaces)) {
        if (-not (Test-EmuFilter $Bound 'InterfaceIndex' $interface['index'])) { continue }
        if (-not (Test-EmuFilter $Bound 'InterfaceAlias' $interface['alias'])) { continue }
        if ($Bound.Contains('AddressFamily') -and @($Bound['AddressFamily']) -notcontains 'IPv4') { continue }
        $found = $true
        ConvertTo-EmuIPInterface $interface
    }
    if (-not $found -and $Bound.Contains('InterfaceIndex')) { Write-EmuNotFound $Cmdlet 'MSFT_NetIPInterface' 'InterfaceIndex' ($Bound['InterfaceIndex'] -join ',') }
}

$script:Handlers['Set-NetIPInterface'] = {
    # -Dhcp Enabled: the DHCP client asks at once; interface.dhcpOffer (when the state has one) is the
    # lease it gets: a Dhcp address and a Dhcp default route. Manual addresses and routes stay.
    param($Cmdlet, $Bound, $Fault)
    $interface = $null
    if ($Bound.Contains('InterfaceIndex')) { $interface = Get-EmuInterface -Index ([int]@($Bound['InterfaceIndex'])[0]) -IncludeHidden }
    if ($null -eq $interface) { Write-EmuNotFound $Cmdlet 'MSFT_NetIPInterface' 'InterfaceIndex' ($Bound['InterfaceIndex'] -join ','); return }
    if ($Bound.Contains('InterfaceMetric')) { $interface['interfaceMetric'] = [long]$Bound['InterfaceMetric'] }
    if ($Bound.Contains('Dhcp')) {
        $enable = ([string]$Bound['Dhcp'] -eq 'Enabled')
        $interface['dhcp'] = $enable
        $index = [int]$interface['index']
        $offer = $interface['dhcpOffer']
        if ($enable -and $offer -is [hashtable]) {
            $addresses = Get-EmuAddresses
            if (@($addresses.Where({ [int]$_['interfaceIndex'] -eq $index -and [string]$_['prefixOrigin'] -eq 'Dhcp' })).Count -eq 0) {
                $addresses.Add(@{ interfaceIndex = [long]$index; ipAddress = [string]$offer['ipAddress']; prefixLength = [long]$offer['prefixLength']; prefixOrigin = 'Dhcp'; addressFamily = 'IPv4' })
            }
            $routes = Get-EmuRoutes
            if ([string]$offer['gateway'] -ne '' -and @($routes.Where({ [int]$_['interfaceIndex'] -eq $index -and [string]$_['destinationPrefix'] -eq '0.0.0.0/0' -and [string]$_['protocol'] -eq 'Dhcp' })).Count -eq 0) {
                $routes.Add(@{ interfaceIndex = [long]$index; destinationPrefix = '0.0.0.0/0'; nextHop = [string]$offer['gateway']; routeMetric = 0L; protocol = 'Dhcp'; addressFamily = 'IPv4' })
            }
        }
        $key = 'SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces\' + [string]$interface['guid']
        $registry = Get-EmuMap (Get-EmuState) 'registry'
        $values = Get-EmuMap $registry $key
        $values['EnableDHCP'] = @{ kind = 'DWord'; data = [long][int]$enable }
    }
    Save-EmuState
}

function Select-EmuAddresses {
    param($Bound)
    $selected = [System.Collections.Generic.List[object]]::new()
    foreach ($address in (Get-EmuAddresses)) {
        if (-not (Test-EmuFilter $Bound 'InterfaceIndex' $address['interfaceIndex'])) { continue }
        if (-not (Test-EmuFilter $Bound 'InterfaceAlias' (Get-EmuAlias ([int]$address['interfaceIndex'])))) { continue }
        if (-not (Test-EmuFilter $Bound 'AddressFamily' $address['addressFamily'])) { continue }
        if (-not (Test-EmuFilter $Bound 'PrefixOrigin' $address['prefixOrigin'])) { continue }
        if (-not (Test-EmuFilter $Bound 'IPAddress' $address['ipAddress'])) { continue }
        $selected.Add($address)
    }
    return , $selected
}

$script:Handlers['Get-NetIPAddress'] = {
    param($Cmdlet, $Bound, $Fault)
    $selected = Select-EmuAddresses $Bound
    foreach ($address in $selected) { ConvertTo-EmuAddress $address }
    if ($selected.Count -eq 0) { Write-EmuNotFound $Cmdlet 'MSFT_NetIPAddress' 'InterfaceIndex' ($Bound['InterfaceIndex'] -join ',') }
}

$script:Handlers['Remove-NetIPAddress'] = {
    param($Cmdlet, $Bound, $Fault)
    $addresses = Get-EmuAddresses
    $doomed = [System.Collections.Generic.List[object]]::new()
    if ($Bound.Contains('InputObject')) {
        foreach ($item in @($Bound['InputObject'])) {
            foreach ($candidate in $addresses) {
                if ([string]$candidate['ipAddress'] -eq [string]$item.IPAddress -and [int]$candidate['interfaceIndex'] -eq [int]$item.InterfaceIndex) { $doomed.Add($candidate) }
            }
        }
    } else {
        foreach ($candidate in (Select-EmuAddresses $Bound)) { $doomed.Add($candidate) }
    }
    foreach ($entry in $doomed) {
        if (-not $Cmdlet.ShouldProcess([string]$entry['ipAddress'], 'Delete')) { continue }
        $null = $addresses.Remove($entry)
    }
    Save-EmuState
}

function Select-EmuRoutes {
    param($Bound)
    $selected = [System.Collections.Generic.List[object]]::new()
    foreach ($route in (Get-EmuRoutes)) {
        if (-not (Test-EmuFilter $Bound 'InterfaceIndex' $route['interfaceIndex'])) { continue }
        if (-not (Test-EmuFilter $Bound 'AddressFamily' $route['addressFamily'])) { continue }
        if (-not (Test-EmuFilter $Bound 'DestinationPrefix' $route['destinationPrefix'])) { continue }
        if (-not (Test-EmuFilter $Bound 'Protocol' $route['protocol'])) { continue }
        if (-not (Test-EmuFilter $Bound 'NextHop' $route['nextHop'])) { continue }
        $selected.Add($route)
    }
    return , $selected
}

$script:Handlers['Get-NetRoute'] = {
    param($Cmdlet, $Bound, $Fault)
    $selected = Select-EmuRoutes $Bound
    foreach ($route in $selected) { ConvertTo-EmuRoute $route }
    if ($selected.Count -eq 0) { Write-EmuNotFound $Cmdlet 'MSFT_NetRoute' 'DestinationPrefix' ($Bound['DestinationPrefix'] -join ',') }
}

$script:Handlers['Remove-NetRoute'] = {
    param($Cmdlet, $Bound, $Fault)
    $routes = Get-EmuRoutes
    $doomed = [System.Collections.Generic.List[object]]::new()
    if ($Bound.Contains('InputObject')) {
        foreach ($item in @($Bound['InputObject'])) {
            foreach ($candidate in $routes) {
                if ([string]$candidate['destinationPrefix'] -eq [string]$item.DestinationPrefix -and [int]$candidate['interfaceIndex'] -eq [int]$item.InterfaceIndex -and [string]$candidate['nextHop'] -eq [string]$item.NextHop) { $doomed.Add($candidate) }
            }
        }
    } else {
        foreach ($candidate in (Select-EmuRoutes $Bound)) { $doomed.Add($candidate) }
    }
    foreach ($entry in $doomed) {
        if (-not $Cmdlet.ShouldProcess([string]$entry['destinationPrefix'], 'Delete')) { continue }
        $null = $routes.Remove($entry)
    }
    Save-EmuState
}

function ConvertTo-EmuIPv4Number([string] $Address) {
    $bytes = [System.Net.IPAddress]::Parse($Address).GetAddressBytes()
    return ([long]$bytes[0] -shl 24) -bor ([long]$bytes[1] -shl 16) -bor ([long]$bytes[2] -shl 8) -bor [long]$bytes[3]
}

$script:Handlers['Find-NetRoute'] = {
    # The route the stack would choose: longest prefix, then the lowest route + interface metric.
    # Answers the MSFT_NetIPAddress of the interface, then the MSFT_NetRoute.
    param($Cmdlet, $Bound, $Fault)
    $remote = ConvertTo-EmuIPv4Number ([string]$Bound['RemoteIPAddress'])
    $best = $null
    $bestLength = -1
    $bestMetric = [long]::MaxValue
    foreach ($route in (Get-EmuRoutes)) {
        if ([string]$route['addressFamily'] -ne 'IPv4') { continue }
        $interface = Get-EmuInterface -Index ([int]$route['interfaceIndex']) -IncludeHidden
        if ($null -eq $interface) { continue }
        $parts = ([string]$route['destinationPrefix']).Split('/')
        $length = [int]$parts[1]
        $all = [long]4294967295
        $mask = [long]0
        if ($length -gt 0) { $mask = ($all -shl (32 - $length)) -band $all }
        if (((ConvertTo-EmuIPv4Number $parts[0]) -band $mask) -ne ($remote -band $mask)) { continue }
        $metric = [long]$route['routeMetric'] + [long]$interface['interfaceMetric']
        if ($length -gt $bestLength -or ($length -eq $bestLength -and $metric -lt $bestMetric)) { $best = $route; $bestLength = $length; $bestMetric = $metric }
    }
    if ($null -eq $best) {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([WinprovEmulation.Errors]::Win32(1231, 'The network location cannot be reached.')) -ErrorId 'Windows System Error 1231' -Category InvalidOperation -Target $Bound['RemoteIPAddress']
        return
    }
    $index = [int]$best['interfaceIndex']
    foreach ($address in (Get-EmuAddresses)) {
        if ([int]$address['interfaceIndex'] -eq $index -and [string]$address['addressFamily'] -eq 'IPv4') { ConvertTo-EmuAddress $address; break }
    }
    ConvertTo-EmuRoute $best
}

$script:Handlers['Set-DnsClientServerAddress'] = {
    param($Cmdlet, $Bound, $Fault)
    $interface = $null
    if ($Bound.Contains('InterfaceIndex')) { $interface = Get-EmuInterface -Index ([int]@($Bound['InterfaceIndex'])[0]) -IncludeHidden }
    if ($null -eq $interface) { Write-EmuNotFound $Cmdlet 'MSFT_DNSClientServerAddress' 'InterfaceIndex' ($Bound['InterfaceIndex'] -join ','); return }
    if ([bool]$Bound['ResetServerAddresses']) {
        $interface['dnsServers'] = [System.Collections.Generic.List[object]]::new([object[]]@($interface['dhcpDnsServers']))
        $interface['dnsStatic'] = $false
    } elseif ($Bound.Contains('ServerAddresses')) {
        $interface['dnsServers'] = [System.Collections.Generic.List[object]]::new([object[]]@($Bound['ServerAddresses']))
        $interface['dnsStatic'] = $true
    }
    Save-EmuState
}
