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

    It 'makes the old file private before replacing it: ReplaceFile keeps the replaced file''s DACL' {
        $file = [System.IO.Path]::Combine($Drive, 'AzureData', 'CustomData.bin')
        $global:WinprovRequestSecrets = @{ customData = [System.Text.Encoding]::UTF8.GetBytes('first') }
        $null = Write-WinprovCustomData -Request ([pscustomobject]@{ directory = 'C:\AzureData' })
        $State.acls.ContainsKey($file) | Should -BeFalse -Because 'a new file takes the folder''s DACL by inheritance'
        $global:WinprovRequestSecrets = @{ customData = [System.Text.Encoding]::UTF8.GetBytes('second') }
        $null = Write-WinprovCustomData -Request ([pscustomobject]@{ directory = 'C:\AzureData' })
        $global:WinprovRequestSecrets = @{}
        $acl = $State.acls[$file]
        $acl.protected | Should -BeTrue
        $acl.preserveInheritance | Should -BeFalse
        $acl.owner | Should -Be 'S-1-5-32-544'
        $acl.rules.sid | Should -Be @('S-1-5-18', 'S-1-5-32-544')
        $acl.rules.rights | Should -Be @('FullControl', 'FullControl')
    }

    It 'writes a new temporary file when a killed run left one, and removes it' {
        $folder = [System.IO.Path]::Combine($Drive, 'AzureData')
        $null = [System.IO.Directory]::CreateDirectory($folder)
        [System.IO.File]::WriteAllText([System.IO.Path]::Combine($folder, 'CustomData.bin.tmp'), 'left over, and longer than the new bytes')
        $global:WinprovRequestSecrets = @{ customData = [System.Text.Encoding]::UTF8.GetBytes('new') }
        $null = Write-WinprovCustomData -Request ([pscustomobject]@{ directory = 'C:\AzureData' })
        $global:WinprovRequestSecrets = @{}
        [System.IO.File]::ReadAllText([System.IO.Path]::Combine($folder, 'CustomData.bin')) | Should -Be 'new'
        [System.IO.File]::Exists([System.IO.Path]::Combine($folder, 'CustomData.bin.tmp')) | Should -BeFalse
    }

    It 'tries a replace Windows refuses for a moment again, and gives up after its bound' {
        $file = [System.IO.Path]::Combine($Drive, 'AzureData', 'CustomData.bin')
        $global:WinprovRequestSecrets = @{ customData = [System.Text.Encoding]::UTF8.GetBytes('first') }
        $null = Write-WinprovCustomData -Request ([pscustomobject]@{ directory = 'C:\AzureData' })
        $State.faults['File.Replace'] = @{ remaining = 2 }
        $global:WinprovRequestSecrets = @{ customData = [System.Text.Encoding]::UTF8.GetBytes('second') }
        $null = Write-WinprovCustomData -Request ([pscustomobject]@{ directory = 'C:\AzureData' })
        [System.IO.File]::ReadAllText($file) | Should -Be 'second'
        $State.faults['File.Replace'] = @{ remaining = -1 }
        $script:WinprovFileRetryMs = 200
        try {
            $global:WinprovRequestSecrets = @{ customData = [System.Text.Encoding]::UTF8.GetBytes('third') }
            { Write-WinprovCustomData -Request ([pscustomobject]@{ directory = 'C:\AzureData' }) } | Should -Throw '*being used by another process*'
        } finally {
            $script:WinprovFileRetryMs = 10000
            $global:WinprovRequestSecrets = @{}
        }
        [System.IO.File]::ReadAllText($file) | Should -Be 'second'
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
