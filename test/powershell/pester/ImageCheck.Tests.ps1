# readImageFacts (image-check.ps1) on the emulated machine: each fact prepare-image --check judges, on a
# machine seeded to show it.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'image-check.ps1')
    foreach ($name in @('Get-BitLockerVolume', 'Get-AppxPackage')) {
        Mock $name ([scriptblock]::Create("Invoke-EmulationStub -Name '$name' -Bound `$PesterBoundParameters"))
    }
    function Get-Facts { return Get-WinprovImageFacts -Request ([pscustomobject]@{ systemDrive = 'C:' }) }
    $script:PolicyKey = 'SOFTWARE\Policies\Microsoft\Windows\PowerShell'
    # A new area of the state, in the emulation's own shape (hashtables and lists).
    function Set-TestArea([string] $Name, $Value) { (Get-WindowsEmulationState)[$Name] = [WinprovEmulation.State]::Normalize($Value, 0) }
}

Describe 'readImageFacts' {
    BeforeEach {
        $script:State = New-TestMachine
        $State.registry['SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State'] = @{ ImageState = @{ kind = 'String'; data = 'IMAGE_STATE_COMPLETE' } }
    }

    It 'reads a clean build VM: no BitLocker or Appx module, no reboot pending, IMAGE_STATE_COMPLETE, no policies' {
        $facts = Get-Facts
        $facts.bitLocker.available | Should -BeFalse
        $facts.appx.available | Should -BeFalse
        @($facts.pendingReboot).Count | Should -Be 0
        $facts.imageState | Should -Be 'IMAGE_STATE_COMPLETE'
        $facts.executionPolicy.machinePolicy | Should -Be ''
        $facts.executionPolicy.userPolicy | Should -Be ''
        $facts.logging.moduleLogging | Should -BeFalse
        $facts.logging.scriptBlockLogging | Should -BeFalse
        $facts.logging.transcription | Should -BeFalse
    }

    It 'reads an encrypted OS volume' {
        Set-TestArea 'bitLocker' @{ volumes = @(@{ mountPoint = 'C:'; volumeStatus = 'FullyEncrypted'; protectionStatus = 'On'; encryptionPercentage = 100 }) }
        $facts = Get-Facts
        $facts.bitLocker.available | Should -BeTrue
        $facts.bitLocker.volumeStatus | Should -Be 'FullyEncrypted'
        $facts.bitLocker.protectionStatus | Should -Be 'On'
        $facts.bitLocker.encryptionPercentage | Should -Be 100
        Should -Invoke Get-BitLockerVolume -Times 1 -Exactly -ParameterFilter { $MountPoint -eq 'C:' }
    }

    It 'reads the Appx packages installed for users and the provisioned ones' {
        Set-TestArea 'appx' @{ packages = @(
                @{ name = 'Contoso.Tool'; publisherId = 'abcdefghijk12'; version = '1.0.0.0'; architecture = 'x64'; isFramework = $false; signatureKind = 'Developer'; users = @('S-1-5-21-1-2-3-1001') }
                @{ name = 'Microsoft.VCLibs.140.00'; publisherId = '8wekyb3d8bbwe'; version = '14.0.0.0'; architecture = 'x64'; isFramework = $true; signatureKind = 'Store'; users = @('S-1-5-21-1-2-3-1001') }
            ) }
        $State.registry['SOFTWARE\Microsoft\Windows\CurrentVersion\Appx\AppxAllUserStore\Applications\Microsoft.WindowsCalculator_11.0.0.0_neutral_~_8wekyb3d8bbwe'] = @{}
        $facts = Get-Facts
        $facts.appx.available | Should -BeTrue
        $tool = $facts.appx.installed | Where-Object { $_.name -eq 'Contoso.Tool' }
        $tool.fullName | Should -Be 'Contoso.Tool_1.0.0.0_x64__abcdefghijk12'
        $tool.publisherId | Should -Be 'abcdefghijk12'
        $tool.installedUsers | Should -Be 1
        $tool.isFramework | Should -BeFalse
        ($facts.appx.installed | Where-Object { $_.name -eq 'Microsoft.VCLibs.140.00' }).isFramework | Should -BeTrue
        $facts.appx.provisioned | Should -Be @('Microsoft.WindowsCalculator_11.0.0.0_neutral_~_8wekyb3d8bbwe')
        Should -Invoke Get-AppxPackage -Times 1 -Exactly -ParameterFilter { $AllUsers }
    }

    It 'reads each pending-reboot marker' {
        $State.registry['SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'] = @{}
        $State.registry['SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\PackagesPending'] = @{}
        $State.registry['SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'] = @{}
        $State.registry['SYSTEM\CurrentControlSet\Control\Session Manager'] = @{
            PendingFileRenameOperations = @{ kind = 'MultiString'; data = @('\??\C:\x.tmp', '') }
            PendingFileRenameOperations2 = @{ kind = 'MultiString'; data = @('\??\C:\y.tmp', '') }
        }
        $facts = Get-Facts
        $facts.pendingReboot | Should -Be @('Component Based Servicing\RebootPending', 'Component Based Servicing\PackagesPending', 'WindowsUpdate\Auto Update\RebootRequired', 'Session Manager\PendingFileRenameOperations', 'Session Manager\PendingFileRenameOperations2')
    }

    It 'does not take an empty PendingFileRenameOperations for a pending reboot' {
        $State.registry['SYSTEM\CurrentControlSet\Control\Session Manager'] = @{ PendingFileRenameOperations = @{ kind = 'MultiString'; data = @() } }
        @((Get-Facts).pendingReboot).Count | Should -Be 0
    }

    It 'reads the image state' {
        $State.registry['SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State'] = @{ ImageState = @{ kind = 'String'; data = 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE' } }
        (Get-Facts).imageState | Should -Be 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE'
    }

    It 'reads the Group Policy execution policy of both scopes as PowerShell derives it' {
        $State.registry[$PolicyKey] = @{ EnableScripts = @{ kind = 'DWord'; data = 1 }; ExecutionPolicy = @{ kind = 'String'; data = 'RemoteSigned' } }
        $State.registry['HKEY_CURRENT_USER\' + $PolicyKey] = @{ EnableScripts = @{ kind = 'DWord'; data = 0 } }
        $facts = Get-Facts
        $facts.executionPolicy.machinePolicy | Should -Be 'RemoteSigned'
        $facts.executionPolicy.userPolicy | Should -Be 'Restricted'
    }

    It 'reads Module Logging, Script Block Logging and Transcription turned on by policy' {
        $State.registry[$PolicyKey + '\ModuleLogging'] = @{ EnableModuleLogging = @{ kind = 'DWord'; data = 1 } }
        $State.registry[$PolicyKey + '\ScriptBlockLogging'] = @{ EnableScriptBlockLogging = @{ kind = 'DWord'; data = 1 } }
        $State.registry[$PolicyKey + '\Transcription'] = @{ EnableTranscripting = @{ kind = 'DWord'; data = 1 } }
        $facts = Get-Facts
        $facts.logging.moduleLogging | Should -BeTrue
        $facts.logging.scriptBlockLogging | Should -BeTrue
        $facts.logging.transcription | Should -BeTrue
    }

    It 'answers one JSON object, as the host sends it' {
        Set-TestArea 'bitLocker' @{ volumes = @() }
        $json = ConvertTo-Json -InputObject (Get-Facts) -Compress -Depth 16
        $back = ConvertFrom-Json -InputObject $json
        $back.bitLocker.available | Should -BeFalse
        ($back.pendingReboot -is [array]) | Should -BeTrue
    }
}
