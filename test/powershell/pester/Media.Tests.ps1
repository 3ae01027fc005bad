# readProvisioningMedia (media.ps1) on the emulated machine.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'media.ps1')
}

Describe 'readProvisioningMedia' {
    It 'reads ovf-env.xml and CustomData.bin from the drive with the tag file' {
        $null = New-TestMachine -Options @{ OvfEnv = '<Environment>media</Environment>'; CustomData = [byte[]](7, 8, 9) }
        $answer = Read-WinprovProvisioningMedia -Request ([pscustomobject]@{})
        $answer.found | Should -BeTrue
        $answer.location | Should -Match '/D/$'
        [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($answer.ovfEnv)) | Should -Be '<Environment>media</Environment>'
        [System.Convert]::FromBase64String($answer.customData) | Should -Be @(7, 8, 9)
    }

    It 'answers no custom data when the media has none' {
        $null = New-TestMachine
        (Read-WinprovProvisioningMedia -Request ([pscustomobject]@{})).customData | Should -BeNullOrEmpty
    }

    It 'answers found without ovf-env.xml' {
        $null = New-TestMachine -Options @{ NoOvfEnv = $true }
        $answer = Read-WinprovProvisioningMedia -Request ([pscustomobject]@{})
        $answer.found | Should -BeTrue
        $answer.ovfEnv | Should -BeNullOrEmpty
    }

    It 'answers not found, listing the ready drives searched, when no media is attached' {
        $null = New-TestMachine -Options @{ NoMedia = $true }
        $answer = Read-WinprovProvisioningMedia -Request ([pscustomobject]@{})
        $answer.found | Should -BeFalse
        @($answer.searched).Count | Should -Be 1
    }
}
