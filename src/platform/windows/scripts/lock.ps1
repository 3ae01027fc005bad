# One winprov run at a time: besides the lock file the agent keeps in its state folder, a named mutex.
# This PowerShell process lives exactly as long as the run, so the mutex is held for the run; when a run
# is killed, Windows marks its mutex abandoned and the next run takes it (AbandonedMutexException is a
# successful wait), so a dead holder never blocks a new run and a reused pid never fools it.
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$global:WinprovRunMutex = $null

function Enter-WinprovRunMutex {
    param([Parameter(Mandatory = $true)] $Request)
    if ($null -ne $global:WinprovRunMutex) { return @{ acquired = $true } }
    $mutex = New-Object -TypeName System.Threading.Mutex -ArgumentList $false, 'Global\winprov-run'
    $acquired = $false
    try {
        $acquired = $mutex.WaitOne([int]$Request.waitMs)
    } catch [System.Threading.AbandonedMutexException] {
        $acquired = $true
    }
    if ($acquired) { $global:WinprovRunMutex = $mutex } else { $mutex.Dispose() }
    return @{ acquired = $acquired }
}
