# The run mutex (lock.ps1) and the host loop's release of it. Named mutexes are real .NET mutexes here,
# under a name of this machine's own (handlers/intercepts.ps1). On Linux .NET reports no abandonment
# across processes, but it does when a thread of this process ends owning the mutex, as Windows does for
# a process: the other holder below is a thread that ends with its runspace.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'lock.ps1')
    $script:SavedState = $env:WINPROV_EMULATION_STATE
    # A name no other test process uses (intercepts.ps1 derives the suffix from this variable).
    $env:WINPROV_EMULATION_STATE = 'lock-tests-' + [guid]::NewGuid()

    function New-TestRunMutex {
        # Another handle on the mutex lock.ps1 opens (through the same New-Object, so the same name).
        New-Object -TypeName System.Threading.Mutex -ArgumentList $false, 'Global\winprov-run'
    }

    function Invoke-OnOwnThread {
        # Runs the script on a thread of its own, which ends with it: a mutex it still owns is abandoned.
        param([Parameter(Mandatory = $true)] [System.Threading.Mutex] $Mutex, [Parameter(Mandatory = $true)] [string] $Script)
        $runspace = [runspacefactory]::CreateRunspace()
        $runspace.ThreadOptions = [System.Management.Automation.Runspaces.PSThreadOptions]::UseNewThread
        $runspace.Open()
        $runspace.SessionStateProxy.SetVariable('mutex', $Mutex)
        $shell = [powershell]::Create()
        $shell.Runspace = $runspace
        try { return @($shell.AddScript($Script).Invoke()) } finally { $shell.Dispose(); $runspace.Dispose() }
    }


    # How another holder finds the mutex: free (True), held (False) or abandoned; it releases what it took.
    $script:Probe = 'try { $got = $mutex.WaitOne(0); if ($got) { $mutex.ReleaseMutex() }; [string]$got } catch [System.Threading.AbandonedMutexException] { $mutex.ReleaseMutex(); ''abandoned'' }'
}

AfterAll {
    $env:WINPROV_EMULATION_STATE = $script:SavedState
}

Describe 'the run mutex' {
    BeforeEach { $script:State = New-TestMachine }
    AfterEach { Exit-WinprovRunMutex }

    It 'is taken once, and held by this process until released' {
        $mutex = New-TestRunMutex
        foreach ($attempt in 1, 2) {
            $answer = Enter-WinprovRunMutex -Request @{ waitMs = 0 }
            $answer.acquired | Should -BeTrue
            $answer.abandoned | Should -BeFalse
        }
        Invoke-OnOwnThread -Mutex $mutex -Script $Probe | Should -Be 'False'
        Exit-WinprovRunMutex
        $global:WinprovRunMutex | Should -BeNullOrEmpty
        Invoke-OnOwnThread -Mutex $mutex -Script $Probe | Should -Be 'True'
    }

    It 'reports a mutex whose holder ended without releasing it as acquired and abandoned' {
        $mutex = New-TestRunMutex
        Invoke-OnOwnThread -Mutex $mutex -Script '[string]$mutex.WaitOne(0)' | Should -Be 'True'
        # The wait covers the moment the thread takes to end after its runspace closed.
        $answer = Enter-WinprovRunMutex -Request @{ waitMs = 5000 }
        $answer.acquired | Should -BeTrue
        $answer.abandoned | Should -BeTrue
        $global:WinprovRunMutex | Should -Not -BeNullOrEmpty
    }

    It 'is released, not abandoned, when the host gets the exit request or its stdin ends' {
        $mutex = New-TestRunMutex
        foreach ($lines in @(@('{"id":1,"secrets":0,"verb":"enterRunMutex","params":{"waitMs":0}}', '{"id":2,"secrets":0,"verb":"exit","params":{}}'), @('{"id":1,"secrets":0,"verb":"enterRunMutex","params":{"waitMs":0}}'))) {
            $answers = Invoke-TestHost $lines
            $answers[1].result.acquired | Should -BeTrue
            $global:WinprovRunMutex | Should -BeNullOrEmpty
            Invoke-OnOwnThread -Mutex $mutex -Script $Probe | Should -Be 'True'
        }
    }
}
