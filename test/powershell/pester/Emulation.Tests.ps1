# The emulation itself: the generated stubs bind as Windows PowerShell 5.1 does, and calls are recorded.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
}

Describe 'generated stubs and proxies' {
    BeforeEach { $null = New-TestMachine }

    It 'refuses parameters Windows PowerShell 5.1 does not have' {
        { ConvertTo-Json -InputObject 1 -AsArray } | Should -Throw -ErrorId 'NamedParameterNotFound,ConvertTo-Json'
        { ConvertFrom-Json -InputObject '{}' -AsHashtable } | Should -Throw -ErrorId 'NamedParameterNotFound,ConvertFrom-Json'
        { Get-Service -Name 'WinRM' -NoSuchSwitch } | Should -Throw -ErrorId 'NamedParameterNotFound,Get-Service'
    }

    It 'refuses a call without a mandatory parameter, and a value outside the documented set' {
        { Rename-LocalUser -Name 'Administrator' -ErrorAction Stop } | Should -Throw -ErrorId 'MissingMandatoryParameter,Rename-LocalUser'
        { Set-Service -Name 'WinRM' -StartupType 'AutomaticDelayedStart' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Set-Service'
    }

    It 'forwards proxies with their pipeline behaviour' {
        @(1, 2, 3, 4 | Where-Object { $_ -gt 1 } | ForEach-Object { $_ * 10 } | Select-Object -First 2) | Should -Be @(20, 30)
        (ConvertTo-Json -InputObject @{ a = 1 } -Compress) | Should -Be '{"a":1}'
    }

    It 'binds a piped CIM object to -InputObject by its CIM class' {
        $state = Get-WindowsEmulationState
        $state.network.routes.Add(@{ interfaceIndex = 6; destinationPrefix = '0.0.0.0/0'; nextHop = '10.0.0.254'; routeMetric = 0; protocol = 'NetMgmt'; addressFamily = 'IPv4' })
        Get-NetRoute -Protocol NetMgmt -ErrorAction Stop | Remove-NetRoute -Confirm:$false
        (Get-WindowsEmulationCall -Command 'Remove-NetRoute')[0].parameterSet | Should -Be 'InputObject (cdxml)'
        @($state.network.routes).Count | Should -Be 3
    }

    It 'records each call with its bindings and every reachable string' {
        Clear-WindowsEmulationCall
        $null = New-Object -TypeName System.Collections.Hashtable
        $secure = New-Object -TypeName System.Security.SecureString
        $null = Get-LocalUser -Name 'Administrator'
        $calls = Get-WindowsEmulationCall
        $calls.command | Should -Be @('New-Object', 'New-Object', 'Get-LocalUser')
        $calls[2].bound.Name | Should -Be 'Administrator'
        $calls[2].parameterSet | Should -Be 'Default'
        $record = [WinprovEmulation.Recorder]::BindingText($secure)
        $record | Should -Be 'System.Security.SecureString'
        $deep = [System.Collections.Generic.List[string]]::new()
        [WinprovEmulation.Recorder]::Deep(@{ k = @('v', [byte[]](1, 2)); s = $secure }, $deep, 0, [System.Collections.Generic.HashSet[object]]::new())
        $deep | Should -Contain 'v'
        $deep | Should -Contain 'AQI='
        $deep | Should -Contain 'System.Security.SecureString'
    }

    It 'raises faults as Windows does, with the implementing class in the error id' {
        (Get-WindowsEmulationState).faults['Get-LocalUser'] = @{ error = 'AccessDenied' }
        { Get-LocalUser -ErrorAction Stop } | Should -Throw -ErrorId 'AccessDenied,Microsoft.PowerShell.Commands.GetLocalUserCommand'
        (Get-WindowsEmulationState).faults['Get-NetAdapter'] = @{ error = 'Windows System Error 5'; win32 = 5 }
        try { Get-NetAdapter -ErrorAction Stop } catch { $record = $_ }
        $record.FullyQualifiedErrorId | Should -Be 'Windows System Error 5,Get-NetAdapter'
        $record.Exception.NativeErrorCode | Should -Be 5
    }

    It 'saves the state file after each change' {
        $path = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'winprov-emulation-' + [guid]::NewGuid().ToString('N') + '.json')
        try {
            Initialize-WindowsEmulation -State (New-WindowsEmulationState) -Path $path
            Set-Service -Name 'RdAgent' -StartupType Automatic
            $saved = Microsoft.PowerShell.Utility\ConvertFrom-Json -InputObject ([System.IO.File]::ReadAllText($path))
            ($saved.services | Microsoft.PowerShell.Core\Where-Object { $_.name -eq 'RdAgent' }).startType | Should -Be 'Automatic'
            Initialize-WindowsEmulation -Path $path
            ((Get-WindowsEmulationState).services | Microsoft.PowerShell.Core\Where-Object { $_.name -eq 'RdAgent' }).startType | Should -Be 'Automatic'
        } finally {
            [WinprovEmulation.State]::FilePath = $null
            [System.IO.File]::Delete($path)
        }
    }
}
