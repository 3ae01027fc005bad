# ensureAdminAccount (accounts.ps1) on the emulated machine.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'accounts.ps1')
    Mock New-LocalUser { Invoke-EmulationStub -Name 'New-LocalUser' -Bound $PesterBoundParameters }
    Mock Set-LocalUser { Invoke-EmulationStub -Name 'Set-LocalUser' -Bound $PesterBoundParameters }
    Mock Enable-LocalUser { Invoke-EmulationStub -Name 'Enable-LocalUser' -Bound $PesterBoundParameters }
    Mock Add-LocalGroupMember { Invoke-EmulationStub -Name 'Add-LocalGroupMember' -Bound $PesterBoundParameters }
    $script:Password = 'Str0ng-Emulated!pw'
    function Invoke-Ensure([string] $Name, [bool] $Reset = $false, [string] $Password = $script:Password) {
        $global:WinprovRequestSecrets = @{ password = [System.Text.Encoding]::UTF8.GetBytes($Password) }
        try { return Set-WinprovAdminAccount -Request ([pscustomobject]@{ username = $Name; resetPasswordOnFirstLogon = $Reset }) }
        finally { $global:WinprovRequestSecrets = @{} }
    }
}

Describe 'ensureAdminAccount' {
    BeforeEach { $script:State = New-TestMachine }

    It 'creates a missing user, never expiring, and adds it to Administrators' {
        $answer = Invoke-Ensure 'azureuser'
        $answer.outcome | Should -Be 'created'
        $answer.addedToAdministrators | Should -BeTrue
        $user = Find-TestEntry $State.users 'name' 'azureuser'
        $user.sid | Should -Be $answer.sid
        $user.sid | Should -Match '^S-1-5-21-\d+-\d+-\d+-1000$'
        $user.passwordSha256 | Should -Be (Get-TestSha256 $Password)
        $user.passwordNeverExpires | Should -BeTrue
        $user.accountNeverExpires | Should -BeTrue
        (Find-TestEntry $State.groups 'sid' 'S-1-5-32-544').members | Should -Contain $user.sid
        Should -Invoke New-LocalUser -Times 1 -Exactly -ParameterFilter { $Name -eq 'azureuser' -and $Password -is [securestring] -and $AccountNeverExpires -and $PasswordNeverExpires }
        Should -Invoke Set-LocalUser -Times 0 -Exactly
    }

    It 'updates the built-in Administrator (RID 500) found by name, without adding it again' {
        $answer = Invoke-Ensure 'administrator'
        $answer.outcome | Should -Be 'updated'
        $answer.sid | Should -Match '-500$'
        $answer.addedToAdministrators | Should -BeFalse
        (Find-TestEntry $State.users 'name' 'Administrator').passwordSha256 | Should -Be (Get-TestSha256 $Password)
        Should -Invoke Set-LocalUser -Times 1 -Exactly -ParameterFilter { $InputObject.SID.Value -like '*-500' -and $Password -is [securestring] }
        Should -Invoke Enable-LocalUser -Times 0 -Exactly
        Should -Invoke New-LocalUser -Times 0 -Exactly
    }

    It 'enables a disabled existing user' {
        $guest = Find-TestEntry $State.users 'name' 'Guest'
        $answer = Invoke-Ensure 'Guest'
        $answer.outcome | Should -Be 'updated'
        $guest.enabled | Should -BeTrue
        $answer.addedToAdministrators | Should -BeTrue
        Should -Invoke Enable-LocalUser -Times 1 -Exactly
    }

    It 'expires the password when it must change at first logon, and lets it expire' {
        $answer = Invoke-Ensure 'azureuser' $true
        $user = Find-TestEntry $State.users 'name' 'azureuser'
        $user.passwordExpired | Should -BeTrue
        $user.passwordNeverExpires | Should -BeFalse
        $answer.outcome | Should -Be 'created'
    }

    It 'reports a password the policy refuses as InvalidPassword, without the password' {
        $State.passwordPolicy.minLength = 30
        $failure = $null
        try { Invoke-Ensure 'azureuser' } catch { $failure = ConvertTo-WinprovFailure -Record $_ }
        $failure.fullyQualifiedErrorId | Should -Be 'InvalidPassword,Microsoft.PowerShell.Commands.NewLocalUserCommand'
        $failure.exceptionTypes | Should -Contain 'Microsoft.PowerShell.Commands.InvalidPasswordException'
        $failure.message | Should -Not -Match ([regex]::Escape($Password))
        Find-TestEntry $State.users 'name' 'azureuser' | Should -BeNullOrEmpty
    }

    It 'reports Set-LocalUser refusing the password for an existing user' {
        $State.faults['Set-LocalUser'] = @{ error = 'InvalidPassword' }
        { Invoke-Ensure 'Administrator' } | Should -Throw -ErrorId 'InvalidPassword,Microsoft.PowerShell.Commands.SetLocalUserCommand'
    }

    It 'refuses an invalid user name as InvalidName' {
        { Invoke-Ensure 'bad/name' } | Should -Throw -ErrorId 'InvalidName,Microsoft.PowerShell.Commands.NewLocalUserCommand'
    }

    It 'refuses a name that is a group name as NameInUse' {
        { Invoke-Ensure 'Users' } | Should -Throw -ErrorId 'NameInUse,Microsoft.PowerShell.Commands.NewLocalUserCommand'
    }

    It 'adds a user named like the computer by its SID' {
        $answer = Invoke-Ensure $State.computer.activeName
        $answer.outcome | Should -Be 'created'
        $answer.addedToAdministrators | Should -BeTrue
        (Find-TestEntry $State.groups 'sid' 'S-1-5-32-544').members | Should -Contain $answer.sid
    }

    It 'refuses the computer name as a member name (it resolves to the computer account)' {
        $member = [WinprovEmulation.LocalPrincipal]::new($State.computer.activeName)
        { & (Get-Module WinprovEmulationStubs).ExportedFunctions['Add-LocalGroupMember'] -SID 'S-1-5-32-544' -Member $member -ErrorAction Stop } | Should -Throw -ErrorId 'PrincipalNotFound,Microsoft.PowerShell.Commands.AddLocalGroupMemberCommand'
    }

    It 'treats MemberExists as already a member' {
        $user = @{ name = 'ops'; sid = ($State.computer.domainSid + '-1001'); enabled = $true; passwordSha256 = ''; passwordExpired = $false; passwordNeverExpires = $true; accountNeverExpires = $true; userMayChangePassword = $true }
        $State.users.Add($user)
        (Find-TestEntry $State.groups 'sid' 'S-1-5-32-544').members.Add($user.sid)
        $answer = Invoke-Ensure 'ops'
        $answer.addedToAdministrators | Should -BeFalse
        Should -Invoke Add-LocalGroupMember -Times 1 -Exactly -ParameterFilter { $SID.Value -eq 'S-1-5-32-544' -and $Member[0].SID.Value -eq $user.sid }
    }

    It 'never binds the password to a parameter as text' {
        Clear-WindowsEmulationCall
        $null = Invoke-Ensure 'azureuser'
        foreach ($call in (Get-WindowsEmulationCall)) {
            foreach ($text in $call.deep) { $text | Should -Not -Match ([regex]::Escape($Password)) }
        }
        (Get-WindowsEmulationCall -Command 'New-LocalUser')[0].bound.Password | Should -Be 'System.Security.SecureString'
    }

    It 'is refused by the binder for a parameter 5.1 does not have' {
        { & (Get-Module WinprovEmulationStubs).ExportedFunctions['New-LocalUser'] -Name 'x' -NoSuchParameter 1 } | Should -Throw -ErrorId 'NamedParameterNotFound,New-LocalUser'
    }
}
