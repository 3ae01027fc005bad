# Real cmdlets the proxies do not forward for some arguments: assemblies Linux lacks, whose types the
# emulation fakes (see the accelerators in Import-WindowsEmulation.ps1).
$script:FakedAssemblies = @('System.DirectoryServices.AccountManagement', 'System.DirectoryServices')

$script:Intercepts['Add-Type'] = {
    param($Bound)
    if (-not $Bound.Contains('AssemblyName')) { return $false }
    foreach ($name in @($Bound['AssemblyName'])) {
        if ($script:FakedAssemblies -notcontains ([string]$name).Split(',')[0]) { return $false }
    }
    return $true
}
