import { Secret } from '../util/secret.ts';
import { parseCertificateFile } from '../protocol/certificates-file.ts';
import { decryptEnvelopedData, type EnvelopeRecipient } from './enveloped-data.ts';
import { readPkcs12, type DecryptedCertificate } from './pkcs12.ts';
import { WorkBudget } from './work-budget.ts';

/**
 * From the fabric's CertificateFile document to the PFX inside it: parse, decrypt the CMS envelope with
 * the transport key, open the PKCS#12. The PFX stays wrapped as a Secret (it holds private keys).
 */

export type OpenedCertificateFile =
  | { kind: 'certificates'; pfx: Secret<Uint8Array>; password: '' | null; certificates: DecryptedCertificate[] }
  | { kind: 'none'; why: string };

/**
 * Parses and decrypts a CertificateFile; 'none' when it holds no Data or a Format winprov does not use. The
 * budget bounds the derivation work and carries the run's deadline (work-budget.ts); one per certificates step.
 */
export function openCertificateFile(xml: string | Uint8Array, recipient: EnvelopeRecipient, budget: WorkBudget = new WorkBudget()): OpenedCertificateFile {
  const file = parseCertificateFile(xml);
  if (!file.usable) return { kind: 'none', why: `Format ${JSON.stringify(file.format)} is not Pkcs7BlobWithPfxContents; skipped` };
  if (file.data === undefined) return { kind: 'none', why: 'the CertificateFile has no Data' };
  const pfx = decryptEnvelopedData(file.data, recipient, budget);
  const contents = readPkcs12(pfx, budget);
  return { kind: 'certificates', pfx: new Secret(pfx), password: contents.password, certificates: contents.certificates };
}

/**
 * Library form: decrypts a CertificateFile with a transport key pair given as PEM text and lists its
 * certificates (thumbprint, friendlyName, subject, hasPrivateKey); [] when it holds none.
 */
export function decryptCertificateFile(certificateFileXml: string | Uint8Array, transport: { keyPem: string | Secret<string>; certPem: string }): DecryptedCertificate[] {
  const keyPem = typeof transport.keyPem === 'string' ? new Secret(transport.keyPem) : transport.keyPem;
  const opened = openCertificateFile(certificateFileXml, { keyPem, certPem: transport.certPem });
  return opened.kind === 'certificates' ? opened.certificates : [];
}
