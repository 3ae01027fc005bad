# Machine identity verbs: the SMBIOS UUID (VM id), the pending computer name, the time zone.
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Get-WinprovVmId {
    # Win32_ComputerSystemProduct.UUID is the SMBIOS system UUID as Windows decodes it (SMBIOS 2.6+
    # order: first three fields little-endian). The caller compares it with the fabric's VM id in both
    # byte orders, as WALinuxAgent does (_correct_instance_id): Hyper-V generation 1 firmware is known
    # to present the first three fields swapped.
    param([Parameter(Mandatory = $true)] $Request)
    $product = Get-CimInstance -ClassName Win32_ComputerSystemProduct
    return @{ uuid = [string]$product.UUID }
}

function Get-WinprovRegistryString {
    param(
        [Parameter(Mandatory = $true)] [string] $Path,
        [Parameter(Mandatory = $true)] [string] $Name
    )
    $key = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey($Path)
    if ($null -eq $key) { return '' }
    try { return [string]$key.GetValue($Name, '') } finally { $key.Close() }
}

function Set-WinprovComputerName {
    # Compares with the PENDING name, the one the next boot will use: the DNS host label
    # (Tcpip\Parameters "NV Hostname") and the NetBIOS name (ComputerName\ComputerName, at most 15
    # characters), case-insensitively. Only when they differ is Win32_ComputerSystem.Rename called: it
    # sets both (SetComputerNameEx(ComputerNamePhysicalDnsHostname) semantics) and takes effect after
    # the reboot that follows specialize. Rename-Computer is not used: it refuses a name equal to the
    # ACTIVE name even when the pending one differs, and it writes a warning to the console.
    param([Parameter(Mandatory = $true)] $Request)
    $name = [string]$Request.name
    $pendingDns = Get-WinprovRegistryString -Path 'SYSTEM\CurrentControlSet\Services\Tcpip\Parameters' -Name 'NV Hostname'
    $pendingNetBios = Get-WinprovRegistryString -Path 'SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName' -Name 'ComputerName'
    $netBios = $name
    if ($netBios.Length -gt 15) { $netBios = $netBios.Substring(0, 15) }
    $same = ([string]::Equals($pendingDns, $name, [System.StringComparison]::OrdinalIgnoreCase) -and
        [string]::Equals($pendingNetBios, $netBios, [System.StringComparison]::OrdinalIgnoreCase))
    if ($same) { return @{ outcome = 'unchanged'; pending = $pendingDns } }

    $system = Get-CimInstance -ClassName Win32_ComputerSystem
    # Password and UserName stay null: a workgroup rename in the caller's (SYSTEM's) context.
    $answer = Invoke-CimMethod -InputObject $system -MethodName 'Rename' -Arguments @{ Name = $name }
    $code = [long]$answer.ReturnValue
    if ($code -ne 0) {
        # The return value is a Win32 error code (87 ERROR_INVALID_PARAMETER for a name Windows refuses)
        # or, above 0xFFFF, a WMI/HRESULT code.
        if ($code -le 0xFFFF) { throw (New-Object -TypeName System.ComponentModel.Win32Exception -ArgumentList ([int]$code)) }
        throw (New-Object -TypeName System.InvalidOperationException -ArgumentList ('Win32_ComputerSystem.Rename returned 0x' + $code.ToString('X8')))
    }
    return @{ outcome = 'renamed'; pending = $name }
}

function Set-WinprovTimeZone {
    # The id ("Pacific Standard Time") is looked up first so that an unknown id is a rejection, not a
    # failure; ids are not localized (display names are). FindSystemTimeZoneById throws
    # TimeZoneNotFoundException for an unknown id and ArgumentException for one no registry key can
    # have (longer than 255 characters, or holding a NUL).
    param([Parameter(Mandatory = $true)] $Request)
    $id = [string]$Request.timeZoneId
    try {
        $zone = [System.TimeZoneInfo]::FindSystemTimeZoneById($id)
    } catch {
        if ((Test-WinprovException -Record $_ -Type ([System.TimeZoneNotFoundException])) -or (Test-WinprovException -Record $_ -Type ([System.ArgumentException]))) {
            Stop-WinprovRejected -Rule 'the time zone id is not one Windows knows (Get-TimeZone -ListAvailable lists the ids)' -Exception $_.Exception
        }
        throw
    }
    $current = Get-TimeZone
    if ([string]::Equals([string]$current.Id, [string]$zone.Id, [System.StringComparison]::OrdinalIgnoreCase)) {
        return @{ outcome = 'unchanged'; id = [string]$current.Id }
    }
    Set-TimeZone -Id ([string]$zone.Id)
    return @{ outcome = 'changed'; id = [string]$zone.Id }
}
