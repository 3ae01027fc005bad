# Generates the stub module WinprovEmulationStubs.psm1 from the Windows PowerShell 5.1 profile
# (test/powershell/profile/commands.json) for every command the shipped scripts
# (src/platform/windows/scripts/*.ps1) call and do not define themselves. Writes it under
# .scratch/powershell/emulation/stubs-<hash>/, keyed by a hash of the profile, the scripts and this file,
# and returns its path; an existing module for the same hash is reused.
#
#   Windows-only commands  -> advanced functions with the 5.1 parameter sets that dispatch to the
#                             emulation's handlers (WinprovEmulation\Invoke-WindowsEmulationCommand).
#   Core/Utility cmdlets   -> proxies with the 5.1 parameter sets that forward to the real cmdlet
#                             (module-qualified, steppable pipeline), so a 7-only parameter is refused.
# Both record every call (WinprovEmulation.Recorder).
param(
    [Parameter(Mandatory = $true)] [string] $RepoRoot,
    [string] $OutputRoot,
    [switch] $Force
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

if ($OutputRoot -eq '') { $OutputRoot = [System.IO.Path]::Combine($RepoRoot, '.scratch', 'powershell', 'emulation') }
$profilePath = [System.IO.Path]::Combine($RepoRoot, 'test', 'powershell', 'profile', 'commands.json')
$scriptFolder = [System.IO.Path]::Combine($RepoRoot, 'src', 'platform', 'windows', 'scripts')
$scripts = @([System.IO.Directory]::GetFiles($scriptFolder, '*.ps1')) | Microsoft.PowerShell.Utility\Sort-Object

# The key: SHA-256 over the profile, every script (name and text) and this generator.
$sha = [System.Security.Cryptography.IncrementalHash]::CreateHash([System.Security.Cryptography.HashAlgorithmName]::SHA256)
foreach ($file in @($profilePath, $PSCommandPath) + $scripts) {
    $sha.AppendData([System.Text.Encoding]::UTF8.GetBytes([System.IO.Path]::GetFileName($file)))
    $sha.AppendData([System.IO.File]::ReadAllBytes($file))
}
$hash = [System.Convert]::ToHexString($sha.GetHashAndReset()).Substring(0, 16).ToLowerInvariant()
$folder = [System.IO.Path]::Combine($OutputRoot, 'stubs-' + $hash)
$target = [System.IO.Path]::Combine($folder, 'WinprovEmulationStubs.psm1')
if (-not $Force -and [System.IO.File]::Exists($target)) { return $target }

# Commands the scripts call, minus the functions they define.
$defined = @{}
$used = @{}
foreach ($file in $scripts) {
    $tokens = $null
    $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseFile($file, [ref]$tokens, [ref]$errors)
    if ($errors.Count -gt 0) { throw ('the script ' + $file + ' does not parse: ' + $errors[0].Message) }
    foreach ($node in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)) { $defined[$node.Name] = $true }
    foreach ($node in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] }, $true)) {
        $name = $node.GetCommandName()
        if ($null -ne $name) { $used[$name] = $true }
    }
}
# Scope-sensitive: a proxy would set strict mode for its own scope, not the caller's.
$notWrapped = @('Set-StrictMode')
$names = @($used.Keys | Microsoft.PowerShell.Core\Where-Object { -not $defined.ContainsKey($_) -and $notWrapped -notcontains $_ } | Microsoft.PowerShell.Utility\Sort-Object)

$profile51 = [System.IO.File]::ReadAllText($profilePath) | Microsoft.PowerShell.Utility\ConvertFrom-Json -AsHashtable
$commands = $profile51['commands']
$commonNames = @($profile51['commonParameters'] | Microsoft.PowerShell.Core\ForEach-Object { $_['name'] }) + @('WhatIf', 'Confirm', 'ProgressAction')
$missing = @($names | Microsoft.PowerShell.Core\Where-Object { -not $commands.ContainsKey($_) })
if ($missing.Count -gt 0) { throw ('the shipped scripts call commands Windows PowerShell 5.1 does not document: ' + ($missing -join ', ')) }

# Windows-only types -> this emulation's own types; anything else unknown on pwsh/Linux -> [object].
$emulated = @{
    'Microsoft.PowerShell.Commands.LocalUser' = 'WinprovEmulation.LocalUser'
    'Microsoft.PowerShell.Commands.LocalGroup' = 'WinprovEmulation.LocalGroup'
    'Microsoft.PowerShell.Commands.LocalPrincipal' = 'WinprovEmulation.LocalPrincipal'
    'System.Security.Principal.SecurityIdentifier' = 'WinprovEmulation.FakeSecurityIdentifier'
    'System.ServiceProcess.ServiceController' = 'WinprovEmulation.ServiceController'
}
$asObject = @('CimInstance', 'CimSession', 'Microsoft.Management.Infrastructure.CimInstance', 'Microsoft.Management.Infrastructure.CimSession')
# Windows declares these with ConfirmImpact High (CDXML Remove-* cmdlets).
$highImpact = @('Remove-NetIPAddress', 'Remove-NetRoute', 'Remove-NetFirewallRule', 'Remove-LocalUser')
$proxyModules = @('Microsoft.PowerShell.Core', 'Microsoft.PowerShell.Utility')
# CDXML commands restrict their CimInstance parameters to one CIM class with [PSTypeName()]: without it a
# ByValue [object] parameter (AssociatedIPInterface ...) would take any piped object.
function Get-CimTypeName([string] $Command, [string] $Module, [string] $Parameter) {
    $prefix = 'Microsoft.Management.Infrastructure.CimInstance'
    if ($Module -eq 'CimCmdlets') { return $prefix }
    if ($Parameter -eq 'InputObject') { return $prefix + '#MSFT_' + $Command.Substring($Command.IndexOf('-') + 1) }
    if ($Parameter.StartsWith('Associated')) { return $prefix + '#MSFT_' + $Parameter.Substring('Associated'.Length) }
    return $prefix
}
$typeNotes = [System.Collections.Generic.List[string]]::new()

function ConvertTo-StubType {
    # Returns @(typeText, validateSet or $null).
    param([string] $Name, $Accepted)
    $isArray = $Name.EndsWith('[]')
    $element = $Name
    if ($isArray) { $element = $Name.Substring(0, $Name.Length - 2) }
    $suffix = ''
    if ($isArray) { $suffix = '[]' }
    if ($emulated.ContainsKey($element)) { return @(($emulated[$element] + $suffix), $null) }
    if ($asObject -contains $element) { return @(('object' + $suffix), $null) }
    $short = @{ SwitchParameter = 'System.Management.Automation.SwitchParameter'; PSObject = 'System.Management.Automation.PSObject'; ScriptBlock = 'System.Management.Automation.ScriptBlock'; PSCredential = 'System.Management.Automation.PSCredential' }
    if ($short.ContainsKey($element)) { $element = $short[$element] }
    $resolved = $element -as [type]
    if ($null -eq $resolved -and -not $element.Contains('.')) { $resolved = ('System.' + $element) -as [type] }
    if ($null -ne $resolved -and ($resolved -eq [bool] -or $resolved -eq [System.Management.Automation.SwitchParameter])) { return @(($resolved.FullName + $suffix), $null) }
    if ($null -ne $Accepted -and @($Accepted).Count -gt 0) { return @(('string' + $suffix), @($Accepted)) }
    if ($null -ne $resolved) { return @(($resolved.FullName + $suffix), $null) }
    return @(('object' + $suffix), $null)
}

function ConvertTo-Literal([string] $Text) { return "'" + $Text.Replace("'", "''") + "'" }

$out = [System.Text.StringBuilder]::new()
$null = $out.AppendLine('# Generated by test/powershell/emulation/New-WindowsEmulationModule.ps1 from test/powershell/profile/commands.json')
$null = $out.AppendLine('# (Windows PowerShell 5.1 parameter sets) for the commands src/platform/windows/scripts/*.ps1 call. Do not edit.')
$null = $out.AppendLine('# Parameter types: the 5.1 type where pwsh has it; enum-like types with documented values -> [string] +')
$null = $out.AppendLine('# [ValidateSet]; LocalUser/LocalGroup/LocalPrincipal -> WinprovEmulation.LocalUser/LocalGroup/LocalPrincipal;')
$null = $out.AppendLine('# SecurityIdentifier -> WinprovEmulation.FakeSecurityIdentifier; ServiceController -> WinprovEmulation.ServiceController;')
$null = $out.AppendLine('# CimInstance/CimSession (and any type pwsh on Linux cannot resolve) -> [object].')
$null = $out.AppendLine('# Key: ' + $hash)
$null = $out.AppendLine('Set-StrictMode -Version 3.0')
$null = $out.AppendLine()

foreach ($name in $names) {
    $command = $commands[$name]
    $module = [string]$command['module']
    $isProxy = ($proxyModules -contains $module) -and ($null -ne (Microsoft.PowerShell.Core\Get-Command -Name ($module + '\' + $name) -CommandType Cmdlet -ErrorAction SilentlyContinue))
    $supportsShould = [bool]$command['supportsShouldProcess']
    # name -> @{ type; validate; aliases; sets = list of attribute texts }
    $parameters = [ordered]@{}
    foreach ($set in $command['parameterSets']) {
        foreach ($parameter in $set['parameters']) {
            $pname = [string]$parameter['name']
            if ($pname -eq 'WhatIf' -or $pname -eq 'Confirm') { $supportsShould = $true; continue }
            if ($commonNames -contains $pname) { continue }
            if (-not $parameters.Contains($pname)) {
                $typeInfo = ConvertTo-StubType -Name ([string]$parameter['type']) -Accepted $parameter['acceptedValues']
                $psTypeName = $null
                if ($asObject -contains ([string]$parameter['type']).TrimEnd('[]') -and ([string]$parameter['type']).StartsWith('CimInstance') -or ([string]$parameter['type']).StartsWith('Microsoft.Management.Infrastructure.CimInstance')) { $psTypeName = Get-CimTypeName $name $module $pname }
                $parameters[$pname] = @{ psTypeName = $psTypeName; type = $typeInfo[0]; validate = $typeInfo[1]; aliases = [System.Collections.Generic.List[string]]::new(); sets = [System.Collections.Generic.List[string]]::new(); profileType = [string]$parameter['type'] }
            }
            $entry = $parameters[$pname]
            foreach ($alias in @($parameter['aliases'])) { if ($null -ne $alias -and -not $entry.aliases.Contains([string]$alias)) { $entry.aliases.Add([string]$alias) } }
            $parts = [System.Collections.Generic.List[string]]::new()
            $parts.Add('ParameterSetName = ' + (ConvertTo-Literal ([string]$set['name'])))
            if ([bool]$parameter['mandatory']) { $parts.Add('Mandatory = $true') }
            if ($null -ne $parameter['position']) { $parts.Add('Position = ' + [int]$parameter['position']) }
            $pipeline = @($parameter['pipelineInput'])
            if ($pipeline -contains 'ByValue') { $parts.Add('ValueFromPipeline = $true') }
            if ($pipeline -contains 'ByPropertyName') { $parts.Add('ValueFromPipelineByPropertyName = $true') }
            $entry.sets.Add('[Parameter(' + ($parts -join ', ') + ')]')
        }
    }
    $binding = [System.Collections.Generic.List[string]]::new()
    if ($null -ne $command['defaultParameterSet']) { $binding.Add('DefaultParameterSetName = ' + (ConvertTo-Literal ([string]$command['defaultParameterSet']))) }
    if ($supportsShould) { $binding.Add('SupportsShouldProcess = $true') }
    if ($highImpact -contains $name) { $binding.Add('ConfirmImpact = ''High''') }
    $kind = 'stub (handler)'
    if ($isProxy) { $kind = 'proxy of ' + $module + '\' + $name }
    $null = $out.AppendLine('# ' + $name + ' (' + $module + '): ' + $kind)
    $null = $out.AppendLine('function ' + $name + ' {')
    $null = $out.AppendLine('    [CmdletBinding(' + ($binding -join ', ') + ')]')
    $null = $out.AppendLine('    param(')
    $declarations = [System.Collections.Generic.List[string]]::new()
    foreach ($pname in $parameters.Keys) {
        $entry = $parameters[$pname]
        $lines = [System.Collections.Generic.List[string]]::new()
        foreach ($attribute in $entry.sets) { $lines.Add('        ' + $attribute) }
        if ($entry.aliases.Count -gt 0) { $lines.Add('        [Alias(' + (($entry.aliases | Microsoft.PowerShell.Core\ForEach-Object { ConvertTo-Literal $_ }) -join ', ') + ')]') }
        if ($null -ne $entry.validate) { $lines.Add('        [ValidateSet(' + (($entry.validate | Microsoft.PowerShell.Core\ForEach-Object { ConvertTo-Literal ([string]$_) }) -join ', ') + ')]') }
        if ($null -ne $entry.psTypeName) { $lines.Add('        [PSTypeName(' + (ConvertTo-Literal $entry.psTypeName) + ')]') }
        if ($entry.type -ne $entry.profileType -and $entry.type -ne ('System.' + $entry.profileType)) { $typeNotes.Add($name + ' -' + $pname + ': ' + $entry.profileType + ' -> ' + $entry.type) }
        $lines.Add('        [' + $entry.type + '] $' + $pname)
        $declarations.Add($lines -join "`n")
    }
    $null = $out.AppendLine(($declarations -join (",`n`n")))
    $null = $out.AppendLine('    )')
    if ($isProxy) {
        $qualified = ConvertTo-Literal ($module + '\' + $name)
        $literal = ConvertTo-Literal $name
        $null = $out.AppendLine('    begin {')
        $null = $out.AppendLine('        $winprovEmulationSkip = WinprovEmulation\Write-WindowsEmulationCall -Command ' + $literal + ' -ParameterSet $PSCmdlet.ParameterSetName -Bound $PSBoundParameters')
        $null = $out.AppendLine('        if (-not $winprovEmulationSkip) {')
        $null = $out.AppendLine('            $winprovEmulationCommand = $ExecutionContext.InvokeCommand.GetCommand(' + $qualified + ', [System.Management.Automation.CommandTypes]::Cmdlet)')
        $null = $out.AppendLine('            $winprovEmulationPipeline = { & $winprovEmulationCommand @PSBoundParameters }.GetSteppablePipeline($MyInvocation.CommandOrigin)')
        $null = $out.AppendLine('            $winprovEmulationPipeline.Begin($PSCmdlet)')
        $null = $out.AppendLine('        }')
        $null = $out.AppendLine('    }')
        $null = $out.AppendLine('    process {')
        $null = $out.AppendLine('        if ($winprovEmulationSkip) { return }')
        $null = $out.AppendLine('        if ($MyInvocation.ExpectingInput) { $null = WinprovEmulation\Write-WindowsEmulationCall -Command ' + $literal + ' -ParameterSet $PSCmdlet.ParameterSetName -Bound @{} -PipelineItem $_ -HasPipelineItem }')
        $null = $out.AppendLine('        $winprovEmulationPipeline.Process($_)')
        $null = $out.AppendLine('    }')
        $null = $out.AppendLine('    end { if (-not $winprovEmulationSkip) { $winprovEmulationPipeline.End() } }')
    } else {
        $null = $out.AppendLine('    process { WinprovEmulation\Invoke-WindowsEmulationCommand -Command ' + (ConvertTo-Literal $name) + ' -Module ' + (ConvertTo-Literal $module) + ' -Cmdlet $PSCmdlet -Bound $PSBoundParameters }')
    }
    $null = $out.AppendLine('}')
    $null = $out.AppendLine()
}
$null = $out.AppendLine('# Types mapped away from the profile''s:')
foreach ($note in $typeNotes) { $null = $out.AppendLine('#   ' + $note) }
$null = $out.AppendLine('Export-ModuleMember -Function ' + ($names -join ', '))

# Written to a temporary file and moved into place: parallel test processes may generate at once.
$null = [System.IO.Directory]::CreateDirectory($folder)
$temporary = $target + '.' + [System.Environment]::ProcessId + '.tmp'
[System.IO.File]::WriteAllText($temporary, $out.ToString(), [System.Text.UTF8Encoding]::new($false))
[System.IO.File]::Move($temporary, $target, $true)
# Older generations are stale (a process that imported one has it in memory already).
foreach ($stale in [System.IO.Directory]::GetDirectories($OutputRoot, 'stubs-*')) {
    if ([System.IO.Path]::GetFileName($stale) -ne ('stubs-' + $hash)) { try { [System.IO.Directory]::Delete($stale, $true) } catch { $null = $_ } }
}
return $target
