import { createHash, createPublicKey, randomBytes, sign } from 'node:crypto';
import { Secret } from '../util/secret.ts';
import { bitString, boolean, explicit, nullValue, octetString, oid, printableString, sequence, set, time, unsignedInteger } from './der-writer.ts';
import { generateTransportKeyPair, type TransportKeyPair } from './transport-key.ts';

/**
 * The throw-away transport certificate: the fabric encrypts the tenant certificates to its public key
 * (CMS EnvelopedData, RFC 5652), so only this run can open them. A new key per run; it lives in memory only.
 * Built with the project's DER writer and signed with node:crypto (Node has no X.509 builder), so a run
 * without tenant certificates never loads node-forge.
 */

/** A transport key pair and its self-signed certificate, ready for the certificates request. */
export interface TransportCertificate {
  /** PKCS#8 PEM private key; never written to disk or logged. */
  keyPem: Secret<string>;
  /** The self-signed certificate, PEM. */
  certPem: string;
  /** Base64 DER of the certificate on one line, for the x-ms-guest-agent-public-x509-cert header. */
  headerValue: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
/** Name ::= RDNSequence with one CN (id-at-commonName 2.5.4.3), a PrintableString as forge wrote it before. */
const NAME = sequence(set(sequence(oid('2.5.4.3'), printableString('winprov transport'))));

/**
 * Creates a fresh RSA-2048 key (or takes one whose generation the caller started earlier) and a
 * self-signed sha256 certificate for it. The key generation runs on libuv's thread pool (async
 * generateKeyPair), so the caller can overlap it with start-up and fabric discovery.
 */
export async function createTransportCertificate(keyPair: Promise<TransportKeyPair> = generateTransportKeyPair()): Promise<TransportCertificate> {
  const { publicKey, privateKey } = await keyPair;
  const key = createPublicKey(publicKey);
  const now = Date.now();
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + 1);
  const algorithm = sequence(oid(SHA256_WITH_RSA), nullValue());
  const tbs = sequence(
    explicit(0, unsignedInteger(Buffer.from([2]))), // v3: extensions follow
    unsignedInteger(positiveSerial()),
    algorithm,
    NAME,
    sequence(time(new Date(now - DAY_MS)), time(notAfter)),
    NAME,
    key.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...extensions(key.export({ type: 'pkcs1', format: 'der' })))),
  );
  const der = sequence(tbs, algorithm, bitString(sign('sha256', tbs, privateKey)));
  const headerValue = der.toString('base64');
  return {
    keyPem: new Secret(privateKey),
    certPem: `-----BEGIN CERTIFICATE-----\n${headerValue.replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`,
    headerValue,
  };
}

/**
 * basicConstraints (cA FALSE, the DEFAULT, so an empty SEQUENCE), keyUsage keyEncipherment and
 * dataEncipherment (critical), and subjectKeyIdentifier: SHA-1 of the RSAPublicKey, RFC 5280 4.2.1.2
 * method 1. The fabric addresses its envelope to that value (KeyTransRecipientInfo v2, rid [0]).
 */
function extensions(rsaPublicKey: Buffer): Buffer[] {
  const extension = (id: string, critical: boolean, value: Buffer) => sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
  return [
    extension('2.5.29.19', false, sequence()),
    // Bits 2 and 3 (0x20 | 0x10); DER drops trailing zero bits, so 4 of the octet are unused (X.690 11.2.2).
    extension('2.5.29.15', true, bitString(Buffer.from([0x30]), 4)),
    extension('2.5.29.14', false, octetString(createHash('sha1').update(rsaPublicKey).digest())),
  ];
}

/** 16 random bytes with the top bit clear (a positive INTEGER, RFC 5280 4.1.2.2) and a non-zero first byte (minimal DER). */
function positiveSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes;
}
