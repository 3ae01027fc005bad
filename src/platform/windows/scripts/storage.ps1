# The OS volume extended into the free space after it, as Azure's own images end up when the OS disk is
# larger than the image ("Expand virtual hard disks attached to a Windows virtual machine",
# learn.microsoft.com). Storage cmdlets are functions of CDXML modules and are given -ErrorAction
# themselves: such functions do not see their caller's preference variables (PowerShell issues 4568 and
# 24389). Resize-Partition refusing is an answer ("failed"), not an error: a VM whose volume could not
# grow still provisions.
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

# Partitions are aligned to 1 MiB: less free space than that is no room to grow (Resize-Partition
# refuses "The size of the extent is less than the minimum of 1MB").
$script:WinprovMinimumGrowth = 1MB

function Get-WinprovPartitionType {
    # MSFT_Partition's Type (Recovery, Basic, System ...), else its GPT type GUID or MBR type.
    param([Parameter(Mandatory = $true)] $Partition)
    foreach ($name in @('Type', 'GptType', 'MbrType')) {
        $property = $Partition.PSObject.Properties[$name]
        if ($null -ne $property -and [string]$property.Value -ne '') { return [string]$property.Value }
    }
    return 'unknown'
}

function Get-WinprovPartitionBlocker {
    # When the partition is at its largest supported size but its disk still has free space: the first
    # partition after it (a recovery partition, on most images), which Windows cannot extend across.
    param([Parameter(Mandatory = $true)] $Partition)
    $disk = Get-Disk -Number $Partition.DiskNumber -ErrorAction Stop
    $free = [int64]$disk.LargestFreeExtent
    if ($free -lt $script:WinprovMinimumGrowth) { return $null }
    $end = [int64]$Partition.Offset + [int64]$Partition.Size
    $after = @(Get-Partition -DiskNumber $Partition.DiskNumber -ErrorAction Stop | Where-Object { [int64]$_.Offset -ge $end } | Sort-Object -Property Offset)
    if ($after.Count -eq 0) { return $null }
    return @{ partitionNumber = [int]$after[0].PartitionNumber; type = (Get-WinprovPartitionType -Partition $after[0]); unreachableBytes = $free }
}

function Expand-WinprovOsVolume {
    param([Parameter(Mandatory = $true)] $Request)
    $letter = [char]([string]$Request.driveLetter)
    $partition = Get-Partition -DriveLetter $letter -ErrorAction Stop
    $supported = Get-PartitionSupportedSize -DriveLetter $letter -ErrorAction Stop
    $before = [int64]$partition.Size
    $maximum = [int64]$supported.SizeMax
    $answer = @{ driveLetter = [string]$letter; sizeBefore = $before; sizeAfter = $before }
    if ($maximum -ge $before + $script:WinprovMinimumGrowth) {
        try {
            Resize-Partition -DriveLetter $letter -Size $maximum -ErrorAction Stop
        } catch {
            $answer.outcome = 'failed'
            $answer.reason = [string]$_.Exception.Message
            return $answer
        }
        $answer.outcome = 'extended'
        $answer.sizeAfter = [int64](Get-Partition -DriveLetter $letter -ErrorAction Stop).Size
        return $answer
    }
    $blocker = Get-WinprovPartitionBlocker -Partition $partition
    if ($null -eq $blocker) {
        $answer.outcome = 'maximum'
        return $answer
    }
    $answer.outcome = 'blocked'
    $answer.blocker = @{ partitionNumber = $blocker.partitionNumber; type = $blocker.type }
    $answer.unreachableBytes = $blocker.unreachableBytes
    return $answer
}
