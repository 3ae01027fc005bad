# The Application event log entries of a run (source winprov): 1000 started, 1001 succeeded (Information),
# 1002 failed (Error). The MSI registers the source (EventLog\Application\winprov, EventMessageFile = the
# .NET Framework's EventLogMessages.dll, whose every id is the message "%1"); a winprov copied without the
# MSI registers it here, as SYSTEM may. The TypeScript side has already cut the message to the event
# log's limit.
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Register-WinprovEventSource {
    # EventLog.CreateEventSource with the default message file, which is the EventLogMessages.dll of the
    # running .NET Framework (Framework64\v4.0.30319 in 64-bit Windows PowerShell 5.1): what the MSI
    # registers. Returns whether the source was created now.
    param([Parameter(Mandatory = $true)] [string] $Source)
    if ([System.Diagnostics.EventLog]::SourceExists($Source)) { return $false }
    try {
        $creation = New-Object -TypeName System.Diagnostics.EventSourceCreationData -ArgumentList $Source, 'Application'
        [System.Diagnostics.EventLog]::CreateEventSource($creation)
    } catch {
        $text = 'the event source winprov is not registered (the winprov MSI registers it) and could not be created: ' + $_.Exception.Message
        throw (New-Object -TypeName System.InvalidOperationException -ArgumentList $text, $_.Exception)
    }
    return $true
}

function Write-WinprovEvent {
    # EventLog.WriteEntry(source, message, type, id): the .NET call under Write-EventLog, without the
    # cmdlet's own lookups. The entry type is checked against the three this project writes, so a
    # request can never pick another one by name.
    param([Parameter(Mandatory = $true)] $Request)
    $source = 'winprov'
    $typeName = [string]$Request.entryType
    if ($typeName -cne 'Information' -and $typeName -cne 'Warning' -and $typeName -cne 'Error') {
        Stop-WinprovRejected -Rule 'the entry type must be Information, Warning or Error'
    }
    $eventId = [int]$Request.eventId
    if ($eventId -lt 0 -or $eventId -gt 65535) { Stop-WinprovRejected -Rule 'the event id must be between 0 and 65535' }
    $created = Register-WinprovEventSource -Source $source
    $entryType = [System.Diagnostics.EventLogEntryType]$typeName
    [System.Diagnostics.EventLog]::WriteEntry($source, [string]$Request.message, $entryType, $eventId)
    return @{ source = $source; log = [string][System.Diagnostics.EventLog]::LogNameFromSourceName($source, '.'); created = [bool]$created }
}
