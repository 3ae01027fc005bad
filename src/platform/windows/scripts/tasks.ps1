# The first-boot script's startup task (src/first-boot/run.ts): registered only while a VM's script runs,
# it starts "winprov.exe first-boot-script" as SYSTEM at the next start of Windows. SetupComplete.cmd runs
# once, so a script that restarts Windows would otherwise leave its record "started" for good; a source
# IMDS could not answer for keeps it registered too, to be tried again. The task's
# path and name are fixed here (FIRST_BOOT_RESUME_TASK in first-boot-types.ts), so a request can never
# name another task; only the executable comes from the request, as a value. ScheduledTasks is a CDXML
# module: its functions do not see this script's $ErrorActionPreference, so each call names its own.
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Set-WinprovFirstBootResume {
    param([Parameter(Mandatory = $true)] $Request)
    $taskPath = '\winprov\'
    $taskName = 'first-boot-resume'
    # A task that is not there is a non-terminating error (ObjectNotFound), silenced here.
    $existing = @(Get-ScheduledTask -TaskPath $taskPath -TaskName $taskName -ErrorAction SilentlyContinue)
    if (-not [bool]$Request.on) {
        if ($existing.Count -gt 0) { Unregister-ScheduledTask -TaskPath $taskPath -TaskName $taskName -Confirm:$false -ErrorAction Stop }
        return @{ registered = $false; removed = ($existing.Count -gt 0) }
    }
    $action = New-ScheduledTaskAction -Execute ([string]$Request.executable) -Argument 'first-boot-script' -ErrorAction Stop
    $trigger = New-ScheduledTaskTrigger -AtStartup -ErrorAction Stop
    # SYSTEM, as SetupComplete.cmd runs the script; the well-known name, which no language translates.
    $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest -ErrorAction Stop
    # Priority 4, normal: a task's default (7) is below normal, and the script it may run (the other
    # source's, in "both") would run below normal too. Task Scheduler's default time limit (72 hours)
    # stays: the run bounds itself (firstBootTimeout, at most 24 hours).
    $settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -Priority 4 -ErrorAction Stop
    Register-ScheduledTask -TaskPath $taskPath -TaskName $taskName -Action $action -Trigger $trigger -Principal $principal -Settings $settings -Force -ErrorAction Stop | Out-Null
    return @{ registered = $true; removed = $false }
}
