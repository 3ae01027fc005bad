# Provisioning media: Azure attaches a DVD whose root holds the tag file
# E6DA6616-8EC4-48E0-BE93-58CE6ACE3CFB.tag next to ovf-env.xml (and, on some images, CustomData.bin).
# The bytes go back base64; the TypeScript side wraps them in Secret (ovf-env.xml holds the password).
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
        if (-not [System.IO.File]::Exists([System.IO.Path]::Combine($root, $tagFile))) { continue }
        $ovfPath = [System.IO.Path]::Combine($root, 'ovf-env.xml')
        if (-not [System.IO.File]::Exists($ovfPath)) {
            return @{ found = $true; location = $root; ovfEnv = $null; customData = $null }
        }
        $customData = $null
        $customPath = [System.IO.Path]::Combine($root, 'CustomData.bin')
        if ([System.IO.File]::Exists($customPath)) { $customData = [System.Convert]::ToBase64String([System.IO.File]::ReadAllBytes($customPath)) }
        return @{
            found = $true
            location = $root
            ovfEnv = [System.Convert]::ToBase64String([System.IO.File]::ReadAllBytes($ovfPath))
            customData = $customData
        }
    }
    return @{ found = $false; searched = $searched.ToArray() }
}
