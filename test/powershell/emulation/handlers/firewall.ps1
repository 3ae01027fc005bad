# NetSecurity: state.firewallRules, found by Name (not localized).

function Find-EmuFirewallRule([string] $Name) {
    foreach ($rule in (Get-EmuList (Get-EmuState) 'firewallRules')) {
        if ([string]$rule['name'] -eq $Name) { return $rule }
    }
    return $null
}

function ConvertTo-EmuFirewallRule([hashtable] $Rule) {
    return ConvertTo-EmuCimObject -ClassName 'MSFT_NetFirewallRule' -Namespace 'ROOT/StandardCimv2' -Properties ([ordered]@{
            Name = [string]$Rule['name']; DisplayName = [string]$Rule['displayName']; Enabled = [string]$Rule['enabled']; Direction = [string]$Rule['direction']
            Action = [string]$Rule['action']; Profile = [string]$Rule['profile']
        })
}

function Set-EmuFirewallValues([hashtable] $Rule, $Bound) {
    $map = @{ DisplayName = 'displayName'; Enabled = 'enabled'; Direction = 'direction'; Action = 'action'; Profile = 'profile'; Protocol = 'protocol' }
    foreach ($parameter in $map.Keys) {
        if ($Bound.Contains($parameter)) { $Rule[$map[$parameter]] = (@($Bound[$parameter]) -join ', ') }
    }
    if ($Bound.Contains('LocalPort')) { $Rule['localPort'] = [System.Collections.Generic.List[object]]::new([object[]]@($Bound['LocalPort'] | Microsoft.PowerShell.Core\ForEach-Object { [string]$_ })) }
}

function Write-EmuFirewallRuleNotFound {
    # The non-terminating error the NetSecurity CDXML cmdlets write for a rule name that matches nothing.
    param($Cmdlet, [string] $Name)
    $message = 'No MSFT_NetFirewallRule objects found with property ''InstanceID'' equal to ''' + $Name + '''.  Verify the value of the property and retry.'
    Write-EmuError -Cmdlet $Cmdlet -Exception ([System.Management.Automation.ItemNotFoundException]::new($message)) -ErrorId 'CmdletizationQuery_NotFound_Name' -Category ObjectNotFound -Target $Name
}

$script:Handlers['Get-NetFirewallRule'] = {
    param($Cmdlet, $Bound, $Fault)
    if (-not $Bound.Contains('Name')) {
        foreach ($rule in (Get-EmuList (Get-EmuState) 'firewallRules')) { ConvertTo-EmuFirewallRule $rule }
        return
    }
    foreach ($name in @($Bound['Name'])) {
        $rule = Find-EmuFirewallRule $name
        if ($null -eq $rule) { Write-EmuFirewallRuleNotFound -Cmdlet $Cmdlet -Name $name; continue }
        ConvertTo-EmuFirewallRule $rule
    }
}

$script:Handlers['Set-NetFirewallRule'] = {
    param($Cmdlet, $Bound, $Fault)
    foreach ($name in @($Bound['Name'])) {
        $rule = Find-EmuFirewallRule $name
        if ($null -eq $rule) { Write-EmuFirewallRuleNotFound -Cmdlet $Cmdlet -Name $name; continue }
        Set-EmuFirewallValues $rule $Bound
    }
    Save-EmuState
}

$script:Handlers['New-NetFirewallRule'] = {
    param($Cmdlet, $Bound, $Fault)
    $name = [string]$Bound['Name']
    if ($name -eq '') { $name = '{' + [guid]::NewGuid().ToString() + '}' }
    if ($null -ne (Find-EmuFirewallRule $name)) {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([WinprovEmulation.Errors]::Win32(183, 'Cannot create a file when that file already exists.')) -ErrorId 'Windows System Error 183' -Category ResourceExists -Target $name
        return
    }
    $rule = @{ name = $name; displayName = $name; enabled = 'True'; direction = 'Inbound'; action = 'Allow'; profile = 'Any'; protocol = 'Any'; localPort = [System.Collections.Generic.List[object]]::new() }
    Set-EmuFirewallValues $rule $Bound
    (Get-EmuList (Get-EmuState) 'firewallRules').Add($rule)
    Save-EmuState
    ConvertTo-EmuFirewallRule $rule
}
