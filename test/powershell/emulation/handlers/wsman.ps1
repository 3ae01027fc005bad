# Microsoft.WSMan.Management: state.wsman.listeners ({address, transport, port, hostname, enabled,
# certificateThumbprint, source?}). The cmdlets talk to the WinRM service: they fail while it is not
# running. Listeners are answered as XmlElements, as Get-WSManInstance does. An HTTPS listener with a
# Hostname needs a certificate whose subject CN is that Hostname (dsccommunity/WSManDsc#11). There is no
# Set-WSManInstance: the scripts never change a listener in place (they delete and create it), so the
# generator makes no stub for it.

$script:ListenerNamespace = 'http://schemas.microsoft.com/wbem/wsman/1/config/listener'

function Test-EmuWinRmRunning($Cmdlet) {
    $service = Find-EmuService 'WinRM'
    if ($null -ne $service -and [string]$service['status'] -eq 'Running') { return $true }
    $message = 'The client cannot connect to the destination specified in the request. Verify that the service on the destination is running and is accepting requests. Consult the logs and documentation for the WS-Management service running on the destination, most commonly IIS or WinRM. If the destination is the WinRM service, run the following command on the destination to analyze and configure the WinRM service: "winrm quickconfig".'
    Write-EmuError -Cmdlet $Cmdlet -Exception ([System.InvalidOperationException]::new($message)) -ErrorId 'WsManError' -Category InvalidOperation -Target 'winrm/config/Listener' -Terminating
}

function Test-EmuListenerUri($Cmdlet, $Bound) {
    if (([string]$Bound['ResourceURI']).TrimEnd('/') -ne 'winrm/config/Listener') {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([System.NotImplementedException]::new('the emulation knows only the resource winrm/config/Listener')) -ErrorId 'WsManError' -Category NotImplemented -Target $Bound['ResourceURI'] -Terminating
    }
}

function ConvertTo-EmuListenerXml([hashtable] $Listener) {
    $document = [System.Xml.XmlDocument]::new()
    $root = $document.CreateElement('cfg', 'Listener', $script:ListenerNamespace)
    $null = $document.AppendChild($root)
    $fields = [ordered]@{ Address = 'address'; Transport = 'transport'; Port = 'port'; Hostname = 'hostname'; Enabled = 'enabled'; URLPrefix = 'urlPrefix'; CertificateThumbprint = 'certificateThumbprint' }
    foreach ($field in $fields.Keys) {
        $element = $document.CreateElement('cfg', $field, $script:ListenerNamespace)
        $value = [string]$Listener[$fields[$field]]
        if ($field -eq 'URLPrefix' -and $value -eq '') { $value = 'wsman' }
        if ($value -ne '') { $element.InnerText = $value }
        $null = $root.AppendChild($element)
    }
    if ([string]$Listener['source'] -ne '') {
        # Source carries an attribute on Windows, so PowerShell adapts it as an XmlElement.
        $element = $document.CreateElement('cfg', 'Source', $script:ListenerNamespace)
        $element.InnerText = [string]$Listener['source']
        $element.SetAttribute('Source', 'GPO')
        $null = $root.InsertAfter($element, $root.FirstChild)
    }
    $listening = $document.CreateElement('cfg', 'ListeningOn', $script:ListenerNamespace)
    $listening.InnerText = '127.0.0.1'
    $null = $root.AppendChild($listening)
    return $root
}

function Find-EmuListener([string] $Address, [string] $Transport) {
    foreach ($listener in (Get-EmuList (Get-EmuMap (Get-EmuState) 'wsman') 'listeners')) {
        if ([string]$listener['address'] -eq $Address -and [string]$listener['transport'] -eq $Transport -and [string]$listener['source'] -ne 'Compatibility') { return $listener }
    }
    return $null
}

function Test-EmuListenerCertificate([string] $Thumbprint) {
    foreach ($certificate in (Get-EmuList (Get-EmuMap (Get-EmuState) 'certificates') 'My')) {
        if ([string]$certificate['thumbprint'] -eq $Thumbprint -and [bool]$certificate['hasPrivateKey']) { return $true }
    }
    return $false
}

function Get-EmuCertificateCn([string] $Thumbprint) {
    # The subject CN of a certificate of LocalMachine\My, as WinRM compares it with the Hostname.
    foreach ($certificate in (Get-EmuList (Get-EmuMap (Get-EmuState) 'certificates') 'My')) {
        if ([string]$certificate['thumbprint'] -ne $Thumbprint) { continue }
        $match = [regex]::Match([string]$certificate['subject'], '(?:^|,\s*)CN=([^,]+)')
        if ($match.Success) { return $match.Groups[1].Value.Trim() }
    }
    return ''
}

function Test-EmuListenerHostname($Cmdlet, [hashtable] $Listener, $Target) {
    # WinRM's own check (an empty Hostname is not compared; DNS names are case-insensitive).
    if ([string]$Listener['transport'] -ne 'HTTPS' -or [string]$Listener['hostname'] -eq '') { return }
    if ((Get-EmuCertificateCn ([string]$Listener['certificateThumbprint'])) -eq [string]$Listener['hostname']) { return }
    $message = 'The WinRM client cannot process the request. The certificate CN and the hostname that were provided do not match.'
    Write-EmuError -Cmdlet $Cmdlet -Exception ([System.InvalidOperationException]::new($message)) -ErrorId 'WsManError' -Category InvalidOperation -Target $Target -Terminating
}

function Set-EmuListenerValues($Cmdlet, [hashtable] $Listener, [System.Collections.IDictionary] $Values) {
    # ValueSet names are case-sensitive, as WinRM's configuration schema is.
    $known = @{ Port = 'port'; Hostname = 'hostname'; Enabled = 'enabled'; URLPrefix = 'urlPrefix'; CertificateThumbprint = 'certificateThumbprint' }
    foreach ($key in $Values.Keys) {
        if (-not $known.ContainsKey([string]$key) -or -not ($known.Keys -ccontains [string]$key)) {
            $message = 'The WS-Management service cannot process the request because the XML is invalid. ' + [string]$key + ' is not a listener setting.'
            Write-EmuError -Cmdlet $Cmdlet -Exception ([System.InvalidOperationException]::new($message)) -ErrorId 'WsManError' -Category InvalidOperation -Target $key -Terminating
        }
        $Listener[$known[[string]$key]] = [string]$Values[$key]
    }
}

function Write-EmuInvalidSelectors {
    # WinRM's answer to a selector set that names no listener (terminating, as the WSMan cmdlets throw it).
    param($Cmdlet, $Selector)
    Write-EmuError -Cmdlet $Cmdlet -Exception ([System.InvalidOperationException]::new('The WS-Management service cannot process the request because the request contained invalid selectors for the resource.')) -ErrorId 'WsManError' -Category InvalidOperation -Target $Selector -Terminating
}

function Find-EmuSelectedListener {
    # The listener the selector set names, or WinRM's invalid-selectors error.
    param($Cmdlet, $Selector)
    $listener = Find-EmuListener ([string]$Selector['Address']) ([string]$Selector['Transport'])
    if ($null -eq $listener) { Write-EmuInvalidSelectors $Cmdlet $Selector }
    return $listener
}

$script:Handlers['Get-WSManInstance'] = {
    param($Cmdlet, $Bound, $Fault)
    Test-EmuListenerUri $Cmdlet $Bound
    $null = Test-EmuWinRmRunning $Cmdlet
    $listeners = Get-EmuList (Get-EmuMap (Get-EmuState) 'wsman') 'listeners'
    if ([bool]$Bound['Enumerate']) {
        foreach ($listener in $listeners) { ConvertTo-EmuListenerXml $listener }
        return
    }
    $selector = $Bound['SelectorSet']
    $listener = Find-EmuSelectedListener $Cmdlet $selector
    ConvertTo-EmuListenerXml $listener
}

$script:Handlers['New-WSManInstance'] = {
    param($Cmdlet, $Bound, $Fault)
    Test-EmuListenerUri $Cmdlet $Bound
    $null = Test-EmuWinRmRunning $Cmdlet
    $selector = $Bound['SelectorSet']
    $address = [string]$selector['Address']
    $transport = [string]$selector['Transport']
    if ($address -eq '' -or ($transport -cne 'HTTP' -and $transport -cne 'HTTPS')) { Write-EmuInvalidSelectors $Cmdlet $selector }
    if ($null -ne (Find-EmuListener $address $transport)) {
        Write-EmuError -Cmdlet $Cmdlet -Exception ([System.InvalidOperationException]::new('The WS-Management service cannot create the resource because it already exists.')) -ErrorId 'WsManError' -Category InvalidOperation -Target $selector -Terminating
    }
    $listener = @{ address = $address; transport = $transport; port = ''; hostname = ''; enabled = 'true'; urlPrefix = 'wsman'; certificateThumbprint = '' }
    if ($Bound.Contains('ValueSet')) { Set-EmuListenerValues $Cmdlet $listener $Bound['ValueSet'] }
    if ([string]$listener['port'] -eq '') { $listener['port'] = @{ HTTP = '5985'; HTTPS = '5986' }[$transport] }
    if ($transport -eq 'HTTPS' -and -not (Test-EmuListenerCertificate ([string]$listener['certificateThumbprint']))) {
        $message = 'Cannot create a WinRM listener on HTTPS because this machine does not have an appropriate certificate. To be used for SSL, a certificate must have a CN matching the hostname, be appropriate for Server Authentication, and not be expired, revoked, or self-signed.'
        Write-EmuError -Cmdlet $Cmdlet -Exception ([System.InvalidOperationException]::new($message)) -ErrorId 'WsManError' -Category InvalidOperation -Target $selector -Terminating
    }
    Test-EmuListenerHostname $Cmdlet $listener $selector
    (Get-EmuList (Get-EmuMap (Get-EmuState) 'wsman') 'listeners').Add($listener)
    Save-EmuState
    $xml = [System.Xml.XmlDocument]::new()
    $xml.LoadXml('<ResourceCreated><Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</Address></ResourceCreated>')
    $xml.DocumentElement
}

$script:Handlers['Remove-WSManInstance'] = {
    param($Cmdlet, $Bound, $Fault)
    Test-EmuListenerUri $Cmdlet $Bound
    $null = Test-EmuWinRmRunning $Cmdlet
    $selector = $Bound['SelectorSet']
    $listener = Find-EmuSelectedListener $Cmdlet $selector
    $null = (Get-EmuList (Get-EmuMap (Get-EmuState) 'wsman') 'listeners').Remove($listener)
    Save-EmuState
}
