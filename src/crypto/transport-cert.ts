import { randomBytes, sign } from 'node:crypto';
import forge from 'node-forge';
import { Secret } from '../util/secret.ts';
import { generateTransportKeyPair, type TransportKeyPair } from './transport-key.ts';

/**
 * The throw-away transport certificate: the fabric encrypts the tenant certificates to its public key
 * (CMS EnvelopedData, RFC 5652), so only this run can open them. A new key per run; it lives in memory only.
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

const SUBJECT = [{ shortName: 'CN', value: 'winprov transport' }];
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Creates a fresh RSA-2048 key (or takes one whose generation the caller started earlier) and a
 * self-signed sha256 certificate for it. The key generation runs on libuv's thread pool (async
 * generateKeyPair), so the caller can overlap it with start-up and fabric discovery.
 */
export async function createTransportCertificate(keyPair: Promise<TransportKeyPair> = generateTransportKeyPair()): Promise<TransportCertificate> {
  const { publicKey, privateKey } = await keyPair;

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = positiveSerial();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - DAY_MS);
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + 1);
  cert.validity.notAfter = notAfter;
  cert.setSubject(SUBJECT);
  cert.setIssuer(SUBJECT);
  // forge computes subjectKeyIdentifier as SHA-1 of the RSAPublicKey bits: RFC 5280 4.2.1.2 method 1. The
  // fabric addresses its envelope to this value (KeyTransRecipientInfo v2, rid [0] subjectKeyIdentifier).
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', critical: true, keyEncipherment: true, dataEncipherment: true },
    { name: 'subjectKeyIdentifier' },
  ]);

  const der = signCertificate(cert, privateKey);
  const headerValue = der.toString('base64');
  return {
    keyPem: new Secret(privateKey),
    certPem: `-----BEGIN CERTIFICATE-----\n${headerValue.replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`,
    headerValue,
  };
}

/** 16 random bytes with the top bit clear (a positive INTEGER, RFC 5280 4.1.2.2) and a non-zero first byte (minimal DER). */
function positiveSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

/** Signs the TBSCertificate with node:crypto (native RSA, much faster than forge's JS) and returns the DER certificate. */
function signCertificate(cert: forge.pki.Certificate, privateKeyPem: string): Buffer {
  const sha256WithRsa = forge.pki.oids['sha256WithRSAEncryption']!;
  cert.siginfo.algorithmOid = sha256WithRsa;
  cert.signatureOid = sha256WithRsa;
  const tbs = (forge.pki as unknown as TbsBuilder).getTBSCertificate(cert);
  const signature = sign('sha256', Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary'), privateKeyPem);
  const { asn1 } = forge;
  const certificate = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(sha256WithRsa).getBytes()),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
    ]),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, '\x00' + signature.toString('binary')),
  ]);
  return Buffer.from(asn1.toDer(certificate).getBytes(), 'binary');
}

/** forge builds the TBSCertificate from the fields set above; @types/node-forge does not declare it. */
interface TbsBuilder {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
}
