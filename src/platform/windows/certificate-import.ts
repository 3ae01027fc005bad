import { PlatformRejectedError } from '../../errors.ts';
import type { CertificateImportResult, CertificatePlacement } from '../platform.ts';
import { HostResult } from './results.ts';

/**
 * The TypeScript side of importCertificates (certificates.ps1): the placements checked before PowerShell
 * sees them, and its answer checked before it becomes CertificateImportResult values. The PFX itself
 * travels as a secret on stdin, never here.
 */

const VERB = 'importCertificates';
const THUMBPRINT = /^[0-9A-Fa-f]{40}$/;
/** LocalMachine store names: My, Root, CA, TrustedPeople, "Remote Desktop", WebHosting ... */
const STORE_NAME = /^[A-Za-z][A-Za-z0-9 _.-]{0,63}$/;

/** One placement as certificates.ps1 reads it: the uppercase thumbprint and the store's name. */
export interface ImportPlacement {
  thumbprint: string;
  store: string;
}

/** Checks every placement (a thumbprint of 40 hex digits, a store name) before any is imported. */
export function toImportPlacements(placements: readonly CertificatePlacement[]): ImportPlacement[] {
  for (const p of placements) {
    if (!THUMBPRINT.test(p.thumbprint)) throw new PlatformRejectedError(VERB, `thumbprint ${JSON.stringify(p.thumbprint).slice(0, 60)} is not 40 hexadecimal digits`);
    if (!STORE_NAME.test(p.store)) throw new PlatformRejectedError(VERB, `store ${JSON.stringify(p.store).slice(0, 80)} is not a certificate store name`);
  }
  return placements.map((p) => ({ thumbprint: p.thumbprint.toUpperCase(), store: p.store }));
}

/** certificates.ps1's answer: each placement imported or found present. */
export function toImportResults(value: unknown): CertificateImportResult[] {
  return new HostResult(VERB, value).list('results').map((entry) => {
    const r = new HostResult(VERB, entry);
    return { thumbprint: r.string('thumbprint'), store: r.string('store'), outcome: r.oneOf('outcome', ['imported', 'present'] as const) };
  });
}
