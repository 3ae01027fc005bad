# Certificates from the fabric's PFX into LocalMachine stores, in memory: no temporary .pfx file.
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Import-WinprovCertificates {
    # X509Certificate2Collection.Import with MachineKeySet (private keys go to the machine key store,
    # not to SYSTEM's profile) and PersistKeySet (they outlive this process); without Exportable the
    # keys cannot be exported later. For each placement the certificate with that thumbprint is added
    # to LocalMachine\<store> unless the store already holds that thumbprint with its key ("present").
    param([Parameter(Mandatory = $true)] $Request)
    # A copy: the host wipes its own after the answer, this one is wiped below as soon as it is read.
    $bytes = [byte[]](Get-WinprovSecret -Name 'pfx').Clone()
    $flags = [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]::MachineKeySet -bor [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]::PersistKeySet
    $collection = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Certificate2Collection
    try {
        if ($null -eq $Request.pfxPassword) {
            # A PFX sealed with no password differs from one sealed with ''; PowerShell would turn $null
            # into '' for a [string] argument, NullString passes a real null.
            $collection.Import($bytes, [System.Management.Automation.Language.NullString]::Value, $flags)
        } else {
            $collection.Import($bytes, [string]$Request.pfxPassword, $flags)
        }
    } finally {
        [System.Array]::Clear($bytes, 0, $bytes.Length)
    }

    $results = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($placement in @($Request.placements)) {
        $thumbprint = ([string]$placement.thumbprint).ToUpperInvariant()
        $storeName = [string]$placement.store
        $certificate = $null
        foreach ($candidate in $collection) {
            if ($candidate.Thumbprint -eq $thumbprint) { $certificate = $candidate; break }
        }
        if ($null -eq $certificate) {
            Stop-WinprovRejected -Rule ('the certificate bundle holds no certificate with thumbprint ' + $thumbprint)
        }
        $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList $storeName, ([System.Security.Cryptography.X509Certificates.StoreLocation]::LocalMachine)
        $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadWrite)
        try {
            $existing = $store.Certificates.Find([System.Security.Cryptography.X509Certificates.X509FindType]::FindByThumbprint, $thumbprint, $false)
            # Present without its private key (the image holds the public certificate only): a WinRM
            # listener could never use it, so the bundle's copy replaces it (Add replaces a certificate
            # of the same thumbprint, CERT_STORE_ADD_REPLACE_EXISTING_INHERIT_PROPERTIES).
            if ($existing.Count -gt 0 -and ($existing[0].HasPrivateKey -or -not $certificate.HasPrivateKey)) {
                $outcome = 'present'
            } else {
                $store.Add($certificate)
                $outcome = 'imported'
            }
        } finally {
            $store.Close()
        }
        $results.Add(@{ thumbprint = $thumbprint; store = $storeName; outcome = $outcome; hasPrivateKey = [bool]$certificate.HasPrivateKey })
    }
    return @{ results = $results.ToArray() }
}
