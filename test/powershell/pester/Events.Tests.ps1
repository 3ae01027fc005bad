# recordEvent (events.ps1) on the emulated machine.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'events.ps1')
}

Describe 'recordEvent' {
    BeforeEach { $script:State = New-TestMachine }

    It 'registers the missing source winprov, then writes the entry' {
        $answer = Write-WinprovEvent -Request ([pscustomobject]@{ entryType = 'Information'; eventId = 1000; message = 'started' })
        $answer.created | Should -BeTrue
        $answer.log | Should -Be 'Application'
        $State.eventLog.sources.Application | Should -Contain 'winprov'
        $State.registry['SYSTEM\CurrentControlSet\Services\EventLog\Application\winprov']['EventMessageFile'].data | Should -Match 'EventLogMessages.dll'
        $entry = $State.eventLog.entries[-1]
        $entry.source | Should -Be 'winprov'
        $entry.id | Should -Be 1000
        $entry.entryType | Should -Be 'Information'
        $entry.message | Should -Be 'started'
    }

    It 'writes with a registered source without creating it' {
        $State.eventLog.sources.Application.Add('winprov')
        $answer = Write-WinprovEvent -Request ([pscustomobject]@{ entryType = 'Error'; eventId = 1002; message = 'failed' })
        $answer.created | Should -BeFalse
        $State.eventLog.entries[-1].level | Should -Be 2
    }

    It 'rejects another entry type and an event id out of range' {
        { Write-WinprovEvent -Request ([pscustomobject]@{ entryType = 'SuccessAudit'; eventId = 1000; message = 'x' }) } | Should -Throw -ErrorId 'WinprovRejected'
        { Write-WinprovEvent -Request ([pscustomobject]@{ entryType = 'Information'; eventId = 70000; message = 'x' }) } | Should -Throw -ErrorId 'WinprovRejected'
    }

    It 'explains a source that cannot be created' {
        $State.faults['EventLog.CreateEventSource'] = @{ error = 'AccessDenied' }
        { Write-WinprovEvent -Request ([pscustomobject]@{ entryType = 'Information'; eventId = 1000; message = 'x' }) } | Should -Throw '*is not registered (the winprov MSI registers it)*'
    }
}
