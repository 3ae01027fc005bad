# winprov bootstrap: the only code on powershell.exe's command line (-EncodedCommand). It carries no
# value. It reads ONE line from stdin: JSON holding the static library scripts (the other .ps1 files of
# this folder, as shipped) and the per-session answer marker; it loads the scripts and runs the request
# loop of host.ps1. Everything after that line is JSON data (requests), never code.
# powershell.exe is started with -InputFormat None so that its console host never reads stdin itself
# (with Text it would feed stdin lines to $input on a second thread and steal requests).
# Progress first: module auto-loading's "Preparing modules for first use" is a progress record, and with
# -EncodedCommand Windows PowerShell 5.1 writes progress to a redirected stderr as CLIXML.
# -EncodedCommand runs this text in the global scope; the preferences are set as globals by name all the
# same, because functions of script and CDXML modules (NetTCPIP, NetSecurity, DnsClient ...) see only
# the global values, never their caller's (PowerShell issues 4568 and 24389). ConfirmPreference None: a
# confirmation prompt cannot be answered in -NonInteractive mode and would fail the request instead.
$global:ProgressPreference = 'SilentlyContinue'
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$global:ErrorActionPreference = 'Stop'
$global:ConfirmPreference = 'None'

# Raw standard streams, UTF-8 without BOM both ways: the console code pages (localized builds use OEM
# pages such as 850 or 932) never touch the protocol.
$winprovUtf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
$winprovReader = New-Object -TypeName System.IO.StreamReader -ArgumentList ([Console]::OpenStandardInput()), $winprovUtf8, $false
$winprovWriter = New-Object -TypeName System.IO.StreamWriter -ArgumentList ([Console]::OpenStandardOutput()), $winprovUtf8
$winprovWriter.AutoFlush = $true
$winprovWriter.NewLine = "`n"

$winprovHello = ConvertFrom-Json -InputObject $winprovReader.ReadLine()
$winprovMarker = [string]$winprovHello.marker

# An execution policy set by Group Policy (MachinePolicy, then UserPolicy: the registry values of "Turn on
# Script Execution", EnableScripts and ExecutionPolicy) overrides -ExecutionPolicy Bypass. Under Restricted
# Windows' CDXML modules (NetTCPIP, NetSecurity ...) cannot load their format and module files, and under
# AllSigned PowerShell asks whether to trust their publisher, which -NonInteractive cannot answer; either
# way the first network verb would fail with an error that names none of this (PowerShell/PowerShell#13096).
# Read with .NET before anything loads, and refuse the session with the policy named.
$winprovPolicy = $null
foreach ($winprovScope in @('MachinePolicy', 'UserPolicy')) {
    $winprovHive = [Microsoft.Win32.Registry]::LocalMachine
    if ($winprovScope -eq 'UserPolicy') { $winprovHive = [Microsoft.Win32.Registry]::CurrentUser }
    $winprovKey = $winprovHive.OpenSubKey('SOFTWARE\Policies\Microsoft\Windows\PowerShell')
    if ($null -eq $winprovKey) { continue }
    try {
        $winprovEnable = $winprovKey.GetValue('EnableScripts')
        $winprovValue = [string]$winprovKey.GetValue('ExecutionPolicy')
    } finally {
        $winprovKey.Close()
    }
    if ($null -eq $winprovEnable) { continue }
    if ([int]$winprovEnable -eq 0) { $winprovValue = 'Restricted' }
    $winprovPolicy = @{ scope = $winprovScope; policy = $winprovValue }
    break
}
if ($null -ne $winprovPolicy -and @('Restricted', 'AllSigned') -contains $winprovPolicy.policy) {
    $winprovFailure = @{
        message = ('Group Policy sets the execution policy ' + $winprovPolicy.policy + ' (' + $winprovPolicy.scope + ')')
        fullyQualifiedErrorId = 'WinprovExecutionPolicyBlocked'
        rule = ($winprovPolicy.scope + ':' + $winprovPolicy.policy)
    }
    $winprovWriter.WriteLine($winprovMarker + (ConvertTo-Json -InputObject @{ id = 0; ok = $false; error = $winprovFailure } -Compress -Depth 16))
    exit 4
}

$winprovLoading = ''
try {
    foreach ($winprovScript in @($winprovHello.library)) {
        $winprovLoading = [string]$winprovScript.name
        # The library is this project's own static script text, loaded once per session; the data
        # lines that follow are only ever parsed with ConvertFrom-Json.
        . ([ScriptBlock]::Create([string]$winprovScript.text))
    }
} catch {
    $winprovFailure = @{ message = ('loading ' + $winprovLoading + ': ' + $_.ToString()); fullyQualifiedErrorId = [string]$_.FullyQualifiedErrorId }
    $winprovWriter.WriteLine($winprovMarker + (ConvertTo-Json -InputObject @{ id = 0; ok = $false; error = $winprovFailure } -Compress -Depth 16))
    exit 3
}
$winprovHello = $null

Start-WinprovHost -Reader $winprovReader -Writer $winprovWriter -Marker $winprovMarker
