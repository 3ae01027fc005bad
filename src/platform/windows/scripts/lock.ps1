# One winprov run at a time: besides the lock file the agent keeps in its state folder, a named mutex.
# The run's PowerShell process holds it; when that process is replaced during the run (a request timed
# out, PowerShell crashed), the new one takes it again before any other request (session.ts).
# A run that ends releases it (Exit-WinprovRunMutex, when the host's stdin ends or on the exit request),
# so an abandoned mutex (AbandonedMutexException: its holder ended without releasing it, which is a
# successful wait) means a PowerShell process died, not that its run ended: exclusive-run.ts then checks
# the lock file's holder instead of taking the file over. A dead holder never blocks a new run.
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$global:WinprovRunMutex = $null

function Enter-WinprovRunMutex {
    param([Parameter(Mandatory = $true)] $Request)
    if ($null -ne $global:WinprovRunMutex) { return @{ acquired = $true; abandoned = $false } }
    $mutex = New-Object -TypeName System.Threading.Mutex -ArgumentList $false, 'Global\winprov-run'
    $acquired = $false
    $abandoned = $false
    try {
        $acquired = $mutex.WaitOne([int]$Request.waitMs)
    } catch [System.Threading.AbandonedMutexException] {
        $acquired = $true
        $abandoned = $true
    }
    if ($acquired) { $global:WinprovRunMutex = $mutex } else { $mutex.Dispose() }
    return @{ acquired = $acquired; abandoned = $abandoned }
}

function Exit-WinprovRunMutex {
    # Only the thread that owns a mutex may release it (ApplicationException otherwise); the host loop
    # runs every request on the one thread that took it. Should the release fail all the same, the mutex
    # is abandoned when the process exits, which a next run treats with more care, never with less.
    if ($null -eq $global:WinprovRunMutex) { return }
    $mutex = $global:WinprovRunMutex
    $global:WinprovRunMutex = $null
    try { $mutex.ReleaseMutex() } catch [System.ApplicationException] { $null = $_ }
    $mutex.Dispose()
}
