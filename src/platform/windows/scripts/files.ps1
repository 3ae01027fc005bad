# Folders only SYSTEM and Administrators may read: %SystemDrive%\AzureData (custom data) and the
# agent's state folder under %ProgramData%.
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Set-WinprovPrivateFolder {
    # Creates the folder if needed and replaces its DACL: full control for SYSTEM (S-1-5-18) and
    # Administrators (S-1-5-32-544), inherited by everything inside, and nothing inherited from the
    # parent (SetAccessRuleProtection(true, false) drops the parent's entries instead of copying them).
    # Owner: Administrators, so a previous owner keeps no implicit right to rewrite the DACL.
    # DirectoryInfo.SetAccessControl is the .NET call under Set-Acl, used without the provider's path
    # handling (wildcards in -Path).
    param([Parameter(Mandatory = $true)] [string] $Path)
    $directory = [System.IO.Directory]::CreateDirectory($Path)
    $system = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-18'
    $administrators = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-32-544'
    $inherit = [System.Security.AccessControl.InheritanceFlags]::ContainerInherit -bor [System.Security.AccessControl.InheritanceFlags]::ObjectInherit
    $security = New-Object -TypeName System.Security.AccessControl.DirectorySecurity
    $security.SetAccessRuleProtection($true, $false)
    foreach ($sid in @($system, $administrators)) {
        $rule = New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList $sid, ([System.Security.AccessControl.FileSystemRights]::FullControl), $inherit, ([System.Security.AccessControl.PropagationFlags]::None), ([System.Security.AccessControl.AccessControlType]::Allow)
        $security.AddAccessRule($rule)
    }
    $security.SetOwner($administrators)
    $directory.SetAccessControl($security)
}

function Write-WinprovCustomData {
    # CustomData.bin in the given folder (%SystemDrive%\AzureData): the folder's ACL is set first, so the
    # file is never readable by others, then the bytes are written to a temporary file in the same
    # folder and moved over the old file, so a kill never leaves half a file.
    param([Parameter(Mandatory = $true)] $Request)
    $path = [System.IO.Path]::Combine([string]$Request.directory, 'CustomData.bin')
    Write-WinprovPrivateFile -Path $path -SecretName 'customData'
    return @{ path = $path }
}

function Set-WinprovPrivateFile {
    # The file's own DACL: SYSTEM and Administrators only, nothing inherited, owner Administrators. For a
    # file about to be replaced: ReplaceFile keeps the replaced file's DACL (Win32 ReplaceFile), and the
    # folder's new DACL reaches a file through inheritance only, so an explicit entry an old file carried
    # (Users, Everyone) would still let others read the new secret.
    param([Parameter(Mandatory = $true)] [string] $Path)
    $system = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-18'
    $administrators = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-32-544'
    $security = New-Object -TypeName System.Security.AccessControl.FileSecurity
    $security.SetAccessRuleProtection($true, $false)
    foreach ($sid in @($system, $administrators)) {
        $rule = New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList $sid, ([System.Security.AccessControl.FileSystemRights]::FullControl), ([System.Security.AccessControl.AccessControlType]::Allow)
        $security.AddAccessRule($rule)
    }
    $security.SetOwner($administrators)
    [System.IO.File]::SetAccessControl($Path, $security)
}

# How long a replace or move that Windows refuses for a moment (antivirus or the indexer holding the file:
# ERROR_SHARING_VIOLATION, ERROR_ACCESS_DENIED) is tried again; util/files.ts gives its renames the same.
$script:WinprovFileRetryMs = 10000

function Move-WinprovFileInPlace {
    # The temporary file onto $Path: ReplaceFile over an existing file, MoveFile otherwise, each tried again
    # while Windows refuses it for a moment, for at most WinprovFileRetryMs (10 ms doubling to 1 s between tries).
    param(
        [Parameter(Mandatory = $true)] [string] $Temporary,
        [Parameter(Mandatory = $true)] [string] $Path
    )
    $deadline = [DateTime]::UtcNow.AddMilliseconds($script:WinprovFileRetryMs)
    $delay = 10
    while ($true) {
        try {
            if ([System.IO.File]::Exists($Path)) {
                # No backup file: NullString, because PowerShell would pass '' for $null.
                [System.IO.File]::Replace($Temporary, $Path, [System.Management.Automation.Language.NullString]::Value)
            } else {
                [System.IO.File]::Move($Temporary, $Path)
            }
            return
        } catch [System.IO.IOException], [System.UnauthorizedAccessException] {
            if ([DateTime]::UtcNow.AddMilliseconds($delay) -ge $deadline) { throw }
            Start-Sleep -Milliseconds $delay
            $delay = [Math]::Min($delay * 2, 1000)
        }
    }
}

function Write-WinprovPrivateFile {
    # Writes the request's secret of that name (host.ps1; the host wipes it after the answer) to $Path in
    # a folder limited to SYSTEM and Administrators first: a temporary file in the same folder, moved over
    # the old file, so a kill never leaves half a file. Only the secret's name is bound, never its bytes.
    param(
        [Parameter(Mandatory = $true)] [string] $Path,
        [Parameter(Mandatory = $true)] [string] $SecretName
    )
    Set-WinprovPrivateFolder -Path ([System.IO.Path]::GetDirectoryName($Path))
    $temporary = $Path + '.tmp'
    # One a killed run left would keep its own DACL through WriteAllBytes: a new one takes the folder's.
    [System.IO.File]::Delete($temporary)
    [System.IO.File]::WriteAllBytes($temporary, (Get-WinprovSecret -Name $SecretName))
    # The DACL the new bytes get from ReplaceFile is made private before they arrive.
    if ([System.IO.File]::Exists($Path)) { Set-WinprovPrivateFile -Path $Path }
    Move-WinprovFileInPlace -Temporary $temporary -Path $Path
}

function Initialize-WinprovStateDirectory {
    param([Parameter(Mandatory = $true)] $Request)
    $path = [string]$Request.path
    Set-WinprovPrivateFolder -Path $path
    return @{ path = $path }
}
