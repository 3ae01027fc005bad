# The emulated Windows machine: the dispatcher the generated stubs call, recording, faults, errors as
# Windows raises them, and the handlers (one file per area, dot-sourced below). The state itself is
# [WinprovEmulation.State]::Root (Fakes.cs): plain hashtables and lists, saved as JSON after each change.
#
# Handlers must not call any command the stubs replace (Where-Object, ForEach-Object, New-Object ...):
# those calls would be recorded as the scripts' own. They use the language (foreach, .Where()) and .NET.
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

# Command name -> scriptblock param($Cmdlet, $Bound, $Fault): the handler of a Windows-only command.
$script:Handlers = @{}
# Command name -> scriptblock param($Bound) returning $true when the proxy must not forward the call.
$script:Intercepts = @{}

function Get-EmuState { return [WinprovEmulation.State]::Root }
function Save-EmuState { [WinprovEmulation.State]::Save() }
function Get-EmuList([hashtable] $Parent, [string] $Key) { return , [WinprovEmulation.State]::List($Parent, $Key) }
function Get-EmuMap([hashtable] $Parent, [string] $Key) { return [WinprovEmulation.State]::Map($Parent, $Key) }

function Get-EmuCmdletClass {
    # The implementing class Windows names in FullyQualifiedErrorId ("Id,Microsoft...Command"); $null for
    # CDXML commands (NetTCPIP, NetSecurity ...), which are functions: PowerShell appends their name.
    param([string] $Command, [string] $Module)
    $noun = $Command -replace '-', ''
    switch ($Module) {
        'Microsoft.PowerShell.LocalAccounts' { return 'Microsoft.PowerShell.Commands.' + $noun + 'Command' }
        'Microsoft.PowerShell.Management' { return 'Microsoft.PowerShell.Commands.' + $noun + 'Command' }
        'Microsoft.PowerShell.Utility' { return 'Microsoft.PowerShell.Commands.' + $noun + 'Command' }
        'Microsoft.PowerShell.Diagnostics' { return 'Microsoft.PowerShell.Commands.' + $noun + 'Command' }
        'Microsoft.WSMan.Management' { return 'Microsoft.WSMan.Management.' + $noun + 'Command' }
        'CimCmdlets' { return 'Microsoft.Management.Infrastructure.CimCmdlets.' + $noun + 'Command' }
    }
    return $null
}

function Write-EmuError {
    # An error as the Windows command raises it: non-terminating (WriteError, the caller's -ErrorAction
    # decides) unless -Terminating.
    param(
        [Parameter(Mandatory = $true)] $Cmdlet,
        [Parameter(Mandatory = $true)] [System.Exception] $Exception,
        [Parameter(Mandatory = $true)] [string] $ErrorId,
        [System.Management.Automation.ErrorCategory] $Category = 'NotSpecified',
        $Target = $null,
        [switch] $Terminating
    )
    $class = Get-EmuCmdletClass -Command $script:CurrentCommand -Module $script:CurrentModule
    $fqid = $null
    if ($null -ne $class) { $fqid = $ErrorId + ',' + $class }
    $record = [WinprovEmulation.Errors]::Record($Exception, $ErrorId, $Category, $Target, $fqid)
    if ($Terminating) { $Cmdlet.ThrowTerminatingError($record) }
    $Cmdlet.WriteError($record)
}

function New-EmuFaultException {
    # state.faults[command] = {"error": "<Name>", "message"?, "win32"?, "category"?}: the LocalAccounts
    # exceptions by their names, anything else as a Win32Exception (with "win32") or an
    # InvalidOperationException.
    param([hashtable] $Fault, $Target)
    $name = [string]$Fault['error']
    $message = [string]$Fault['message']
    $targetText = [string]$Target
    switch ($name) {
        'InvalidPassword' { return [Microsoft.PowerShell.Commands.InvalidPasswordException]::new() }
        'InvalidName' { return [Microsoft.PowerShell.Commands.InvalidNameException]::new($targetText) }
        'NameInUse' { return [Microsoft.PowerShell.Commands.NameInUseException]::new($targetText) }
        'UserExists' { return [Microsoft.PowerShell.Commands.UserExistsException]::new($targetText) }
        'UserNotFound' { return [Microsoft.PowerShell.Commands.UserNotFoundException]::new($targetText) }
        'GroupNotFound' { return [Microsoft.PowerShell.Commands.GroupNotFoundException]::new($targetText) }
        'MemberExists' { return [Microsoft.PowerShell.Commands.MemberExistsException]::new($targetText, 'Administrators') }
        'PrincipalNotFound' { return [Microsoft.PowerShell.Commands.PrincipalNotFoundException]::new($targetText) }
    }
    if ($Fault.ContainsKey('win32')) {
        if ($message -eq '') { $message = 'Windows error ' + [string]$Fault['win32'] }
        return [WinprovEmulation.Errors]::Win32([int]$Fault['win32'], $message)
    }
    if ($name -eq 'AccessDenied') {
        if ($script:CurrentModule -eq 'Microsoft.PowerShell.LocalAccounts') { return [Microsoft.PowerShell.Commands.AccessDeniedException]::new($Target) }
        return [System.UnauthorizedAccessException]::new('Access is denied.')
    }
    if ($message -eq '') { $message = $name }
    return [System.InvalidOperationException]::new($message)
}

function Invoke-WindowsEmulationCommand {
    # What every generated stub of a Windows-only command runs: record the call, apply a fault, run the
    # handler.
    param(
        [Parameter(Mandatory = $true)] [string] $Command,
        [AllowEmptyString()] [string] $Module,
        [Parameter(Mandatory = $true)] $Cmdlet,
        [Parameter(Mandatory = $true)] [System.Collections.IDictionary] $Bound
    )
    [WinprovEmulation.State]::Refresh()
    [WinprovEmulation.Recorder]::Record($Command, $Cmdlet.ParameterSetName, $Bound, $null, $false)
    # A plain (case-insensitive) hashtable for the handlers: PSBoundParametersDictionary has no Contains().
    $copy = @{}
    foreach ($key in $Bound.Keys) { $copy[$key] = $Bound[$key] }
    $Bound = $copy
    $script:CurrentCommand = $Command
    $script:CurrentModule = $Module
    $handler = $script:Handlers[$Command]
    if ($null -eq $handler) {
        $exception = [System.NotImplementedException]::new('the Windows emulation has no handler for ' + $Command)
        Write-EmuError -Cmdlet $Cmdlet -Exception $exception -ErrorId 'EmulationNotImplemented' -Category NotImplemented -Terminating
    }
    $fault = [WinprovEmulation.State]::Fault($Command)
    if ($null -ne $fault -and $fault.ContainsKey('error')) {
        $target = $null
        foreach ($key in @('Name', 'InputObject', 'Member', 'Id', 'ResourceURI')) { if ($Bound.Contains($key)) { $target = $Bound[$key]; break } }
        $exception = New-EmuFaultException -Fault $fault -Target $target
        $category = 'NotSpecified'
        if ($exception -is [Microsoft.PowerShell.Commands.LocalAccountsException]) { $category = $exception.ErrorCategory }
        if ($fault.ContainsKey('category')) { $category = [string]$fault['category'] }
        $errorId = [string]$fault['error']
        if ($fault.ContainsKey('errorId')) { $errorId = [string]$fault['errorId'] }
        Write-EmuError -Cmdlet $Cmdlet -Exception $exception -ErrorId $errorId -Category $category -Target $target -Terminating:([bool]$fault['terminating'])
        return
    }
    & $handler $Cmdlet $Bound $fault
}

function Write-WindowsEmulationCall {
    # What every generated proxy of a real cmdlet runs (once for its bound parameters, once per pipeline
    # item): the record. Returns $true when an intercept handled the call (it is then not forwarded).
    param(
        [Parameter(Mandatory = $true)] [string] $Command,
        [AllowEmptyString()] [string] $ParameterSet,
        [Parameter(Mandatory = $true)] [System.Collections.IDictionary] $Bound,
        $PipelineItem,
        [switch] $HasPipelineItem
    )
    if (-not $HasPipelineItem) { [WinprovEmulation.State]::Refresh() }
    [WinprovEmulation.Recorder]::Record($Command, $ParameterSet, $Bound, $PipelineItem, [bool]$HasPipelineItem)
    if ($HasPipelineItem) { return $false }
    $intercept = $script:Intercepts[$Command]
    if ($null -eq $intercept) { return $false }
    $copy = @{}
    foreach ($key in $Bound.Keys) { $copy[$key] = $Bound[$key] }
    return [bool](& $intercept $copy)
}

function Get-WindowsEmulationCall {
    # The calls recorded in this process, oldest first (hashtables: command, parameterSet, bound, deep).
    param([string] $Command)
    $all = [WinprovEmulation.Recorder]::Calls
    # Always an array (the comma keeps a single call from being unrolled into its hashtable).
    if ($Command -eq '') { return , [object[]]$all.ToArray() }
    return , [object[]]@($all.Where({ $_['command'] -eq $Command }))
}

function Clear-WindowsEmulationCall { [WinprovEmulation.Recorder]::Calls.Clear() }

function Initialize-WindowsEmulation {
    # Sets the machine: -State (a hashtable, e.g. from New-WindowsEmulationState, in memory only unless
    # -Path is given too) or -Path (a JSON state file, loaded and saved back after each change).
    param(
        [hashtable] $State,
        [string] $Path
    )
    if ($null -ne $State) {
        $file = $null
        if ($Path -ne '') { $file = $Path }
        [WinprovEmulation.State]::Set($State, $file)
        Save-EmuState
    } elseif ($Path -ne '') {
        [WinprovEmulation.State]::Load($Path)
    } else {
        [WinprovEmulation.State]::Set((New-WindowsEmulationState), $null)
    }
    Clear-WindowsEmulationCall
}

function Get-WindowsEmulationState { return [WinprovEmulation.State]::Root }

function ConvertTo-EmuCimObject {
    # A CIM instance as the CDXML cmdlets return it: its properties, its class name (CimClass.CimClassName)
    # and the type name PowerShell shows.
    param([string] $ClassName, [string] $Namespace, [System.Collections.IDictionary] $Properties)
    $object = [pscustomobject]@{}
    foreach ($key in $Properties.Keys) { $object.PSObject.Properties.Add([psnoteproperty]::new([string]$key, $Properties[$key])) }
    $object.PSObject.Properties.Add([psnoteproperty]::new('CimClass', [pscustomobject]@{ CimClassName = $ClassName; CimSystemProperties = [pscustomobject]@{ Namespace = $Namespace; ClassName = $ClassName } }))
    # The names CDXML objects carry; the stubs' [PSTypeName()] bind by them.
    $object.PSObject.TypeNames.Insert(0, 'Microsoft.Management.Infrastructure.CimInstance')
    $object.PSObject.TypeNames.Insert(0, 'Microsoft.Management.Infrastructure.CimInstance#' + $ClassName)
    $object.PSObject.TypeNames.Insert(0, 'Microsoft.Management.Infrastructure.CimInstance#' + $Namespace + '/' + $ClassName)
    return $object
}

foreach ($area in @('state', 'network', 'firewall', 'accounts', 'services', 'wsman', 'storage', 'cim', 'timezone', 'eventlog', 'intercepts', 'image', 'tasks')) {
    . (Join-Path -Path $PSScriptRoot -ChildPath ('handlers/' + $area + '.ps1'))
}

Export-ModuleMember -Function Invoke-WindowsEmulationCommand, Write-WindowsEmulationCall, Get-WindowsEmulationCall, Clear-WindowsEmulationCall, Initialize-WindowsEmulation, Get-WindowsEmulationState, New-WindowsEmulationState
