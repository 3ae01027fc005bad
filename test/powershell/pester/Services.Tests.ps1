# setGuestAgentServices, readGuestAgentServices (services.ps1) on the emulated machine.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    . (Get-WinprovScriptPath 'host.ps1')
    . (Get-WinprovScriptPath 'services.ps1')
    foreach ($name in @('Get-Service', 'Set-Service')) {
        Mock $name ([scriptblock]::Create("Invoke-EmulationStub -Name '$name' -Bound `$PesterBoundParameters"))
    }
}

Describe 'guest agent services' {
    BeforeEach { $script:State = New-TestMachine }

    It 'reads the three services as the image keeps them' {
        $answer = Get-WinprovGuestAgentServices -Request ([pscustomobject]@{})
        $answer.installed.name | Should -Be @('RdAgent', 'WindowsAzureGuestAgent', 'WindowsAzureTelemetryService')
        $answer.installed.startMode | Should -Be @('Disabled', 'Disabled', 'Disabled')
        $answer.installed.running | Should -Be @($false, $false, $false)
    }

    It 'sets them Automatic without starting them' {
        $answer = Set-WinprovGuestAgentServices -Request ([pscustomobject]@{ enabled = $true })
        $answer.installed.startMode | Should -Be @('Automatic', 'Automatic', 'Automatic')
        (Find-TestEntry $State.services 'name' 'RdAgent').status | Should -Be 'Stopped'
        $State.registry['SYSTEM\CurrentControlSet\Services\RdAgent']['Start'].data | Should -Be 2
        Should -Invoke Set-Service -Times 3 -Exactly -ParameterFilter { $StartupType -eq 'Automatic' }
    }

    It 'sets them Disabled' {
        foreach ($service in $State.services) { $service.startType = 'Automatic' }
        (Set-WinprovGuestAgentServices -Request ([pscustomobject]@{ enabled = $false })).installed.startMode | Should -Be @('Disabled', 'Disabled', 'Disabled')
    }

    It 'handles only the services that exist' {
        $State.services.Remove((Find-TestEntry $State.services 'name' 'WindowsAzureTelemetryService'))
        $State.services.Remove((Find-TestEntry $State.services 'name' 'RdAgent'))
        $answer = Set-WinprovGuestAgentServices -Request ([pscustomobject]@{ enabled = $true })
        @($answer.installed).Count | Should -Be 1
        $answer.installed[0].name | Should -Be 'WindowsAzureGuestAgent'
        Should -Invoke Set-Service -Times 1 -Exactly
    }

    It 'answers no services on an image without the guest agent' {
        foreach ($name in @('RdAgent', 'WindowsAzureGuestAgent', 'WindowsAzureTelemetryService')) { $State.services.Remove((Find-TestEntry $State.services 'name' $name)) }
        @((Get-WinprovGuestAgentServices -Request ([pscustomobject]@{})).installed).Count | Should -Be 0
    }

    It 'fails when Set-Service is refused' {
        $State.faults['Set-Service'] = @{ error = 'AccessDenied' }
        { Set-WinprovGuestAgentServices -Request ([pscustomobject]@{ enabled = $true }) } | Should -Throw -ErrorId 'AccessDenied,Microsoft.PowerShell.Commands.SetServiceCommand'
    }
}
