# setFirstBootResume (tasks.ps1) on the emulated machine: the first-boot script's startup task.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'tasks.ps1')
    $script:Exe = 'C:\Program Files\winprov\winprov.exe'
}

Describe 'setFirstBootResume' {
    It 'registers \winprov\first-boot-resume: winprov.exe first-boot-script at startup, as SYSTEM with the highest run level' {
        $state = New-TestMachine
        $answer = Set-WinprovFirstBootResume -Request ([pscustomobject]@{ on = $true; executable = $script:Exe })
        $answer.registered | Should -BeTrue
        $tasks = @($state.scheduledTasks)
        $tasks.Count | Should -Be 1
        $tasks[0].taskPath | Should -Be '\winprov\'
        $tasks[0].taskName | Should -Be 'first-boot-resume'
        $tasks[0].execute | Should -Be $script:Exe
        $tasks[0].argument | Should -Be 'first-boot-script'
        $tasks[0].trigger | Should -Be 'MSFT_TaskBootTrigger'
        $tasks[0].userId | Should -Be 'SYSTEM'
        $tasks[0].logonType | Should -Be 'ServiceAccount'
        $tasks[0].runLevel | Should -Be 'Highest'
        @($tasks[0].settings) | Should -Be @('AllowStartIfOnBatteries', 'DontStopIfGoingOnBatteries')
        $tasks[0].priority | Should -Be 4
    }

    It 'registers it again over an earlier one (-Force), never a second task' {
        $state = New-TestMachine
        $null = Set-WinprovFirstBootResume -Request ([pscustomobject]@{ on = $true; executable = 'D:\old\winprov.exe' })
        $null = Set-WinprovFirstBootResume -Request ([pscustomobject]@{ on = $true; executable = $script:Exe })
        @($state.scheduledTasks).Count | Should -Be 1
        @($state.scheduledTasks)[0].execute | Should -Be $script:Exe
    }

    It 'removes it, and removing it when it is not there is no error' {
        $state = New-TestMachine
        $null = Set-WinprovFirstBootResume -Request ([pscustomobject]@{ on = $true; executable = $script:Exe })
        $removed = Set-WinprovFirstBootResume -Request ([pscustomobject]@{ on = $false })
        $removed.registered | Should -BeFalse
        $removed.removed | Should -BeTrue
        @($state.scheduledTasks).Count | Should -Be 0
        $again = Set-WinprovFirstBootResume -Request ([pscustomobject]@{ on = $false })
        $again.removed | Should -BeFalse
    }

    It 'leaves every other task alone' {
        $state = New-TestMachine
        $state.scheduledTasks = [System.Collections.Generic.List[object]]::new()
        $state.scheduledTasks.Add(@{ taskPath = '\'; taskName = 'first-boot-resume'; execute = 'other.exe'; argument = ''; trigger = 'MSFT_TaskBootTrigger'; userId = 'SYSTEM'; logonType = 'ServiceAccount'; runLevel = 'Highest'; settings = @() })
        $null = Set-WinprovFirstBootResume -Request ([pscustomobject]@{ on = $true; executable = $script:Exe })
        $null = Set-WinprovFirstBootResume -Request ([pscustomobject]@{ on = $false })
        @($state.scheduledTasks).Count | Should -Be 1
        @($state.scheduledTasks)[0].execute | Should -Be 'other.exe'
    }

    It 'fails when Task Scheduler refuses the task, and leaves none' {
        $state = New-TestMachine
        $state.faults['Register-ScheduledTask'] = @{ error = 'HRESULT 0x80070005'; message = 'Access is denied.'; win32 = 5 }
        { Set-WinprovFirstBootResume -Request ([pscustomobject]@{ on = $true; executable = $script:Exe }) } | Should -Throw '*Access is denied*'
        @($state.scheduledTasks).Count | Should -Be 0
    }
}
