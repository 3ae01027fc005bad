import { X509Certificate, generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { buildEnvelopedData } from './cms.ts';

/**
 * The certificates endpoint's work: read the requester's transport certificate from the header, pick the
 * content cipher from x-ms-cipher-name, and wrap the tenant PFX in a real CMS envelope addressed to it.
 */

/** Cipher names the fabric understands in x-ms-cipher-name, and the CMS content cipher each selects. */
export const CIPHER_NAMES = {
  AES128_CBC: 'aes-128-cbc',
  AES192_CBC: 'aes-192-cbc',
  AES256_CBC: 'aes-256-cbc',
  DES_EDE3_CBC: 'des-ede3-cbc',
} as const;

/** A header name from CIPHER_NAMES. */
export type CipherName = keyof typeof CIPHER_NAMES;
/** A content cipher cms.ts can use. */
export type ContentCipher = (typeof CIPHER_NAMES)[CipherName];

/** "the cypher header is optional, currently defaults to AES128_CBC" (WALA goal_state.py). */
export const DEFAULT_CIPHER: ContentCipher = 'aes-128-cbc';

/** How the envelope is built beyond the cipher: key transport and recipient identifier. */
export interface EnvelopeOptions {
  keyTransport: 'rsaes-pkcs1-v1_5' | 'rsaes-oaep-sha1';
  recipientId: 'issuerAndSerialNumber' | 'subjectKeyIdentifier';
}

/** A refusal the endpoint answers with 400 and this text. */
export interface Refusal {
  refused: string;
}

/** True for a header name from CIPHER_NAMES. */
export function isCipherName(name: string): name is CipherName {
  return Object.hasOwn(CIPHER_NAMES, name);
}

/** The content cipher for the x-ms-cipher-name header, or a refusal ("unsupported cypher", as WALA's test fabric says). */
export function selectCipher(header: string | undefined, supported: readonly string[]): ContentCipher | Refusal {
  if (header === undefined) return DEFAULT_CIPHER;
  if (!supported.includes(header) || !isCipherName(header)) return { refused: `unsupported cypher: ${header}` };
  return CIPHER_NAMES[header];
}

/** Reads x-ms-guest-agent-public-x509-cert: base64 DER of an X.509 certificate (a PEM body without its lines). */
export function readTransportCertificate(header: string | undefined): X509Certificate | Refusal {
  const name = 'x-ms-guest-agent-public-x509-cert';
  if (header === undefined || header.trim() === '') return { refused: `${name} header is required` };
  const b64 = header.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return { refused: `${name} is not base64 (the DER certificate, PEM lines removed)` };
  try {
    return new X509Certificate(Buffer.from(b64, 'base64'));
  } catch {
    return { refused: `${name} is not a DER X.509 certificate` };
  }
}

/** The CMS EnvelopedData (DER ContentInfo) around the PFX, for the transport certificate. */
export function envelopeFor(pfx: Uint8Array, recipientPem: string, cipher: ContentCipher, options: EnvelopeOptions): Uint8Array | Refusal {
  try {
    return buildEnvelopedData(pfx, recipientPem, { cipher, keyTransport: options.keyTransport, recipientId: options.recipientId });
  } catch {
    // Typically a non-RSA transport key: the fabric only does RSA key transport.
    return { refused: 'x-ms-guest-agent-public-x509-cert: cannot encrypt to this certificate (RSA key transport needs an RSA key)' };
  }
}

/** The corruptCertificates fault: Data that is base64 of random bytes, not an envelope. */
export function corruptData(): Uint8Array {
  return randomBytes(1536);
}

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * A freshly generated self-signed certificate (PEM) that belongs to nobody: the wrongRecipient fault
 * addresses the envelope to it, so the requester's key cannot open it.
 */
export async function strangerCertificatePem(): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  const subject = [{ name: 'commonName', value: 'winprov simulator stranger' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([{ name: 'subjectKeyIdentifier' }]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}
