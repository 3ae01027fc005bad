# The answer file Windows Setup reads again at the start of the oobeSystem pass,
# %WINDIR%\Panther\Unattend\unattend.xml (Windows Setup Automation Overview, "Implicit Answer File
# Search Order": it outranks the cached %WINDIR%\Panther\unattend.xml and replaces it at the start of
# each pass). winprov builds the merged text in Node; this only writes it.
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Write-WinprovAnswerFile {
    # The text comes from the request's secret line: it may hold the AutoLogon password Setup needs,
    # and Setup clears sensitive data only from its cached copy, not from this file. So the folder
    # (winprov's own, placed by prepare-image) is limited to SYSTEM and Administrators first, the new
    # text is written to a temporary file there (inheriting that ACL) and moved over the old file.
    param([Parameter(Mandatory = $true)] $Request)
    $path = [string]$Request.path
    Write-WinprovPrivateFile -Path $path -SecretName 'answerFile'
    return @{ path = $path }
}
