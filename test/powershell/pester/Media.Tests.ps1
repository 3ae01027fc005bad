# readProvisioningMedia (media.ps1) on the emulated machine.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'media.ps1')
}

Describe 'readProvisioningMedia' {
    It 'answers the root of the drive holding the tag file, and never the files themselves' {
        $null = New-TestMachine -Options @{ OvfEnv = '<Environment>media</Environment>'; CustomData = [byte[]](7, 8, 9) }
        $answer = Read-WinprovProvisioningMedia -Request ([pscustomobject]@{})
        $answer.found | Should -BeTrue
        $answer.location | Should -Match '/D/$'
        @($answer.Keys | Sort-Object) | Should -Be @('found', 'location')
    }

    It 'answers found without ovf-env.xml (winprov then names the missing file)' {
        $null = New-TestMachine -Options @{ NoOvfEnv = $true }
        $answer = Read-WinprovProvisioningMedia -Request ([pscustomobject]@{})
        $answer.found | Should -BeTrue
        $answer.location | Should -Match '/D/$'
    }

    It 'skips drives that are not ready and answers not found, listing the ready drives searched, when no media is attached' {
        $null = New-TestMachine -Options @{ NoMedia = $true }
        $answer = Read-WinprovProvisioningMedia -Request ([pscustomobject]@{})
        $answer.found | Should -BeFalse
        @($answer.searched).Count | Should -Be 1
    }
}
