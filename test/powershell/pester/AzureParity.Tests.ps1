# readRdpCertificate (rdp.ps1) and writeAnswerFile (unattend.ps1) on the emulated machine.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'files.ps1')
    . (Get-WinprovScriptPath 'rdp.ps1')
    . (Get-WinprovScriptPath 'unattend.ps1')
    Mock 'Get-CimInstance' ([scriptblock]::Create("Invoke-EmulationStub -Name 'Get-CimInstance' -Bound `$PesterBoundParameters"))
}

Describe 'readRdpCertificate' {
    BeforeEach { $script:State = New-TestMachine }

    It 'reads SSLCertificateSHA1Hash of RDP-Tcp from Win32_TSGeneralSetting in root\cimv2\TerminalServices' {
        $answer = Get-WinprovRdpCertificate -Request ([pscustomobject]@{})
        $answer.found | Should -BeTrue
        $answer.thumbprint | Should -Be $State.terminalServices.listeners[0].sslCertificateSHA1Hash
        Should -Invoke Get-CimInstance -Times 1 -Exactly -ParameterFilter {
            $ClassName -eq 'Win32_TSGeneralSetting' -and $Namespace -eq 'root\cimv2\TerminalServices' -and $Filter -eq "TerminalName='RDP-Tcp'"
        }
    }

    It 'answers found = false when there is no RDP listener' {
        $State.terminalServices.listeners = @()
        (Get-WinprovRdpCertificate -Request ([pscustomobject]@{})).found | Should -BeFalse
    }
}

Describe 'writeAnswerFile' {
    BeforeEach {
        $script:State = New-TestMachine
        $script:Folder = [System.IO.Path]::Combine($State.drives[0].root, 'Windows', 'Panther', 'Unattend')
        $script:Path = [System.IO.Path]::Combine($Folder, 'unattend.xml')
    }

    It 'limits the folder to SYSTEM and Administrators, then replaces the file with the text of the secret line' {
        $null = [System.IO.Directory]::CreateDirectory($Folder)
        [System.IO.File]::WriteAllText($Path, '<unattend/>')
        $global:WinprovRequestSecrets = @{ answerFile = [System.Text.Encoding]::UTF8.GetBytes('<unattend><x>S3cret</x></unattend>') }
        $answer = Write-WinprovAnswerFile -Request ([pscustomobject]@{ path = $Path })
        $global:WinprovRequestSecrets = @{}
        $answer.path | Should -Be $Path
        [System.IO.File]::ReadAllText($Path) | Should -Be '<unattend><x>S3cret</x></unattend>'
        [System.IO.File]::Exists($Path + '.tmp') | Should -BeFalse
        $acl = $State.acls[$Folder]
        $acl.protected | Should -BeTrue
        $acl.rules.sid | Should -Be @('S-1-5-18', 'S-1-5-32-544')
    }

    It 'fails without the secret and leaves the file as it was' {
        $null = [System.IO.Directory]::CreateDirectory($Folder)
        [System.IO.File]::WriteAllText($Path, '<unattend/>')
        $global:WinprovRequestSecrets = @{}
        { Write-WinprovAnswerFile -Request ([pscustomobject]@{ path = $Path }) } | Should -Throw '*no secret named answerFile*'
        [System.IO.File]::ReadAllText($Path) | Should -Be '<unattend/>'
    }
}
