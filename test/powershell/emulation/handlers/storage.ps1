# Storage (CDXML): state.disks ({number, size, partitions: [{partitionNumber, driveLetter, offset, size,
# type, gptType}]}, bytes). A partition can grow up to the next partition or the end of its disk
# (Get-PartitionSupportedSize's SizeMax), never across another partition: a recovery partition right
# after the OS partition keeps the free space behind it out of reach, as on Windows.

$script:StorageNamespace = 'ROOT/Microsoft/Windows/Storage'
# Partitions are aligned to 1 MiB.
$script:StorageMinimumExtent = 1048576

function Get-EmuDisks { return , (Get-EmuList (Get-EmuState) 'disks') }

function Get-EmuPartitionEntries {
    # Every partition with its disk: @{ disk; partition }.
    $entries = [System.Collections.Generic.List[object]]::new()
    foreach ($disk in (Get-EmuDisks)) {
        foreach ($partition in (Get-EmuList $disk 'partitions')) { $entries.Add(@{ disk = $disk; partition = $partition }) }
    }
    return , $entries
}

function Get-EmuPartitionLimit([hashtable] $Disk, [hashtable] $Partition) {
    # Where the partition could end: the next partition's offset, else the end of the disk.
    $end = [int64]$Partition['offset'] + [int64]$Partition['size']
    $limit = [int64]$Disk['size']
    foreach ($other in (Get-EmuList $Disk 'partitions')) {
        $offset = [int64]$other['offset']
        if ($offset -ge $end -and $offset -lt $limit) { $limit = $offset }
    }
    return $limit
}

function Get-EmuLargestFreeExtent([hashtable] $Disk) {
    # Free space starts at 1 MiB or where a partition ends (unless another partition covers it) and
    # runs to the next partition or the end of the disk.
    $partitions = Get-EmuList $Disk 'partitions'
    $starts = [System.Collections.Generic.List[long]]::new()
    $starts.Add([int64]$script:StorageMinimumExtent)
    foreach ($partition in $partitions) { $starts.Add([int64]$partition['offset'] + [int64]$partition['size']) }
    $largest = [int64]0
    foreach ($start in $starts) {
        $covered = $false
        $next = [int64]$Disk['size']
        foreach ($partition in $partitions) {
            $offset = [int64]$partition['offset']
            if ($offset -le $start -and $start -lt $offset + [int64]$partition['size']) { $covered = $true }
            if ($offset -ge $start -and $offset -lt $next) { $next = $offset }
        }
        if (-not $covered -and $next - $start -gt $largest) { $largest = $next - $start }
    }
    return $largest
}

function ConvertTo-EmuPartition([hashtable] $Disk, [hashtable] $Partition) {
    $letter = [char]0
    if ([string]$Partition['driveLetter'] -ne '') { $letter = [char]([string]$Partition['driveLetter']) }
    return ConvertTo-EmuCimObject -ClassName 'MSFT_Partition' -Namespace $script:StorageNamespace -Properties ([ordered]@{
            DiskNumber = [uint32]$Disk['number']; PartitionNumber = [uint32]$Partition['partitionNumber']; DriveLetter = $letter
            Offset = [uint64]$Partition['offset']; Size = [uint64]$Partition['size']; Type = [string]$Partition['type']; GptType = [string]$Partition['gptType']
        })
}

function Find-EmuPartitionByLetter($Cmdlet, $Bound) {
    # The partition -DriveLetter names, or $null after writing the CDXML not-found error.
    $letter = [string]@($Bound['DriveLetter'])[0]
    foreach ($entry in (Get-EmuPartitionEntries)) {
        if ([string]$entry.partition['driveLetter'] -eq $letter) { return $entry }
    }
    Write-EmuNotFound $Cmdlet 'MSFT_Partition' 'DriveLetter' $letter
    return $null
}

$script:Handlers['Get-Partition'] = {
    param($Cmdlet, $Bound, $Fault)
    if ($Bound.Contains('DriveLetter')) {
        $entry = Find-EmuPartitionByLetter $Cmdlet $Bound
        if ($null -ne $entry) { ConvertTo-EmuPartition $entry.disk $entry.partition }
        return
    }
    $found = $false
    foreach ($entry in (Get-EmuPartitionEntries)) {
        if (-not (Test-EmuFilter $Bound 'DiskNumber' $entry.disk['number'])) { continue }
        if (-not (Test-EmuFilter $Bound 'PartitionNumber' $entry.partition['partitionNumber'])) { continue }
        $found = $true
        ConvertTo-EmuPartition $entry.disk $entry.partition
    }
    if (-not $found -and $Bound.Contains('DiskNumber')) { Write-EmuNotFound $Cmdlet 'MSFT_Partition' 'DiskNumber' ($Bound['DiskNumber'] -join ',') }
}

$script:Handlers['Get-PartitionSupportedSize'] = {
    param($Cmdlet, $Bound, $Fault)
    $entry = Find-EmuPartitionByLetter $Cmdlet $Bound
    if ($null -eq $entry) { return }
    $maximum = (Get-EmuPartitionLimit $entry.disk $entry.partition) - [int64]$entry.partition['offset']
    [pscustomobject]@{ SizeMin = [uint64]$script:StorageMinimumExtent; SizeMax = [uint64]$maximum }
}

$script:Handlers['Resize-Partition'] = {
    # Windows' answers: no room to grow by 1 MiB ("The size of the extent is less than the minimum of
    # 1MB"), more than SizeMax ("Size Not Supported").
    param($Cmdlet, $Bound, $Fault)
    $entry = Find-EmuPartitionByLetter $Cmdlet $Bound
    if ($null -eq $entry) { return }
    $size = [int64]$Bound['Size']
    $maximum = (Get-EmuPartitionLimit $entry.disk $entry.partition) - [int64]$entry.partition['offset']
    $message = $null
    if ($size -gt $maximum) { $message = 'Size Not Supported' }
    elseif ([math]::Abs($size - [int64]$entry.partition['size']) -lt $script:StorageMinimumExtent) { $message = 'The size of the extent is less than the minimum of 1MB.' }
    if ($null -ne $message) {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([System.InvalidOperationException]::new($message)) -ErrorId 'StorageWMI 4097' -Category InvalidOperation -Target $Bound['DriveLetter']
        return
    }
    if (-not $Cmdlet.ShouldProcess([string]$entry.partition['driveLetter'], 'Resize-Partition')) { return }
    $entry.partition['size'] = $size
    Save-EmuState
}

$script:Handlers['Get-Disk'] = {
    param($Cmdlet, $Bound, $Fault)
    $found = $false
    foreach ($disk in (Get-EmuDisks)) {
        if (-not (Test-EmuFilter $Bound 'Number' $disk['number'])) { continue }
        $found = $true
        ConvertTo-EmuCimObject -ClassName 'MSFT_Disk' -Namespace $script:StorageNamespace -Properties ([ordered]@{
                Number = [uint32]$disk['number']; Size = [uint64]$disk['size']; LargestFreeExtent = [uint64](Get-EmuLargestFreeExtent $disk); PartitionStyle = 'GPT'
            })
    }
    if (-not $found -and $Bound.Contains('Number')) { Write-EmuNotFound $Cmdlet 'MSFT_Disk' 'Number' ($Bound['Number'] -join ',') }
}
