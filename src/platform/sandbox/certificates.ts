import { PlatformRejectedError } from '../../errors.ts';
import type { CertificateBundle, CertificateImportResult } from '../platform.ts';
import type { SandboxMachine } from './machine.ts';
import { checkStoreName } from './rules.ts';

/**
 * importCertificates on the sandbox. Windows opens the PFX the same way: a placement naming a certificate
 * it does not hold, or a store name Windows would refuse, fails before anything is imported; a
 * certificate already in its store is left as it is.
 */

export interface PfxCertificate {
  subject: string;
  hasPrivateKey: boolean;
}

/** The PFX's certificates by thumbprint, once every placement is known to be importable. */
export async function openForImport(bundle: CertificateBundle): Promise<Map<string, PfxCertificate>> {
  // Loaded here, not at start-up: it brings node-forge, which a run without certificates never needs.
  const { readPkcs12 } = await import('../../crypto/pkcs12.ts');
  const contents = readPkcs12(bundle.pfx.reveal());
  const inPfx = new Map<string, PfxCertificate>(contents.certificates.map((c) => [c.thumbprint, c]));
  for (const placement of bundle.placements) {
    checkStoreName(placement.store);
    if (!inPfx.has(placement.thumbprint)) {
      throw new PlatformRejectedError('importCertificates', `certificate ${placement.thumbprint} is not in the PFX from the fabric`);
    }
  }
  return inPfx;
}

export function applyCertificateImport(machine: SandboxMachine, bundle: CertificateBundle, inPfx: Map<string, PfxCertificate>): { detail: string | undefined; result: CertificateImportResult[] } {
  const results: CertificateImportResult[] = [];
  for (const placement of bundle.placements) {
    const store = (machine.certificateStores[placement.store] ??= []);
    const { subject, hasPrivateKey } = inPfx.get(placement.thumbprint)!;
    const at = store.findIndex((c) => c.thumbprint === placement.thumbprint);
    // As certificates.ps1: present only with its key, or when the bundle has none either; a copy
    // without its key is replaced by the bundle's.
    if (at !== -1 && (store[at]!.hasPrivateKey || !hasPrivateKey)) {
      results.push({ thumbprint: placement.thumbprint, store: placement.store, outcome: 'present' });
      continue;
    }
    if (at !== -1) store.splice(at, 1);
    store.push({ thumbprint: placement.thumbprint, subject, hasPrivateKey, keyStorage: hasPrivateKey ? 'MachineKeySet' : 'none', exportable: false });
    results.push({ thumbprint: placement.thumbprint, store: placement.store, outcome: 'imported' });
  }
  const imported = results.filter((r) => r.outcome === 'imported');
  return { detail: imported.length ? `imported ${imported.map((r) => `${r.thumbprint} into LocalMachine\\${r.store}`).join(', ')}` : undefined, result: results };
}
