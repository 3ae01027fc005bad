# Provisioning media: Azure attaches a DVD whose root holds the tag file
# E6DA6616-8EC4-48E0-BE93-58CE6ACE3CFB.tag next to ovf-env.xml (and, on some images, CustomData.bin).
# Only the drive is found here; winprov reads the files itself (src/platform/media-files.ts), so
# ovf-env.xml, which holds the admin password, never becomes a value bound to a cmdlet (ConvertTo-Json
# of the answer) that Module Logging would record.
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Read-WinprovProvisioningMedia {
    param([Parameter(Mandatory = $true)] $Request)
    $tagFile = 'E6DA6616-8EC4-48E0-BE93-58CE6ACE3CFB.tag'
    $searched = New-Object -TypeName System.Collections.Generic.List[string]
    foreach ($drive in [System.IO.DriveInfo]::GetDrives()) {
        # IsReady is false for an empty DVD drive; reading it would wait for media that never comes.
        if (-not $drive.IsReady) { continue }
        $root = $drive.RootDirectory.FullName
        $searched.Add($root)
        if ([System.IO.File]::Exists([System.IO.Path]::Combine($root, $tagFile))) { return @{ found = $true; location = $root } }
    }
    return @{ found = $false; searched = $searched.ToArray() }
}
