# The RDP listener's certificate, for the roleProperties report: Win32_TSGeneralSetting in
# root\cimv2\TerminalServices, listener RDP-Tcp, property SSLCertificateSHA1Hash (the thumbprint of the
# certificate the listener presents; cloudbase-init reads the same property, utils/windows/rdp.py).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Get-WinprovRdpCertificate {
    # found = false when the class has no RDP-Tcp instance (no RDP listener). The hash is returned as
    # WMI holds it; the caller checks it is a thumbprint (all zeros before Remote Desktop made one).
    param([Parameter(Mandatory = $true)] $Request)
    $settings = @(Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName 'Win32_TSGeneralSetting' -Filter "TerminalName='RDP-Tcp'" -ErrorAction Stop)
    if ($settings.Count -eq 0) { return @{ found = $false } }
    return @{ found = $true; thumbprint = [string]$settings[0].SSLCertificateSHA1Hash }
}
