# importCertificates (certificates.ps1) on the emulated machine: the PFX travels as the secret 'pfx'.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'certificates.ps1')
    function New-TestPfx([string] $Subject) {
        $rsa = [System.Security.Cryptography.RSA]::Create(2048)
        $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new($Subject, $rsa, [System.Security.Cryptography.HashAlgorithmName]::SHA256, [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
        $certificate = $request.CreateSelfSigned([System.DateTimeOffset]::UtcNow.AddDays(-1), [System.DateTimeOffset]::UtcNow.AddDays(30))
        return @{ thumbprint = $certificate.Thumbprint; pfx = $certificate.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Pkcs12, '') }
    }
    $script:Bundle = New-TestPfx 'CN=winprov-test-one'
    function Invoke-Import($Placements, $Pfx = $script:Bundle.pfx) {
        $global:WinprovRequestSecrets = @{ pfx = [byte[]]$Pfx.Clone() }
        try { return Import-WinprovCertificates -Request ([pscustomobject]@{ pfxPassword = ''; placements = @($Placements) }) }
        finally { $global:WinprovRequestSecrets = @{} }
    }
}

Describe 'importCertificates' {
    BeforeEach { $script:State = New-TestMachine }

    It 'imports into LocalMachine\My with its private key' {
        $answer = Invoke-Import @([pscustomobject]@{ thumbprint = $Bundle.thumbprint.ToLowerInvariant(); store = 'My' })
        $answer.results[0].outcome | Should -Be 'imported'
        $answer.results[0].thumbprint | Should -Be $Bundle.thumbprint
        $answer.results[0].hasPrivateKey | Should -BeTrue
        $State.certificates.My[0].thumbprint | Should -Be $Bundle.thumbprint
        $State.certificates.My[0].hasPrivateKey | Should -BeTrue
    }

    It 'answers present for a certificate the store already holds' {
        $null = Invoke-Import @([pscustomobject]@{ thumbprint = $Bundle.thumbprint; store = 'My' })
        (Invoke-Import @([pscustomobject]@{ thumbprint = $Bundle.thumbprint; store = 'My' })).results[0].outcome | Should -Be 'present'
        @($State.certificates.My).Count | Should -Be 1
    }

    It 'replaces a copy without its private key (the image held the public certificate only) with the bundle''s' {
        $public = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new([System.Security.Cryptography.X509Certificates.X509Certificate2]::new($Bundle.pfx, '').RawData)
        $State.certificates['My'] = [System.Collections.Generic.List[object]]::new()
        $State.certificates['My'].Add([WinprovEmulation.FakeX509Store]::ToState($public))
        $answer = Invoke-Import @([pscustomobject]@{ thumbprint = $Bundle.thumbprint; store = 'My' })
        $answer.results[0].outcome | Should -Be 'imported'
        @($State.certificates.My).Count | Should -Be 1
        $State.certificates.My[0].hasPrivateKey | Should -BeTrue
        # With its key in the store it is present on the next run.
        (Invoke-Import @([pscustomobject]@{ thumbprint = $Bundle.thumbprint; store = 'My' })).results[0].outcome | Should -Be 'present'
    }

    It 'places one certificate in two stores, creating a missing store' {
        $answer = Invoke-Import @([pscustomobject]@{ thumbprint = $Bundle.thumbprint; store = 'My' }, [pscustomobject]@{ thumbprint = $Bundle.thumbprint; store = 'WebHosting' })
        $answer.results.outcome | Should -Be @('imported', 'imported')
        $State.certificates.WebHosting[0].thumbprint | Should -Be $Bundle.thumbprint
    }

    It 'rejects a thumbprint the bundle does not hold, before changing anything' {
        { Invoke-Import @([pscustomobject]@{ thumbprint = ('0' * 40); store = 'My' }) } | Should -Throw -ErrorId 'WinprovRejected'
        @($State.certificates.My).Count | Should -Be 0
    }

    It 'fails when the store refuses the certificate' {
        $State.faults['X509Store.Add'] = @{ error = 'AccessDenied' }
        { Invoke-Import @([pscustomobject]@{ thumbprint = $Bundle.thumbprint; store = 'My' }) } | Should -Throw '*Access is denied*'
    }

    It 'wipes its copy of the PFX bytes' {
        $global:WinprovRequestSecrets = @{ pfx = [byte[]]$Bundle.pfx.Clone() }
        $null = Import-WinprovCertificates -Request ([pscustomobject]@{ pfxPassword = ''; placements = @([pscustomobject]@{ thumbprint = $Bundle.thumbprint; store = 'My' }) })
        $global:WinprovRequestSecrets['pfx'] | Should -Be $Bundle.pfx
        $global:WinprovRequestSecrets = @{}
    }
}
