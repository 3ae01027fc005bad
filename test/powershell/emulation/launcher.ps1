# Run by bin/powershell in place of powershell.exe. Checks that the arguments are exactly those of
# command-line.ts powershellArgs(), loads the emulated Windows, then runs the bootstrap text from
# -EncodedCommand unchanged in the global scope (this file is dot-sourced there): the real bootstrap
# reads its hello line from stdin and loads the real library.
$winprovLauncherArgs = @(([string]$env:WINPROV_EMULATION_ARGV).Split("`n") | Microsoft.PowerShell.Core\Where-Object { $_ -ne '' })
Remove-Item -Path Env:WINPROV_EMULATION_ARGV -ErrorAction SilentlyContinue
$winprovLauncherExpected = @('-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-InputFormat', 'None', '-OutputFormat', 'Text', '-EncodedCommand')
$winprovLauncherProblem = $null
if ($winprovLauncherArgs.Count -ne $winprovLauncherExpected.Count + 1) {
    $winprovLauncherProblem = 'expected ' + ($winprovLauncherExpected.Count + 1) + ' arguments, got ' + $winprovLauncherArgs.Count
} else {
    for ($i = 0; $i -lt $winprovLauncherExpected.Count; $i++) {
        if ($winprovLauncherArgs[$i] -cne $winprovLauncherExpected[$i]) { $winprovLauncherProblem = 'argument ' + $i + ' is ' + $winprovLauncherArgs[$i] + ', expected ' + $winprovLauncherExpected[$i]; break }
    }
    if ($null -eq $winprovLauncherProblem -and $winprovLauncherArgs[-1] -notmatch '^[A-Za-z0-9+/]+={0,2}$') { $winprovLauncherProblem = 'the -EncodedCommand value is not base64' }
}
if ($null -ne $winprovLauncherProblem) {
    [Console]::Error.WriteLine('winprov emulation: powershell.exe was started with other arguments than powershellArgs() produces: ' + $winprovLauncherProblem + ' (' + ($winprovLauncherArgs -join ' ') + ')')
    [System.Environment]::Exit(64)
}
$winprovLauncherBootstrap = [System.Text.Encoding]::Unicode.GetString([System.Convert]::FromBase64String($winprovLauncherArgs[-1]))
$winprovLauncherArgs = $null
try {
    . ([System.IO.Path]::Combine($PSScriptRoot, 'Import-WindowsEmulation.ps1'))
} catch {
    [Console]::Error.WriteLine('winprov emulation: loading the emulated Windows failed: ' + $_.ToString() + "`n" + $_.ScriptStackTrace)
    [System.Environment]::Exit(65)
}
. ([ScriptBlock]::Create($winprovLauncherBootstrap))
