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
    $folder = [string]$Request.directory
    Set-WinprovPrivateFolder -Path $folder
    $path = [System.IO.Path]::Combine($folder, 'CustomData.bin')
    $temporary = $path + '.tmp'
    # The bytes come from the request's secret line (host.ps1), which the host wipes after the answer.
    [System.IO.File]::WriteAllBytes($temporary, (Get-WinprovSecret -Name 'customData'))
    if ([System.IO.File]::Exists($path)) {
        # No backup file: NullString, because PowerShell would pass '' for $null.
        [System.IO.File]::Replace($temporary, $path, [System.Management.Automation.Language.NullString]::Value)
    } else {
        [System.IO.File]::Move($temporary, $path)
    }
    return @{ path = $path }
}

function Initialize-WinprovStateDirectory {
    param([Parameter(Mandatory = $true)] $Request)
    $path = [string]$Request.path
    Set-WinprovPrivateFolder -Path $path
    return @{ path = $path }
}
