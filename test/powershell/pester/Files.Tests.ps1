# writeCustomData, ensureStateDirectory (files.ps1) on the emulated machine.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'files.ps1')
}

Describe 'writeCustomData' {
    BeforeEach {
        $script:State = New-TestMachine
        $script:Drive = $State.drives[0].root
    }

    It 'writes CustomData.bin under a folder only SYSTEM and Administrators may use' {
        $global:WinprovRequestSecrets = @{ customData = [System.Text.Encoding]::UTF8.GetBytes('custom-payload') }
        $answer = Write-WinprovCustomData -Request ([pscustomobject]@{ directory = 'C:\AzureData' })
        $global:WinprovRequestSecrets = @{}
        $answer.path | Should -Match 'CustomData.bin$'
        $file = [System.IO.Path]::Combine($Drive, 'AzureData', 'CustomData.bin')
        [System.Text.Encoding]::UTF8.GetString([System.IO.File]::ReadAllBytes($file)) | Should -Be 'custom-payload'
        $acl = $State.acls[[System.IO.Path]::Combine($Drive, 'AzureData')]
        $acl.protected | Should -BeTrue
        $acl.preserveInheritance | Should -BeFalse
        $acl.owner | Should -Be 'S-1-5-32-544'
        $acl.rules.sid | Should -Be @('S-1-5-18', 'S-1-5-32-544')
        $acl.rules.rights | Should -Be @('FullControl', 'FullControl')
        $acl.rules[0].inheritance | Should -Be 'ContainerInherit, ObjectInherit'
        [System.IO.File]::Exists($file + '.tmp') | Should -BeFalse
    }

    It 'replaces an earlier file' {
        foreach ($text in @('first', 'second')) {
            $global:WinprovRequestSecrets = @{ customData = [System.Text.Encoding]::UTF8.GetBytes($text) }
            $null = Write-WinprovCustomData -Request ([pscustomobject]@{ directory = 'C:\AzureData' })
        }
        $global:WinprovRequestSecrets = @{}
        [System.IO.File]::ReadAllText([System.IO.Path]::Combine($Drive, 'AzureData', 'CustomData.bin')) | Should -Be 'second'
    }

    It 'fails without the secret' {
        $global:WinprovRequestSecrets = @{}
        { Write-WinprovCustomData -Request ([pscustomobject]@{ directory = 'C:\AzureData' }) } | Should -Throw '*no secret named customData*'
    }
}

Describe 'ensureStateDirectory' {
    It 'creates the folder with the private ACL' {
        $state = New-TestMachine
        $path = [System.IO.Path]::Combine($state.drives[0].root, 'ProgramData', 'winprov')
        (Initialize-WinprovStateDirectory -Request ([pscustomobject]@{ path = $path })).path | Should -Be $path
        [System.IO.Directory]::Exists($path) | Should -BeTrue
        $state.acls[$path].rules.Count | Should -Be 2
    }

    It 'fails when the ACL cannot be set' {
        $state = New-TestMachine
        $state.faults['DirectoryInfo.SetAccessControl'] = @{ error = 'AccessDenied' }
        { Initialize-WinprovStateDirectory -Request ([pscustomobject]@{ path = [System.IO.Path]::Combine($state.drives[0].root, 'x') }) } | Should -Throw '*unauthorized*'
    }
}
