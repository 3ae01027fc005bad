# The admin account: created or updated, then made a member of BUILTIN\Administrators.
# The password reaches this process only inside a JSON data line on stdin and becomes a SecureString
# here: it is never on a command line (process-creation auditing, event 4688, records those) nor in
# script text (script-block logging, event 4104, records that).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Find-WinprovLocalUser {
    # Exact, case-insensitive name match over all local users: Get-LocalUser -Name would treat
    # wildcard characters in the name as a pattern.
    param([Parameter(Mandatory = $true)] [string] $Name)
    return (@(Get-LocalUser | Where-Object { $_.Name -eq $Name }) | Select-Object -First 1)
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
    $password = ConvertTo-SecureString -String ([string]$Request.password) -AsPlainText -Force
    $password.MakeReadOnly()

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
