# readRemoteAccess and removeRemoteAccess (remote-access.ps1) on the emulated machine: a build VM with the
# image's own HTTP listener and the build's HTTPS listener, rule and certificate.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'remote-access.ps1')
    # Get-WinprovXmlText (reading a listener's WSMan XML) is winrm.ps1's; the library loads both.
    . (Get-WinprovScriptPath 'winrm.ps1')
    foreach ($name in @('Get-Service', 'Get-WSManInstance', 'Remove-WSManInstance', 'Get-NetFirewallRule', 'Get-NetFirewallPortFilter', 'Remove-NetFirewallRule', 'Remove-Item')) {
        Mock $name ([scriptblock]::Create("Invoke-EmulationStub -Name '$name' -Bound `$PesterBoundParameters"))
    }
    function Add-TestCertificate([hashtable] $State, [string] $Subject) {
        $rsa = [System.Security.Cryptography.RSA]::Create(2048)
        $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new($Subject, $rsa, [System.Security.Cryptography.HashAlgorithmName]::SHA256, [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
        $certificate = $request.CreateSelfSigned([System.DateTimeOffset]::UtcNow.AddDays(-1), [System.DateTimeOffset]::UtcNow.AddDays(30))
        $data = $certificate.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Pkcs12)
        $State.certificates.My.Add(@{ thumbprint = $certificate.Thumbprint; subject = $Subject; hasPrivateKey = $true; data = [System.Convert]::ToBase64String($data) })
        # Its private key, in MachineKeys as an import with the key persisted leaves it.
        $State.machineKeys.Add($certificate.GetPublicKeyString())
        $script:PublicKeys[$certificate.Thumbprint] = $certificate.GetPublicKeyString()
        return $certificate.Thumbprint
    }
    function ConvertTo-TestHashBytes([string] $Thumbprint) {
        $bytes = New-Object byte[] 20
        for ($i = 0; $i -lt 20; $i++) { $bytes[$i] = [System.Convert]::ToByte($Thumbprint.Substring($i * 2, 2), 16) }
        return [System.Convert]::ToBase64String($bytes)
    }
    $script:PublicKeys = @{}
    function New-BuildVm {
        $state = New-TestMachine
        (Find-TestEntry $state.services 'name' 'WinRM').status = 'Running'
        $script:Build = Add-TestCertificate $state 'CN=pkrvm1234.westeurope.cloudapp.azure.com'
        $script:Rdp = Add-TestCertificate $state 'CN=rdp.contoso.com'
        $state.wsman.listeners.Add(@{ address = '*'; transport = 'HTTP'; port = '5985'; hostname = ''; enabled = 'true'; certificateThumbprint = '' })
        $state.wsman.listeners.Add(@{ address = '*'; transport = 'HTTPS'; port = '5986'; hostname = 'pkrvm1234.westeurope.cloudapp.azure.com'; enabled = 'true'; certificateThumbprint = $script:Build })
        $state.firewallRules.Add(@{ name = 'winprov-WinRM-HTTPS-In'; displayName = 'winprov: WinRM over HTTPS (TCP 5986)'; enabled = 'True'; direction = 'Inbound'; action = 'Allow'; profile = 'Any'; protocol = 'TCP'; localPort = @('5986') })
        # WinRM's own http.sys binding for its HTTPS listener, and the RDP listener's certificate.
        $state.registry['SYSTEM\CurrentControlSet\Services\HTTP\Parameters\SslBindingInfo\0.0.0.0:5986'] = @{ SslCertHash = @{ kind = 'Binary'; data = (ConvertTo-TestHashBytes $script:Build) } }
        $state.registry['SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'] = @{ SSLCertificateSHA1Hash = @{ kind = 'Binary'; data = (ConvertTo-TestHashBytes $script:Rdp) } }
        return $state
    }
}

Describe 'readRemoteAccess' {
    BeforeEach { $script:State = New-BuildVm }

    It 'lists the listeners, the rules opening a WinRM port, LocalMachine\My and the other bindings' {
        $answer = Get-WinprovRemoteAccess -Request $null
        $answer.winrmRunning | Should -BeTrue
        @($answer.listeners | ForEach-Object { $_.transport }) | Should -Be @('HTTP', 'HTTPS')
        ($answer.listeners | Where-Object { $_.transport -eq 'HTTPS' }).certificateThumbprint | Should -Be $Build
        @($answer.firewallRules | ForEach-Object { $_.name }) | Sort-Object | Should -Be @('winprov-WinRM-HTTPS-In', 'WINRM-HTTP-In-TCP', 'WINRM-HTTP-In-TCP-PUBLIC')
        ($answer.firewallRules | Where-Object { $_.name -eq 'winprov-WinRM-HTTPS-In' }).localPorts | Should -Be @(5986)
        # The Remote Desktop rule (3389) opens no WinRM port.
        @($answer.firewallRules | Where-Object { $_.name -like 'RemoteDesktop*' }).Count | Should -Be 0
        @($answer.certificates).Count | Should -Be 2
        $rdpBinding = $answer.bindings | Where-Object { $_.kind -eq 'rdp' }
        $rdpBinding.thumbprint | Should -Be $script:Rdp
        $httpSys = $answer.bindings | Where-Object { $_.kind -eq 'http.sys' }
        $httpSys.port | Should -Be 5986
        $httpSys.thumbprint | Should -Be $Build
        Should -Invoke Get-NetFirewallPortFilter -Times 1 -Exactly -ParameterFilter { $Protocol -eq 'TCP' }
    }

    It 'marks a rule that opens other ports too, and leaves a Compatibility listener''s port (a web server''s) out of the scan' {
        $State.wsman.listeners.Add(@{ address = '*'; transport = 'HTTP'; port = '80'; hostname = ''; enabled = 'true'; certificateThumbprint = ''; source = 'Compatibility' })
        $State.firewallRules.Add(@{ name = 'IIS-WebServerRole-HTTP-In-TCP'; displayName = 'World Wide Web Services (HTTP Traffic-In)'; enabled = 'True'; direction = 'Inbound'; action = 'Allow'; profile = 'Any'; protocol = 'TCP'; localPort = @('80') })
        $State.firewallRules.Add(@{ name = 'Hardening-Remote-In'; displayName = 'RDP and WinRM'; enabled = 'True'; direction = 'Inbound'; action = 'Allow'; profile = 'Any'; protocol = 'TCP'; localPort = @('3389', '5986') })
        $answer = Get-WinprovRemoteAccess -Request $null
        @($answer.firewallRules | ForEach-Object { $_.name }) | Should -Not -Contain 'IIS-WebServerRole-HTTP-In-TCP'
        $hardening = $answer.firewallRules | Where-Object { $_.name -eq 'Hardening-Remote-In' }
        $hardening.localPorts | Should -Be @(5986)
        $hardening.opensOtherPorts | Should -BeTrue
        ($answer.firewallRules | Where-Object { $_.name -eq 'winprov-WinRM-HTTPS-In' }).opensOtherPorts | Should -BeFalse
    }

    It 'says WinRM is not running instead of failing' {
        (Find-TestEntry $State.services 'name' 'WinRM').status = 'Stopped'
        $answer = Get-WinprovRemoteAccess -Request $null
        $answer.winrmRunning | Should -BeFalse
        @($answer.listeners).Count | Should -Be 0
    }
}

Describe 'removeRemoteAccess' {
    BeforeEach { $script:State = New-BuildVm }

    It 'removes the build''s listener, rule and certificate and keeps the image''s own' {
        $request = [pscustomobject]@{ listeners = @([pscustomobject]@{ address = '*'; transport = 'HTTPS' }); firewallRules = @('winprov-WinRM-HTTPS-In'); certificates = @($Build) }
        $answer = Remove-WinprovRemoteAccess -Request $request
        $answer.certificates | Should -Be @($Build)
        @($answer.kept).Count | Should -Be 0
        @($State.wsman.listeners | ForEach-Object { $_.transport }) | Should -Be @('HTTP')
        Find-TestEntry $State.firewallRules 'name' 'winprov-WinRM-HTTPS-In' | Should -BeNullOrEmpty
        Find-TestEntry $State.firewallRules 'name' 'WINRM-HTTP-In-TCP' | Should -Not -BeNullOrEmpty
        @($State.certificates.My | ForEach-Object { $_.thumbprint }) | Should -Be @($Rdp)
        # The build's private key goes with its certificate; the RDP certificate's stays.
        $answer.keysDeleted | Should -Be @($Build)
        @($answer.keysShared).Count | Should -Be 0
        @($State.machineKeys) | Should -Be @($PublicKeys[$Rdp])
        Should -Invoke Remove-Item -Times 1 -Exactly -ParameterFilter { $Path -eq ('Cert:\LocalMachine\My\' + $Build) -and $DeleteKey }
        Should -Invoke Remove-WSManInstance -Times 1 -Exactly -ParameterFilter { $ResourceURI -eq 'winrm/config/Listener' -and $SelectorSet['Transport'] -eq 'HTTPS' -and $SelectorSet['Address'] -eq '*' }
        Should -Invoke Remove-NetFirewallRule -Times 1 -Exactly -ParameterFilter { $Name -eq 'winprov-WinRM-HTTPS-In' }
    }

    It 'removes a certificate but keeps its private key when another certificate uses the same key' {
        # A copy of the build's certificate in WebHosting (IIS's store) shares its key container.
        $State.certificates['WebHosting'] = [System.Collections.Generic.List[object]]::new()
        $State.certificates['WebHosting'].Add((Find-TestEntry $State.certificates.My 'thumbprint' $Build).Clone())
        $request = [pscustomobject]@{ listeners = @([pscustomobject]@{ address = '*'; transport = 'HTTPS' }); firewallRules = @(); certificates = @($Build) }
        $answer = Remove-WinprovRemoteAccess -Request $request
        $answer.certificates | Should -Be @($Build)
        @($answer.keysDeleted).Count | Should -Be 0
        $answer.keysShared[0].thumbprint | Should -Be $Build
        $answer.keysShared[0].sharedWith | Should -Be ('WebHosting\' + $Build)
        @($State.machineKeys) | Should -Contain $PublicKeys[$Build]
        @($State.certificates.My | ForEach-Object { $_.thumbprint }) | Should -Be @($Rdp)
        Should -Invoke Remove-Item -Times 0 -Exactly
    }

    It 'keeps a certificate the RDP listener uses' {
        $request = [pscustomobject]@{ listeners = @(); firewallRules = @(); certificates = @($Rdp) }
        $answer = Remove-WinprovRemoteAccess -Request $request
        @($answer.certificates).Count | Should -Be 0
        $answer.kept[0].thumbprint | Should -Be $Rdp
        $answer.kept[0].usedBy | Should -Be 'rdp RDP-Tcp'
        @($State.certificates.My).Count | Should -Be 2
    }

    It 'keeps a certificate a listener it does not remove still presents' {
        $request = [pscustomobject]@{ listeners = @(); firewallRules = @(); certificates = @($Build) }
        $answer = Remove-WinprovRemoteAccess -Request $request
        $answer.kept[0].usedBy | Should -Be 'the WinRM listener HTTPS *'
        @($State.certificates.My).Count | Should -Be 2
    }

    It 'keeps a certificate an http.sys binding on another port uses (IIS)' {
        $State.registry['SYSTEM\CurrentControlSet\Services\HTTP\Parameters\SslBindingInfo\0.0.0.0:443'] = @{ SslCertHash = @{ kind = 'Binary'; data = (ConvertTo-TestHashBytes $Build) } }
        $request = [pscustomobject]@{ listeners = @([pscustomobject]@{ address = '*'; transport = 'HTTPS' }); firewallRules = @(); certificates = @($Build) }
        $answer = Remove-WinprovRemoteAccess -Request $request
        $answer.kept[0].usedBy | Should -Be 'http.sys 0.0.0.0:443'
        @($State.certificates.My | ForEach-Object { $_.thumbprint }) | Should -Contain $Build
        @($State.wsman.listeners).Count | Should -Be 1
    }
}
