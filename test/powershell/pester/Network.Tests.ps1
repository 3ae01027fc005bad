# findFabricInterface, enableDhcp, readDhcpInterfaceOptions (network.ps1) on the emulated machine.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'network.ps1')
    foreach ($name in @('Find-NetRoute', 'Get-NetRoute', 'Get-NetAdapter', 'Get-NetIPInterface', 'Get-NetIPAddress', 'Set-NetIPInterface', 'Remove-NetIPAddress', 'Remove-NetRoute', 'Set-DnsClientServerAddress', 'Set-Service', 'Start-Service')) {
        Mock $name ([scriptblock]::Create("Invoke-EmulationStub -Name '$name' -Bound `$PesterBoundParameters"))
    }
}

Describe 'findFabricInterface' {
    BeforeEach { $script:State = New-TestMachine }

    It 'answers the interface of the route to the fabric address' {
        $answer = Get-WinprovFabricInterface -Request ([pscustomobject]@{ fabricAddress = '168.63.129.16' })
        $answer.name | Should -Be 'Ethernet'
        $answer.index | Should -Be 6
        $answer.id | Should -Be '{6B9C1E73-5D2A-4F0E-9C8B-2A1D3E4F5A60}'
        $answer.mac | Should -Be '00-0D-3A-12-34-56'
        $answer.dhcpEnabled | Should -BeTrue
        $answer.addresses | Should -Be @('10.0.0.4')
        Should -Invoke Find-NetRoute -Times 1 -Exactly -ParameterFilter { $RemoteIPAddress -eq '168.63.129.16' }
        Should -Invoke Get-NetRoute -Times 0 -Exactly
        Should -Invoke Get-NetAdapter -Times 1 -Exactly -ParameterFilter { $InterfaceIndex -eq 6 -and $IncludeHidden }
    }

    It 'prefers the longest prefix: a host route on a second NIC' {
        $State.network.interfaces.Add(@{ alias = 'Ethernet 2'; index = 9; guid = '{11111111-2222-3333-4444-555555555555}'; mac = '00-0D-3A-00-00-09'; description = 'second'; hidden = $false; status = 'Up'; dhcp = $false; interfaceMetric = 5 })
        $State.network.routes.Add(@{ interfaceIndex = 9; destinationPrefix = '168.63.129.16/32'; nextHop = '10.1.0.1'; routeMetric = 0; protocol = 'NetMgmt'; addressFamily = 'IPv4' })
        $answer = Get-WinprovFabricInterface -Request ([pscustomobject]@{ fabricAddress = '168.63.129.16' })
        $answer.index | Should -Be 9
        $answer.dhcpEnabled | Should -BeFalse
        $answer.addresses.Count | Should -Be 0
    }

    It 'falls back to the default route with the lowest metric when no route reaches the address' {
        $State.network.routes.Clear()
        $State.faults['Find-NetRoute'] = @{ error = 'Windows System Error 1231'; win32 = 1231 }
        $State.network.routes.Add(@{ interfaceIndex = 6; destinationPrefix = '0.0.0.0/0'; nextHop = '10.0.0.1'; routeMetric = 100; protocol = 'Dhcp'; addressFamily = 'IPv4' })
        $answer = Get-WinprovFabricInterface -Request ([pscustomobject]@{ fabricAddress = '168.63.129.16' })
        $answer.index | Should -Be 6
        Should -Invoke Get-NetRoute -Times 1 -Exactly -ParameterFilter { $DestinationPrefix -eq '0.0.0.0/0' -and $AddressFamily -eq 'IPv4' }
    }

    It 'fails when there is neither a route nor a default route' {
        $State.network.routes.Clear()
        { Get-WinprovFabricInterface -Request ([pscustomobject]@{ fabricAddress = '168.63.129.16' }) } | Should -Throw '*no IPv4 default route*'
    }
}

Describe 'enableDhcp' {
    BeforeEach { $script:State = New-TestMachine }

    It 'leaves a DHCP interface as it is and reports the lease' {
        $answer = Enable-WinprovDhcp -Request ([pscustomobject]@{ index = 6; waitMs = 0 })
        $answer.dhcpEnabled | Should -BeTrue
        $answer.addressAcquired | Should -BeTrue
        Should -Invoke Set-NetIPInterface -Times 1 -Exactly -ParameterFilter { $InterfaceIndex -eq 6 -and $Dhcp -eq 'Enabled' -and $AddressFamily -eq 'IPv4' }
        Should -Invoke Set-Service -Times 0 -Exactly
        Should -Invoke Start-Service -Times 0 -Exactly
    }

    It 'turns a static setup into DHCP: manual address, static gateway and DNS servers removed' {
        $interface = $State.network.interfaces[0]
        $interface.dhcp = $false
        $interface.dnsServers = [System.Collections.Generic.List[object]]::new([object[]]@('10.9.9.9'))
        $State.network.addresses.Clear()
        $State.network.addresses.Add(@{ interfaceIndex = 6; ipAddress = '10.0.0.50'; prefixLength = 24; prefixOrigin = 'Manual'; addressFamily = 'IPv4' })
        $State.network.routes.Clear()
        $State.network.routes.Add(@{ interfaceIndex = 6; destinationPrefix = '0.0.0.0/0'; nextHop = '10.0.0.254'; routeMetric = 0; protocol = 'NetMgmt'; addressFamily = 'IPv4' })
        $answer = Enable-WinprovDhcp -Request ([pscustomobject]@{ index = 6; waitMs = 1000 })
        $answer.addressAcquired | Should -BeTrue
        $answer.addresses | Should -Be @('10.0.0.4')
        $interface.dhcp | Should -BeTrue
        @($interface.dnsServers) | Should -Be @('168.63.129.16')
        @($State.network.routes | Where-Object { $_.protocol -eq 'NetMgmt' }).Count | Should -Be 0
        Should -Invoke Remove-NetIPAddress -Times 1 -Exactly
        Should -Invoke Remove-NetRoute -Times 1 -Exactly
        Should -Invoke Set-DnsClientServerAddress -Times 1 -Exactly -ParameterFilter { $ResetServerAddresses }
    }

    It 'starts the DHCP client service and sets it Automatic' {
        $dhcp = Find-TestEntry $State.services 'name' 'Dhcp'
        $dhcp.status = 'Stopped'
        $dhcp.startType = 'Manual'
        $null = Enable-WinprovDhcp -Request ([pscustomobject]@{ index = 6; waitMs = 0 })
        $dhcp.status | Should -Be 'Running'
        $dhcp.startType | Should -Be 'Automatic'
        Should -Invoke Set-Service -Times 1 -Exactly -ParameterFilter { $Name -eq 'Dhcp' -and $StartupType -eq 'Automatic' }
    }

    It 'reports no address when no DHCP server answers within the wait' {
        $interface = $State.network.interfaces[0]
        $interface.dhcp = $false
        $interface.Remove('dhcpOffer')
        $State.network.addresses.Clear()
        $answer = Enable-WinprovDhcp -Request ([pscustomobject]@{ index = 6; waitMs = 600 })
        $answer.addressAcquired | Should -BeFalse
        $answer.dhcpEnabled | Should -BeTrue
    }

    It 'fails for an interface that does not exist' {
        { Enable-WinprovDhcp -Request ([pscustomobject]@{ index = 42; waitMs = 0 }) } | Should -Throw -ErrorId 'CmdletizationQuery_NotFound_InterfaceIndex,Set-NetIPInterface'
    }
}

Describe 'readDhcpInterfaceOptions' {
    BeforeEach { $script:State = New-TestMachine }

    It 'answers the cached options as base64' {
        $answer = Get-WinprovDhcpInterfaceOptions -Request ([pscustomobject]@{ interfaceId = '{6b9c1e73-5d2a-4f0e-9c8b-2a1d3e4f5a60}' })
        $answer.found | Should -BeTrue
        [System.Convert]::FromBase64String($answer.options)[-4..-1] | Should -Be @(168, 63, 129, 16)
    }

    It 'answers not found without the value' {
        $State.registry['SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces\{6B9C1E73-5D2A-4F0E-9C8B-2A1D3E4F5A60}'].Remove('DhcpInterfaceOptions')
        (Get-WinprovDhcpInterfaceOptions -Request ([pscustomobject]@{ interfaceId = '{6B9C1E73-5D2A-4F0E-9C8B-2A1D3E4F5A60}' })).found | Should -BeFalse
    }

    It 'answers not found for an unknown interface' {
        (Get-WinprovDhcpInterfaceOptions -Request ([pscustomobject]@{ interfaceId = '{00000000-1111-2222-3333-444444444444}' })).found | Should -BeFalse
    }

    It 'refuses an id that is not a GUID' {
        { Get-WinprovDhcpInterfaceOptions -Request ([pscustomobject]@{ interfaceId = '..\..\Setup' }) } | Should -Throw
    }
}
