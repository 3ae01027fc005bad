import { X509Certificate, createHash, createPrivateKey, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { derReader, type Asn1 } from './der.ts';
import { CertificateError } from '../errors.ts';
import { MAC_DIGESTS, MAX_ITERATIONS, isPkcs12PbeScheme, pkcs12Mac, pkcs12PbeDecrypt } from './pkcs12-pbe.ts';

/**
 * Reads the PKCS#12 (RFC 7292) inside the fabric's envelope: which certificates it holds and which of them
 * come with their private key. The SafeBag walk is ours so that each thumbprint is taken over the certificate
 * bytes exactly as stored (forge re-encodes certificates it parses). Key derivation and PKCS#12 PBE are in
 * pkcs12-pbe.ts on node:crypto, OpenSSL opens shrouded keys, forge is left with ASN.1 and PBES2.
 */

/** One certificate of the PFX, as Windows will list it after the import. */
export interface DecryptedCertificate {
  /** Uppercase hex SHA-1 of the certificate DER, as Windows and the fabric's certificateId show it. */
  thumbprint: string;
  /** The bag's friendlyName attribute, trailing NUL removed. */
  friendlyName: string | undefined;
  /** Subject RDNs in certificate order, e.g. "CN=CRP, OU=AzureRT, C=US" (domainComponent as DC=). */
  subject: string;
  /** True when a key bag of the PFX holds the private key of this certificate's public key. */
  hasPrivateKey: boolean;
}

/** What the PFX holds and the password that opened it. */
export interface Pkcs12Contents {
  /** '' (a BMPString NUL) and null (no bytes) are different PKCS#12 passwords; the fabric uses ''. */
  password: '' | null;
  certificates: DecryptedCertificate[];
}

type Password = '' | null;
const { Class, Type } = forge.asn1;

const OID_DATA = '1.2.840.113549.1.7.1';
const OID_ENCRYPTED_DATA = '1.2.840.113549.1.7.6';
const OID_KEY_BAG = '1.2.840.113549.1.12.10.1.1';
const OID_SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
const OID_CERT_BAG = '1.2.840.113549.1.12.10.1.3';
const OID_SAFE_CONTENTS_BAG = '1.2.840.113549.1.12.10.1.6';
const OID_X509_CERTIFICATE = '1.2.840.113549.1.9.22.1';
const OID_FRIENDLY_NAME = '1.2.840.113549.1.9.20';
const OID_PBES2 = '1.2.840.113549.1.5.13';

/** Thrown inside one password attempt; readPkcs12 catches it and tries the next password. */
class WrongPassword extends CertificateError {
  constructor() {
    super('PKCS#12: the MAC or a decryption check failed with this password');
  }
}

interface Bags {
  certificates: { der: Buffer; friendlyName: string | undefined }[];
  /** PKCS#8 DER, or the key OpenSSL already opened. */
  keys: (Buffer | KeyObject)[];
}

/** Opens a PFX with password '' and then null, and lists its certificates with thumbprints and key presence. */
export function readPkcs12(pfx: Uint8Array): Pkcs12Contents {
  // The same bytes are read again by whoever imports them (the sandbox checks its placements against
  // them): the key derivations are the costly part, so one buffer is read once.
  const known = opened.get(pfx);
  if (known !== undefined) return structuredClone(known);
  const root = parse(Buffer.from(pfx.buffer, pfx.byteOffset, pfx.byteLength).toString('binary'), 'PFX');
  for (const password of ['', null] as const) {
    let bags: Bags;
    try {
      bags = openPfx(root, password);
    } catch (error) {
      if (error instanceof WrongPassword) continue;
      throw error;
    }
    opened.set(pfx, { password, certificates: describe(bags) });
    return structuredClone(opened.get(pfx)!);
  }
  return fail('neither the empty password nor no password opens it (MAC or decryption check failed)');
}

const opened = new WeakMap<Uint8Array, Pkcs12Contents>();

/** PFX ::= SEQUENCE { version 3, authSafe ContentInfo (data), macData MacData OPTIONAL } */
function openPfx(root: Asn1, password: Password): Bags {
  const pfx = children(root, 'PFX');
  const version = integer(pfx[0], 'PFX version');
  if (version !== 3) fail(`PFX version is ${version}, not 3`);
  const authSafe = children(pfx[1], 'PFX authSafe');
  if (oid(authSafe[0], 'authSafe contentType') !== OID_DATA) fail('authSafe is not password-integrity "data" content (public-key integrity is not supported)');
  const data = bytes(children(authSafe[1], 'authSafe content')[0], 'authSafe content');
  if (pfx[2] !== undefined) verifyMac(pfx[2], data, password);

  const bags: Bags = { certificates: [], keys: [] };
  for (const contentInfo of children(parse(data, 'AuthenticatedSafe'), 'AuthenticatedSafe')) {
    const parts = children(contentInfo, 'AuthenticatedSafe ContentInfo');
    const type = oid(parts[0], 'AuthenticatedSafe contentType');
    const content = children(parts[1], 'AuthenticatedSafe content')[0];
    if (type === OID_DATA) {
      readSafeContents(bytes(content, 'SafeContents'), password, bags, 0);
    } else if (type === OID_ENCRYPTED_DATA) {
      // EncryptedData ::= SEQUENCE { version, EncryptedContentInfo { contentType, algorithm, [0] IMPLICIT content } }
      const info = children(children(content, 'EncryptedData')[1], 'EncryptedContentInfo');
      const encrypted = info[2];
      if (encrypted === undefined) fail('EncryptedData has no encryptedContent');
      readSafeContents(pbeDecrypt(info[1], bytes(encrypted, 'encryptedContent'), password), password, bags, 0);
    } else {
      fail(`AuthenticatedSafe content type ${oid(parts[0], 'contentType')} is not supported (public-key privacy)`);
    }
  }
  return bags;
}

/** MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }; HMAC key from the PKCS#12 KDF, ID 3. */
function verifyMac(macData: Asn1, data: string, password: Password): void {
  const fields = children(macData, 'MacData');
  const digestInfo = children(fields[0], 'MacData mac');
  const digestOid = oid(children(digestInfo[0], 'MAC digestAlgorithm')[0], 'MAC digestAlgorithm');
  const digest = MAC_DIGESTS[digestOid];
  if (digest === undefined) fail(`MAC digest ${digestOid} is not supported (SHA-1 or SHA-2 only)`);
  const expected = Buffer.from(bytes(digestInfo[1], 'MAC digest'), 'binary');
  const salt = Buffer.from(bytes(fields[1], 'macSalt'), 'binary');
  const iterations = checkedIterations(fields[2] === undefined ? 1 : integer(fields[2], 'MAC iterations'), 'MAC');
  const actual = pkcs12Mac(digest, password, salt, iterations, Buffer.from(data, 'binary'));
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw new WrongPassword();
}

/** SafeContents ::= SEQUENCE OF SafeBag { bagId, [0] EXPLICIT bagValue, bagAttributes SET OPTIONAL } */
function readSafeContents(der: string, password: Password, bags: Bags, depth: number): void {
  if (depth > 4) fail('SafeContents are nested too deeply');
  for (const safeBag of children(parse(der, 'SafeContents'), 'SafeContents')) {
    const parts = children(safeBag, 'SafeBag');
    const bagId = oid(parts[0], 'SafeBag bagId');
    const value = children(parts[1], 'SafeBag bagValue')[0];
    if (bagId === OID_CERT_BAG) {
      // CertBag ::= SEQUENCE { certId, [0] EXPLICIT certValue OCTET STRING }
      const certBag = children(value, 'CertBag');
      if (oid(certBag[0], 'CertBag certId') !== OID_X509_CERTIFICATE) continue; // SDSI certificates: nothing Windows imports
      const der = Buffer.from(bytes(children(certBag[1], 'CertBag certValue')[0], 'CertBag certValue'), 'binary');
      bags.certificates.push({ der, friendlyName: friendlyName(parts[2]) });
    } else if (bagId === OID_KEY_BAG) {
      bags.keys.push(Buffer.from(forge.asn1.toDer(value!).getBytes(), 'binary'));
    } else if (bagId === OID_SHROUDED_KEY_BAG) {
      bags.keys.push(openShroudedKey(value, password));
    } else if (bagId === OID_SAFE_CONTENTS_BAG) {
      readSafeContents(forge.asn1.toDer(value!).getBytes(), password, bags, depth + 1);
    }
    // crlBag and secretBag carry nothing to import.
  }
}

/**
 * EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm, encryptedData }. OpenSSL opens it natively when it can (one
 * 2000-iteration derivation per key is most of reading a PFX): its passphrase "" is our '' (BMPString NUL for PKCS#12
 * PBE, no bytes for PBES2), null has no passphrase form, and the count is checked first (OpenSSL has no cap). What
 * OpenSSL refuses is decrypted step by step, which tells a wrong password (padding) from a key that does not load.
 */
function openShroudedKey(value: Asn1 | undefined, password: Password): Buffer | KeyObject {
  const epki = children(value, 'EncryptedPrivateKeyInfo');
  if (password === '' && countWithinRange(epki[0])) {
    try {
      return createPrivateKey({ key: Buffer.from(forge.asn1.toDer(value!).getBytes(), 'binary'), format: 'der', type: 'pkcs8', passphrase: '' });
    } catch {
      // Decided below.
    }
  }
  return Buffer.from(pbeDecrypt(epki[0], bytes(epki[1], 'encryptedData'), password), 'binary');
}

/** Password-based decryption: PKCS#12 PBE in pkcs12-pbe.ts, PBES2 with forge; a padding failure means the wrong password. */
function pbeDecrypt(algorithm: Asn1 | undefined, ciphertext: string, password: Password): string {
  const parts = children(algorithm, 'encryption AlgorithmIdentifier');
  const algorithmOid = oid(parts[0], 'encryption algorithm');
  if (isPkcs12PbeScheme(algorithmOid)) {
    // pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }
    const params = children(parts[1], 'pkcs-12PbeParams');
    const salt = Buffer.from(bytes(params[0], 'pkcs-12PbeParams salt'), 'binary');
    const iterations = checkedIterations(integer(params[1], 'pkcs-12PbeParams iterations'), 'PBE');
    const plaintext = pkcs12PbeDecrypt(algorithmOid, salt, iterations, password, Buffer.from(ciphertext, 'binary'));
    if (plaintext === undefined) throw new WrongPassword();
    return plaintext.toString('binary');
  }
  let cipher: forge.cipher.BlockCipher;
  try {
    cipher = (forge.pki as unknown as PbeModule).pbe.getCipher(algorithmOid, parts[1], password);
  } catch (error) {
    if (/unsupported/i.test(error instanceof Error ? error.message : '')) fail(`encryption algorithm ${algorithmOid} is not supported`);
    throw new WrongPassword();
  }
  cipher.update(forge.util.createBuffer(ciphertext));
  if (!cipher.finish()) throw new WrongPassword();
  return cipher.output.getBytes();
}

/** True when the iteration count of a PKCS#12 PBE or PBES2 (PBKDF2) algorithm is readable and in range. */
function countWithinRange(algorithm: Asn1 | undefined): boolean {
  try {
    const [id, params] = children(algorithm, 'encryption AlgorithmIdentifier');
    // pkcs-12PbeParams { salt, iterations }; PBES2-params { keyDerivationFunc { id-PBKDF2, { salt, iterationCount, ... } }, encryptionScheme }
    const count = isPkcs12PbeScheme(oid(id, 'algorithm')) ? children(params, 'PBE params')[1]
      : oid(id, 'algorithm') === OID_PBES2 ? children(children(children(params, 'PBES2')[0], 'KDF')[1], 'PBKDF2')[1] : undefined;
    return count !== undefined && checkedIterations(integer(count, 'iteration count'), 'PBE') > 0;
  } catch {
    return false;
  }
}

function checkedIterations(iterations: number, what: string): number {
  if (iterations < 1 || iterations > MAX_ITERATIONS) fail(`${what} iteration count ${iterations} is out of range`);
  return iterations;
}

/** forge's password-based cipher factory; @types/node-forge does not declare pki.pbe. */
interface PbeModule {
  pbe: { getCipher(oid: string, params: Asn1 | undefined, password: Password): forge.cipher.BlockCipher };
}

function friendlyName(attributes: Asn1 | undefined): string | undefined {
  if (attributes === undefined) return undefined;
  for (const attribute of children(attributes, 'bagAttributes')) {
    const parts = children(attribute, 'bagAttribute');
    if (oid(parts[0], 'bagAttribute type') !== OID_FRIENDLY_NAME) continue;
    const value = children(parts[1], 'friendlyName')[0];
    // forge decodes a BMPString into UTF-16 code units; Windows writes the name with a terminating NUL.
    return typeof value?.value === 'string' ? value.value.replace(/\0+$/, '') : undefined;
  }
  return undefined;
}

/** Thumbprint, subject and key presence of each certificate. */
function describe(bags: Bags): DecryptedCertificate[] {
  const keys: KeyObject[] = [];
  for (const der of bags.keys) {
    try {
      keys.push(Buffer.isBuffer(der) ? createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) : der);
    } catch {
      // A key node:crypto cannot load matches no certificate; Windows decides on import.
    }
  }
  return bags.certificates.map(({ der, friendlyName }, index) => {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der);
    } catch {
      return fail(`certificate bag ${index + 1} is not a valid X.509 certificate`);
    }
    return {
      thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase(),
      friendlyName,
      // node prints one RDN per line in certificate order (RFC 4514 escaping, multi-valued RDNs joined by " + ").
      subject: cert.subject.split('\n').join(', '),
      hasPrivateKey: keys.some((key) => matches(cert, key)),
    };
  });
}

function matches(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false; // different key types
  }
}

// ---- ASN.1 reading: der.ts, with this module's error prefix.

const { parse, children, universal, oid, bytes, fail: failWith } = derReader('PKCS#12');

// A declared function, so the compiler sees that it never returns.
function fail(rule: string): never {
  return failWith(rule);
}

function integer(node: Asn1 | undefined, what: string): number {
  const value = universal(node, Type.INTEGER, what).value;
  if (typeof value !== 'string' || value.length === 0 || value.length > 4) fail(`${what} is out of range`);
  return forge.asn1.derToInteger(value as string);
}
