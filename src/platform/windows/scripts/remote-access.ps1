# The remote access an image build leaves behind (README "Baking winprov into an image"): Packer's
# azure-arm builder reaches the build VM over a WinRM HTTPS listener bound to a certificate with its
# private key, plus a firewall rule for 5986; captured as they are, every VM made from the image would
# carry them. readRemoteAccess lists the WinRM listeners, the inbound rules that open a WinRM port, the
# LocalMachine\My certificates and every other binding that uses a certificate; removeRemoteAccess
# removes what the TypeScript side chose (cli/remote-access.ts), and never a certificate that a binding
# it does not remove still uses.
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function ConvertTo-WinprovCertificateHash {
    # A REG_BINARY SHA-1 certificate hash as 40 uppercase hex digits; '' when absent or not 20 bytes.
    param([AllowNull()] $Value)
    if ($null -eq $Value -or -not ($Value -is [byte[]]) -or $Value.Length -ne 20) { return '' }
    return ([System.BitConverter]::ToString($Value)).Replace('-', '')
}

function Get-WinprovCertificateBindings {
    # Bindings other than WinRM's listeners that present a certificate, from the registry (read the same
    # way on every Windows build, no module to load):
    # - the RDP listener: Terminal Server\WinStations\RDP-Tcp SSLCertificateSHA1Hash, the value
    #   Win32_TSGeneralSetting.SSLCertificateSHA1Hash shows and Remote Desktop's certificate documentation sets;
    # - http.sys: HTTP\Parameters\SslBindingInfo (ip:port), SslSniBindingInfo (host:port) and
    #   SslCcsBindingInfo, value SslCertHash: what "netsh http show sslcert" lists (IIS, WinRM HTTPS, WAC ...).
    param()
    $bindings = New-Object -TypeName System.Collections.Generic.List[object]
    $machine = [Microsoft.Win32.Registry]::LocalMachine
    $rdp = $machine.OpenSubKey('SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp')
    if ($null -ne $rdp) {
        try {
            $hash = ConvertTo-WinprovCertificateHash -Value $rdp.GetValue('SSLCertificateSHA1Hash')
            if ($hash -ne '') { $bindings.Add(@{ kind = 'rdp'; name = 'RDP-Tcp'; port = 3389; thumbprint = $hash }) }
        } finally {
            $rdp.Close()
        }
    }
    foreach ($folder in @('SslBindingInfo', 'SslSniBindingInfo', 'SslCcsBindingInfo')) {
        $key = $machine.OpenSubKey('SYSTEM\CurrentControlSet\Services\HTTP\Parameters\' + $folder)
        if ($null -eq $key) { continue }
        try {
            foreach ($name in $key.GetSubKeyNames()) {
                $binding = $key.OpenSubKey($name)
                if ($null -eq $binding) { continue }
                try {
                    $hash = ConvertTo-WinprovCertificateHash -Value $binding.GetValue('SslCertHash')
                } finally {
                    $binding.Close()
                }
                if ($hash -eq '') { continue }
                $port = 0
                $colon = $name.LastIndexOf(':')
                if ($colon -ge 0) { $null = [int]::TryParse($name.Substring($colon + 1), [ref]$port) }
                $bindings.Add(@{ kind = 'http.sys'; name = $name; port = $port; thumbprint = $hash })
            }
        } finally {
            $key.Close()
        }
    }
    return $bindings.ToArray()
}

function Get-WinprovRemoteListeners {
    # Every WinRM listener (Compatibility ones too): the WSMan cmdlets need the WinRM service running.
    param()
    $listeners = New-Object -TypeName System.Collections.Generic.List[object]
    $service = @(Get-Service | Where-Object { $_.Name -eq 'WinRM' }) | Select-Object -First 1
    if ($null -eq $service -or $service.Status -ne [System.ServiceProcess.ServiceControllerStatus]::Running) {
        return @{ running = $false; listeners = $listeners.ToArray() }
    }
    foreach ($listener in @(Get-WSManInstance -ResourceURI 'winrm/config/Listener' -Enumerate)) {
        $port = 0
        $null = [int]::TryParse((Get-WinprovXmlText -Element $listener -Name 'Port'), [ref]$port)
        $listeners.Add(@{
                address = (Get-WinprovXmlText -Element $listener -Name 'Address')
                transport = (Get-WinprovXmlText -Element $listener -Name 'Transport')
                port = $port
                certificateThumbprint = (Get-WinprovXmlText -Element $listener -Name 'CertificateThumbprint').ToUpperInvariant()
                source = (Get-WinprovXmlText -Element $listener -Name 'Source')
            })
    }
    return @{ running = $true; listeners = $listeners.ToArray() }
}

function Get-WinprovRemoteFirewallRules {
    # The inbound rules of the local store that open one of the given TCP ports, found through their port
    # filters (one query for all TCP filters: piping every rule to Get-NetFirewallPortFilter takes
    # minutes on a full rule set). A filter's InstanceID is its rule's Name.
    param([Parameter(Mandatory = $true)] [string[]] $Ports)
    # A rule that also opens other ports (a range, or IIS's 80 beside WinRM's) is reported as such: it is
    # more than remote access, and removing it would close the rest.
    $found = @{}
    foreach ($filter in @(Get-NetFirewallPortFilter -Protocol TCP -ErrorAction Stop)) {
        $opened = @(@($filter.LocalPort) | Where-Object { $Ports -contains [string]$_ } | ForEach-Object { [int]$_ })
        $other = @(@($filter.LocalPort) | Where-Object { $Ports -notcontains [string]$_ }).Count -gt 0
        if ($opened.Count -gt 0) { $found[[string]$filter.InstanceID] = @{ ports = $opened; other = $other } }
    }
    $rules = New-Object -TypeName System.Collections.Generic.List[object]
    if ($found.Keys.Count -eq 0) { return }
    foreach ($rule in @(Get-NetFirewallRule -Name ([string[]]$found.Keys) -ErrorAction SilentlyContinue)) {
        if ([string]$rule.Direction -ne 'Inbound') { continue }
        $filter = $found[[string]$rule.Name]
        $rules.Add(@{ name = [string]$rule.Name; displayName = [string]$rule.DisplayName; enabled = ([string]$rule.Enabled -eq 'True'); localPorts = [int[]]$filter.ports; opensOtherPorts = [bool]$filter.other })
    }
    return $rules.ToArray()
}

function Get-WinprovMachineCertificates {
    # LocalMachine\My: where WinRM, RDP and http.sys take their certificates from.
    param()
    $certificates = New-Object -TypeName System.Collections.Generic.List[object]
    $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList 'My', ([System.Security.Cryptography.X509Certificates.StoreLocation]::LocalMachine)
    $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadOnly)
    try {
        foreach ($certificate in $store.Certificates) {
            $certificates.Add(@{ thumbprint = [string]$certificate.Thumbprint; subject = [string]$certificate.Subject; hasPrivateKey = [bool]$certificate.HasPrivateKey })
        }
    } finally {
        $store.Close()
    }
    return $certificates.ToArray()
}

function Get-WinprovRemoteAccess {
    param([Parameter(Mandatory = $true)] [AllowNull()] $Request)
    $winrm = Get-WinprovRemoteListeners
    # WinRM's ports and those of listeners that could be the build's: a Compatibility listener (on 80 or
    # 443, for older clients) is never removed, and its port is every web server's.
    $ports = @('5985', '5986')
    foreach ($listener in $winrm.listeners) {
        if ([string]$listener.source -ne 'Compatibility' -and $ports -notcontains [string]$listener.port) { $ports += [string]$listener.port }
    }
    return @{
        winrmRunning = $winrm.running
        listeners = $winrm.listeners
        firewallRules = @(Get-WinprovRemoteFirewallRules -Ports $ports)
        certificates = @(Get-WinprovMachineCertificates)
        bindings = @(Get-WinprovCertificateBindings)
    }
}

function Get-WinprovKeySharer {
    # The thumbprint of another LocalMachine certificate that uses the same private key as $Certificate
    # (a copy in another store, or a renewal that kept its key), or '' when none does: that key must stay.
    param(
        [Parameter(Mandatory = $true)] [System.Security.Cryptography.X509Certificates.X509Certificate2] $Certificate,
        [Parameter(Mandatory = $true)] [string] $StoreName
    )
    $publicKey = $Certificate.GetPublicKeyString()
    foreach ($name in @('My', 'WebHosting', 'Remote Desktop')) {
        $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList $name, ([System.Security.Cryptography.X509Certificates.StoreLocation]::LocalMachine)
        try {
            # OpenExistingOnly: opening a missing system store would create it.
            $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadOnly -bor [System.Security.Cryptography.X509Certificates.OpenFlags]::OpenExistingOnly)
        } catch {
            continue
        }
        try {
            foreach ($other in $store.Certificates) {
                if ($name -eq $StoreName -and $other.Thumbprint -eq $Certificate.Thumbprint) { continue }
                if ($other.HasPrivateKey -and $other.GetPublicKeyString() -eq $publicKey) { return ($name + '\' + $other.Thumbprint) }
            }
        } finally {
            $store.Close()
        }
    }
    return ''
}

function Remove-WinprovRemoteAccess {
    # Listeners first (WinRM lets go of their http.sys bindings), then the rules, then each certificate
    # that no remaining binding uses: a remaining listener, the RDP listener, or an http.sys binding on
    # a port other than a removed listener's (that one was the listener's own).
    param([Parameter(Mandatory = $true)] $Request)
    $removedListeners = New-Object -TypeName System.Collections.Generic.List[object]
    $removedPorts = @()
    $before = @((Get-WinprovRemoteListeners).listeners)
    foreach ($listener in @($Request.listeners)) {
        $selector = @{ Address = [string]$listener.address; Transport = [string]$listener.transport }
        foreach ($present in $before) {
            if ($present.address -eq $selector.Address -and $present.transport -eq $selector.Transport) { $removedPorts += $present.port }
        }
        Remove-WSManInstance -ResourceURI 'winrm/config/Listener' -SelectorSet $selector
        $removedListeners.Add(@{ address = $selector.Address; transport = $selector.Transport })
    }
    $removedRules = New-Object -TypeName System.Collections.Generic.List[string]
    foreach ($name in @($Request.firewallRules)) {
        Remove-NetFirewallRule -Name ([string]$name) -Confirm:$false -ErrorAction Stop
        $removedRules.Add([string]$name)
    }
    $inUse = @{}
    foreach ($listener in @((Get-WinprovRemoteListeners).listeners)) {
        if ($listener.certificateThumbprint -ne '') { $inUse[$listener.certificateThumbprint] = 'the WinRM listener ' + $listener.transport + ' ' + $listener.address }
    }
    foreach ($binding in @(Get-WinprovCertificateBindings)) {
        if ($binding.kind -eq 'http.sys' -and $removedPorts -contains $binding.port) { continue }
        if (-not $inUse.ContainsKey($binding.thumbprint)) { $inUse[$binding.thumbprint] = $binding.kind + ' ' + $binding.name }
    }
    $removedCertificates = New-Object -TypeName System.Collections.Generic.List[string]
    $kept = New-Object -TypeName System.Collections.Generic.List[object]
    $keysDeleted = New-Object -TypeName System.Collections.Generic.List[string]
    $keysShared = New-Object -TypeName System.Collections.Generic.List[object]
    $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList 'My', ([System.Security.Cryptography.X509Certificates.StoreLocation]::LocalMachine)
    $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadWrite)
    try {
        foreach ($thumbprint in @($Request.certificates)) {
            $thumbprint = ([string]$thumbprint).ToUpperInvariant()
            if ($inUse.ContainsKey($thumbprint)) {
                $kept.Add(@{ thumbprint = $thumbprint; usedBy = $inUse[$thumbprint] })
                continue
            }
            foreach ($certificate in @($store.Certificates.Find([System.Security.Cryptography.X509Certificates.X509FindType]::FindByThumbprint, $thumbprint, $false))) {
                $sharer = ''
                if ($certificate.HasPrivateKey) { $sharer = Get-WinprovKeySharer -Certificate $certificate -StoreName 'My' }
                if ($certificate.HasPrivateKey -and $sharer -eq '') {
                    # X509Store.Remove would leave the key's container in MachineKeys (or the key storage
                    # provider's folder), and the image is captured next: the build's private key would be
                    # in every VM made from it. The certificate provider's -DeleteKey removes both
                    # (about_Certificate_Provider); the provider, its Cert: drive and the parameter come with
                    # this module, loaded already in most sessions (the import is then a no-op).
                    Import-Module -Name 'Microsoft.PowerShell.Security' -ErrorAction Stop
                    Remove-Item -Path ('Cert:\LocalMachine\My\' + $thumbprint) -DeleteKey
                    $keysDeleted.Add($thumbprint)
                } else {
                    $store.Remove($certificate)
                    if ($sharer -ne '') { $keysShared.Add(@{ thumbprint = $thumbprint; sharedWith = $sharer }) }
                }
                $removedCertificates.Add($thumbprint)
            }
        }
    } finally {
        $store.Close()
    }
    return @{ listeners = $removedListeners.ToArray(); firewallRules = $removedRules.ToArray(); certificates = $removedCertificates.ToArray(); kept = $kept.ToArray(); keysDeleted = $keysDeleted.ToArray(); keysShared = $keysShared.ToArray() }
}
