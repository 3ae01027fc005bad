# Dot-sourced by each *.Tests.ps1 in BeforeAll: the emulated Windows in this process (stubs in the
# test's scope only), and helpers to load the shipped scripts and seed the machine.
$WinprovRepoRoot = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', '..', '..'))
. ([System.IO.Path]::Combine($WinprovRepoRoot, 'test', 'powershell', 'emulation', 'Import-WindowsEmulation.ps1')) -Local

function Get-WinprovScriptPath([string] $Name) {
    return [System.IO.Path]::Combine($WinprovRepoRoot, 'src', 'platform', 'windows', 'scripts', $Name)
}

function New-TestMachine {
    # A fresh typical image in memory (its drives in a new temporary folder); extra arguments go to
    # New-WindowsEmulationState. Returns the state hashtable after normalization.
    param([hashtable] $Options = @{})
    $state = New-WindowsEmulationState @Options
    Initialize-WindowsEmulation -State $state
    return (Get-WindowsEmulationState)
}

function Find-TestEntry($List, [string] $Key, $Value) {
    foreach ($entry in $List) { if ($entry[$Key] -eq $Value) { return $entry } }
    return $null
}

function Get-TestSha256([string] $Text) {
    return [System.Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData([System.Text.Encoding]::UTF8.GetBytes($Text))).ToLowerInvariant()
}

function Invoke-EmulationStub {
    # What a Pester mock forwards to: the generated stub itself (by its FunctionInfo: Pester also mocks
    # module-qualified names), so the emulation answers and the stub's parameter sets still bind.
    param([Parameter(Mandatory = $true)] [string] $Name, [Parameter(Mandatory = $true)] [System.Collections.IDictionary] $Bound)
    $stub = (Get-Module -Name WinprovEmulationStubs).ExportedFunctions[$Name]
    & $stub @Bound
}

# host.ps1's request loop (Start-WinprovHost, loaded by the caller) over the given lines: requests and
# secret lines in, the marked answers out as objects.
function Invoke-TestHost([string[]] $Lines) {
    $reader = [System.IO.StringReader]::new(($Lines -join "`n") + "`n")
    $writer = [System.IO.StringWriter]::new()
    $writer.NewLine = "`n"
    Start-WinprovHost -Reader $reader -Writer $writer -Marker 'MARK:'
    return @($writer.ToString().Split("`n").Where({ $_ -ne '' }) | ForEach-Object { Microsoft.PowerShell.Utility\ConvertFrom-Json -InputObject $_.Substring(5) })
}
