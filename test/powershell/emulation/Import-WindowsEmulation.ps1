# Turns this pwsh process into the emulated Windows machine. Dot-source it BEFORE the scripts under test
# are compiled:
#   . test/powershell/emulation/Import-WindowsEmulation.ps1 [-StatePath <state.json>]
# 1. loads the fake .NET types (Fakes.cs, compiled once and cached under .scratch by a hash of its text)
#    and registers them as type accelerators under the Windows type names;
# 2. imports the handlers (WinprovEmulation.psm1) and the generated stubs (New-WindowsEmulationModule.ps1);
# 3. loads the machine: -StatePath, else the file named by env WINPROV_EMULATION_STATE, else a typical
#    image in memory (New-WindowsEmulationState).
# Calls are recorded in memory and, when env WINPROV_EMULATION_CALLS names a file, as JSON lines there.
# -Local: the stubs are imported into the caller's scope only (Pester's BeforeAll), so that Pester's own
# module code keeps the real cmdlets; the handlers module is always global.
param(
    [string] $StatePath,
    [switch] $Local
)

$winprovEmulationRoot = $PSScriptRoot
$winprovEmulationRepo = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', '..', '..'))
$winprovEmulationScratch = [System.IO.Path]::Combine($winprovEmulationRepo, '.scratch', 'powershell', 'emulation')

if ($null -eq ('WinprovEmulation.State' -as [type])) {
    $winprovEmulationSource = [System.IO.Path]::Combine($winprovEmulationRoot, 'Fakes.cs')
    $winprovEmulationHash = [System.Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData([System.IO.File]::ReadAllBytes($winprovEmulationSource))).Substring(0, 16).ToLowerInvariant()
    $winprovEmulationDll = [System.IO.Path]::Combine($winprovEmulationScratch, 'fakes-' + $winprovEmulationHash + '.dll')
    if (-not [System.IO.File]::Exists($winprovEmulationDll)) {
        $null = [System.IO.Directory]::CreateDirectory($winprovEmulationScratch)
        $winprovEmulationTemporary = $winprovEmulationDll + '.' + [System.Environment]::ProcessId + '.tmp.dll'
        # Add-Type replaces its default references when any are given: the reference pack, PowerShell,
        # and the two Windows-API packages whose enums the fakes use.
        $winprovEmulationReferences = @([System.IO.Directory]::GetFiles([System.IO.Path]::Combine($PSHOME, 'ref'), '*.dll')) +
            @([psobject].Assembly.Location, [System.ServiceProcess.ServiceControllerStatus].Assembly.Location, [System.Diagnostics.EventLogEntryType].Assembly.Location)
        Microsoft.PowerShell.Utility\Add-Type -Path $winprovEmulationSource -OutputAssembly $winprovEmulationTemporary -ReferencedAssemblies $winprovEmulationReferences
        [System.IO.File]::Move($winprovEmulationTemporary, $winprovEmulationDll, $true)
        foreach ($winprovEmulationStale in [System.IO.Directory]::GetFiles($winprovEmulationScratch, 'fakes-*.dll')) {
            if ($winprovEmulationStale -ne $winprovEmulationDll) { try { [System.IO.File]::Delete($winprovEmulationStale) } catch { $null = $_ } }
        }
    }
    $null = [System.Reflection.Assembly]::LoadFrom($winprovEmulationDll)
}

$winprovEmulationAccelerators = [psobject].Assembly.GetType('System.Management.Automation.TypeAccelerators')
foreach ($winprovEmulationPair in @(
        @('Microsoft.Win32.Registry', 'WinprovEmulation.FakeRegistry'),
        @('Microsoft.Win32.RegistryKey', 'WinprovEmulation.FakeRegistryKey'),
        @('System.Diagnostics.EventLog', 'WinprovEmulation.FakeEventLog'),
        @('System.Diagnostics.EventSourceCreationData', 'WinprovEmulation.FakeEventSourceCreationData'),
        @('System.Security.Cryptography.X509Certificates.X509Store', 'WinprovEmulation.FakeX509Store'),
        @('System.DirectoryServices.AccountManagement.PrincipalContext', 'WinprovEmulation.FakePrincipalContext'),
        @('System.DirectoryServices.AccountManagement.ContextType', 'WinprovEmulation.FakeContextType'),
        @('System.DirectoryServices.AccountManagement.IdentityType', 'WinprovEmulation.FakeIdentityType'),
        @('System.DirectoryServices.AccountManagement.UserPrincipal', 'WinprovEmulation.FakeUserPrincipal'),
        @('System.IO.DriveInfo', 'WinprovEmulation.FakeDriveInfo'),
        @('System.IO.File', 'WinprovEmulation.FakeFile'),
        @('System.IO.Directory', 'WinprovEmulation.FakeDirectory'),
        @('System.Security.AccessControl.DirectorySecurity', 'WinprovEmulation.FakeDirectorySecurity'),
        @('System.Security.AccessControl.FileSecurity', 'WinprovEmulation.FakeFileSecurity'),
        @('System.Security.AccessControl.FileSystemAccessRule', 'WinprovEmulation.FakeFileSystemAccessRule'),
        @('System.Security.Principal.SecurityIdentifier', 'WinprovEmulation.FakeSecurityIdentifier'))) {
    $winprovEmulationAccelerators::Add($winprovEmulationPair[0], ($winprovEmulationPair[1] -as [type]))
}
# PowerShell caches resolved type names process-wide: names resolved before (System.IO.File, by this very
# script) would keep resolving to the real types in scripts compiled from now on.
$winprovEmulationCache = [psobject].Assembly.GetType('System.Management.Automation.Language.TypeCache').GetField('s_cache', [System.Reflection.BindingFlags]'NonPublic,Static')
$winprovEmulationCache.GetValue($null).Clear()

Microsoft.PowerShell.Core\Import-Module -Name ([System.IO.Path]::Combine($winprovEmulationRoot, 'WinprovEmulation.psm1')) -Global -Force -DisableNameChecking
$winprovEmulationStubs = & ([System.IO.Path]::Combine($winprovEmulationRoot, 'New-WindowsEmulationModule.ps1')) -RepoRoot $winprovEmulationRepo
if ($Local) {
    Microsoft.PowerShell.Core\Import-Module -Name $winprovEmulationStubs -Scope Local -Force -DisableNameChecking
} else {
    Microsoft.PowerShell.Core\Import-Module -Name $winprovEmulationStubs -Global -Force -DisableNameChecking
}

if ($StatePath -ne '') {
    Initialize-WindowsEmulation -Path $StatePath
} elseif ([string]$env:WINPROV_EMULATION_STATE -ne '') {
    Initialize-WindowsEmulation -Path $env:WINPROV_EMULATION_STATE
} else {
    Initialize-WindowsEmulation
}
