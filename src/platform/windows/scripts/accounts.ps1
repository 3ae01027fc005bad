# The admin account: created or updated, then made a member of BUILTIN\Administrators.
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

function Set-WinprovAdminAccount {
    # New user: New-LocalUser with AccountNeverExpires, and PasswordNeverExpires unless the password must
    # be changed at first logon (Windows refuses "must change" together with "never expires").
    # Existing user: Set-LocalUser -Password with the same flags, and enabled if it was disabled.
    param([Parameter(Mandatory = $true)] $Request)
    $name = [string]$Request.username
    $reset = [bool]$Request.resetPasswordOnFirstLogon
    $password = New-WinprovSecureString -SecretName 'password'

    $user = Find-WinprovLocalUser -Name $name
    if ($null -eq $user) {
        $outcome = 'created'
        $settings = @{ Name = $name; Password = $password; AccountNeverExpires = $true; PasswordNeverExpires = (-not $reset) }
        $null = New-LocalUser @settings -ErrorAction Stop
        # Read back by name so that the object certainly carries the new account's SID.
        $user = Find-WinprovLocalUser -Name $name
        if ($null -eq $user) { throw (New-Object -TypeName System.InvalidOperationException -ArgumentList 'the new account is not listed by Get-LocalUser') }
    } else {
        $outcome = 'updated'
        $settings = @{ InputObject = $user; Password = $password; AccountNeverExpires = $true; PasswordNeverExpires = (-not $reset) }
        Set-LocalUser @settings -ErrorAction Stop
        if (-not $user.Enabled) { Enable-LocalUser -InputObject $user -ErrorAction Stop }
    }
    $settings = $null
    $password.Dispose()
    if ($reset) { Set-WinprovPasswordExpired -Sid $user.SID }
    $added = Add-WinprovAdministrator -User $user
    return @{ outcome = $outcome; sid = [string]$user.SID.Value; addedToAdministrators = [bool]$added }
}
