# configureWinRm (winrm.ps1) on the emulated machine.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'winrm.ps1')
    foreach ($name in @('Get-Service', 'Set-Service', 'Start-Service', 'Get-WSManInstance', 'New-WSManInstance', 'Remove-WSManInstance', 'Get-NetFirewallRule', 'Set-NetFirewallRule', 'New-NetFirewallRule')) {
        Mock $name ([scriptblock]::Create("Invoke-EmulationStub -Name '$name' -Bound `$PesterBoundParameters"))
    }
    $script:Thumbprint = 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678'
    function Add-TestCertificate([hashtable] $State, [bool] $WithKey, [string] $Subject = 'CN=winrm') {
        $rsa = [System.Security.Cryptography.RSA]::Create(2048)
        $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new($Subject, $rsa, [System.Security.Cryptography.HashAlgorithmName]::SHA256, [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
        $certificate = $request.CreateSelfSigned([System.DateTimeOffset]::UtcNow.AddDays(-1), [System.DateTimeOffset]::UtcNow.AddDays(30))
        $data = $certificate.RawData
        if ($WithKey) { $data = $certificate.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Pkcs12) }
        $State.certificates.My.Add(@{ thumbprint = $certificate.Thumbprint; subject = $Subject; hasPrivateKey = $WithKey; data = [System.Convert]::ToBase64String($data) })
        return $certificate.Thumbprint
    }
    function Invoke-WinRm([object[]] $Listeners) { return Set-WinprovWinRmListeners -Request ([pscustomobject]@{ listeners = $Listeners }) }
}

Describe 'configureWinRm' {
    BeforeEach { $script:State = New-TestMachine }

    It 'starts WinRM and creates an HTTP listener with its firewall rule' {
        $answer = Invoke-WinRm @([pscustomobject]@{ protocol = 'Http' })
        $answer.serviceStarted | Should -BeTrue
        $answer.startModeChanged | Should -BeFalse
        $answer.results[0].outcome | Should -Be 'created'
        $answer.results[0].firewallRule | Should -Be 'created'
        $State.wsman.listeners[0].transport | Should -Be 'HTTP'
        $State.wsman.listeners[0].port | Should -Be '5985'
        (Find-TestEntry $State.firewallRules 'name' 'winprov-WinRM-HTTP-In').profile | Should -Be 'Any'
        Should -Invoke New-WSManInstance -Times 1 -Exactly -ParameterFilter { $SelectorSet['Transport'] -eq 'HTTP' -and $SelectorSet['Address'] -eq '*' -and $ValueSet['Port'] -eq '5985' }
    }

    It 'answers present for a listener and rule already as asked' {
        $null = Invoke-WinRm @([pscustomobject]@{ protocol = 'Http' })
        $answer = Invoke-WinRm @([pscustomobject]@{ protocol = 'Http' })
        $answer.results[0].outcome | Should -Be 'present'
        $answer.results[0].firewallRule | Should -Be 'present'
        $answer.serviceStarted | Should -BeFalse
        Should -Invoke Set-NetFirewallRule -Times 1 -Exactly
    }

    It 're-creates a listener on another port' {
        $State.wsman.listeners.Add(@{ address = '*'; transport = 'HTTP'; port = '8080'; hostname = ''; enabled = 'true'; certificateThumbprint = '' })
        (Find-TestEntry $State.services 'name' 'WinRM').status = 'Running'
        $answer = Invoke-WinRm @([pscustomobject]@{ protocol = 'Http' })
        $answer.results[0].outcome | Should -Be 'recreated'
        @($State.wsman.listeners).Count | Should -Be 1
        $State.wsman.listeners[0].port | Should -Be '5985'
        Should -Invoke Remove-WSManInstance -Times 1 -Exactly -ParameterFilter { $SelectorSet['Transport'] -eq 'HTTP' -and $SelectorSet['Address'] -eq '*' }
        Should -Invoke New-WSManInstance -Times 1 -Exactly
    }

    It 're-creates an HTTPS listener for a new certificate, with the new certificate''s CN as Hostname' {
        (Find-TestEntry $State.services 'name' 'WinRM').status = 'Running'
        $old = Add-TestCertificate $State $true 'CN=build-vm.westeurope.cloudapp.azure.com'
        $State.wsman.listeners.Add(@{ address = '*'; transport = 'HTTPS'; port = '5986'; hostname = 'build-vm.westeurope.cloudapp.azure.com'; enabled = 'true'; certificateThumbprint = $old })
        $new = Add-TestCertificate $State $true 'CN=web01.westeurope.cloudapp.azure.com, O=Contoso'
        $answer = Invoke-WinRm @([pscustomobject]@{ protocol = 'Https'; certificateThumbprint = $new })
        $answer.results[0].outcome | Should -Be 'recreated'
        $answer.results[0].hostname | Should -Be 'web01.westeurope.cloudapp.azure.com'
        @($State.wsman.listeners).Count | Should -Be 1
        $State.wsman.listeners[0].certificateThumbprint | Should -Be $new
        $State.wsman.listeners[0].hostname | Should -Be 'web01.westeurope.cloudapp.azure.com'
        Should -Invoke New-WSManInstance -Times 1 -Exactly -ParameterFilter { $ValueSet['Hostname'] -eq 'web01.westeurope.cloudapp.azure.com' -and $ValueSet['CertificateThumbprint'] -eq $new }
    }

    It 're-creates an HTTPS listener of the same certificate that has no Hostname' {
        (Find-TestEntry $State.services 'name' 'WinRM').status = 'Running'
        $thumbprint = Add-TestCertificate $State $true
        $State.wsman.listeners.Add(@{ address = '*'; transport = 'HTTPS'; port = '5986'; hostname = ''; enabled = 'true'; certificateThumbprint = $thumbprint })
        (Invoke-WinRm @([pscustomobject]@{ protocol = 'Https'; certificateThumbprint = $thumbprint })).results[0].outcome | Should -Be 'recreated'
        $State.wsman.listeners[0].hostname | Should -Be 'winrm'
    }

    It 'leaves an HTTPS listener with the same certificate and Hostname alone' {
        $thumbprint = Add-TestCertificate $State $true
        $null = Invoke-WinRm @([pscustomobject]@{ protocol = 'Https'; certificateThumbprint = $thumbprint })
        $answer = Invoke-WinRm @([pscustomobject]@{ protocol = 'Https'; certificateThumbprint = $thumbprint })
        $answer.results[0].outcome | Should -Be 'present'
        Should -Invoke New-WSManInstance -Times 1 -Exactly
        Should -Invoke Remove-WSManInstance -Times 0 -Exactly
    }

    It 'emulates WinRM refusing a Hostname that is not the certificate''s CN' {
        (Find-TestEntry $State.services 'name' 'WinRM').status = 'Running'
        $thumbprint = Add-TestCertificate $State $true
        $stub = (Get-Module WinprovEmulationStubs).ExportedFunctions['New-WSManInstance']
        { & $stub -ResourceURI 'winrm/config/Listener' -SelectorSet @{ Address = '*'; Transport = 'HTTPS' } -ValueSet @{ Hostname = 'other'; CertificateThumbprint = $thumbprint } } | Should -Throw '*certificate CN and the hostname that were provided do not match*'
        @($State.wsman.listeners).Count | Should -Be 0
    }

    It 'skips a compatibility listener' {
        (Find-TestEntry $State.services 'name' 'WinRM').status = 'Running'
        $State.wsman.listeners.Add(@{ address = '*'; transport = 'HTTP'; port = '80'; hostname = ''; enabled = 'true'; certificateThumbprint = ''; source = 'Compatibility' })
        (Invoke-WinRm @([pscustomobject]@{ protocol = 'Http' })).results[0].outcome | Should -Be 'created'
    }

    It 'creates an HTTPS listener bound to a certificate with its key, and sets WinRM Automatic' {
        (Find-TestEntry $State.services 'name' 'WinRM').startType = 'Manual'
        $thumbprint = Add-TestCertificate $State $true
        $answer = Invoke-WinRm @([pscustomobject]@{ protocol = 'Https'; certificateThumbprint = $thumbprint.ToLowerInvariant() })
        $answer.startModeChanged | Should -BeTrue
        $answer.results[0].port | Should -Be 5986
        $State.wsman.listeners[0].certificateThumbprint | Should -Be $thumbprint
        $State.wsman.listeners[0].hostname | Should -Be 'winrm'
        $answer.results[0].hostname | Should -Be 'winrm'
        (Find-TestEntry $State.services 'name' 'WinRM').startType | Should -Be 'Automatic'
    }

    It 'rejects an HTTPS certificate missing from My before changing anything' {
        { Invoke-WinRm @([pscustomobject]@{ protocol = 'Http' }, [pscustomobject]@{ protocol = 'Https'; certificateThumbprint = $Thumbprint }) } | Should -Throw -ErrorId 'WinprovRejected'
        @($State.wsman.listeners).Count | Should -Be 0
        (Find-TestEntry $State.services 'name' 'WinRM').status | Should -Be 'Stopped'
    }

    It 'rejects an HTTPS certificate without its private key' {
        $thumbprint = Add-TestCertificate $State $false
        { Invoke-WinRm @([pscustomobject]@{ protocol = 'Https'; certificateThumbprint = $thumbprint }) } | Should -Throw -ErrorId 'WinprovRejected'
    }

    It 'rejects an unknown protocol' {
        { Invoke-WinRm @([pscustomobject]@{ protocol = 'http' }) } | Should -Throw -ErrorId 'WinprovRejected'
    }

    It 'fails when WinRM cannot start' {
        (Find-TestEntry $State.services 'name' 'WinRM').failsToStart = $true
        { Invoke-WinRm @([pscustomobject]@{ protocol = 'Http' }) } | Should -Throw -ErrorId 'CouldNotStartService,Microsoft.PowerShell.Commands.StartServiceCommand'
    }
}
