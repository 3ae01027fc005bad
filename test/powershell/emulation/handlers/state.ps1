# A typical sysprepped Azure image at the start of the specialize pass (README.md documents the shape).

function New-WindowsEmulationState {
    # -Root: a folder that holds the drives' real folders (a new temporary folder by default).
    # -OvfEnv: the text of ovf-env.xml on the provisioning DVD; -NoMedia: no DVD at all; -NoOvfEnv: the
    # DVD holds only the tag file. -CustomData: bytes of CustomData.bin on the DVD.
    param(
        [string] $Root,
        [string] $OvfEnv = '<?xml version="1.0" encoding="utf-8"?><Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"/>',
        [byte[]] $CustomData,
        [switch] $NoMedia,
        [switch] $NoOvfEnv
    )
    if ($Root -eq '') { $Root = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'winprov-emulation-' + [guid]::NewGuid().ToString('N')) }
    $cDrive = [System.IO.Path]::Combine($Root, 'C')
    $dDrive = [System.IO.Path]::Combine($Root, 'D')
    $null = [System.IO.Directory]::CreateDirectory($cDrive)
    $drives = [System.Collections.Generic.List[object]]::new()
    $drives.Add(@{ letter = 'C'; root = $cDrive; ready = $true; type = 'Fixed'; label = 'Windows' })
    if (-not $NoMedia) {
        $null = [System.IO.Directory]::CreateDirectory($dDrive)
        [System.IO.File]::WriteAllText([System.IO.Path]::Combine($dDrive, 'E6DA6616-8EC4-48E0-BE93-58CE6ACE3CFB.tag'), '')
        if (-not $NoOvfEnv) { [System.IO.File]::WriteAllText([System.IO.Path]::Combine($dDrive, 'ovf-env.xml'), $OvfEnv) }
        if ($null -ne $CustomData) { [System.IO.File]::WriteAllBytes([System.IO.Path]::Combine($dDrive, 'CustomData.bin'), $CustomData) }
        $drives.Add(@{ letter = 'D'; root = $dDrive; ready = $true; type = 'CDRom'; label = 'CONFIG' })
    }
    # An empty DVD drive as well: not ready, never read.
    $drives.Add(@{ letter = 'F'; root = [System.IO.Path]::Combine($Root, 'F'); ready = $false; type = 'CDRom'; label = '' })

    $domain = 'S-1-5-21-1004336348-1177238915-682003330'
    $guid = '{6B9C1E73-5D2A-4F0E-9C8B-2A1D3E4F5A60}'
    # DHCP option 245 (the WireServer address 168.63.129.16) as the DHCP client caches it.
    $options = [byte[]](0xF5, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xA8, 0x3F, 0x81, 0x10)
    return @{
        computer = @{ activeName = 'WIN-IMG4SYSPREP'; uuid = '7A1D6E1F-2C3B-4D5E-8F90-A1B2C3D4E5F6'; domainSid = $domain; workgroup = 'WORKGROUP' }
        # Remote Desktop's listener and the thumbprint of its self-signed certificate (Win32_TSGeneralSetting).
        terminalServices = @{ listeners = @(@{ terminalName = 'RDP-Tcp'; sslCertificateSHA1Hash = '3F2A9C4E1B7D6A58C0E4F19B2D3C4A5B6E7F8091' }) }
        network = @{
            interfaces = @(
                @{ alias = 'Ethernet'; index = 6; guid = $guid; mac = '00-0D-3A-12-34-56'; description = 'Microsoft Hyper-V Network Adapter'; hidden = $false; status = 'Up'
                    dhcp = $true; interfaceMetric = 10; dnsServers = @('168.63.129.16'); dhcpDnsServers = @('168.63.129.16')
                    dhcpOffer = @{ ipAddress = '10.0.0.4'; prefixLength = 24; gateway = '10.0.0.1' } }
                @{ alias = 'Loopback Pseudo-Interface 1'; index = 1; guid = '{00000000-0000-0000-0000-000000000001}'; mac = ''; description = 'Software Loopback Interface 1'; hidden = $true; status = 'Up'
                    dhcp = $false; interfaceMetric = 75; dnsServers = @(); dhcpDnsServers = @() }
            )
            addresses = @(
                @{ interfaceIndex = 6; ipAddress = '10.0.0.4'; prefixLength = 24; prefixOrigin = 'Dhcp'; addressFamily = 'IPv4' }
                @{ interfaceIndex = 1; ipAddress = '127.0.0.1'; prefixLength = 8; prefixOrigin = 'WellKnown'; addressFamily = 'IPv4' }
            )
            routes = @(
                @{ interfaceIndex = 6; destinationPrefix = '0.0.0.0/0'; nextHop = '10.0.0.1'; routeMetric = 0; protocol = 'Dhcp'; addressFamily = 'IPv4' }
                @{ interfaceIndex = 6; destinationPrefix = '10.0.0.0/24'; nextHop = '0.0.0.0'; routeMetric = 256; protocol = 'Local'; addressFamily = 'IPv4' }
                @{ interfaceIndex = 1; destinationPrefix = '127.0.0.0/8'; nextHop = '0.0.0.0'; routeMetric = 256; protocol = 'Local'; addressFamily = 'IPv4' }
            )
        }
        users = @(
            @{ name = 'Administrator'; sid = ($domain + '-500'); enabled = $true; description = 'Built-in account for administering the computer/domain'; fullName = ''
                passwordSha256 = '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8'; passwordExpired = $false; passwordNeverExpires = $true; accountNeverExpires = $true; userMayChangePassword = $true }
            @{ name = 'Guest'; sid = ($domain + '-501'); enabled = $false; description = 'Built-in account for guest access to the computer/domain'; fullName = ''
                passwordSha256 = ''; passwordExpired = $false; passwordNeverExpires = $true; accountNeverExpires = $true; userMayChangePassword = $false }
            @{ name = 'DefaultAccount'; sid = ($domain + '-503'); enabled = $false; description = 'A user account managed by the system.'; fullName = ''
                passwordSha256 = ''; passwordExpired = $false; passwordNeverExpires = $true; accountNeverExpires = $true; userMayChangePassword = $true }
            @{ name = 'WDAGUtilityAccount'; sid = ($domain + '-504'); enabled = $false; description = 'A user account managed and used by the system for Windows Defender Application Guard scenarios.'; fullName = ''
                passwordSha256 = ''; passwordExpired = $false; passwordNeverExpires = $false; accountNeverExpires = $true; userMayChangePassword = $true }
        )
        groups = @(
            @{ name = 'Administrators'; sid = 'S-1-5-32-544'; members = @($domain + '-500') }
            @{ name = 'Users'; sid = 'S-1-5-32-545'; members = @() }
            @{ name = 'Guests'; sid = 'S-1-5-32-546'; members = @($domain + '-501') }
            @{ name = 'Remote Desktop Users'; sid = 'S-1-5-32-555'; members = @() }
            @{ name = 'Remote Management Users'; sid = 'S-1-5-32-580'; members = @() }
        )
        passwordPolicy = @{ minLength = 0; complexity = $true }
        certificates = @{ My = @(); Root = @(); CA = @(); TrustedPeople = @(); 'Remote Desktop' = @() }
        # The public keys of the private keys in MachineKeys (Fakes.cs FakeX509Store.Add, image.ps1 Remove-Item).
        machineKeys = @()
        services = @(
            @{ name = 'Dhcp'; displayName = 'DHCP Client'; status = 'Running'; startType = 'Automatic' }
            @{ name = 'WinRM'; displayName = 'Windows Remote Management (WS-Management)'; status = 'Stopped'; startType = 'Automatic' }
            @{ name = 'EventLog'; displayName = 'Windows Event Log'; status = 'Running'; startType = 'Automatic' }
            @{ name = 'RdAgent'; displayName = 'RdAgent'; status = 'Stopped'; startType = 'Disabled' }
            @{ name = 'WindowsAzureGuestAgent'; displayName = 'Windows Azure Guest Agent'; status = 'Stopped'; startType = 'Disabled' }
            @{ name = 'WindowsAzureTelemetryService'; displayName = 'Windows Azure Telemetry Service'; status = 'Stopped'; startType = 'Disabled' }
        )
        wsman = @{ listeners = @() }
        firewallRules = @(
            @{ name = 'WINRM-HTTP-In-TCP'; displayName = 'Windows Remote Management (HTTP-In)'; enabled = 'True'; direction = 'Inbound'; action = 'Allow'; profile = 'Domain, Private'; protocol = 'TCP'; localPort = @('5985') }
            @{ name = 'WINRM-HTTP-In-TCP-PUBLIC'; displayName = 'Windows Remote Management (HTTP-In)'; enabled = 'True'; direction = 'Inbound'; action = 'Allow'; profile = 'Public'; protocol = 'TCP'; localPort = @('5985') }
            @{ name = 'RemoteDesktop-UserMode-In-TCP'; displayName = 'Remote Desktop - User Mode (TCP-In)'; enabled = 'True'; direction = 'Inbound'; action = 'Allow'; profile = 'Any'; protocol = 'TCP'; localPort = @('3389') }
        )
        eventLog = @{
            sources = @{ Application = @('Application Error', 'MsiInstaller', 'Windows Error Reporting'); System = @('Service Control Manager', 'Microsoft-Windows-Kernel-General', 'Dhcp-Client') }
            entries = @(
                @{ log = 'System'; source = 'Service Control Manager'; id = 7000; entryType = 'Error'; level = 2; message = 'The WindowsAzureGuestAgent service failed to start: the service is disabled.'; timeCreated = '2026-01-01T00:00:00.0000000Z'; recordId = 1 }
                @{ log = 'System'; source = 'Microsoft-Windows-Kernel-General'; id = 12; entryType = 'Information'; level = 4; message = 'The operating system started.'; timeCreated = '2026-01-01T00:00:01.0000000Z'; recordId = 2 }
            )
        }
        registry = @{
            'SYSTEM\Setup' = @{ SystemSetupInProgress = @{ kind = 'DWord'; data = 1 }; SetupType = @{ kind = 'DWord'; data = 2 }; CmdLine = @{ kind = 'String'; data = 'oobe\windeploy.exe' }; OOBEInProgress = @{ kind = 'DWord'; data = 1 } }
            'SYSTEM\Setup\Status\SysprepStatus' = @{ GeneralizationState = @{ kind = 'DWord'; data = 7 }; CleanupState = @{ kind = 'DWord'; data = 2 } }
            'SYSTEM\CurrentControlSet\Services\Tcpip\Parameters' = @{ Hostname = @{ kind = 'String'; data = 'WIN-IMG4SYSPREP' }; 'NV Hostname' = @{ kind = 'String'; data = 'WIN-IMG4SYSPREP' }; Domain = @{ kind = 'String'; data = '' } }
            ('SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces\' + $guid) = @{
                EnableDHCP = @{ kind = 'DWord'; data = 1 }; DhcpIPAddress = @{ kind = 'String'; data = '10.0.0.4' }; DhcpSubnetMask = @{ kind = 'String'; data = '255.255.255.0' }
                DhcpServer = @{ kind = 'String'; data = '168.63.129.16' }; DhcpDefaultGateway = @{ kind = 'MultiString'; data = @('10.0.0.1') }
                DhcpInterfaceOptions = @{ kind = 'Binary'; data = [System.Convert]::ToBase64String($options) }
            }
            'SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName' = @{ ComputerName = @{ kind = 'String'; data = 'WIN-IMG4SYSPREP' } }
            'SYSTEM\CurrentControlSet\Control\ComputerName\ActiveComputerName' = @{ ComputerName = @{ kind = 'String'; data = 'WIN-IMG4SYSPREP' } }
            'SYSTEM\CurrentControlSet\Control\TimeZoneInformation' = @{ TimeZoneKeyName = @{ kind = 'String'; data = 'UTC' } }
            'SYSTEM\CurrentControlSet\Services\RdAgent' = @{ Start = @{ kind = 'DWord'; data = 4 }; ImagePath = @{ kind = 'ExpandString'; data = 'C:\WindowsAzure\Packages\WaAppAgent.exe' } }
            'SYSTEM\CurrentControlSet\Services\WindowsAzureGuestAgent' = @{ Start = @{ kind = 'DWord'; data = 4 }; ImagePath = @{ kind = 'ExpandString'; data = 'C:\WindowsAzure\Packages\GuestAgent\WindowsAzureGuestAgent.exe' } }
            'SYSTEM\CurrentControlSet\Services\WindowsAzureTelemetryService' = @{ Start = @{ kind = 'DWord'; data = 4 }; ImagePath = @{ kind = 'ExpandString'; data = 'C:\WindowsAzure\Packages\GuestAgent\WindowsAzureTelemetryService.exe' } }
            'SYSTEM\CurrentControlSet\Services\EventLog\Application' = @{ File = @{ kind = 'ExpandString'; data = '%SystemRoot%\System32\Winevt\Logs\Application.evtx' } }
            # Hyper-V data exchange pools: Guest (guest to host, where PROVISIONING_REPORT goes),
            # Auto (intrinsic guest values) and Guest\Parameters (host to guest).
            'SOFTWARE\Microsoft\Virtual Machine\Guest' = @{}
            'SOFTWARE\Microsoft\Virtual Machine\Auto' = @{ OSName = @{ kind = 'String'; data = 'Windows Server 2022 Datacenter' }; IntegrationServicesVersion = @{ kind = 'String'; data = '10.0.20348' } }
            'SOFTWARE\Microsoft\Virtual Machine\Guest\Parameters' = @{ VirtualMachineId = @{ kind = 'String'; data = '7A1D6E1F-2C3B-4D5E-8F90-A1B2C3D4E5F6' }; HostName = @{ kind = 'String'; data = 'HOST0001' }; PhysicalHostNameFullyQualified = @{ kind = 'String'; data = 'HOST0001.fabric.example' } }
            'SOFTWARE\Microsoft\Windows Azure' = @{}
        }
        timeZone = @{ id = 'UTC' }
        # A 30 GiB image on Azure's default 127 GiB OS disk (GPT): EFI, MSR, then C: with free space after it.
        disks = @(
            @{ number = 0; size = 127GB; partitions = @(
                    @{ partitionNumber = 1; driveLetter = ''; offset = 1MB; size = 100MB; type = 'System'; gptType = '{c12a7328-f81f-11d2-ba4b-00a0c93ec93b}' }
                    @{ partitionNumber = 2; driveLetter = ''; offset = 101MB; size = 16MB; type = 'Reserved'; gptType = '{e3c9e316-0b5c-4db8-817d-f92df00215ae}' }
                    @{ partitionNumber = 3; driveLetter = 'C'; offset = 117MB; size = (30GB - 118MB); type = 'Basic'; gptType = '{ebd0a0a2-b9e5-4433-87c0-68b6b72699c7}' }
                ) }
        )
        drives = $drives.ToArray()
        acls = @{}
        faults = @{}
    }
}
