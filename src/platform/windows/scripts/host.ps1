# winprov request loop and shared helpers. Protocol (see ../protocol.ts):
#   in : one JSON object per line {"id":n,"secrets":k,"verb":"...","params":{...}}, then k lines
#        "<name>:<base64>", one per secret value of the request (the password, the PFX, the custom data)
#   out: one line per request: <marker>{"id":n,"ok":true,"result":{...}}
#                          or  <marker>{"id":n,"ok":false,"error":{"message":"...","fullyQualifiedErrorId":"...",...}}
#        and optional log lines <marker>{"log":"warn","message":"..."}
# The marker is random per session, so text that other code writes to stdout (warnings, Write-Host)
# cannot pass for an answer. Verbs are plain functions chosen by a fixed switch; their parameters come
# from the JSON object and are used only as values.
# Secrets never travel in the JSON line: it is parsed with ConvertFrom-Json -InputObject, and Module
# Logging (event 4103, turned on by many hardening baselines) records every value bound to a cmdlet
# parameter. Their lines are decoded with .NET calls into $global:WinprovRequestSecrets (name -> byte[])
# for the one request, read by the verbs with Get-WinprovSecret, and wiped before the next read.
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$global:WinprovRequestSecrets = @{}

function Get-WinprovSecret {
    # The bytes of one secret of the current request. The comma keeps PowerShell from unrolling the
    # array into the pipeline; nothing here binds the value to a parameter.
    param([Parameter(Mandatory = $true)] [string] $Name)
    if (-not $global:WinprovRequestSecrets.ContainsKey($Name)) {
        throw (New-Object -TypeName System.InvalidOperationException -ArgumentList ('the request carries no secret named ' + $Name))
    }
    return , $global:WinprovRequestSecrets[$Name]
}

function Read-WinprovSecretLines {
    # Reads the request's secret lines "<name>:<base64>" into $global:WinprovRequestSecrets. They are read
    # even when the request line itself is refused, so that they are never taken for requests.
    param(
        [Parameter(Mandatory = $true)] [System.IO.TextReader] $Reader,
        [Parameter(Mandatory = $true)] [int] $Count
    )
    for ($i = 0; $i -lt $Count; $i++) {
        $secretLine = $Reader.ReadLine()
        if ($null -eq $secretLine) { throw (New-Object -TypeName System.IO.EndOfStreamException -ArgumentList 'stdin ended inside a request') }
        $colon = $secretLine.IndexOf(':')
        if ($colon -lt 1) { throw (New-Object -TypeName System.FormatException -ArgumentList 'a secret line is not of the form name:base64') }
        $global:WinprovRequestSecrets[$secretLine.Substring(0, $colon)] = [System.Convert]::FromBase64String($secretLine.Substring($colon + 1))
        $secretLine = $null
    }
}

function Clear-WinprovSecrets {
    # Overwrites the secret bytes, then forgets them.
    foreach ($secretBytes in $global:WinprovRequestSecrets.Values) { [System.Array]::Clear($secretBytes, 0, $secretBytes.Length) }
    $global:WinprovRequestSecrets.Clear()
}

function Stop-WinprovRejected {
    # Ends the request with a rule the caller reports as "Windows rejected the value". The rule is this
    # project's own fixed English text; $Exception, when given, carries Windows' own (localized) text.
    param(
        [Parameter(Mandatory = $true)] [string] $Rule,
        [System.Exception] $Exception
    )
    if ($null -eq $Exception) { $Exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Rule }
    $record = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList $Exception, 'WinprovRejected', ([System.Management.Automation.ErrorCategory]::InvalidArgument), $Rule
    throw $record
}

function Test-WinprovException {
    # True when the error, or an exception it wraps, is of the given .NET type (.NET method calls arrive
    # wrapped in MethodInvocationException).
    param(
        [Parameter(Mandatory = $true)] [System.Management.Automation.ErrorRecord] $Record,
        [Parameter(Mandatory = $true)] [type] $Type
    )
    $current = $Record.Exception
    while ($null -ne $current) {
        if ($Type.IsInstanceOfType($current)) { return $true }
        $current = $current.InnerException
    }
    return $false
}

function Get-WinprovCimWin32Code {
    # MSFT_WmiError.error_Code of a CimException's ErrorData, or $null where there is none.
    param([Parameter(Mandatory = $true)] $Exception)
    $data = $Exception.PSObject.Properties['ErrorData']
    if ($null -eq $data -or $null -eq $data.Value) { return $null }
    $properties = $data.Value.PSObject.Properties['CimInstanceProperties']
    if ($null -eq $properties -or $null -eq $properties.Value) { return $null }
    $code = $properties.Value['error_Code']
    if ($null -eq $code -or $null -eq $code.Value) { return $null }
    return [long]$code.Value
}

function ConvertTo-WinprovFailure {
    # What the TypeScript side needs to classify a failure: PowerShell's message, FullyQualifiedErrorId,
    # category, exception types, HResult and the Win32/NTSTATUS code where one is attached. Never the
    # TargetObject or the invocation line: those can hold the request's values.
    param([Parameter(Mandatory = $true)] [System.Management.Automation.ErrorRecord] $Record)
    $types = New-Object -TypeName System.Collections.Generic.List[string]
    $win32 = $null
    $ntStatus = $null
    $current = $Record.Exception
    while ($null -ne $current) {
        $types.Add($current.GetType().FullName)
        if ($current.GetType().FullName -eq 'Microsoft.Management.Infrastructure.CimException') {
            # A CIM/CDXML cmdlet's failure: its NativeErrorCode and StatusCode are the CIM client's own
            # result codes (MI_Result: 2 is access denied), not Win32 or NTSTATUS. The Windows error the
            # provider reported, if any, is error_Code of its MSFT_WmiError instance (ErrorData).
            if ($null -eq $win32) { $win32 = Get-WinprovCimWin32Code -Exception $current }
        } else {
            if ($null -eq $win32 -and $null -ne $current.PSObject.Properties['NativeErrorCode']) { $win32 = [long]$current.NativeErrorCode }
            if ($null -eq $ntStatus -and $null -ne $current.PSObject.Properties['StatusCode']) { $ntStatus = [long]$current.StatusCode }
        }
        $current = $current.InnerException
    }
    $failure = @{
        message = $Record.ToString()
        fullyQualifiedErrorId = [string]$Record.FullyQualifiedErrorId
        category = [string]$Record.CategoryInfo.Category
        exceptionTypes = $types.ToArray()
        hresult = [long]$Record.Exception.HResult
        win32 = $win32
        ntStatus = $ntStatus
    }
    if ($Record.FullyQualifiedErrorId -like 'WinprovRejected*') { $failure.rule = [string]$Record.TargetObject }
    return $failure
}

function Send-WinprovLine {
    # -Depth 16: Windows PowerShell 5.1's ConvertTo-Json silently replaces a hashtable or array nested
    # deeper than -Depth by its type name ("System.Collections.Hashtable"); the deepest answer
    # (readDiagnostics) nests 7 levels. Its output length is not limited (MaxJsonLength Int32.MaxValue).
    param(
        [Parameter(Mandatory = $true)] [System.IO.TextWriter] $Writer,
        [Parameter(Mandatory = $true)] [string] $Marker,
        [Parameter(Mandatory = $true)] [hashtable] $Message
    )
    $Writer.WriteLine($Marker + (ConvertTo-Json -InputObject $Message -Compress -Depth 16))
}

function Send-WinprovAnswer {
    # One answer line whatever happens: an answer that cannot be serialized (or a failure that cannot be
    # described) becomes a small failure answer for the same id. An exception escaping here would end
    # the process, and the caller would send the request again only to meet the same fault.
    param(
        [Parameter(Mandatory = $true)] [System.IO.TextWriter] $Writer,
        [Parameter(Mandatory = $true)] [string] $Marker,
        [Parameter(Mandatory = $true)] [int] $Id,
        [Parameter(Mandatory = $true)] [hashtable] $Answer
    )
    try {
        $text = ConvertTo-Json -InputObject $Answer -Compress -Depth 16
    } catch {
        $failure = @{ message = ('the answer could not be written as JSON: ' + $_.Exception.Message); fullyQualifiedErrorId = [string]$_.FullyQualifiedErrorId }
        $text = ConvertTo-Json -InputObject @{ id = $Id; ok = $false; error = $failure } -Compress -Depth 16
    }
    $Writer.WriteLine($Marker + $text)
}

function Import-WinprovModules {
    # The modules the apply verbs always use, loaded while the run waits on the network instead of at
    # their first command (a CDXML module such as Storage generates its script module on import).
    # Read-only; a module that does not load is reported, never an error: its verb loads it as before.
    # The request carries no field: the list is this script's own. A module whose command another module
    # already defines here (a proxy) is left alone: importing it would replace that command.
    param([Parameter(Mandatory = $true)] [AllowNull()] $Request)
    $loaded = New-Object -TypeName System.Collections.Generic.List[string]
    $definedElsewhere = New-Object -TypeName System.Collections.Generic.List[string]
    $failed = New-Object -TypeName System.Collections.Generic.List[string]
    foreach ($module in @(@{ name = 'Microsoft.PowerShell.LocalAccounts'; command = 'Get-LocalUser' }, @{ name = 'Storage'; command = 'Get-Partition' })) {
        $defined = @(Get-Command -Name $module.command -ErrorAction SilentlyContinue)
        if ($defined.Count -gt 0 -and [string]$defined[0].ModuleName -ne $module.name) {
            $definedElsewhere.Add($module.name)
            continue
        }
        try {
            Import-Module -Name $module.name -ErrorAction Stop
            $loaded.Add($module.name)
        } catch {
            $failed.Add($module.name + ': ' + $_.Exception.Message)
        }
    }
    return @{ loaded = $loaded.ToArray(); definedElsewhere = $definedElsewhere.ToArray(); failed = $failed.ToArray() }
}

function Split-WinprovVerbOutput {
    # A verb's warnings as log lines, each as it comes; everything else into Output.
    param(
        [Parameter(ValueFromPipeline = $true)] [AllowNull()] $Record,
        [Parameter(Mandatory = $true)] [string] $Verb,
        [Parameter(Mandatory = $true)] [System.IO.TextWriter] $Writer,
        [Parameter(Mandatory = $true)] [string] $Marker,
        [Parameter(Mandatory = $true)] [AllowEmptyCollection()] [System.Collections.Generic.List[object]] $Output
    )
    process {
        if ($Record -is [System.Management.Automation.WarningRecord]) {
            Send-WinprovLine -Writer $Writer -Marker $Marker -Message @{ log = 'warn'; message = ($Verb + ': ' + $Record.Message) }
        } else {
            $Output.Add($Record)
        }
    }
}

function Invoke-WinprovVerb {
    # The fixed table of verbs. Each returns exactly one hashtable; anything else a verb lets fall into
    # the pipeline is dropped here and reported as a log line. Its warnings (stream 3) are sent as log
    # lines while the request runs: left to the console host they reach stderr as CLIXML only when the
    # process exits, and a verb that never returns would lose them.
    param(
        [Parameter(Mandatory = $true)] [string] $Verb,
        [Parameter(Mandatory = $true)] [AllowNull()] $Params,
        [Parameter(Mandatory = $true)] [System.IO.TextWriter] $Writer,
        [Parameter(Mandatory = $true)] [string] $Marker
    )
    $output = New-Object -TypeName System.Collections.Generic.List[object]
    & { switch -CaseSensitive ($Verb) {
            'findFabricInterface' { Get-WinprovFabricInterface -Request $Params }
            'enableDhcp' { Enable-WinprovDhcp -Request $Params }
            'readDhcpInterfaceOptions' { Get-WinprovDhcpInterfaceOptions -Request $Params }
            'readProvisioningMedia' { Read-WinprovProvisioningMedia -Request $Params }
            'readVmId' { Get-WinprovVmId -Request $Params }
            'setComputerName' { Set-WinprovComputerName -Request $Params }
            'ensureAdminAccount' { Set-WinprovAdminAccount -Request $Params }
            'importCertificates' { Import-WinprovCertificates -Request $Params }
            'configureWinRm' { Set-WinprovWinRmListeners -Request $Params }
            'extendOsVolume' { Expand-WinprovOsVolume -Request $Params }
            'writeCustomData' { Write-WinprovCustomData -Request $Params }
            'setTimeZone' { Set-WinprovTimeZone -Request $Params }
            'setGuestAgentServices' { Set-WinprovGuestAgentServices -Request $Params }
            'readGuestAgentServices' { Get-WinprovGuestAgentServices -Request $Params }
            'readRdpCertificate' { Get-WinprovRdpCertificate -Request $Params }
            'writeAnswerFile' { Write-WinprovAnswerFile -Request $Params }
            'writeKvpReport' { Set-WinprovKvpReport -Request $Params }
            'writeKvpValue' { Set-WinprovKvpValue -Request $Params }
            'setFirstBootResume' { Set-WinprovFirstBootResume -Request $Params }
            'ensureStateDirectory' { Initialize-WinprovStateDirectory -Request $Params }
            'recordEvent' { Write-WinprovEvent -Request $Params }
            'readDiagnostics' { Get-WinprovDiagnostics -Request $Params }
            'enterRunMutex' { Enter-WinprovRunMutex -Request $Params }
            'readRemoteAccess' { Get-WinprovRemoteAccess -Request $Params }
            'removeRemoteAccess' { Remove-WinprovRemoteAccess -Request $Params }
            'readImageFacts' { Get-WinprovImageFacts -Request $Params }
            'warmUp' { Import-WinprovModules -Request $Params }
            default { throw (New-Object -TypeName System.NotSupportedException -ArgumentList ('unknown verb ' + $Verb)) }
        } } 3>&1 | Split-WinprovVerbOutput -Verb $Verb -Writer $Writer -Marker $Marker -Output $output
    if ($output.Count -ne 1) {
        Send-WinprovLine -Writer $Writer -Marker $Marker -Message @{ log = 'warn'; message = ($Verb + ' left ' + $output.Count + ' objects in the pipeline; the last one is the answer') }
    }
    if ($output.Count -eq 0) { return @{} }
    return $output[$output.Count - 1]
}

function Start-WinprovHost {
    # Answers requests until stdin closes or an "exit" request arrives.
    param(
        [Parameter(Mandatory = $true)] [System.IO.TextReader] $Reader,
        [Parameter(Mandatory = $true)] [System.IO.TextWriter] $Writer,
        [Parameter(Mandatory = $true)] [string] $Marker
    )
    # is64BitProcess: a 32-bit PowerShell (SysWOW64) lacks the LocalAccounts module.
    $ready = @{ psVersion = [string]$PSVersionTable.PSVersion; culture = [string][System.Globalization.CultureInfo]::CurrentUICulture.Name; is64BitProcess = [System.Environment]::Is64BitProcess }
    Send-WinprovLine -Writer $Writer -Marker $Marker -Message @{ id = 0; ok = $true; result = $ready }
    while ($true) {
        $line = $Reader.ReadLine()
        # Stdin ends when winprov closes the session or has itself ended: the run is over, and the run
        # mutex is released, not left abandoned (lock.ps1).
        if ($null -eq $line) { Exit-WinprovRunMutex; return }
        if ($line.Length -eq 0) { continue }
        $id = 0
        $secretCount = 0
        # protocol.ts writes the id and the count of secret lines first: a line ConvertFrom-Json refuses is
        # still answered under its id (the caller sees the failure at once instead of waiting for its
        # timeout), and its secret lines are still consumed.
        if ($line -match '^\{"id":([0-9]{1,9}),"secrets":([0-9]{1,2}),') { $id = [int]$Matches[1]; $secretCount = [int]$Matches[2] }
        $stop = $false
        try {
            Read-WinprovSecretLines -Reader $Reader -Count $secretCount
            $request = ConvertFrom-Json -InputObject $line
            $id = [int]$request.id
            $verb = [string]$request.verb
            if ($verb -ceq 'exit') {
                $stop = $true
                Exit-WinprovRunMutex
                $answer = @{ id = $id; ok = $true; result = @{} }
            } else {
                $result = Invoke-WinprovVerb -Verb $verb -Params $request.params -Writer $Writer -Marker $Marker
                $answer = @{ id = $id; ok = $true; result = $result }
            }
        } catch {
            $record = $_
            try {
                $failure = ConvertTo-WinprovFailure -Record $record
            } catch {
                $failure = @{ message = ('the failure could not be described: ' + $_.Exception.Message); fullyQualifiedErrorId = [string]$record.FullyQualifiedErrorId }
            }
            $answer = @{ id = $id; ok = $false; error = $failure }
            $record = $null
        }
        Clear-WinprovSecrets
        $line = $null
        $request = $null
        Send-WinprovAnswer -Writer $Writer -Marker $Marker -Id $id -Answer $answer
        $answer = $null
        if ($stop) { return }
    }
}
