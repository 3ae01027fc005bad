# readVmId, setComputerName, setTimeZone (identity.ps1) on the emulated machine.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'identity.ps1')
    foreach ($name in @('Get-CimInstance', 'Invoke-CimMethod', 'Get-TimeZone', 'Set-TimeZone')) {
        Mock $name ([scriptblock]::Create("Invoke-EmulationStub -Name '$name' -Bound `$PesterBoundParameters"))
    }
}

Describe 'readVmId' {
    It 'answers the SMBIOS UUID' {
        $state = New-TestMachine
        $state.computer.uuid = '11111111-2222-3333-4444-555555555555'
        (Get-WinprovVmId -Request ([pscustomobject]@{})).uuid | Should -Be '11111111-2222-3333-4444-555555555555'
        Should -Invoke Get-CimInstance -Times 1 -Exactly -ParameterFilter { $ClassName -eq 'Win32_ComputerSystemProduct' }
    }
}

Describe 'setComputerName' {
    BeforeEach { $script:State = New-TestMachine }

    It 'renames when the pending name differs, writing both pending names' {
        $answer = Set-WinprovComputerName -Request ([pscustomobject]@{ name = 'web-frontend-0001-long' })
        $answer.outcome | Should -Be 'renamed'
        $State.registry['SYSTEM\CurrentControlSet\Services\Tcpip\Parameters']['NV Hostname'].data | Should -Be 'web-frontend-0001-long'
        $State.registry['SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName']['ComputerName'].data | Should -Be 'WEB-FRONTEND-00'
        Should -Invoke Invoke-CimMethod -Times 1 -Exactly -ParameterFilter { $MethodName -eq 'Rename' -and $Arguments['Name'] -eq 'web-frontend-0001-long' -and $InputObject.CimClass.CimClassName -eq 'Win32_ComputerSystem' }
    }

    It 'leaves the name when both pending names already match, case-insensitively' {
        $State.registry['SYSTEM\CurrentControlSet\Services\Tcpip\Parameters']['NV Hostname'].data = 'MyVm'
        $State.registry['SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName']['ComputerName'].data = 'MYVM'
        (Set-WinprovComputerName -Request ([pscustomobject]@{ name = 'myvm' })).outcome | Should -Be 'unchanged'
        Should -Invoke Invoke-CimMethod -Times 0 -Exactly
    }

    It 'renames when only the NetBIOS name differs' {
        $State.registry['SYSTEM\CurrentControlSet\Services\Tcpip\Parameters']['NV Hostname'].data = 'myvm'
        (Set-WinprovComputerName -Request ([pscustomobject]@{ name = 'myvm' })).outcome | Should -Be 'renamed'
    }

    It 'reports a name Windows refuses as its Win32 code' {
        $failure = $null
        try { Set-WinprovComputerName -Request ([pscustomobject]@{ name = 'bad_name!' }) } catch { $failure = ConvertTo-WinprovFailure -Record $_ }
        $failure.win32 | Should -Be 123
        $failure.exceptionTypes | Should -Contain 'System.ComponentModel.Win32Exception'
    }

    It 'reports a refused rename (fault 1210)' {
        $State.faults['Invoke-CimMethod'] = @{ returnValue = 1210 }
        $failure = $null
        try { Set-WinprovComputerName -Request ([pscustomobject]@{ name = 'fine-name' }) } catch { $failure = ConvertTo-WinprovFailure -Record $_ }
        $failure.win32 | Should -Be 1210
        $State.registry['SYSTEM\CurrentControlSet\Services\Tcpip\Parameters']['NV Hostname'].data | Should -Not -Be 'fine-name'
    }

    It 'reports a WMI code above 0xFFFF as text' {
        $State.faults['Invoke-CimMethod'] = @{ returnValue = 2147749889 }
        { Set-WinprovComputerName -Request ([pscustomobject]@{ name = 'fine-name' }) } | Should -Throw '*0x80041001*'
    }
}

Describe 'setTimeZone' {
    BeforeEach { $script:State = New-TestMachine }

    It 'changes a different time zone' {
        (Set-WinprovTimeZone -Request ([pscustomobject]@{ timeZoneId = 'W. Europe Standard Time' })).outcome | Should -Be 'changed'
        $State.timeZone.id | Should -Be 'W. Europe Standard Time'
        Should -Invoke Set-TimeZone -Times 1 -Exactly -ParameterFilter { $Id -eq 'W. Europe Standard Time' }
    }

    It 'leaves the same time zone' {
        (Set-WinprovTimeZone -Request ([pscustomobject]@{ timeZoneId = 'UTC' })).outcome | Should -Be 'unchanged'
        Should -Invoke Set-TimeZone -Times 0 -Exactly
    }

    It 'rejects an unknown id with the rule' {
        $failure = $null
        try { Set-WinprovTimeZone -Request ([pscustomobject]@{ timeZoneId = 'Nowhere Standard Time' }) } catch { $failure = ConvertTo-WinprovFailure -Record $_ }
        $failure.fullyQualifiedErrorId | Should -Be 'WinprovRejected'
        $failure.rule | Should -Match 'time zone id'
        $failure.exceptionTypes | Should -Contain 'System.TimeZoneNotFoundException'
        Should -Invoke Set-TimeZone -Times 0 -Exactly
    }
}
