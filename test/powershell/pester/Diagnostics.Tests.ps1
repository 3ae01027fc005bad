# readDiagnostics (diagnostics.ps1) on the emulated machine.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'diagnostics.ps1')
    Mock Get-WinEvent { Invoke-EmulationStub -Name 'Get-WinEvent' -Bound $PesterBoundParameters }
    function Find-TestKey($Answer, [string] $Path) { foreach ($key in $Answer.registry) { if ($key.path -eq $Path) { return $key } } }
}

Describe 'readDiagnostics' {
    BeforeEach { $script:State = New-TestMachine }

    It 'reads the fixed registry keys with their kinds, as JSON carries them' {
        $answer = Get-WinprovDiagnostics -Request ([pscustomobject]@{})
        $setup = Find-TestKey $answer 'HKLM\SYSTEM\Setup'
        $setup.exists | Should -BeTrue
        ($setup.values | Where-Object { $_.name -eq 'SystemSetupInProgress' }).data | Should -Be '1'
        ($setup.values | Where-Object { $_.name -eq 'SystemSetupInProgress' }).kind | Should -Be 'DWord'
        $setup.missing | Should -Contain 'SetupPhase'
        $interface = Find-TestKey $answer 'HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces\{6B9C1E73-5D2A-4F0E-9C8B-2A1D3E4F5A60}'
        ($interface.values | Where-Object { $_.name -eq 'DhcpDefaultGateway' }).data | Should -Be @('10.0.0.1')
        ($interface.values.name) | Should -Not -Contain 'DhcpInterfaceOptions'
        $agent = Find-TestKey $answer 'HKLM\SYSTEM\CurrentControlSet\Services\RdAgent'
        ($agent.values | Where-Object { $_.name -eq 'ImagePath' }).kind | Should -Be 'ExpandString'
        (Find-TestKey $answer 'HKLM\SOFTWARE\Microsoft\GuestAgent').exists | Should -BeFalse
    }

    It 'writes a DWORD above 2^31 as unsigned text' {
        $State.registry['SYSTEM\Setup']['SetupPhase'] = @{ kind = 'DWord'; data = -1 }
        $answer = Get-WinprovDiagnostics -Request ([pscustomobject]@{})
        ((Find-TestKey $answer 'HKLM\SYSTEM\Setup').values | Where-Object { $_.name -eq 'SetupPhase' }).data | Should -Be '4294967295'
    }

    It 'extracts the System log and reports a never registered source as text' {
        $answer = Get-WinprovDiagnostics -Request ([pscustomobject]@{})
        $answer.systemEvents.error | Should -BeNullOrEmpty
        $answer.systemEvents.events[0].id | Should -Be 7000
        $answer.systemEvents.events[0].level | Should -Be 2
        $answer.winprovEvents.events.Count | Should -Be 0
        $answer.winprovEvents.error | Should -Match 'winprov'
        Should -Invoke Get-WinEvent -Times 1 -Exactly -ParameterFilter { $FilterHashtable[0]['LogName'] -eq 'System' -and $MaxEvents -eq 100 }
    }

    It 'extracts the winprov events, newest first, and an empty extract when there are none' {
        $State.eventLog.sources.Application.Add('winprov')
        (Get-WinprovDiagnostics -Request ([pscustomobject]@{})).winprovEvents.error | Should -BeNullOrEmpty
        $State.eventLog.entries.Add(@{ log = 'Application'; source = 'winprov'; id = 1000; entryType = 'Information'; level = 4; message = 'started'; timeCreated = '2026-01-02T00:00:00.0000000Z'; recordId = 10 })
        $State.eventLog.entries.Add(@{ log = 'Application'; source = 'winprov'; id = 1001; entryType = 'Information'; level = 4; message = 'done'; timeCreated = '2026-01-02T00:01:00.0000000Z'; recordId = 11 })
        $events = (Get-WinprovDiagnostics -Request ([pscustomobject]@{})).winprovEvents.events
        $events.id | Should -Be @(1001, 1000)
        $events[0].time | Should -Be '2026-01-02T00:01:00.0000000Z'
    }

    It 'serializes within the depth the host uses' {
        $answer = Get-WinprovDiagnostics -Request ([pscustomobject]@{})
        $json = Microsoft.PowerShell.Utility\ConvertTo-Json -InputObject @{ id = 1; ok = $true; result = $answer } -Compress -Depth 16
        $json | Should -Not -Match 'System.Collections'
    }
}
