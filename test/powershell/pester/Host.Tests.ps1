# The request loop of host.ps1 with every verb script loaded, as the bootstrap loads them: requests and
# secret lines in, marked answers out.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    foreach ($file in @('host.ps1', 'accounts.ps1', 'certificates.ps1', 'diagnostics.ps1', 'events.ps1', 'files.ps1', 'identity.ps1', 'kvp.ps1', 'lock.ps1', 'media.ps1', 'network.ps1', 'services.ps1', 'winrm.ps1')) {
        . (Get-WinprovScriptPath $file)
    }
}

Describe 'the request loop' {
    BeforeEach { $script:State = New-TestMachine }

    It 'answers ready, then each request under its id' {
        $answers = Invoke-TestHost @('{"id":1,"secrets":0,"verb":"readVmId","params":{}}', '{"id":2,"secrets":0,"verb":"exit","params":{}}')
        $answers[0].id | Should -Be 0
        $answers[0].result.psVersion | Should -Not -BeNullOrEmpty
        $answers[1].id | Should -Be 1
        $answers[1].result.uuid | Should -Be $State.computer.uuid
        $answers[2].ok | Should -BeTrue
    }

    It 'takes the password from its secret line and wipes it after the answer' {
        $line = 'password:' + [System.Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes('Host-Secret-Pw1!'))
        $answers = Invoke-TestHost @('{"id":3,"secrets":1,"verb":"ensureAdminAccount","params":{"username":"hostuser","resetPasswordOnFirstLogon":false}}', $line)
        $answers[1].ok | Should -BeTrue
        $answers[1].result.outcome | Should -Be 'renamed'
        (Find-TestEntry $State.users 'name' 'hostuser').passwordSha256 | Should -Be (Get-TestSha256 'Host-Secret-Pw1!')
        $global:WinprovRequestSecrets.Count | Should -Be 0
    }

    It 'answers a failure with the classification fields, and continues' {
        $answers = Invoke-TestHost @('{"id":4,"secrets":0,"verb":"setTimeZone","params":{"timeZoneId":"Nowhere"}}', '{"id":5,"secrets":0,"verb":"nope","params":{}}', '{"id":6,"secrets":0,"verb":"readVmId","params":{}}')
        $answers[1].ok | Should -BeFalse
        $answers[1].error.fullyQualifiedErrorId | Should -Be 'WinprovRejected'
        $answers[2].id | Should -Be 5
        $answers[2].error.exceptionTypes | Should -Contain 'System.NotSupportedException'
        $answers[3].ok | Should -BeTrue
    }

    It 'sends a verb''s warnings as log lines while it runs, before its answer, and keeps them out of the answer' {
        # $Writer is Invoke-WinprovVerb's: what it holds while the verb still runs.
        Mock Get-WinprovVmId { Write-Warning 'the first warning'; $script:WrittenMeanwhile = $Writer.ToString(); Write-Warning 'the second warning'; @{ uuid = 'from-the-mock' } }
        $answers = Invoke-TestHost @('{"id":9,"secrets":0,"verb":"readVmId","params":{}}', '{"id":10,"secrets":0,"verb":"exit","params":{}}')
        $answers.Count | Should -Be 5
        $answers[1].log | Should -Be 'warn'
        $answers[1].message | Should -Be 'readVmId: the first warning'
        $answers[2].message | Should -Be 'readVmId: the second warning'
        $answers[3].id | Should -Be 9
        $answers[3].result.uuid | Should -Be 'from-the-mock'
        $answers[4].id | Should -Be 10
        $script:WrittenMeanwhile | Should -Match 'readVmId: the first warning'
    }

    It 'answers a line that is not JSON under its id and consumes its secret lines' {
        $answers = Invoke-TestHost @('{"id":7,"secrets":1,"verb":', 'password:AAAA', '{"id":8,"secrets":0,"verb":"readVmId","params":{}}')
        $answers[1].id | Should -Be 7
        $answers[1].ok | Should -BeFalse
        $answers[2].id | Should -Be 8
        $answers[2].ok | Should -BeTrue
    }
}

Describe 'ConvertTo-WinprovFailure' {
    It 'reads no Win32 or NTSTATUS code from a CIM failure: a CimException''s codes are the CIM client''s own' {
        $failure = $null
        try { throw [Microsoft.Management.Infrastructure.CimException]::new('Access denied') } catch { $failure = ConvertTo-WinprovFailure -Record $_ }
        $failure.exceptionTypes | Should -Contain 'Microsoft.Management.Infrastructure.CimException'
        $failure.win32 | Should -BeNullOrEmpty
        $failure.ntStatus | Should -BeNullOrEmpty
    }

    It 'keeps the Win32 code of a Win32 failure' {
        $failure = $null
        try { throw [System.ComponentModel.Win32Exception]::new(5) } catch { $failure = ConvertTo-WinprovFailure -Record $_ }
        $failure.win32 | Should -Be 5
    }
}
