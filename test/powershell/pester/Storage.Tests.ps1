# extendOsVolume (storage.ps1) on the emulated machine.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'storage.ps1')
    foreach ($name in @('Get-Partition', 'Get-PartitionSupportedSize', 'Resize-Partition', 'Get-Disk')) {
        Mock $name ([scriptblock]::Create("Invoke-EmulationStub -Name '$name' -Bound `$PesterBoundParameters"))
    }
    function Invoke-Extend { return Expand-WinprovOsVolume -Request ([pscustomobject]@{ driveLetter = 'C' }) }
    function Get-CPartition([hashtable] $State) { foreach ($p in $State.disks[0].partitions) { if ($p.driveLetter -eq 'C') { return $p } } }
}

Describe 'extendOsVolume' {
    BeforeEach { $script:State = New-TestMachine }

    It 'extends C: to the end of the disk' {
        $before = (Get-CPartition $State).size
        $answer = Invoke-Extend
        $answer.outcome | Should -Be 'extended'
        $answer.driveLetter | Should -Be 'C'
        $answer.sizeBefore | Should -Be $before
        $answer.sizeAfter | Should -Be (127GB - 117MB)
        (Get-CPartition $State).size | Should -Be (127GB - 117MB)
        Should -Invoke Resize-Partition -Times 1 -Exactly -ParameterFilter { $DriveLetter -eq 'C' -and $Size -eq (127GB - 117MB) }
    }

    It 'does nothing when C: is already at its largest size' {
        $null = Invoke-Extend
        $answer = Invoke-Extend
        $answer.outcome | Should -Be 'maximum'
        $answer.sizeAfter | Should -Be $answer.sizeBefore
        Should -Invoke Resize-Partition -Times 1 -Exactly
    }

    It 'reports a recovery partition in the way, and moves nothing' {
        $c = Get-CPartition $State
        $State.disks[0].partitions.Add(@{ partitionNumber = 4; driveLetter = ''; offset = ($c.offset + $c.size); size = 600MB; type = 'Recovery'; gptType = '{de94bba4-06d1-4d40-a16a-bfd50179d6ac}' })
        $answer = Invoke-Extend
        $answer.outcome | Should -Be 'blocked'
        $answer.blocker.partitionNumber | Should -Be 4
        $answer.blocker.type | Should -Be 'Recovery'
        $answer.unreachableBytes | Should -Be (127GB - ($c.offset + $c.size + 600MB))
        $answer.sizeAfter | Should -Be $c.size
        $State.disks[0].partitions[3].offset | Should -Be ($c.offset + $c.size)
        Should -Invoke Resize-Partition -Times 0 -Exactly
    }

    It 'still extends C: into the free space before a recovery partition' {
        $c = Get-CPartition $State
        $State.disks[0].partitions.Add(@{ partitionNumber = 4; driveLetter = ''; offset = (126GB); size = 600MB; type = 'Recovery'; gptType = '{de94bba4-06d1-4d40-a16a-bfd50179d6ac}' })
        $answer = Invoke-Extend
        $answer.outcome | Should -Be 'extended'
        $answer.sizeAfter | Should -Be (126GB - $c.offset)
    }

    It 'answers failed with Windows'' text when Resize-Partition refuses, without throwing' {
        $State.faults['Resize-Partition'] = @{ error = 'StorageWMI'; message = 'Not enough available capacity' }
        $answer = Invoke-Extend
        $answer.outcome | Should -Be 'failed'
        $answer.reason | Should -BeLike '*Not enough available capacity*'
        (Get-CPartition $State).size | Should -Be (30GB - 118MB)
    }

    It 'fails (the platform makes it a warning) when no partition has the drive letter' {
        (Get-CPartition $State).driveLetter = 'E'
        { Invoke-Extend } | Should -Throw -ErrorId 'CmdletizationQuery_NotFound_DriveLetter,Get-Partition'
    }

    It 'emulates Windows refusing a size beyond SizeMax' {
        $stub = (Get-Module WinprovEmulationStubs).ExportedFunctions['Resize-Partition']
        { & $stub -DriveLetter 'C' -Size (128GB) -ErrorAction Stop } | Should -Throw '*Size Not Supported*'
    }
}
