# ScheduledTasks (CDXML): state.scheduledTasks ({taskPath, taskName, execute, argument, trigger, userId,
# logonType, runLevel, settings}); the New-* cmdlets return the CIM objects Register-ScheduledTask takes.

$script:EmuTaskNamespace = 'Root/Microsoft/Windows/TaskScheduler'

function Find-EmuScheduledTask([string] $Path, [string] $Name) {
    foreach ($task in (Get-EmuList (Get-EmuState) 'scheduledTasks')) {
        if ([string]$task['taskPath'] -eq $Path -and [string]$task['taskName'] -eq $Name) { return $task }
    }
    return $null
}

function Write-EmuScheduledTaskNotFound($Cmdlet, [string] $Name) {
    # What the CDXML query writes for a name that matches nothing: non-terminating, ObjectNotFound.
    $message = 'No MSFT_ScheduledTask objects found with property ''TaskName'' equal to ''' + $Name + '''.  Verify the value of the property and retry.'
    Write-EmuError -Cmdlet $Cmdlet -Exception ([System.Management.Automation.ItemNotFoundException]::new($message)) -ErrorId 'CmdletizationQuery_NotFound_TaskName' -Category ObjectNotFound -Target $Name
}

function Get-EmuTaskPath($Bound) {
    # Task Scheduler's root is "\"; a path is given with its backslashes at both ends.
    if ($Bound.Contains('TaskPath')) { return [string]$Bound['TaskPath'] }
    return '\'
}

function Get-EmuNamedTasks($Cmdlet, $Bound) {
    # The tasks -TaskPath and -TaskName name; each name that matches none is the CDXML query's error.
    $path = Get-EmuTaskPath $Bound
    foreach ($name in @($Bound['TaskName'])) {
        $task = Find-EmuScheduledTask $path $name
        if ($null -eq $task) { Write-EmuScheduledTaskNotFound $Cmdlet $name } else { $task }
    }
}

function ConvertTo-EmuScheduledTask([hashtable] $Task) {
    return ConvertTo-EmuCimObject -ClassName 'MSFT_ScheduledTask' -Namespace $script:EmuTaskNamespace -Properties ([ordered]@{ TaskPath = [string]$Task['taskPath']; TaskName = [string]$Task['taskName']; State = 'Ready' })
}

$script:Handlers['Get-ScheduledTask'] = {
    param($Cmdlet, $Bound, $Fault)
    foreach ($task in @(Get-EmuNamedTasks $Cmdlet $Bound)) { ConvertTo-EmuScheduledTask $task }
}

$script:Handlers['New-ScheduledTaskAction'] = {
    param($Cmdlet, $Bound, $Fault)
    ConvertTo-EmuCimObject -ClassName 'MSFT_TaskExecAction' -Namespace $script:EmuTaskNamespace -Properties ([ordered]@{ Execute = [string]$Bound['Execute']; Arguments = [string]$Bound['Argument'] })
}

$script:Handlers['New-ScheduledTaskTrigger'] = {
    param($Cmdlet, $Bound, $Fault)
    if (-not $Bound.Contains('AtStartup')) {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([System.NotImplementedException]::new('the emulation answers New-ScheduledTaskTrigger -AtStartup only')) -ErrorId 'EmulationNotImplemented' -Category NotImplemented -Terminating
    }
    ConvertTo-EmuCimObject -ClassName 'MSFT_TaskBootTrigger' -Namespace $script:EmuTaskNamespace -Properties ([ordered]@{ Enabled = $true })
}

$script:Handlers['New-ScheduledTaskPrincipal'] = {
    param($Cmdlet, $Bound, $Fault)
    ConvertTo-EmuCimObject -ClassName 'MSFT_TaskPrincipal2' -Namespace $script:EmuTaskNamespace -Properties ([ordered]@{
            UserId = [string]$Bound['UserId']; LogonType = [string]$Bound['LogonType']; RunLevel = [string]$Bound['RunLevel']
        })
}

$script:Handlers['New-ScheduledTaskSettingsSet'] = {
    param($Cmdlet, $Bound, $Fault)
    $switches = @($Bound.Keys | Microsoft.PowerShell.Core\Where-Object { $Bound[$_] -is [System.Management.Automation.SwitchParameter] -and [bool]$Bound[$_] } | Microsoft.PowerShell.Utility\Sort-Object)
    $priority = 7
    if ($Bound.Contains('Priority')) { $priority = [int]$Bound['Priority'] }
    ConvertTo-EmuCimObject -ClassName 'MSFT_TaskSettings3' -Namespace $script:EmuTaskNamespace -Properties ([ordered]@{ Switches = $switches; Priority = $priority })
}

$script:Handlers['Register-ScheduledTask'] = {
    param($Cmdlet, $Bound, $Fault)
    $path = Get-EmuTaskPath $Bound
    $name = [string]$Bound['TaskName']
    $existing = Find-EmuScheduledTask $path $name
    if ($null -ne $existing -and -not [bool]$Bound['Force']) {
        # HRESULT 0x800700B7 (ERROR_ALREADY_EXISTS), as Task Scheduler answers without -Force.
        $exception = [WinprovEmulation.Errors]::Win32(183, 'Cannot create a file when that file already exists.')
        Write-EmuError -Cmdlet $Cmdlet -Exception $exception -ErrorId 'HRESULT 0x800700b7,Register-ScheduledTask' -Category ResourceExists -Target $name -Terminating
    }
    $action = @($Bound['Action'])[0]
    $principal = $Bound['Principal']
    $task = @{
        taskPath = $path; taskName = $name
        execute = [string]$action.Execute; argument = [string]$action.Arguments
        trigger = [string]@($Bound['Trigger'])[0].CimClass.CimClassName
        userId = [string]$principal.UserId; logonType = [string]$principal.LogonType; runLevel = [string]$principal.RunLevel
        settings = @($Bound['Settings'].Switches); priority = [int]$Bound['Settings'].Priority
    }
    $tasks = Get-EmuList (Get-EmuState) 'scheduledTasks'
    if ($null -ne $existing) { [void]$tasks.Remove($existing) }
    $tasks.Add($task)
    Save-EmuState
    ConvertTo-EmuScheduledTask $task
}

$script:Handlers['Unregister-ScheduledTask'] = {
    param($Cmdlet, $Bound, $Fault)
    foreach ($task in @(Get-EmuNamedTasks $Cmdlet $Bound)) {
        if (-not $Cmdlet.ShouldProcess([string]$task['taskName'], 'Unregister-ScheduledTask')) { continue }
        [void](Get-EmuList (Get-EmuState) 'scheduledTasks').Remove($task)
    }
    Save-EmuState
}
