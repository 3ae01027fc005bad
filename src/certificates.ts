import { AgentError, CertificateError, CertificateRefusedError } from './errors.ts';
import { parseHostingEnvironmentConfig, type StoredCertificate } from './protocol/hosting-env.ts';
import { WorkBudget } from './crypto/work-budget.ts';
import type { openCertificateFile as OpenCertificateFile } from './crypto/certificate-file.ts';
import type { TransportCertificate } from './crypto/transport-cert.ts';
import type { CipherName, WireClient } from './net/wire-client.ts';
import type { CertificateBundle, CertificatePlacement } from './platform/platform.ts';
import type { Log } from './util/log.ts';

/**
 * The certificates step: fetch the HostingEnvironmentConfig (which store each certificate goes to) and
 * the certificates (encrypted to our transport key) at the same time, decrypt, and decide placements.
 */

export interface CertificateUrls {
  certificatesUrl: string;
  hostingEnvironmentConfigUrl: string | undefined;
}

/** AES first (FIPS-capable fabrics, WALA PR #3324); 3DES for fabrics that refuse it. */
const CIPHERS: CipherName[] = ['AES128_CBC', 'DES_EDE3_CBC'];

export async function fetchCertificates(
  client: WireClient,
  urls: CertificateUrls,
  transport: Promise<TransportCertificate>,
  log: Log,
  /**
   * One budget for the step, made by the caller when the step may fetch again (a goal state refreshed
   * on 410 calls this once more): a blob sent again cannot multiply the work.
   */
  budget: WorkBudget = new WorkBudget({ deadline: client.deadline }),
): Promise<CertificateBundle | undefined> {
  const storesPromise = urls.hostingEnvironmentConfigUrl === undefined
    ? Promise.resolve([] as StoredCertificate[])
    : client.document(urls.hostingEnvironmentConfigUrl, 'hosting environment config').then((xml) => parseHostingEnvironmentConfig(xml).storedCertificates);
  // Both requests are in flight at once; a failure of one must not leave the other unobserved.
  storesPromise.catch(() => {});
  // Loaded only when the goal state lists certificates: it brings node-forge, whose evaluation a run
  // without certificates should not pay for (README "Performance"). Started now, it evaluates while the
  // key and the certificates are still on their way.
  const opener: Promise<typeof OpenCertificateFile> = import('./crypto/certificate-file.ts').then((m) => m.openCertificateFile);
  opener.catch(() => {});
  const key = await transport;
  // The budget is shared by the ciphers too. Decryption runs synchronously; the budget reads the clock
  // between derivations, so the run's deadline stops it.
  let lastError: unknown;
  for (const cipher of CIPHERS) {
    let opened;
    try {
      const xml = await client.certificates(urls.certificatesUrl, key.headerValue, cipher);
      const open = await opener;
      opened = open(xml, { keyPem: key.keyPem, certPem: key.certPem }, budget);
    } catch (err) {
      if (!cipherMayBeTheCause(err)) throw err;
      lastError = err;
      log.warn(`certificates with ${cipher} failed (${(err as AgentError).reason}); ${cipher === CIPHERS.at(-1) ? 'no cipher left' : 'trying the next cipher'}`);
      continue;
    }
    if (opened.kind === 'none') {
      log.warn(`certificates: ${opened.why}`);
      await storesPromise;
      return undefined;
    }
    const stores = await storesPromise;
    return {
      pfx: opened.pfx,
      pfxPassword: opened.password,
      placements: place(opened.certificates, stores, log),
    };
  }
  throw lastError instanceof AgentError ? lastError : new CertificateError('no cipher produced certificates that could be decrypted');
}

/**
 * A 400 (the fabric refuses the cipher) or a decryption failure, malformed blobs included, is worth one more
 * cipher; a refused blob (an algorithm or amount of work no fabric PFX needs) and the deadline are not.
 */
function cipherMayBeTheCause(err: unknown): boolean {
  if (err instanceof CertificateRefusedError) return false;
  if (err instanceof CertificateError) return true;
  return err instanceof AgentError && err.code === 'WIRESERVER_HTTP' && (err.context['status'] === 400);
}

/**
 * Each certificate goes to the LocalMachine store the HostingEnvironmentConfig names for its thumbprint
 * (configurationLevel System); certificates it does not name go to My, where WinRM and IIS look.
 * CurrentUser placements would land in SYSTEM's own profile, useless to anyone: skipped with a warning.
 */
export function place(certificates: { thumbprint: string; hasPrivateKey: boolean }[], stores: StoredCertificate[], log: Log): CertificatePlacement[] {
  const placements: CertificatePlacement[] = [];
  for (const certificate of certificates) {
    const named = stores.filter((s) => s.thumbprint === certificate.thumbprint);
    if (named.length === 0) {
      placements.push({ thumbprint: certificate.thumbprint, store: 'My', hasPrivateKey: certificate.hasPrivateKey });
      continue;
    }
    for (const entry of named) {
      if (entry.storeLocation !== 'LocalMachine') {
        log.warn(`certificate ${certificate.thumbprint}: store ${entry.storeLocation}\\${entry.storeName} is a user store; not imported`);
        continue;
      }
      if (!placements.some((p) => p.thumbprint === certificate.thumbprint && p.store === entry.storeName)) {
        placements.push({ thumbprint: certificate.thumbprint, store: entry.storeName, hasPrivateKey: certificate.hasPrivateKey });
      }
    }
  }
  for (const entry of stores) {
    if (!certificates.some((c) => c.thumbprint === entry.thumbprint)) {
      log.warn(`HostingEnvironmentConfig names certificate ${entry.thumbprint} (${entry.name}), which the fabric did not send`);
    }
  }
  return placements;
}
