# The admin account as Azure makes it: the built-in Administrator (RID 500; `whoami /user` on an Azure VM
# shows a SID ending in -500) renamed to the deployment's admin user, given its password, enabled, and a
# member of BUILTIN\Administrators.
# The password reaches this process only as a secret line on stdin (host.ps1) and becomes a SecureString
# here through method calls: it is never on a command line (process-creation auditing, event 4688,
# records those), in script text (script-block logging, event 4104) or bound to a cmdlet parameter as
# text (Module Logging, event 4103: ConvertTo-SecureString -String would record it).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Find-WinprovLocalUser {
    # Exact, case-insensitive name match over all local users: Get-LocalUser -Name would treat
    # wildcard characters in the name as a pattern.
    param([Parameter(Mandatory = $true)] [string] $Name)
    return (@(Get-LocalUser | Where-Object { $_.Name -eq $Name }) | Select-Object -First 1)
}

function New-WinprovSecureString {
    # A read-only SecureString from the UTF-8 bytes of the request's secret of that name, one AppendChar
    # at a time; the decoded characters are wiped afterwards. The value is never bound to a parameter, not
    # even of this script's own functions: only the secret's name is.
    param([Parameter(Mandatory = $true)] [string] $SecretName)
    $characters = [System.Text.Encoding]::UTF8.GetChars((Get-WinprovSecret -Name $SecretName))
    $secure = New-Object -TypeName System.Security.SecureString
    try {
        foreach ($character in $characters) { $secure.AppendChar($character) }
    } finally {
        [System.Array]::Clear($characters, 0, $characters.Length)
    }
    $secure.MakeReadOnly()
    return $secure
}

function Set-WinprovPasswordExpired {
    # "User must change password at next logon". AccountManagement's ExpirePasswordNow on the machine
    # context sets the WinNT provider's PasswordExpired = 1 (USER_INFO_3 usri3_password_expired); the
    # user is found by SID, so no ADSI path is ever built from the name.
    param([Parameter(Mandatory = $true)] [System.Security.Principal.SecurityIdentifier] $Sid)
    Add-Type -AssemblyName System.DirectoryServices.AccountManagement
    $context = New-Object -TypeName System.DirectoryServices.AccountManagement.PrincipalContext -ArgumentList ([System.DirectoryServices.AccountManagement.ContextType]::Machine)
    try {
        $principal = [System.DirectoryServices.AccountManagement.UserPrincipal]::FindByIdentity($context, [System.DirectoryServices.AccountManagement.IdentityType]::Sid, $Sid.Value)
        if ($null -eq $principal) { throw (New-Object -TypeName System.InvalidOperationException -ArgumentList 'the account was not found by its SID to expire its password') }
        try { $principal.ExpirePasswordNow() } finally { $principal.Dispose() }
    } finally {
        $context.Dispose()
    }
}

function Add-WinprovAdministrator {
    # BUILTIN\Administrators by SID S-1-5-32-544 (its name is localized: "Administrateurs",
    # "Administratoren" ...), and the member as the LocalUser object, which carries its SID: the cmdlet
    # then uses the SID directly, whereas a user named like the computer would resolve by name to the
    # computer account (ERROR_NO_SUCH_MEMBER 1387). Already a member (MemberExists, the cmdlet's form of
    # ERROR_MEMBER_IN_ALIAS 1378) is success. Returns whether the user was added now.
    param([Parameter(Mandatory = $true)] $User)
    try {
        Add-LocalGroupMember -SID 'S-1-5-32-544' -Member $User -ErrorAction Stop
        return $true
    } catch {
        if (Test-WinprovMemberExists -Record $_) { return $false }
        throw
    }
}

function Test-WinprovMemberExists {
    param([Parameter(Mandatory = $true)] [System.Management.Automation.ErrorRecord] $Record)
    if ([string]$Record.FullyQualifiedErrorId -like 'MemberExists,*') { return $true }
    $current = $Record.Exception
    while ($null -ne $current) {
        if ($current.GetType().Name -eq 'MemberExistsException') { return $true }
        if ($null -ne $current.PSObject.Properties['NativeErrorCode'] -and [long]$current.NativeErrorCode -eq 1378) { return $true }
        $current = $current.InnerException
    }
    return $false
}

function Get-WinprovBuiltinAdministrator {
    # The built-in Administrator by its SID, never by its name (localized: Administrateur,
    # Administrador ...; images rename it): the machine's account domain SID, which is the domain
    # part of every local account's SID (S-1-5-21-x-y-z), followed by RID 500 (DOMAIN_USER_RID_ADMIN,
    # "Well-known SIDs", learn.microsoft.com). $null when no local account has an account domain SID.
    $users = @(Get-LocalUser)
    foreach ($user in $users) {
        $domain = $user.SID.AccountDomainSid
        if ($null -eq $domain) { continue }
        $target = $domain.Value + '-500'
        foreach ($candidate in $users) {
            if ($candidate.SID.Value -eq $target) { return $candidate }
        }
        return $null
    }
    return $null
}

function Test-WinprovCharsContain {
    # Whether the characters hold the name, case-insensitively, compared in place: the characters are
    # a password and are never made into a string.
    param([Parameter(Mandatory = $true)] [char[]] $Characters, [Parameter(Mandatory = $true)] [string] $Name)
    $needle = $Name.ToUpperInvariant().ToCharArray()
    for ($start = 0; $start -le $Characters.Length - $needle.Length; $start++) {
        $same = $true
        for ($i = 0; $i -lt $needle.Length; $i++) {
            if ([char]::ToUpperInvariant($Characters[$start + $i]) -ne $needle[$i]) { $same = $false; break }
        }
        if ($same) { return $true }
    }
    return $false
}

function New-WinprovRandomSecureString {
    # A password nobody knows, for the built-in Administrator when another account is the admin: 32
    # characters drawn from a CSPRNG (RandomNumberGenerator.Create; .NET Framework 4.x has no static
    # GetBytes), uniform by rejection sampling, drawn again until it holds the four character classes
    # and not the account name (the "meet complexity requirements" policy). It exists only as the
    # SecureString: the characters are wiped, never a string, never on a parameter.
    param([Parameter(Mandatory = $true)] [string] $AccountName)
    $alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%+-.:=?@^_~'.ToCharArray()
    $limit = 256 - (256 % $alphabet.Length)
    $generator = [System.Security.Cryptography.RandomNumberGenerator]::Create()
    $characters = New-Object -TypeName 'char[]' -ArgumentList 32
    $byte = New-Object -TypeName 'byte[]' -ArgumentList 1
    try {
        for ($attempt = 0; $attempt -lt 16; $attempt++) {
            for ($i = 0; $i -lt $characters.Length; $i++) {
                do { $generator.GetBytes($byte) } while ($byte[0] -ge $limit)
                $characters[$i] = $alphabet[$byte[0] % $alphabet.Length]
            }
            $classes = @(0, 0, 0, 0)
            foreach ($character in $characters) {
                if ([char]::IsUpper($character)) { $classes[0] = 1 } elseif ([char]::IsLower($character)) { $classes[1] = 1 } elseif ([char]::IsDigit($character)) { $classes[2] = 1 } else { $classes[3] = 1 }
            }
            $nameInside = $AccountName.Length -ge 3 -and (Test-WinprovCharsContain -Characters $characters -Name $AccountName)
            if (($classes[0] + $classes[1] + $classes[2] + $classes[3]) -eq 4 -and -not $nameInside) {
                $secure = New-Object -TypeName System.Security.SecureString
                foreach ($character in $characters) { $secure.AppendChar($character) }
                $secure.MakeReadOnly()
                return $secure
            }
        }
        throw (New-Object -TypeName System.InvalidOperationException -ArgumentList 'no random password met the complexity rules in 16 draws')
    } finally {
        [System.Array]::Clear($characters, 0, $characters.Length)
        $byte[0] = 0
        $generator.Dispose()
    }
}

function Lock-WinprovBuiltinAdministrator {
    # The built-in Administrator when it is not the admin: a random password nobody knows (the image's,
    # a build password on every VM otherwise), then disabled.
    param([Parameter(Mandatory = $true)] $User)
    $random = New-WinprovRandomSecureString -AccountName ([string]$User.Name)
    try {
        Set-LocalUser -SID $User.SID -Password $random -ErrorAction Stop
    } finally {
        $random.Dispose()
    }
    Disable-LocalUser -SID $User.SID -ErrorAction Stop
}

function Set-WinprovAdminAccount {
    # The admin is RID 500, renamed when it has another name. When the image already holds another local
    # account of the requested name, RID 500 cannot take the name (NameInUse), and deleting or renaming
    # that account would throw away what the image built it for (its profile, its rights): that account
    # is the admin, and RID 500 gets a random password and is disabled. Either way the admin account is
    # given the password, AccountNeverExpires and PasswordNeverExpires unless the password must change
    # at first logon (Windows refuses "must change" together with "never expires"), enabled, and added to
    # Administrators. Run again, it renames nothing and sets the same values.
    param([Parameter(Mandatory = $true)] $Request)
    $name = [string]$Request.username
    $reset = [bool]$Request.resetPasswordOnFirstLogon

    $builtin = Get-WinprovBuiltinAdministrator
    if ($null -eq $builtin) { throw (New-Object -TypeName System.InvalidOperationException -ArgumentList 'the built-in Administrator (RID 500 of the machine''s account domain) is not among the local users') }
    $builtinSid = [string]$builtin.SID.Value
    $named = Find-WinprovLocalUser -Name $name
    $answer = @{ outcome = 'updated' }
    $admin = $builtin
    if ($null -eq $named) {
        # By SID: every later call names the account by SID too, so none depends on the new name.
        Rename-LocalUser -SID $builtin.SID -NewName $name -ErrorAction Stop
        $answer.outcome = 'renamed'
        $answer.previousName = [string]$builtin.Name
    } elseif ([string]$named.SID.Value -ne $builtinSid) {
        $admin = $named
    }

    # Renamed first, so that the password policy compares the password with the new name, as Windows
    # does for an account of that name; a password it refuses takes the old name back, so a failed
    # request leaves RID 500 as it found it.
    $password = New-WinprovSecureString -SecretName 'password'
    try {
        $settings = @{ SID = $admin.SID; Password = $password; AccountNeverExpires = $true; PasswordNeverExpires = (-not $reset) }
        Set-LocalUser @settings -ErrorAction Stop
        $settings = $null
    } catch {
        if ($answer.outcome -eq 'renamed') { Rename-LocalUser -SID $builtin.SID -NewName $answer.previousName -ErrorAction SilentlyContinue }
        throw
    } finally {
        $password.Dispose()
    }
    if (-not $admin.Enabled) { Enable-LocalUser -SID $admin.SID -ErrorAction Stop }
    if ($reset) { Set-WinprovPasswordExpired -Sid $admin.SID }
    $answer.addedToAdministrators = [bool](Add-WinprovAdministrator -User $admin)
    $answer.sid = [string]$admin.SID.Value
    if ($answer.sid -ne $builtinSid) {
        Lock-WinprovBuiltinAdministrator -User $builtin
        $answer.builtinAdministrator = @{ sid = $builtinSid; name = [string]$builtin.Name; disabled = $true }
    }
    return $answer
}
