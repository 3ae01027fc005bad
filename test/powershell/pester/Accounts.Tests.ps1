# ensureAdminAccount (accounts.ps1) on the emulated machine: the admin is the built-in Administrator
# (RID 500), found by SID, renamed; or the image's own account of that name, RID 500 then locked.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'accounts.ps1')
    foreach ($name in @('Rename-LocalUser', 'Set-LocalUser', 'Enable-LocalUser', 'Disable-LocalUser', 'Add-LocalGroupMember')) {
        Mock $name ([scriptblock]::Create("Invoke-EmulationStub -Name '$name' -Bound `$PesterBoundParameters"))
    }
    $script:Password = 'Str0ng-Emulated!pw'
    # The image's RID 500 password (passwordSha256 of New-WindowsEmulationState).
    $script:ImageHash = '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8'
    function Invoke-Ensure([string] $Name, [bool] $Reset = $false, [string] $Password = $script:Password) {
        $global:WinprovRequestSecrets = @{ password = [System.Text.Encoding]::UTF8.GetBytes($Password) }
        try { return Set-WinprovAdminAccount -Request ([pscustomobject]@{ username = $Name; resetPasswordOnFirstLogon = $Reset }) }
        finally { $global:WinprovRequestSecrets = @{} }
    }
    function Get-Rid500([hashtable] $State) { foreach ($u in $State.users) { if ($u.sid -like '*-500') { return $u } } }
    function Add-TestUser([hashtable] $State, [string] $Name, [int] $Rid, [bool] $Enabled = $true) {
        $user = @{ name = $Name; sid = ($State.computer.domainSid + '-' + $Rid); enabled = $Enabled; passwordSha256 = 'aa'; passwordExpired = $false; passwordNeverExpires = $false; accountNeverExpires = $true; userMayChangePassword = $true; description = ''; fullName = '' }
        $State.users.Add($user)
        return $user
    }
}

Describe 'ensureAdminAccount' {
    BeforeEach { $script:State = New-TestMachine }

    It 'renames the built-in Administrator (RID 500), found by SID, and gives it the password' {
        $rid500 = Get-Rid500 $State
        $rid500.passwordNeverExpires = $false
        $answer = Invoke-Ensure 'azureuser'
        $answer.outcome | Should -Be 'renamed'
        $answer.previousName | Should -Be 'Administrator'
        $answer.sid | Should -Be $rid500.sid
        $answer.sid | Should -Match '^S-1-5-21-\d+-\d+-\d+-500$'
        $answer.addedToAdministrators | Should -BeFalse
        $answer.ContainsKey('builtinAdministrator') | Should -BeFalse
        $rid500.name | Should -Be 'azureuser'
        $rid500.enabled | Should -BeTrue
        $rid500.passwordSha256 | Should -Be (Get-TestSha256 $Password)
        $rid500.passwordNeverExpires | Should -BeTrue
        $rid500.accountNeverExpires | Should -BeTrue
        @($State.users).Count | Should -Be 4
        Should -Invoke Rename-LocalUser -Times 1 -Exactly -ParameterFilter { $SID.Value -eq $rid500.sid -and $NewName -eq 'azureuser' }
        Should -Invoke Set-LocalUser -Times 1 -Exactly -ParameterFilter { $SID.Value -eq $rid500.sid -and $Password -is [securestring] -and $AccountNeverExpires -and $PasswordNeverExpires }
        Should -Invoke Disable-LocalUser -Times 0 -Exactly
    }

    It 'finds RID 500 under a localized or image-given name, and enables it' {
        $rid500 = Get-Rid500 $State
        $rid500.name = 'Administrateur'
        $rid500.enabled = $false
        $answer = Invoke-Ensure 'opsadmin'
        $answer.outcome | Should -Be 'renamed'
        $answer.previousName | Should -Be 'Administrateur'
        $rid500.name | Should -Be 'opsadmin'
        $rid500.enabled | Should -BeTrue
        Should -Invoke Enable-LocalUser -Times 1 -Exactly -ParameterFilter { $SID.Value -eq $rid500.sid }
    }

    It 'only sets the password when RID 500 already has the name (a re-run, or an image built so)' {
        $rid500 = Get-Rid500 $State
        $rid500.name = 'azureuser'
        $answer = Invoke-Ensure 'AzureUser'
        $answer.outcome | Should -Be 'updated'
        $answer.sid | Should -Be $rid500.sid
        $rid500.name | Should -Be 'azureuser'
        $rid500.passwordSha256 | Should -Be (Get-TestSha256 $Password)
        Should -Invoke Rename-LocalUser -Times 0 -Exactly
    }

    It 'converges when run again: nothing renamed, nothing added, the same machine' {
        $null = Invoke-Ensure 'azureuser'
        $before = ConvertTo-Json -InputObject $State.users -Depth 5
        $answer = Invoke-Ensure 'azureuser'
        $answer.outcome | Should -Be 'updated'
        $answer.addedToAdministrators | Should -BeFalse
        (ConvertTo-Json -InputObject $State.users -Depth 5) | Should -Be $before
        Should -Invoke Rename-LocalUser -Times 1 -Exactly
    }

    It 'uses the image''s own account of that name, and locks RID 500 with a random password' {
        $ops = Add-TestUser $State 'azureuser' 1001 $false
        $answer = Invoke-Ensure 'azureuser'
        $answer.outcome | Should -Be 'updated'
        $answer.sid | Should -Be $ops.sid
        $answer.addedToAdministrators | Should -BeTrue
        $ops.enabled | Should -BeTrue
        $ops.passwordSha256 | Should -Be (Get-TestSha256 $Password)
        (Find-TestEntry $State.groups 'sid' 'S-1-5-32-544').members | Should -Contain $ops.sid
        $rid500 = Get-Rid500 $State
        $answer.builtinAdministrator.sid | Should -Be $rid500.sid
        $answer.builtinAdministrator.name | Should -Be 'Administrator'
        $answer.builtinAdministrator.disabled | Should -BeTrue
        $rid500.name | Should -Be 'Administrator'
        $rid500.enabled | Should -BeFalse
        $rid500.passwordSha256 | Should -Not -Be $ImageHash
        $rid500.passwordSha256 | Should -Not -Be (Get-TestSha256 $Password)
        Should -Invoke Rename-LocalUser -Times 0 -Exactly
        Should -Invoke Disable-LocalUser -Times 1 -Exactly -ParameterFilter { $SID.Value -eq $rid500.sid }
        Should -Invoke Set-LocalUser -Times 1 -Exactly -ParameterFilter { $SID.Value -eq $rid500.sid -and $Password -is [securestring] -and -not $PSBoundParameters.ContainsKey('PasswordNeverExpires') }
    }

    It 'gives RID 500 a different random password each time, accepted by a strict policy' {
        $State.passwordPolicy.minLength = 20
        $null = Add-TestUser $State 'azureuser' 1001
        $null = Invoke-Ensure 'azureuser' -Password 'A-much-longer-Passw0rd!'
        $first = (Get-Rid500 $State).passwordSha256
        $null = Invoke-Ensure 'azureuser' -Password 'A-much-longer-Passw0rd!'
        (Get-Rid500 $State).passwordSha256 | Should -Not -Be $first
        (Get-Rid500 $State).enabled | Should -BeFalse
    }

    It 'expires the password when it must change at first logon, and lets it expire' {
        $answer = Invoke-Ensure 'azureuser' $true
        $rid500 = Get-Rid500 $State
        $answer.sid | Should -Be $rid500.sid
        $rid500.passwordExpired | Should -BeTrue
        $rid500.passwordNeverExpires | Should -BeFalse
    }

    It 'reports a password the policy refuses as InvalidPassword, without the password' {
        $State.passwordPolicy.minLength = 30
        $failure = $null
        try { Invoke-Ensure 'azureuser' } catch { $failure = ConvertTo-WinprovFailure -Record $_ }
        $failure.fullyQualifiedErrorId | Should -Be 'InvalidPassword,Microsoft.PowerShell.Commands.SetLocalUserCommand'
        $failure.exceptionTypes | Should -Contain 'Microsoft.PowerShell.Commands.InvalidPasswordException'
        $failure.message | Should -Not -Match ([regex]::Escape($Password))
        (Get-Rid500 $State).passwordSha256 | Should -Be $ImageHash
        (Get-Rid500 $State).name | Should -Be 'Administrator'
    }

    It 'refuses an invalid user name as InvalidName, changing nothing' {
        { Invoke-Ensure 'bad/name' } | Should -Throw -ErrorId 'InvalidName,Microsoft.PowerShell.Commands.RenameLocalUserCommand'
        (Get-Rid500 $State).name | Should -Be 'Administrator'
        (Get-Rid500 $State).passwordSha256 | Should -Be $ImageHash
    }

    It 'refuses a name that is a group name as NameInUse' {
        { Invoke-Ensure 'Users' } | Should -Throw -ErrorId 'NameInUse,Microsoft.PowerShell.Commands.RenameLocalUserCommand'
        (Get-Rid500 $State).name | Should -Be 'Administrator'
    }

    It 'renames RID 500 to the computer''s own name (members are added by SID)' {
        $answer = Invoke-Ensure $State.computer.activeName
        $answer.outcome | Should -Be 'renamed'
        (Get-Rid500 $State).name | Should -Be $State.computer.activeName
    }

    It 'refuses the computer name as a member name (it resolves to the computer account)' {
        $member = [WinprovEmulation.LocalPrincipal]::new($State.computer.activeName)
        { & (Get-Module WinprovEmulationStubs).ExportedFunctions['Add-LocalGroupMember'] -SID 'S-1-5-32-544' -Member $member -ErrorAction Stop } | Should -Throw -ErrorId 'PrincipalNotFound,Microsoft.PowerShell.Commands.AddLocalGroupMemberCommand'
    }

    It 'treats MemberExists as already a member' {
        $user = Add-TestUser $State 'ops' 1001
        (Find-TestEntry $State.groups 'sid' 'S-1-5-32-544').members.Add($user.sid)
        $answer = Invoke-Ensure 'ops'
        $answer.addedToAdministrators | Should -BeFalse
        Should -Invoke Add-LocalGroupMember -Times 1 -Exactly -ParameterFilter { $SID.Value -eq 'S-1-5-32-544' -and $Member[0].SID.Value -eq $user.sid }
    }

    It 'fails when no local account is RID 500 of the account domain' {
        (Get-Rid500 $State).sid = 'S-1-5-21-1-2-3-1500'
        { Invoke-Ensure 'azureuser' } | Should -Throw '*RID 500*'
    }

    It 'never binds the password, or RID 500''s random one, to a parameter as text' {
        $null = Add-TestUser $State 'azureuser' 1001
        Clear-WindowsEmulationCall
        $null = Invoke-Ensure 'azureuser'
        foreach ($call in (Get-WindowsEmulationCall)) {
            foreach ($text in $call.deep) { $text | Should -Not -Match ([regex]::Escape($Password)) }
            if ($call.bound.Contains('Password')) { $call.bound.Password | Should -Be 'System.Security.SecureString' }
        }
        (Get-WindowsEmulationCall -Command 'Set-LocalUser').Count | Should -Be 2
    }

    It 'is refused by the binder for a parameter 5.1 does not have' {
        { & (Get-Module WinprovEmulationStubs).ExportedFunctions['Rename-LocalUser'] -Name 'x' -NewName 'y' -NoSuchParameter 1 } | Should -Throw -ErrorId 'NamedParameterNotFound,Rename-LocalUser'
    }
}
