# CimCmdlets: Win32_ComputerSystemProduct (state.computer.uuid), Win32_ComputerSystem (state.computer)
# and its Rename method, which writes the pending names to the registry as Windows does;
# Win32_TSGeneralSetting in root\cimv2\TerminalServices (state.terminalServices.listeners), filtered by
# TerminalName as a WQL filter "TerminalName='RDP-Tcp'" would.

function Get-EmuComputer { return Get-EmuMap (Get-EmuState) 'computer' }

function New-EmuCimInstance([string] $ClassName) {
    $computer = Get-EmuComputer
    switch ($ClassName) {
        'Win32_ComputerSystemProduct' {
            return ConvertTo-EmuCimObject -ClassName $ClassName -Namespace 'root/cimv2' -Properties ([ordered]@{
                    UUID = [string]$computer['uuid']; Name = 'Virtual Machine'; Vendor = 'Microsoft Corporation'; Version = 'Hyper-V UEFI Release v4.1'; IdentifyingNumber = '0000-0000-0000-0000-0000-0000-00' })
        }
        'Win32_ComputerSystem' {
            return ConvertTo-EmuCimObject -ClassName $ClassName -Namespace 'root/cimv2' -Properties ([ordered]@{
                    Name = [string]$computer['activeName']; DNSHostName = [string]$computer['activeName']; Domain = [string]$computer['workgroup']; Workgroup = [string]$computer['workgroup']
                    PartOfDomain = $false; Manufacturer = 'Microsoft Corporation'; Model = 'Virtual Machine' })
        }
    }
    return $null
}

$script:Handlers['Get-CimInstance'] = {
    param($Cmdlet, $Bound, $Fault)
    $class = [string]$Bound['ClassName']
    if ($Bound.Contains('InputObject')) { $class = [string]$Bound['InputObject'].CimClass.CimClassName }
    if ($class -eq 'Win32_TSGeneralSetting') {
        # Only in its own namespace (Windows answers "Invalid class" in root\cimv2, the default).
        if ([string]$Bound['Namespace'] -ne 'root\cimv2\TerminalServices') {
            Write-EmuError -Cmdlet $Cmdlet -Exception ([System.InvalidOperationException]::new('Invalid class ')) -ErrorId 'HRESULT 0x80041010' -Category MetadataError -Target $class
            return
        }
        $terminal = Get-EmuMap (Get-EmuState) 'terminalServices'
        foreach ($listener in @($terminal['listeners'])) {
            if ($null -eq $listener) { continue }
            $filter = [string]$Bound['Filter']
            if ($filter -ne '' -and $filter -ne ("TerminalName='" + [string]$listener['terminalName'] + "'")) { continue }
            ConvertTo-EmuCimObject -ClassName $class -Namespace 'root/cimv2/TerminalServices' -Properties ([ordered]@{
                    TerminalName = [string]$listener['terminalName']; SSLCertificateSHA1Hash = [string]$listener['sslCertificateSHA1Hash']; SSLCertificateSHA1HashType = 2; SecurityLayer = 2; UserAuthenticationRequired = 1 })
        }
        return
    }
    $instance = New-EmuCimInstance $class
    if ($null -eq $instance) {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([System.InvalidOperationException]::new('Invalid class ')) -ErrorId 'HRESULT 0x80041010' -Category MetadataError -Target $class
        return
    }
    $instance
}

function Get-EmuRenameCode([string] $Name) {
    # What Win32_ComputerSystem.Rename answers (SetComputerNameEx): 87 for an empty or over-long DNS
    # label (63), 123 for characters a computer name may not hold, 1210 for an all-digit name.
    if ($Name.Length -eq 0 -or $Name.Length -gt 63) { return 87 }
    if ($Name -notmatch '^[A-Za-z0-9-]+$') { return 123 }
    if ($Name -match '^[0-9]+$') { return 1210 }
    return 0
}

$script:Handlers['Invoke-CimMethod'] = {
    param($Cmdlet, $Bound, $Fault)
    $class = [string]$Bound['ClassName']
    if ($Bound.Contains('InputObject')) { $class = [string]$Bound['InputObject'].CimClass.CimClassName }
    $method = [string]$Bound['MethodName']
    if ($class -ne 'Win32_ComputerSystem' -or $method -ne 'Rename') {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([System.NotImplementedException]::new('the emulation knows only Win32_ComputerSystem.Rename')) -ErrorId 'HRESULT 0x80041055' -Category NotImplemented -Target $method -Terminating
    }
    if (-not $Cmdlet.ShouldProcess($class, $method)) { return }
    $arguments = $Bound['Arguments']
    $name = [string]$arguments['Name']
    $code = Get-EmuRenameCode $name
    if ($null -ne $Fault -and $Fault.ContainsKey('returnValue')) { $code = [long]$Fault['returnValue'] }
    if ($code -eq 0) {
        $registry = Get-EmuMap (Get-EmuState) 'registry'
        (Get-EmuMap $registry 'SYSTEM\CurrentControlSet\Services\Tcpip\Parameters')['NV Hostname'] = @{ kind = 'String'; data = $name }
        $netBios = $name.ToUpperInvariant()
        if ($netBios.Length -gt 15) { $netBios = $netBios.Substring(0, 15) }
        (Get-EmuMap $registry 'SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName')['ComputerName'] = @{ kind = 'String'; data = $netBios }
        (Get-EmuComputer)['pendingName'] = $name
        Save-EmuState
    }
    $answer = [pscustomobject]@{ ReturnValue = [uint32]$code; PSComputerName = $null }
    $answer.PSObject.TypeNames.Insert(0, 'Microsoft.Management.Infrastructure.CimMethodResult#Win32_ComputerSystem#Rename')
    $answer
}
