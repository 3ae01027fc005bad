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
