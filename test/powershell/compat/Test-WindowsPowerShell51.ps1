#Requires -Version 7.0
# Checks PowerShell scripts against Windows PowerShell 5.1 without a Windows machine: parses them with
# PowerShell 7's parser and walks the AST for commands and parameters that 5.1 lacks (per the command
# profile extracted from Microsoft's 5.1 documentation, ../profile/commands.json), syntax added in
# PowerShell 6 or 7, and the documented 5.1-vs-7 behaviour differences listed in differences.json.
# All files given form one library: a function defined in one is known in all.
# Prints one JSON document on stdout; exit code 0 when there are no parse errors and no findings.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)] [Alias('Profile')] [string] $ProfilePath,
    [Parameter(Mandatory = $true)] [string] $Differences,
    [Parameter(Mandatory = $true)] [string[]] $Path,
    # pwsh -File passes "-Path a b c" as three words: the ones after the first land here.
    [Parameter(ValueFromRemainingArguments = $true)] [string[]] $MorePaths
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$profileData = Get-Content -LiteralPath $ProfilePath -Raw | ConvertFrom-Json -AsHashtable
$differenceData = Get-Content -LiteralPath $Differences -Raw | ConvertFrom-Json -AsHashtable
$ignoreCase = [System.StringComparer]::OrdinalIgnoreCase

$findings = [System.Collections.Generic.List[object]]::new()
$unchecked = [System.Collections.Generic.List[object]]::new()
$counts = @{ scripts = 0; commands = 0; parameters = 0 }

function Add-Finding {
    param($File, $Extent, [string] $Rule, [string] $Message, [string] $Source)
    $finding = [ordered]@{ file = $File; line = $Extent.StartLineNumber; column = $Extent.StartColumnNumber; rule = $Rule; message = $Message }
    if ($Source) { $finding.source = $Source }
    $findings.Add($finding)
}

# ---- the command models: profile commands and the library's own advanced functions ----

$commonNames = [System.Collections.Generic.HashSet[string]]::new($ignoreCase)
$commonLookup = [System.Collections.Generic.Dictionary[string, string]]::new($ignoreCase)
foreach ($common in $profileData.commonParameters) {
    $null = $commonNames.Add($common.name)
    $commonLookup[$common.name] = $common.name
    foreach ($alias in $common.aliases) { $commonLookup[$alias] = $common.name }
}

function New-CommandModel {
    # lookup: name or alias -> canonical name; sets: set name -> canonical names; universal: allowed in
    # every set; types and values: per canonical name (values = the documented accepted values).
    param([string] $Name, [string] $Module, [bool] $Common)
    $model = @{
        name = $Name; module = $Module
        lookup = [System.Collections.Generic.Dictionary[string, string]]::new($ignoreCase)
        sets = [ordered]@{}
        universal = [System.Collections.Generic.HashSet[string]]::new($ignoreCase)
        types = [System.Collections.Generic.Dictionary[string, string]]::new($ignoreCase)
        values = [System.Collections.Generic.Dictionary[string, object]]::new($ignoreCase)
    }
    if ($Common) {
        foreach ($entry in $commonLookup.GetEnumerator()) { $model.lookup[$entry.Key] = $entry.Value }
        $model.universal.UnionWith($commonNames)
        foreach ($parameter in $profileData.commonParameters) { $model.types[$parameter.name] = $parameter.type }
    }
    return $model
}

function Add-ModelParameter {
    param($Model, [string] $Name, [string[]] $Aliases, [string] $Type, $AcceptedValues)
    $Model.lookup[$Name] = $Name
    foreach ($alias in $Aliases) { if ($alias) { $Model.lookup[$alias] = $Name } }
    if (-not $Model.types.ContainsKey($Name)) { $Model.types[$Name] = $Type }
    if ($AcceptedValues) {
        if (-not $Model.values.ContainsKey($Name)) { $Model.values[$Name] = [System.Collections.Generic.HashSet[string]]::new($ignoreCase) }
        $Model.values[$Name].UnionWith([string[]]$AcceptedValues)
    }
}

$profileModels = @{}
$commandNames = [System.Collections.Generic.Dictionary[string, string]]::new($ignoreCase)
foreach ($name in $profileData.commands.Keys) { $commandNames[$name] = $name }
function Get-ProfileModel {
    param([string] $Name)
    $key = $Name.ToLowerInvariant()
    if ($profileModels.ContainsKey($key)) { return $profileModels[$key] }
    if (-not $commandNames.ContainsKey($Name)) { return $null }
    $Name = $commandNames[$Name]
    $command = $profileData.commands[$Name]
    $model = New-CommandModel -Name $Name -Module $command.module -Common ([bool]$command.supportsCommonParameters)
    foreach ($set in $command.parameterSets) {
        $members = [System.Collections.Generic.HashSet[string]]::new($ignoreCase)
        foreach ($parameter in $set.parameters) {
            Add-ModelParameter -Model $model -Name $parameter.name -Aliases $parameter.aliases -Type $parameter.type -AcceptedValues $parameter['acceptedValues']
            $null = $members.Add($parameter.name)
        }
        $model.sets[$set.name] = $members
    }
    if ($command.supportsShouldProcess) {
        foreach ($parameter in $profileData.shouldProcessParameters) {
            Add-ModelParameter -Model $model -Name $parameter.name -Aliases $parameter.aliases -Type $parameter.type
            $null = $model.universal.Add($parameter.name)
        }
    }
    # Provider dynamic parameters documented outside SYNTAX exist in 5.1 unless the page says 6.0+.
    foreach ($parameter in @($command['otherDocumentedParameters'])) {
        if ($null -eq $parameter -or $parameter['likelyNotIn51']) { continue }
        Add-ModelParameter -Model $model -Name $parameter.name -Aliases $parameter['aliases'] -Type $parameter['type']
        $null = $model.universal.Add($parameter.name)
    }
    $profileModels[$key] = $model
    return $model
}

function Get-ConstantText {
    # The text of a string constant or bareword; $null for anything computed at run time.
    param($Argument)
    if ($Argument -is [System.Management.Automation.Language.StringConstantExpressionAst]) { return $Argument.Value }
    return $null
}

function New-FunctionModel {
    # A simple function (no [CmdletBinding()] and no [Parameter()]) takes unknown -Names into $args, and
    # a dynamicparam block adds parameters at run time: their calls are not checked ($null).
    param($Definition)
    if ($null -ne $Definition.Body.DynamicParamBlock) { return $null }
    $block = $Definition.Body.ParamBlock
    $parameters = @(if ($null -ne $block) { $block.Parameters } else { $Definition.Parameters | Where-Object { $null -ne $_ } })
    $binding = @(if ($null -ne $block) { $block.Attributes | Where-Object { $_.TypeName.GetReflectionType() -eq [System.Management.Automation.CmdletBindingAttribute] } })
    $declared = @($parameters | Where-Object { @($_.Attributes | Where-Object { $_ -is [System.Management.Automation.Language.AttributeAst] -and $_.TypeName.GetReflectionType() -eq [System.Management.Automation.ParameterAttribute] }).Count -gt 0 })
    if ($binding.Count -eq 0 -and $declared.Count -eq 0) { return $null }
    $model = New-CommandModel -Name $Definition.Name -Module $null -Common $true
    $setMembers = @{}
    $everySet = [System.Collections.Generic.List[string]]::new()
    foreach ($parameter in $parameters) {
        $name = $parameter.Name.VariablePath.UserPath
        $aliases = [System.Collections.Generic.List[string]]::new()
        $inSets = [System.Collections.Generic.List[string]]::new()
        foreach ($attribute in @($parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.Language.AttributeAst] })) {
            $type = $attribute.TypeName.GetReflectionType()
            if ($type -eq [System.Management.Automation.AliasAttribute]) {
                foreach ($argument in $attribute.PositionalArguments) { $text = Get-ConstantText $argument; if ($text) { $aliases.Add($text) } }
            } elseif ($type -eq [System.Management.Automation.ParameterAttribute]) {
                foreach ($named in @($attribute.NamedArguments | Where-Object { $_.ArgumentName -ieq 'ParameterSetName' })) {
                    $text = Get-ConstantText $named.Argument; if ($text) { $inSets.Add($text) }
                }
            }
        }
        $typeName = $parameter.StaticType.Name
        Add-ModelParameter -Model $model -Name $name -Aliases $aliases -Type $typeName
        if ($inSets.Count -eq 0) { $everySet.Add($name) }
        foreach ($set in $inSets) {
            if (-not $setMembers.ContainsKey($set)) { $setMembers[$set] = [System.Collections.Generic.HashSet[string]]::new($ignoreCase) }
            $null = $setMembers[$set].Add($name)
        }
    }
    if ($setMembers.Count -eq 0) { $setMembers['__AllParameterSets'] = [System.Collections.Generic.HashSet[string]]::new($ignoreCase) }
    foreach ($set in $setMembers.Keys) { $setMembers[$set].UnionWith([string[]]$everySet.ToArray()); $model.sets[$set] = $setMembers[$set] }
    foreach ($attribute in $binding) {
        foreach ($named in @($attribute.NamedArguments | Where-Object { $_.ArgumentName -ieq 'SupportsShouldProcess' })) {
            if ($named.ExpressionOmitted -or $named.Argument.Extent.Text -ieq '$true') {
                foreach ($parameter in $profileData.shouldProcessParameters) {
                    Add-ModelParameter -Model $model -Name $parameter.name -Aliases $parameter.aliases -Type $parameter.type
                    $null = $model.universal.Add($parameter.name)
                }
            }
        }
    }
    return $model
}

# ---- the differences list ----

$allowedCommands = [System.Collections.Generic.HashSet[string]]::new([string[]]@($differenceData.allowedCommands | ForEach-Object { $_.name }), $ignoreCase)
# Matchers indexed by kind and subject ("missingParameter|convertto-json", "variable|iswindows",
# "staticMember|system.math::clamp", "method|split", "fileRedirection|"): the walk asks per node.
$matchers = [System.Collections.Generic.Dictionary[string, object]]::new($ignoreCase)
function Add-Matcher {
    param([string] $Key, $Pair)
    if (-not $matchers.ContainsKey($Key)) { $matchers[$Key] = [System.Collections.Generic.List[object]]::new() }
    $matchers[$Key].Add($Pair)
}
foreach ($entry in $differenceData.differences) {
    foreach ($match in $entry.match) {
        $pair = @{ entry = $entry; match = $match }
        $subjects = switch ($match.kind) {
            'variable' { $match.names }
            'staticMember' { foreach ($member in $match.members) { $match.type + '::' + $member } }
            'method' { $match.name }
            'fileRedirection' { '' }
            default { $match.commands }
        }
        foreach ($subject in $subjects) { Add-Matcher -Key ($match.kind + '|' + $subject) -Pair $pair }
    }
}
function Get-Matchers {
    param([string] $Kind, [string] $Subject)
    $list = $null
    if ($matchers.TryGetValue($Kind + '|' + $Subject, [ref]$list)) { return $list.ToArray() }
    return @()
}
function Add-Difference {
    param($File, $Extent, $Pair, [string] $Detail)
    Add-Finding -File $File -Extent $Extent -Rule $Pair.entry.id -Message ($Detail + ': ' + $Pair.entry.summary) -Source $Pair.entry.source
}

# ---- parameter resolution ----

function Resolve-Parameter {
    # As the 5.1 binder: an exact name or alias first, then a unique prefix of the names and aliases.
    param($Model, [string] $Name)
    if ($Model.lookup.ContainsKey($Name)) { return @{ state = 'ok'; name = $Model.lookup[$Name] } }
    $targets = @($Model.lookup.GetEnumerator() | Where-Object { $_.Key.StartsWith($Name, [System.StringComparison]::OrdinalIgnoreCase) } | ForEach-Object { $_.Value } | Sort-Object -Unique)
    if ($targets.Count -eq 1) { return @{ state = 'ok'; name = $targets[0] } }
    if ($targets.Count -gt 1) { return @{ state = 'ambiguous'; name = ($targets -join ', ') } }
    return @{ state = 'unknown' }
}

function Test-ParameterSets {
    # The named parameters of one call must all fit in one parameter set.
    param($File, $Extent, $Model, [string[]] $Names)
    $bound = [System.Collections.Generic.List[string]]::new()
    foreach ($name in $Names) { if (-not $Model.universal.Contains($name) -and -not $bound.Contains($name)) { $bound.Add($name) } }
    if ($bound.Count -lt 2) { return }
    foreach ($members in $Model.sets.Values) {
        if ($members.IsSupersetOf($bound)) { return }
    }
    $pair = $null
    for ($i = 0; $i -lt $bound.Count -and $null -eq $pair; $i++) {
        for ($j = $i + 1; $j -lt $bound.Count -and $null -eq $pair; $j++) {
            $together = $false
            foreach ($members in $Model.sets.Values) { if ($members.Contains($bound[$i]) -and $members.Contains($bound[$j])) { $together = $true } }
            if (-not $together) { $pair = "-$($bound[$i]) together with -$($bound[$j])" }
        }
    }
    if ($null -eq $pair) { $pair = (($bound | ForEach-Object { "-$_" }) -join ', ') + ' together' }
    Add-Finding -File $File -Extent $Extent -Rule 'parameter-set' -Message "no parameter set of $($Model.name) accepts $pair"
}

function Get-SplatKeys {
    # The keys of a splatted hashtable: the last hashtable literal assigned to the variable before the
    # splat in the same function (or script), plus "$name.Key =" assignments after it. $null when the
    # variable is not such a literal at that point.
    param($Splat)
    $scope = $Splat.Parent
    while ($null -ne $scope -and $scope -isnot [System.Management.Automation.Language.FunctionDefinitionAst] -and $scope -isnot [System.Management.Automation.Language.ScriptBlockAst]) { $scope = $scope.Parent }
    if ($scope -is [System.Management.Automation.Language.ScriptBlockAst] -and $scope.Parent -is [System.Management.Automation.Language.FunctionDefinitionAst]) { $scope = $scope.Parent }
    $name = $Splat.VariablePath.UserPath
    $before = @(@($scope.FindAll({
                param($node)
                $node -is [System.Management.Automation.Language.AssignmentStatementAst] -and
                $node.Left -is [System.Management.Automation.Language.VariableExpressionAst] -and
                $node.Left.VariablePath.UserPath -ieq $name -and $node.Extent.EndOffset -le $Splat.Extent.StartOffset
            }, $true)) | Sort-Object { $_.Extent.StartOffset })
    if ($before.Count -eq 0) { return $null }
    $last = $before[-1]
    $value = $last.Right
    if ($value -is [System.Management.Automation.Language.CommandExpressionAst]) { $value = $value.Expression }
    if ($value -isnot [System.Management.Automation.Language.HashtableAst]) { return $null }
    $keys = [System.Collections.Generic.List[string]]::new()
    foreach ($pair in $value.KeyValuePairs) {
        $key = Get-ConstantText $pair.Item1
        if ($null -eq $key) { return $null }
        $keys.Add($key)
    }
    $added = @($scope.FindAll({
                param($node)
                $node -is [System.Management.Automation.Language.AssignmentStatementAst] -and
                $node.Left -is [System.Management.Automation.Language.MemberExpressionAst] -and
                $node.Left.Expression -is [System.Management.Automation.Language.VariableExpressionAst] -and
                $node.Left.Expression.VariablePath.UserPath -ieq $name -and
                $node.Extent.StartOffset -gt $last.Extent.EndOffset -and $node.Extent.EndOffset -le $Splat.Extent.StartOffset
            }, $true))
    foreach ($assignment in $added) {
        $key = Get-ConstantText $assignment.Left.Member
        if ($null -eq $key) { return $null }
        $keys.Add($key)
    }
    return , $keys.ToArray()
}

function Test-Call {
    # One call of a known command: each named parameter and splatted key, the parameter sets, and
    # the command's entries in differences.json.
    param($File, $Command, $Model, [bool] $FromProfile)
    $used = [System.Collections.Generic.List[string]]::new()
    $resolvedAll = $true
    $elements = $Command.CommandElements
    for ($i = 1; $i -lt $elements.Count; $i++) {
        $element = $elements[$i]
        if ($element -is [System.Management.Automation.Language.VariableExpressionAst] -and $element.Splatted) {
            $keys = Get-SplatKeys $element
            if ($null -eq $keys) {
                $resolvedAll = $false
                $unchecked.Add([ordered]@{ file = $File; line = $element.Extent.StartLineNumber; column = $element.Extent.StartColumnNumber; command = $Model.name; splat = '@' + $element.VariablePath.UserPath })
                continue
            }
            foreach ($key in $keys) {
                $counts.parameters++
                $resolution = Resolve-Parameter $Model $key
                if ($resolution.state -eq 'ok') { $used.Add($resolution.name) }
                elseif ($resolution.state -eq 'ambiguous') { Add-Finding -File $File -Extent $element.Extent -Rule 'ambiguous-parameter' -Message "splatted key $key of $($Model.name) is ambiguous: $($resolution.name)" }
                elseif (-not (Test-SevenOnlyParameter -File $File -Extent $element.Extent -Model $Model -Name $key -FromProfile $FromProfile)) {
                    Add-Finding -File $File -Extent $element.Extent -Rule 'unknown-parameter' -Message "splatted key $key is not a parameter of $($Model.name) in Windows PowerShell 5.1"
                }
            }
            continue
        }
        if ($element -isnot [System.Management.Automation.Language.CommandParameterAst]) { continue }
        $counts.parameters++
        $resolution = Resolve-Parameter $Model $element.ParameterName
        if ($resolution.state -eq 'ambiguous') {
            Add-Finding -File $File -Extent $element.Extent -Rule 'ambiguous-parameter' -Message "-$($element.ParameterName) of $($Model.name) is ambiguous: $($resolution.name)"
            continue
        }
        if ($resolution.state -eq 'unknown') {
            if (-not (Test-SevenOnlyParameter -File $File -Extent $element.Extent -Model $Model -Name $element.ParameterName -FromProfile $FromProfile)) {
                Add-Finding -File $File -Extent $element.Extent -Rule 'unknown-parameter' -Message "-$($element.ParameterName) is not a parameter of $($Model.name) in Windows PowerShell 5.1"
            }
            continue
        }
        $used.Add($resolution.name)
        $argument = $element.Argument
        if ($null -eq $argument -and $Model.types[$resolution.name] -notlike '*SwitchParameter' -and $i + 1 -lt $elements.Count -and $elements[$i + 1] -isnot [System.Management.Automation.Language.CommandParameterAst]) { $argument = $elements[$i + 1] }
        $value = Get-ConstantText $argument
        if ($null -ne $value) { Test-ParameterValue -File $File -Extent $element.Extent -Model $Model -Name $resolution.name -Value $value -FromProfile $FromProfile }
    }
    Test-ParameterSets -File $File -Extent $Command.Extent -Model $Model -Names $used.ToArray()
    if (-not $FromProfile) { return }
    # A CDXML command (its sets have -CimSession and -ThrottleLimit: a cmdletized CIM class) is a function
    # of its own script module, which does not see the caller's $ErrorActionPreference: without its own
    # -ErrorAction, a failure it writes is non-terminating under 'Stop' and the script goes on as if it
    # had worked (about_Preference_Variables; PowerShell/PowerShell#4568). A splat that cannot be read
    # may carry it.
    if ($resolvedAll -and $Model.lookup.ContainsKey('CimSession') -and $Model.lookup.ContainsKey('ThrottleLimit') -and $used -notcontains 'ErrorAction') {
        Add-Finding -File $File -Extent $Command.Extent -Rule 'cdxml-error-action' -Message "$($Model.name) is a CDXML function, which does not see the caller's `$ErrorActionPreference: give it -ErrorAction"
    }
    $position = -1
    $pipeline = $Command.Parent
    if ($pipeline -is [System.Management.Automation.Language.PipelineAst]) { $position = $pipeline.PipelineElements.IndexOf($Command) }
    foreach ($pair in Get-Matchers 'pipelineInput' $Model.name) {
        if ($position -gt 0) { Add-Difference $File $Command.Extent $pair "$($Model.name) takes pipeline input" }
    }
    foreach ($pair in Get-Matchers 'pipelineOutput' $Model.name) {
        if ($position -ge 0 -and $position -lt $pipeline.PipelineElements.Count - 1) { Add-Difference $File $Command.Extent $pair "$($Model.name) output is piped on" }
    }
    if (-not $resolvedAll) { return }
    foreach ($pair in Get-Matchers 'missingParameter' $Model.name) {
        $when = @($pair.match['when'] | Where-Object { $_ })
        if (@($when | Where-Object { $used -notcontains $_ }).Count -gt 0) { continue }
        if ($used -notcontains $pair.match.parameter) { Add-Difference $File $Command.Extent $pair "$($Model.name) without -$($pair.match.parameter)" }
    }
}

function Test-SevenOnlyParameter {
    # A parameter 5.1 lacks that differences.json names (as spelled or abbreviated) is reported with its
    # entry; returns whether it was.
    param($File, $Extent, $Model, [string] $Name, [bool] $FromProfile)
    if (-not $FromProfile) { return $false }
    foreach ($pair in Get-Matchers 'parameter' $Model.name) {
        $hit = @($pair.match.parameters | Where-Object { $_.StartsWith($Name, [System.StringComparison]::OrdinalIgnoreCase) })
        if ($hit.Count -gt 0) { Add-Difference $File $Extent $pair "$($Model.name) -$($hit[0])"; return $true }
    }
    return $false
}

function Test-ParameterValue {
    param($File, $Extent, $Model, [string] $Name, [string] $Value, [bool] $FromProfile)
    if ($FromProfile) {
        foreach ($pair in Get-Matchers 'parameterValue' $Model.name) {
            if ($pair.match.parameter -ieq $Name -and @($pair.match.values | Where-Object { $_ -ieq $Value }).Count -gt 0) {
                Add-Difference $File $Extent $pair "$($Model.name) -$Name $Value"
                return
            }
        }
    }
    if ($Model.values.ContainsKey($Name) -and -not $Model.values[$Name].Contains($Value)) {
        Add-Finding -File $File -Extent $Extent -Rule 'parameter-value' -Message "$Value is not an accepted value of $($Model.name) -$Name in Windows PowerShell 5.1 ($(@($Model.values[$Name]) -join ', '))"
    }
}

# ---- the walk ----

$files = foreach ($item in @($Path) + @($MorePaths | Where-Object { $_ })) {
    if (Test-Path -LiteralPath $item -PathType Container) { Get-ChildItem -LiteralPath $item -Filter '*.ps1' -File -Recurse | Sort-Object FullName }
    else { Get-Item -LiteralPath $item }
}
$names = [System.Collections.Generic.List[string]]::new()
$parsed = [System.Collections.Generic.List[object]]::new()
$parseErrors = [System.Collections.Generic.List[object]]::new()
foreach ($file in $files) {
    $tokens = $null
    $errors = $null
    $tree = [System.Management.Automation.Language.Parser]::ParseFile($file.FullName, [ref]$tokens, [ref]$errors)
    $counts.scripts++
    $names.Add($file.Name)
    foreach ($parseError in $errors) {
        $parseErrors.Add([ordered]@{ file = $file.Name; line = $parseError.Extent.StartLineNumber; column = $parseError.Extent.StartColumnNumber; message = $parseError.Message })
    }
    # A script that does not parse is reported by its errors only: its partial tree would mislead.
    if ($errors.Count -eq 0) { $parsed.Add(@{ name = $file.Name; tree = $tree }) }
}

$functions = @{}
foreach ($script in $parsed) {
    foreach ($definition in $script.tree.FindAll({ param($node) $node -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)) {
        $functions[$definition.Name.ToLowerInvariant()] = New-FunctionModel $definition
    }
}
# Built-in aliases this pwsh knows for commands of the profile (Linux pwsh lacks some 5.1 aliases such
# as ls or cp: those are reported as unknown commands).
$aliases = @{}
foreach ($alias in Get-Alias) { if ($commandNames.ContainsKey($alias.Definition)) { $aliases[$alias.Name.ToLowerInvariant()] = $alias.Definition } }

# ---- the node checks, one per AST type that can show a 5.1 problem ----

function Test-CommandNode {
    param($File, $Node)
    $name = $Node.GetCommandName()
    if (-not $name) { return }
    # Paths and native programs are not PowerShell commands.
    if ($name -match '[/.]' -and $name -notmatch '^[\w.]+\\[\w-]+$') { return }
    $counts.commands++
    $module = $null
    if ($name -match '^(?<module>[\w.]+)\\(?<command>[\w-]+)$') { $module = $Matches.module; $name = $Matches.command }
    if ($null -eq $module -and $functions.ContainsKey($name.ToLowerInvariant())) {
        $model = $functions[$name.ToLowerInvariant()]
        if ($null -ne $model) { Test-Call -File $File -Command $Node -Model $model -FromProfile $false }
        return
    }
    if ($null -eq $module -and $aliases.ContainsKey($name.ToLowerInvariant())) { $name = $aliases[$name.ToLowerInvariant()] }
    $model = Get-ProfileModel $name
    if ($null -ne $model -and ($null -eq $module -or $model.module -ieq $module)) {
        Test-Call -File $File -Command $Node -Model $model -FromProfile $true
    } elseif (-not $allowedCommands.Contains($name)) {
        $qualified = if ($module) { "$module\$name" } else { $name }
        Add-Finding -File $File -Extent $Node.Extent -Rule 'unknown-command' -Message "$qualified is neither a Windows PowerShell 5.1 command of the profile nor a function of the checked scripts"
    }
}

function Test-MemberNode {
    # [type]::Member of .NET (Core) only, and instance methods whose overloads differ.
    param($File, $Node)
    if ($Node.NullConditional) { Add-Finding -File $File -Extent $Node.Extent -Rule 'syntax-null-conditional' -Message 'the null-conditional operators ?. and ?[] are PowerShell 7.1+' }
    if ($Node.Member -isnot [System.Management.Automation.Language.StringConstantExpressionAst]) { return }
    $member = $Node.Member.Value
    if ($Node.Static -and $Node.Expression -is [System.Management.Automation.Language.TypeExpressionAst]) {
        $typeName = $Node.Expression.TypeName
        $type = $typeName.GetReflectionType()
        $fullName = if ($null -ne $type) { $type.FullName } elseif ($typeName.FullName -like 'System.*') { $typeName.FullName } else { 'System.' + $typeName.FullName }
        foreach ($pair in Get-Matchers 'staticMember' ($fullName + '::' + $member)) { Add-Difference $File $Node.Extent $pair "[$fullName]::$member" }
        return
    }
    if ($Node.Static -or $Node -isnot [System.Management.Automation.Language.InvokeMemberExpressionAst]) { return }
    $arguments = @($Node.Arguments | Where-Object { $null -ne $_ })
    foreach ($pair in Get-Matchers 'method' $member) {
        if ($pair.match['argumentCount'] -and $arguments.Count -ne $pair.match.argumentCount) { continue }
        if ($pair.match['firstArgumentMinLength']) {
            $first = if ($arguments.Count -gt 0) { Get-ConstantText $arguments[0] } else { $null }
            if ($null -eq $first -or $first.Length -lt $pair.match.firstArgumentMinLength) { continue }
        }
        Add-Difference $File $Node.Extent $pair ".$member($(($arguments | ForEach-Object { $_.Extent.Text }) -join ', '))"
    }
}

function Get-VariableName {
    # $script:IsWindows and $IsWindows name the same variable for these checks.
    param([System.Management.Automation.VariablePath] $VariablePath)
    return ($VariablePath.UserPath -replace '^(?:global|script|local|private):', '')
}

function Test-VariableNode {
    # Automatic variables 5.1 lacks, unless the script assigns them itself.
    param($File, $Node, $Assigned)
    $variable = $Node.VariablePath
    if ($Node.Splatted -or -not ($variable.IsUnqualified -or $variable.IsGlobal) -or $Assigned.Contains((Get-VariableName $variable))) { return }
    foreach ($pair in Get-Matchers 'variable' (Get-VariableName $variable)) { Add-Difference $File $Node.Extent $pair "`$$($variable.UserPath)" }
}

function Test-StringNode {
    # PowerShell 7's tree holds the decoded text; the source text shows the escape. An odd run of
    # backticks before e or u{ is an escape, an even run is literal backticks.
    param($File, $Node)
    if ($Node -is [System.Management.Automation.Language.StringConstantExpressionAst] -and $Node.StringConstantType -notin 'DoubleQuoted', 'DoubleQuotedHereString') { return }
    if ($Node.Extent.Text -cmatch '(?<!`)(?:``)*`(?:e|u\{)') {
        Add-Finding -File $File -Extent $Node.Extent -Rule 'syntax-escape' -Message 'the escapes `e and `u{...} are PowerShell 6.0+ (5.1 reads them as e and u{...})'
    }
}

function Test-OperatorNode {
    # ?? and ??= (7.0), and a script block as -replace substitution (6.1; 5.1 substitutes its text).
    param($File, $Node)
    if ($Node.Operator -eq 'QuestionQuestion') {
        Add-Finding -File $File -Extent $Node.Extent -Rule 'syntax-null-coalescing' -Message 'the null-coalescing operator ?? is PowerShell 7.0+'
    } elseif ($Node.Operator -eq 'QuestionQuestionEquals') {
        Add-Finding -File $File -Extent $Node.Extent -Rule 'syntax-null-coalescing' -Message 'the null-coalescing assignment ??= is PowerShell 7.0+'
    } elseif ($Node.Operator -in 'Ireplace', 'Creplace' -and $Node.Right -is [System.Management.Automation.Language.ArrayLiteralAst] -and
        @($Node.Right.Elements | Where-Object { $_ -is [System.Management.Automation.Language.ScriptBlockExpressionAst] }).Count -gt 0) {
        Add-Finding -File $File -Extent $Node.Extent -Rule 'syntax-replace-scriptblock' -Message 'a script block as -replace substitution is PowerShell 6.1+'
    }
}

foreach ($script in $parsed) {
    $file = $script.name
    # Variables the script assigns (in any scope) or tests for with Get-Variable or Test-Path variable:
    # reading those is its own business, not a 5.1 automatic variable that is missing.
    $assigned = [System.Collections.Generic.HashSet[string]]::new($ignoreCase)
    foreach ($assignment in $script.tree.FindAll({ param($node) $node -is [System.Management.Automation.Language.AssignmentStatementAst] -and $node.Left -is [System.Management.Automation.Language.VariableExpressionAst] }, $true)) {
        $null = $assigned.Add((Get-VariableName $assignment.Left.VariablePath))
    }
    foreach ($probe in $script.tree.FindAll({ param($node) $node -is [System.Management.Automation.Language.CommandAst] -and $node.GetCommandName() -in 'Get-Variable', 'Test-Path' }, $true)) {
        foreach ($argument in $probe.CommandElements) {
            if ($argument -is [System.Management.Automation.Language.StringConstantExpressionAst]) { $null = $assigned.Add(($argument.Value -replace '^variable:[\\/]?', '')) }
        }
    }
    foreach ($node in $script.tree.FindAll({ $true }, $true)) {
        switch ($node.GetType().Name) {
            'CommandAst' { Test-CommandNode $file $node }
            'MemberExpressionAst' { Test-MemberNode $file $node }
            'InvokeMemberExpressionAst' { Test-MemberNode $file $node }
            'VariableExpressionAst' { if ($matchers.ContainsKey('variable|' + (Get-VariableName $node.VariablePath))) { Test-VariableNode $file $node $assigned } }
            'StringConstantExpressionAst' { if ($node.Extent.Text.Contains('`')) { Test-StringNode $file $node } }
            'ExpandableStringExpressionAst' { if ($node.Extent.Text.Contains('`')) { Test-StringNode $file $node } }
            'BinaryExpressionAst' { Test-OperatorNode $file $node }
            'AssignmentStatementAst' { Test-OperatorNode $file $node }
            'IndexExpressionAst' {
                if ($node.NullConditional) { Add-Finding -File $file -Extent $node.Extent -Rule 'syntax-null-conditional' -Message 'the null-conditional operators ?. and ?[] are PowerShell 7.1+' }
            }
            'TernaryExpressionAst' { Add-Finding -File $file -Extent $node.Extent -Rule 'syntax-ternary' -Message 'the ternary operator ? : is PowerShell 7.0+' }
            'PipelineChainAst' { Add-Finding -File $file -Extent $node.Extent -Rule 'syntax-pipeline-chain' -Message 'the pipeline chain operators && and || are PowerShell 7.0+' }
            'ScriptBlockAst' {
                if ($null -ne $node.CleanBlock) { Add-Finding -File $file -Extent $node.CleanBlock.Extent -Rule 'syntax-clean-block' -Message 'the clean block is PowerShell 7.3+' }
            }
            'PipelineAst' {
                if ($node.Background) { Add-Finding -File $file -Extent $node.Extent -Rule 'syntax-background-operator' -Message 'the background operator & at the end of a pipeline is PowerShell 6.0+' }
            }
            'ConstantExpressionAst' {
                if ($node.Extent.Text -match '^(?:0b[01]+|(?:0x[0-9a-f]+|[0-9]+)(?:u|y|uy|s|us|ul|n))(?:kb|mb|gb|tb|pb)?$') {
                    Add-Finding -File $file -Extent $node.Extent -Rule 'syntax-number-literal' -Message "the number literal $($node.Extent.Text) (binary prefix 0b or suffix u, y, s, n) is PowerShell 6.2+/7.0+"
                }
            }
            'FileRedirectionAst' {
                $target = $node.Location
                if ($target -is [System.Management.Automation.Language.VariableExpressionAst] -and $target.VariablePath.UserPath -eq 'null') { break }
                foreach ($pair in Get-Matchers 'fileRedirection' '') { Add-Difference $file $node.Extent $pair "redirection $($node.Extent.Text)" }
            }
        }
    }
}

$sorted = @($findings | Sort-Object { $_.file }, { $_.line }, { $_.column }, { $_.rule })
[ordered]@{
    scripts = $names.ToArray()
    counts = $counts
    parseErrors = $parseErrors.ToArray()
    findings = $sorted
    unchecked = $unchecked.ToArray()
} | ConvertTo-Json -Depth 6
exit ([int]($parseErrors.Count -gt 0 -or $sorted.Count -gt 0))
