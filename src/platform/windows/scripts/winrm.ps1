# WinRM listeners ovf-env.xml asks for (WinRM/Listeners): the WinRM service, one listener per transport
# on every address (Address *), and one inbound firewall rule of winprov's own per port.
#
# Not Set-WSManQuickConfig or Enable-PSRemoting: both create an HTTP listener whatever the VM asked for,
# Enable-PSRemoting also rewrites the session configurations and restarts the service, and the built-in
# firewall rule they enable admits only the local subnet on a Public network (the profile a network
# usually still has during specialize). Only what the listeners need is done here.
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Get-WinprovWinRmTransport {
    # The fixed facts of each protocol ovf-env.xml names: WinRM's transport, the port (the WinRM 2.0
    # defaults, the ports Azure documents for WinRM) and winprov's firewall rule for that port.
    param([Parameter(Mandatory = $true)] [AllowEmptyString()] [string] $Protocol)
    switch -CaseSensitive ($Protocol) {
        'Http' { return @{ transport = 'HTTP'; port = 5985; rule = 'winprov-WinRM-HTTP-In'; displayName = 'winprov: WinRM over HTTP (TCP 5985)' } }
        'Https' { return @{ transport = 'HTTPS'; port = 5986; rule = 'winprov-WinRM-HTTPS-In'; displayName = 'winprov: WinRM over HTTPS (TCP 5986)' } }
    }
    Stop-WinprovRejected -Rule ('the WinRM listener protocol ' + $Protocol + ' is neither Http nor Https')
}

function Get-WinprovListenerHostname {
    # WinRM's HTTPS listener presents a certificate of LocalMachine\My and signs with its private key: a
    # thumbprint WinRM cannot use would leave a listener that refuses every TLS handshake. Returns the
    # certificate's subject CN (X509NameType SimpleName), the listener's Hostname, or $null when WinRM
    # cannot use the certificate.
    param([Parameter(Mandatory = $true)] [AllowEmptyString()] [string] $Thumbprint)
    $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList 'My', ([System.Security.Cryptography.X509Certificates.StoreLocation]::LocalMachine)
    $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadOnly)
    try {
        $found = $store.Certificates.Find([System.Security.Cryptography.X509Certificates.X509FindType]::FindByThumbprint, $Thumbprint, $false)
        foreach ($certificate in $found) {
            if ($certificate.HasPrivateKey) { return [string]$certificate.GetNameInfo([System.Security.Cryptography.X509Certificates.X509NameType]::SimpleName, $false) }
        }
        return $null
    } finally {
        $store.Close()
    }
}

function Enable-WinprovWinRmService {
    # Client editions ship WinRM as Manual; on servers it is a delayed automatic start, so during
    # specialize it may not run yet. The WSMan cmdlets below talk to the local service, and a listener
    # only listens while it runs. A delayed start reads as Automatic and is left as it is.
    param()
    $service = Get-Service -Name 'WinRM'
    $startModeChanged = $false
    if ($service.StartType -ne [System.ServiceProcess.ServiceStartMode]::Automatic) {
        Set-Service -Name 'WinRM' -StartupType Automatic
        $startModeChanged = $true
    }
    $started = $false
    if ($service.Status -ne [System.ServiceProcess.ServiceControllerStatus]::Running) {
        Start-Service -Name 'WinRM'
        $started = $true
    }
    return @{ startModeChanged = $startModeChanged; started = $started }
}

function Get-WinprovXmlText {
    # One value of a WSMan configuration element, '' when absent (strict mode forbids reading a missing
    # property). An element that carries attributes arrives as an XmlElement, hence InnerText.
    param(
        [Parameter(Mandatory = $true)] $Element,
        [Parameter(Mandatory = $true)] [string] $Name
    )
    $property = $Element.PSObject.Properties[$Name]
    if ($null -eq $property -or $null -eq $property.Value) { return '' }
    if ($property.Value -is [System.Xml.XmlElement]) { return ([string]$property.Value.InnerText).Trim() }
    return ([string]$property.Value).Trim()
}

function Get-WinprovWinRmListener {
    # The listener on every address for this transport, or $null. Compatibility listeners (ports 80 and
    # 443, Source Compatibility) are other listeners and are skipped.
    param([Parameter(Mandatory = $true)] [string] $Transport)
    foreach ($listener in @(Get-WSManInstance -ResourceURI 'winrm/config/Listener' -Enumerate)) {
        if ((Get-WinprovXmlText -Element $listener -Name 'Source') -eq 'Compatibility') { continue }
        if ((Get-WinprovXmlText -Element $listener -Name 'Transport') -eq $Transport -and (Get-WinprovXmlText -Element $listener -Name 'Address') -eq '*') {
            return $listener
        }
    }
    return $null
}

function Set-WinprovWinRmListener {
    # Created when missing; deleted and created again when its port, Enabled flag, certificate or
    # Hostname differ ("recreated"); otherwise "present". Never changed in place: Set-WSManInstance keeps
    # the listener's Hostname, and WinRM then refuses a certificate whose CN differs ("The certificate
    # CN and the hostname that were provided do not match", dsccommunity/WSManDsc#11). An HTTPS
    # listener's Hostname is its certificate's subject CN, given explicitly: the name clients reach the
    # VM by and verify (Azure's WinRM guide makes the certificate for the VM's DNS name), whereas the
    # computer name is still pending during specialize. ValueSet names are case-sensitive
    # (Set-WSManInstance documentation).
    param(
        [Parameter(Mandatory = $true)] [string] $Transport,
        [Parameter(Mandatory = $true)] [int] $Port,
        [Parameter(Mandatory = $true)] [AllowEmptyString()] [string] $Thumbprint,
        [Parameter(Mandatory = $true)] [AllowEmptyString()] [string] $Hostname
    )
    $selector = @{ Address = '*'; Transport = $Transport }
    $values = @{ Port = [string]$Port; Enabled = 'true' }
    if ($Transport -eq 'HTTPS') { $values.CertificateThumbprint = $Thumbprint; $values.Hostname = $Hostname }
    $existing = Get-WinprovWinRmListener -Transport $Transport
    if ($null -eq $existing) {
        $null = New-WSManInstance -ResourceURI 'winrm/config/Listener' -SelectorSet $selector -ValueSet $values
        return 'created'
    }
    $same = ((Get-WinprovXmlText -Element $existing -Name 'Port') -eq [string]$Port) -and ((Get-WinprovXmlText -Element $existing -Name 'Enabled') -eq 'true') -and ((Get-WinprovXmlText -Element $existing -Name 'Hostname') -eq $Hostname)
    if ($Transport -eq 'HTTPS') { $same = $same -and ((Get-WinprovXmlText -Element $existing -Name 'CertificateThumbprint') -eq $Thumbprint) }
    if ($same) { return 'present' }
    Remove-WSManInstance -ResourceURI 'winrm/config/Listener' -SelectorSet $selector
    $null = New-WSManInstance -ResourceURI 'winrm/config/Listener' -SelectorSet $selector -ValueSet $values
    return 'recreated'
}

function Set-WinprovWinRmFirewallRule {
    # Found by Name, which is not localized (DisplayName is). Profile Any: the network is usually still
    # Public during specialize, and the built-in WINRM-HTTP-In-TCP-PUBLIC rule admits only the local
    # subnet there; there is no built-in rule for 5986 at all. An existing rule is set to the same
    # values again, so a rule someone disabled is enabled.
    param(
        [Parameter(Mandatory = $true)] [string] $Name,
        [Parameter(Mandatory = $true)] [string] $DisplayName,
        [Parameter(Mandatory = $true)] [int] $Port
    )
    # NetSecurity's cmdlets are CDXML module functions: -ErrorAction is passed to each (see network.ps1).
    $existing = @(Get-NetFirewallRule -Name $Name -ErrorAction SilentlyContinue)
    if ($existing.Count -gt 0) {
        Set-NetFirewallRule -Name $Name -Enabled True -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort $Port -ErrorAction Stop
        return 'present'
    }
    $null = New-NetFirewallRule -Name $Name -DisplayName $DisplayName -Enabled True -Direction Inbound -Action Allow -Profile Any -Protocol TCP -LocalPort $Port -ErrorAction Stop
    return 'created'
}

function Set-WinprovWinRmListeners {
    # Every HTTPS certificate is checked before anything changes, so a bad thumbprint leaves the machine
    # as it was. Requests are applied in order: a second request for the same transport sees the first.
    param([Parameter(Mandatory = $true)] $Request)
    $plans = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($listener in @($Request.listeners)) {
        $facts = Get-WinprovWinRmTransport -Protocol ([string]$listener.protocol)
        $thumbprint = ''
        $hostname = ''
        if ($facts.transport -eq 'HTTPS') {
            $thumbprint = ([string]$listener.certificateThumbprint).ToUpperInvariant()
            $hostname = Get-WinprovListenerHostname -Thumbprint $thumbprint
            if ($null -eq $hostname) {
                Stop-WinprovRejected -Rule ('the HTTPS listener''s certificate ' + $thumbprint + ' is not in LocalMachine\My with its private key')
            }
            if ($hostname -eq '') {
                Stop-WinprovRejected -Rule ('the HTTPS listener''s certificate ' + $thumbprint + ' has no subject name to serve as the listener''s Hostname')
            }
        }
        $plans.Add(@{ protocol = [string]$listener.protocol; facts = $facts; thumbprint = $thumbprint; hostname = $hostname })
    }
    $service = Enable-WinprovWinRmService
    $results = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($plan in $plans) {
        $facts = $plan.facts
        $outcome = Set-WinprovWinRmListener -Transport $facts.transport -Port $facts.port -Thumbprint $plan.thumbprint -Hostname $plan.hostname
        $firewall = Set-WinprovWinRmFirewallRule -Name $facts.rule -DisplayName $facts.displayName -Port $facts.port
        $results.Add(@{ protocol = $plan.protocol; port = $facts.port; outcome = $outcome; hostname = $plan.hostname; firewallRule = $firewall; ruleName = $facts.rule })
    }
    return @{ results = $results.ToArray(); serviceStarted = $service.started; startModeChanged = $service.startModeChanged }
}
