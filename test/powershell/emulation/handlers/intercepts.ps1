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

# A named mutex is machine-wide on Windows; here every emulated machine shares one host (.NET keeps named
# mutexes in /tmp/.dotnet/shm whatever TMPDIR says), so lock.ps1's Global\winprov-run would make parallel
# test machines wait for each other. The name gets a suffix of this machine's state file before the real
# New-Object runs; the record keeps the name as Windows would see it (the intercept gets a copy of the
# bound parameters, but ArgumentList is the same array the proxy then forwards).
$script:Intercepts['New-Object'] = {
    param($Bound)
    $arguments = $Bound['ArgumentList']
    if ([string]$Bound['TypeName'] -eq 'System.Threading.Mutex' -and $null -ne $arguments -and $arguments.Count -ge 2 -and ([string]$arguments[1]).StartsWith('Global\')) {
        $sha = [System.Security.Cryptography.SHA256]::HashData([System.Text.Encoding]::UTF8.GetBytes([string]$env:WINPROV_EMULATION_STATE))
        $arguments[1] = [string]$arguments[1] + '-' + [System.Convert]::ToHexString($sha, 0, 8)
    }
    return $false
}
