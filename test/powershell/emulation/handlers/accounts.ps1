# Microsoft.PowerShell.LocalAccounts: state.users, state.groups (members by SID), state.passwordPolicy.
# Passwords are kept only as passwordSha256 (hex SHA-256 of the UTF-8 password).

function Get-EmuUsers { return , (Get-EmuList (Get-EmuState) 'users') }
function Get-EmuGroups { return , (Get-EmuList (Get-EmuState) 'groups') }

function Find-EmuUser {
    param([string] $Name, [string] $Sid)
    foreach ($user in (Get-EmuUsers)) {
        if ($Sid -ne '' -and [string]$user['sid'] -eq $Sid) { return $user }
        if ($Name -ne '' -and [string]$user['name'] -eq $Name) { return $user }
    }
    return $null
}

function Find-EmuGroup {
    param([string] $Name, [string] $Sid)
    foreach ($group in (Get-EmuGroups)) {
        if ($Sid -ne '' -and [string]$group['sid'] -eq $Sid) { return $group }
        if ($Name -ne '' -and [string]$group['name'] -eq $Name) { return $group }
    }
    return $null
}

function ConvertTo-EmuLocalUser([hashtable] $User) {
    $object = [WinprovEmulation.LocalUser]::new([string]$User['name'])
    $object.SID = [WinprovEmulation.FakeSecurityIdentifier]::new([string]$User['sid'])
    $object.Enabled = [bool]$User['enabled']
    $object.Description = [string]$User['description']
    $object.FullName = [string]$User['fullName']
    $object.UserMayChangePassword = [bool]$User['userMayChangePassword']
    $object.PasswordRequired = $true
    return $object
}

function Get-EmuPasswordText([System.Security.SecureString] $Password) {
    return [System.Net.NetworkCredential]::new('', $Password).Password
}

function Get-EmuSha256([string] $Text) {
    $hash = [System.Security.Cryptography.SHA256]::HashData([System.Text.Encoding]::UTF8.GetBytes($Text))
    return [System.Convert]::ToHexString($hash).ToLowerInvariant()
}

function Test-EmuPasswordPolicy {
    # Local security policy: minimum length and, with complexity, three of the four character classes
    # and not the user name (what NetUserAdd/NetUserSetInfo check; NERR_PasswordTooShort 2245).
    param([string] $Password, [string] $UserName)
    $policy = Get-EmuMap (Get-EmuState) 'passwordPolicy'
    if ($Password.Length -lt [int]$policy['minLength']) { return $false }
    if ([bool]$policy['complexity']) {
        $classes = 0
        if ($Password -cmatch '[A-Z]') { $classes++ }
        if ($Password -cmatch '[a-z]') { $classes++ }
        if ($Password -match '[0-9]') { $classes++ }
        if ($Password -match '[^A-Za-z0-9]') { $classes++ }
        if ($classes -lt 3) { return $false }
        if ($UserName.Length -ge 3 -and $Password.IndexOf($UserName, [System.StringComparison]::OrdinalIgnoreCase) -ge 0) { return $false }
    }
    return $true
}

function Test-EmuAccountName([string] $Name) {
    # SAM account names: 1-20 characters, none of " / \ [ ] : ; | = , + * ? < > @, not only dots and spaces.
    if ($Name.Length -lt 1 -or $Name.Length -gt 20) { return $false }
    if ($Name.IndexOfAny([char[]]'"/\[]:;|=,+*?<>@') -ge 0) { return $false }
    if ($Name.Trim('. ').Length -eq 0) { return $false }
    foreach ($c in $Name.ToCharArray()) { if ([int]$c -lt 32) { return $false } }
    return $true
}

function Resolve-EmuUserTarget {
    # The user a -Name / -SID / -InputObject call names, or $null after writing UserNotFound.
    param($Cmdlet, $Bound)
    $user = $null
    $target = $null
    if ($Bound.Contains('InputObject')) {
        $target = $Bound['InputObject']
        $sid = ''
        if ($null -ne $target.SID) { $sid = [string]$target.SID.Value }
        $user = Find-EmuUser -Name ([string]$target.Name) -Sid $sid
        if ($sid -ne '') { $user = Find-EmuUser -Sid $sid }
    } elseif ($Bound.Contains('SID')) {
        $target = @($Bound['SID'])[0]
        $user = Find-EmuUser -Sid ([string]$target.Value)
    } else {
        $target = @($Bound['Name'])[0]
        $user = Find-EmuUser -Name ([string]$target)
    }
    if ($null -eq $user) {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([Microsoft.PowerShell.Commands.UserNotFoundException]::new([string]$target)) -ErrorId 'UserNotFound' -Category ObjectNotFound -Target $target
    }
    return $user
}

function Set-EmuUserSettings {
    param([hashtable] $User, $Bound)
    if ($Bound.Contains('AccountNeverExpires')) { $User['accountNeverExpires'] = [bool]$Bound['AccountNeverExpires'] }
    if ($Bound.Contains('AccountExpires')) { $User['accountNeverExpires'] = $false; $User['accountExpires'] = ([datetime]$Bound['AccountExpires']).ToUniversalTime().ToString('o') }
    if ($Bound.Contains('PasswordNeverExpires')) { $User['passwordNeverExpires'] = [bool]$Bound['PasswordNeverExpires'] }
    if ($Bound.Contains('UserMayChangePassword')) { $User['userMayChangePassword'] = [bool]$Bound['UserMayChangePassword'] }
    if ($Bound.Contains('Description')) { $User['description'] = [string]$Bound['Description'] }
    if ($Bound.Contains('FullName')) { $User['fullName'] = [string]$Bound['FullName'] }
    if ($Bound.Contains('Disabled')) { $User['enabled'] = -not [bool]$Bound['Disabled'] }
}

$script:Handlers['Get-LocalUser'] = {
    param($Cmdlet, $Bound, $Fault)
    if ($Bound.Contains('SID')) {
        foreach ($sid in @($Bound['SID'])) {
            $user = Find-EmuUser -Sid ([string]$sid.Value)
            if ($null -eq $user) { Write-EmuError -Cmdlet $Cmdlet -Exception ([Microsoft.PowerShell.Commands.UserNotFoundException]::new([string]$sid)) -ErrorId 'UserNotFound' -Category ObjectNotFound -Target $sid; continue }
            ConvertTo-EmuLocalUser $user
        }
        return
    }
    if ($Bound.Contains('Name')) {
        foreach ($name in @($Bound['Name'])) {
            $matched = $false
            foreach ($user in (Get-EmuUsers)) {
                if ([string]$user['name'] -like [string]$name) { $matched = $true; ConvertTo-EmuLocalUser $user }
            }
            if (-not $matched -and -not [System.Management.Automation.WildcardPattern]::ContainsWildcardCharacters([string]$name)) {
                Write-EmuError -Cmdlet $Cmdlet -Exception ([Microsoft.PowerShell.Commands.UserNotFoundException]::new([string]$name)) -ErrorId 'UserNotFound' -Category ObjectNotFound -Target $name
            }
        }
        return
    }
    foreach ($user in (Get-EmuUsers)) { ConvertTo-EmuLocalUser $user }
}

$script:Handlers['New-LocalUser'] = {
    param($Cmdlet, $Bound, $Fault)
    $name = [string]$Bound['Name']
    if (-not (Test-EmuAccountName $name)) {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([Microsoft.PowerShell.Commands.InvalidNameException]::new($name)) -ErrorId 'InvalidName' -Category InvalidArgument -Target $name
        return
    }
    if ($null -ne (Find-EmuUser -Name $name)) {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([Microsoft.PowerShell.Commands.UserExistsException]::new($name)) -ErrorId 'UserExists' -Category ResourceExists -Target $name
        return
    }
    # A group's name is refused; the computer's own name is not (SAM accounts and the computer account
    # live apart), which is why members are added by SID.
    if ($null -ne (Find-EmuGroup -Name $name)) {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([Microsoft.PowerShell.Commands.NameInUseException]::new($name)) -ErrorId 'NameInUse' -Category ResourceExists -Target $name
        return
    }
    $hash = ''
    if ($Bound.Contains('Password')) {
        $text = Get-EmuPasswordText $Bound['Password']
        if (-not (Test-EmuPasswordPolicy -Password $text -UserName $name)) {
            Write-EmuError -Cmdlet $Cmdlet -Exception ([Microsoft.PowerShell.Commands.InvalidPasswordException]::new()) -ErrorId 'InvalidPassword' -Category InvalidArgument -Target $name
            return
        }
        $hash = Get-EmuSha256 $text
        $text = $null
    }
    if (-not $Cmdlet.ShouldProcess($name, 'New-LocalUser')) { return }
    $computer = Get-EmuMap (Get-EmuState) 'computer'
    $rid = 1000
    foreach ($user in (Get-EmuUsers)) {
        $existing = [int](([string]$user['sid']).Split('-')[-1])
        if ($existing -ge $rid) { $rid = $existing + 1 }
    }
    $user = @{ name = $name; sid = ([string]$computer['domainSid'] + '-' + $rid); enabled = $true; description = ''; fullName = ''; passwordSha256 = $hash
        passwordExpired = $false; passwordNeverExpires = $false; accountNeverExpires = $false; userMayChangePassword = $true }
    Set-EmuUserSettings $user $Bound
    (Get-EmuUsers).Add($user)
    # NetUserAdd puts every new account in Users.
    $users = Find-EmuGroup -Sid 'S-1-5-32-545'
    if ($null -ne $users) { (Get-EmuList $users 'members').Add([string]$user['sid']) }
    Save-EmuState
    ConvertTo-EmuLocalUser $user
}

$script:Handlers['Set-LocalUser'] = {
    param($Cmdlet, $Bound, $Fault)
    $user = Resolve-EmuUserTarget $Cmdlet $Bound
    if ($null -eq $user) { return }
    if ($Bound.Contains('Password')) {
        $text = Get-EmuPasswordText $Bound['Password']
        if (-not (Test-EmuPasswordPolicy -Password $text -UserName ([string]$user['name']))) {
            Write-EmuError -Cmdlet $Cmdlet -Exception ([Microsoft.PowerShell.Commands.InvalidPasswordException]::new()) -ErrorId 'InvalidPassword' -Category InvalidArgument -Target ([string]$user['name'])
            return
        }
        $user['passwordSha256'] = Get-EmuSha256 $text
        $user['passwordExpired'] = $false
        $text = $null
    }
    Set-EmuUserSettings $user $Bound
    Save-EmuState
}

$script:Handlers['Rename-LocalUser'] = {
    # SAM's rules for the new name, as for New-LocalUser: InvalidName, another user's name (UserExists),
    # a group's name (NameInUse). The SID stays; a name differing only in case is the same name.
    param($Cmdlet, $Bound, $Fault)
    $user = Resolve-EmuUserTarget $Cmdlet $Bound
    if ($null -eq $user) { return }
    $newName = [string]$Bound['NewName']
    if (-not (Test-EmuAccountName $newName)) {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([Microsoft.PowerShell.Commands.InvalidNameException]::new($newName)) -ErrorId 'InvalidName' -Category InvalidArgument -Target $newName
        return
    }
    $other = Find-EmuUser -Name $newName
    if ($null -ne $other -and [string]$other['sid'] -ne [string]$user['sid']) {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([Microsoft.PowerShell.Commands.UserExistsException]::new($newName)) -ErrorId 'UserExists' -Category ResourceExists -Target $newName
        return
    }
    if ($null -ne (Find-EmuGroup -Name $newName)) {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([Microsoft.PowerShell.Commands.NameInUseException]::new($newName)) -ErrorId 'NameInUse' -Category ResourceExists -Target $newName
        return
    }
    if (-not $Cmdlet.ShouldProcess([string]$user['name'], 'Rename-LocalUser')) { return }
    $user['name'] = $newName
    Save-EmuState
}

$script:Handlers['Enable-LocalUser'] = {
    param($Cmdlet, $Bound, $Fault)
    $user = Resolve-EmuUserTarget $Cmdlet $Bound
    if ($null -eq $user) { return }
    $user['enabled'] = $true
    Save-EmuState
}

$script:Handlers['Disable-LocalUser'] = {
    param($Cmdlet, $Bound, $Fault)
    $user = Resolve-EmuUserTarget $Cmdlet $Bound
    if ($null -eq $user) { return }
    $user['enabled'] = $false
    Save-EmuState
}

$script:Handlers['Add-LocalGroupMember'] = {
    # The group by -SID, -Name or -Group; each member by its SID when the object carries one, else by
    # name: a user, then a group, and the computer's own name resolves to the computer account
    # (PrincipalNotFound: no such local principal).
    param($Cmdlet, $Bound, $Fault)
    $group = $null
    if ($Bound.Contains('SID')) { $group = Find-EmuGroup -Sid ([string]$Bound['SID'].Value) }
    elseif ($Bound.Contains('Group')) { $group = Find-EmuGroup -Name ([string]$Bound['Group'].Name) }
    else { $group = Find-EmuGroup -Name ([string]$Bound['Name']) }
    if ($null -eq $group) {
        $target = $Bound['SID']; if ($null -eq $target) { $target = $Bound['Name'] }
        Write-EmuError -Cmdlet $Cmdlet -Exception ([Microsoft.PowerShell.Commands.GroupNotFoundException]::new([string]$target)) -ErrorId 'GroupNotFound' -Category ObjectNotFound -Target $target -Terminating
    }
    $members = Get-EmuList $group 'members'
    foreach ($member in @($Bound['Member'])) {
        $sid = ''
        if ($null -ne $member.SID) { $sid = [string]$member.SID.Value }
        if ($sid -eq '') {
            $name = [string]$member.Name
            $computer = Get-EmuMap (Get-EmuState) 'computer'
            $user = Find-EmuUser -Name $name
            if ($null -ne $user -and $name -ne [string]$computer['activeName']) { $sid = [string]$user['sid'] }
            else {
                $other = Find-EmuGroup -Name $name
                if ($null -ne $other) { $sid = [string]$other['sid'] }
            }
        }
        if ($sid -eq '' -or ($null -eq (Find-EmuUser -Sid $sid) -and $null -eq (Find-EmuGroup -Sid $sid))) {
            Write-EmuError -Cmdlet $Cmdlet -Exception ([Microsoft.PowerShell.Commands.PrincipalNotFoundException]::new([string]$member)) -ErrorId 'PrincipalNotFound' -Category ObjectNotFound -Target $member
            continue
        }
        if ($members -contains $sid) {
            $exception = [Microsoft.PowerShell.Commands.MemberExistsException]::new([string]$member, [string]$group['name'])
            Write-EmuError -Cmdlet $Cmdlet -Exception $exception -ErrorId 'MemberExists' -Category ResourceExists -Target $member
            continue
        }
        if (-not $Cmdlet.ShouldProcess([string]$group['name'], 'Add member')) { continue }
        $members.Add($sid)
    }
    Save-EmuState
}
