# writeKvpReport (kvp.ps1) on the emulated machine.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'kvp.ps1')
}

Describe 'writeKvpReport' {
    It 'writes PROVISIONING_REPORT as REG_SZ in the guest pool' {
        $state = New-TestMachine
        (Set-WinprovKvpReport -Request ([pscustomobject]@{ report = 'PROVISIONING_REPORT: ok|agent=winprov' })).written | Should -BeTrue
        $value = $state.registry['SOFTWARE\Microsoft\Virtual Machine\Guest']['PROVISIONING_REPORT']
        $value.kind | Should -Be 'String'
        $value.data | Should -Be 'PROVISIONING_REPORT: ok|agent=winprov'
    }

    It 'creates the key when the pool is missing and overwrites an earlier report' {
        $state = New-TestMachine
        $state.registry.Remove('SOFTWARE\Microsoft\Virtual Machine\Guest')
        $state.registry.Remove('SOFTWARE\Microsoft\Virtual Machine\Guest\Parameters')
        $null = Set-WinprovKvpReport -Request ([pscustomobject]@{ report = 'first' })
        $null = Set-WinprovKvpReport -Request ([pscustomobject]@{ report = 'second' })
        $state.registry['SOFTWARE\Microsoft\Virtual Machine\Guest']['PROVISIONING_REPORT'].data | Should -Be 'second'
    }

    It 'fails when the registry refuses the write' {
        $state = New-TestMachine
        $state.faults['Registry.SetValue'] = @{ error = 'AccessDenied' }
        { Set-WinprovKvpReport -Request ([pscustomobject]@{ report = 'x' }) } | Should -Throw '*registry access is not allowed*'
    }
}

Describe 'writeKvpValue' {
    It 'writes FIRST_BOOT_SCRIPT as REG_SZ beside PROVISIONING_REPORT' {
        $state = New-TestMachine
        (Set-WinprovKvpValue -Request ([pscustomobject]@{ name = 'FIRST_BOOT_SCRIPT'; value = 'source=customData|outcome=succeeded' })).written | Should -BeTrue
        $value = $state.registry['SOFTWARE\Microsoft\Virtual Machine\Guest']['FIRST_BOOT_SCRIPT']
        $value.kind | Should -Be 'String'
        $value.data | Should -Be 'source=customData|outcome=succeeded'
    }

    It 'refuses a value name winprov does not write' {
        $state = New-TestMachine
        { Set-WinprovKvpValue -Request ([pscustomobject]@{ name = 'PROVISIONING_REPORT'; value = 'x' }) } | Should -Throw '*not one winprov writes*'
        $state.registry['SOFTWARE\Microsoft\Virtual Machine\Guest'].ContainsKey('PROVISIONING_REPORT') | Should -BeFalse
    }
}
