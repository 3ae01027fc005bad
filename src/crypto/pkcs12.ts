import { X509Certificate, createHash, createPrivateKey, createPublicKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { derReader, type Asn1 } from './der.ts';
import { CertificateError, CertificateRefusedError } from '../errors.ts';
import { MAC_DIGESTS, pkcs12Mac } from './pkcs12-pbe.ts';
import { readPbeAlgorithm, type Password, type PbeAlgorithm } from './pbe.ts';
import { checkedKeyObject, checkedPrivateKey } from './private-key-info.ts';
import { MAX_AUTHENTICATED_SAFE_ENTRIES, MAX_ENCRYPTED_DATA, MAX_SAFE_BAGS, WorkBudget, checkedIterations, work } from './work-budget.ts';

/**
 * Reads the PKCS#12 (RFC 7292) inside the fabric's envelope: which certificates it holds and which of them
 * come with their private key. The SafeBag walk is ours so that each thumbprint is taken over the certificate
 * bytes exactly as stored (forge re-encodes certificates it parses). Every derivation is priced and charged
 * to the step's WorkBudget before it runs (pbe.ts, work-budget.ts), and so is every ASN.1 value forge builds
 * (der.ts); forge is left with ASN.1. Keys reach node:crypto only once private-key-info.ts has checked them.
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

const { Class, Type } = forge.asn1;

const OID_DATA = '1.2.840.113549.1.7.1';
const OID_ENCRYPTED_DATA = '1.2.840.113549.1.7.6';
const OID_KEY_BAG = '1.2.840.113549.1.12.10.1.1';
const OID_SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
const OID_CERT_BAG = '1.2.840.113549.1.12.10.1.3';
const OID_SAFE_CONTENTS_BAG = '1.2.840.113549.1.12.10.1.6';
const OID_X509_CERTIFICATE = '1.2.840.113549.1.9.22.1';
const OID_FRIENDLY_NAME = '1.2.840.113549.1.9.20';

/** Thrown inside one password attempt; readPkcs12 catches it and tries the next password. */
class WrongPassword extends CertificateError {
  constructor() {
    super('PKCS#12: the MAC or a decryption check failed with this password');
  }
}

interface Bags {
  certificates: { der: Buffer; friendlyName: string | undefined }[];
  /** Checked PKCS#8 DER (private-key-info.ts), or a key OpenSSL opened and its type was checked on. */
  keys: (Buffer | KeyObject)[];
  /** SafeBags read so far, nested ones included (MAX_SAFE_BAGS). */
  count: number;
}

/**
 * Opens a PFX with password '' and then null, and lists its certificates with thumbprints and key presence.
 * A password attempt that fails (wrong password, or a structure only reached with it that is malformed) moves
 * on to the next and only the last failure is reported; a refusal (work-budget.ts) or the deadline ends it.
 */
export function readPkcs12(pfx: Uint8Array, budget: WorkBudget = new WorkBudget()): Pkcs12Contents {
  // The same bytes are read again by whoever imports them (the sandbox checks its placements against
  // them): the key derivations are the costly part, so one buffer is read once.
  const known = opened.get(pfx);
  if (known !== undefined) return structuredClone(known);
  const root = parse(Buffer.from(pfx.buffer, pfx.byteOffset, pfx.byteLength).toString('binary'), 'PFX', budget);
  let last: CertificateError | undefined;
  for (const password of ['', null] as const) {
    let contents: Pkcs12Contents;
    try {
      contents = { password, certificates: describe(openPfx(root, password, budget), budget) };
    } catch (error) {
      if (!(error instanceof CertificateError) || error instanceof CertificateRefusedError) throw error;
      last = error;
      continue;
    }
    opened.set(pfx, contents);
    return structuredClone(contents);
  }
  if (last instanceof WrongPassword) fail('neither the empty password nor no password opens it (MAC or decryption check failed)');
  throw last!;
}

const opened = new WeakMap<Uint8Array, Pkcs12Contents>();

/** PFX ::= SEQUENCE { version 3, authSafe ContentInfo (data), macData MacData OPTIONAL } */
function openPfx(root: Asn1, password: Password, budget: WorkBudget): Bags {
  const data = within('PFX', () => {
    const pfx = children(root, 'PFX');
    const version = integer(pfx[0], 'PFX version');
    if (version !== 3) fail(`PFX version is ${version}, not 3`);
    const authSafe = children(pfx[1], 'PFX authSafe');
    if (oid(authSafe[0], 'authSafe contentType') !== OID_DATA) fail('authSafe is not password-integrity "data" content (public-key integrity is not supported)');
    const content = bytes(children(authSafe[1], 'authSafe content')[0], 'authSafe content');
    if (pfx[2] !== undefined) within('PFX MacData', () => verifyMac(pfx[2]!, content, password, budget));
    return content;
  });

  const bags: Bags = { certificates: [], keys: [], count: 0 };
  const entries = within('AuthenticatedSafe', () => children(parse(data, 'AuthenticatedSafe', budget), 'AuthenticatedSafe'));
  if (entries.length > MAX_AUTHENTICATED_SAFE_ENTRIES) refuse(`the AuthenticatedSafe has ${entries.length} entries, over the limit of ${MAX_AUTHENTICATED_SAFE_ENTRIES}`);
  let encryptedData = 0;
  for (const [index, contentInfo] of entries.entries()) {
    const where = `AuthenticatedSafe[${index}]`;
    budget.checkClock();
    within(where, () => {
      const parts = children(contentInfo, `${where} ContentInfo`);
      const type = oid(parts[0], `${where} contentType`);
      const content = children(parts[1], `${where} content`)[0];
      if (type === OID_DATA) {
        readSafeContents(bytes(content, `${where} SafeContents`), password, bags, budget, `${where}.SafeContents`);
      } else if (type === OID_ENCRYPTED_DATA) {
        encryptedData += 1;
        if (encryptedData > MAX_ENCRYPTED_DATA) refuse(`the AuthenticatedSafe has more than ${MAX_ENCRYPTED_DATA} EncryptedData entries`);
        const plaintext = within(`${where}.EncryptedData`, () => {
          // EncryptedData ::= SEQUENCE { version, EncryptedContentInfo { contentType, algorithm, [0] IMPLICIT content } }
          const info = children(children(content, `${where}.EncryptedData`)[1], `${where}.EncryptedData EncryptedContentInfo`);
          if (info[2] === undefined) fail(`${where}.EncryptedData has no encryptedContent`);
          return pbeDecrypt(readPbeAlgorithm(info[1], `${where}.EncryptedData`), bytes(info[2], `${where}.EncryptedData encryptedContent`), password, budget, `${where}.EncryptedData`).toString('binary');
        });
        readSafeContents(plaintext, password, bags, budget, `${where}.EncryptedData.SafeContents`);
      } else {
        fail(`${where} content type ${type} is not supported (public-key privacy)`);
      }
    });
  }
  return bags;
}

/** MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }; HMAC key from the PKCS#12 KDF, ID 3. */
function verifyMac(macData: Asn1, data: string, password: Password, budget: WorkBudget): void {
  const fields = children(macData, 'MacData');
  const digestInfo = children(fields[0], 'MacData mac');
  const digestOid = oid(children(digestInfo[0], 'MAC digestAlgorithm')[0], 'MAC digestAlgorithm');
  const digest = MAC_DIGESTS[digestOid];
  if (digest === undefined) fail(`MAC digest ${digestOid} is not supported (SHA-1 or SHA-2 only)`);
  const expected = Buffer.from(bytes(universal(digestInfo[1], Type.OCTETSTRING, 'MAC digest'), 'MAC digest'), 'binary');
  const salt = Buffer.from(bytes(universal(fields[1], Type.OCTETSTRING, 'macSalt'), 'macSalt'), 'binary');
  const iterations = checkedIterations(fields[2] === undefined ? 1 : integer(fields[2], 'MAC iterations'), 'MAC');
  budget.charge(work(iterations, digest.length, digest.length), 'the MAC');
  const actual = pkcs12Mac(digest, password, salt, iterations, Buffer.from(data, 'binary'));
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw new WrongPassword();
}

/** SafeContents ::= SEQUENCE OF SafeBag { bagId, [0] EXPLICIT bagValue, bagAttributes SET OPTIONAL } */
function readSafeContents(der: string, password: Password, bags: Bags, budget: WorkBudget, where: string): void {
  readSafeBags(within(where, () => parse(der, where, budget)), password, bags, budget, where, 0);
}

/**
 * The SafeBags of a SafeContents already parsed. A safeContentsBag (RFC 7292 4.2.6) holds its SafeContents as
 * a value, not as bytes, so a nested one is walked in the tree it came in: encoding it again to parse it
 * would hold a copy of the subtree per level (a 4 MB blob nested four deep took 1.7 GB).
 */
function readSafeBags(safeContents: Asn1 | undefined, password: Password, bags: Bags, budget: WorkBudget, where: string, depth: number): void {
  if (depth > 4) fail(`${where} is nested too deeply`);
  const safeBags = within(where, () => children(safeContents, where));
  for (const [index, safeBag] of safeBags.entries()) {
    bags.count += 1;
    if (bags.count > MAX_SAFE_BAGS) refuse(`the PFX holds more than ${MAX_SAFE_BAGS} SafeBags`);
    budget.checkClock();
    const bag = `${where}[${index}]`;
    within(bag, () => {
      const parts = children(safeBag, `${bag} SafeBag`);
      const bagId = oid(parts[0], `${bag} bagId`);
      const value = children(parts[1], `${bag} bagValue`)[0];
      if (bagId === OID_CERT_BAG) {
        // CertBag ::= SEQUENCE { certId, [0] EXPLICIT certValue OCTET STRING }
        const certBag = children(value, `${bag} CertBag`);
        if (oid(certBag[0], `${bag} CertBag certId`) !== OID_X509_CERTIFICATE) return; // SDSI certificates: nothing Windows imports
        const der = Buffer.from(bytes(children(certBag[1], `${bag} CertBag certValue`)[0], `${bag} CertBag certValue`), 'binary');
        bags.certificates.push({ der, friendlyName: friendlyName(parts[2], bag) });
      } else if (bagId === OID_KEY_BAG) {
        bags.keys.push(checkedPrivateKey(value!, `${bag}.PrivateKeyInfo`, budget));
      } else if (bagId === OID_SHROUDED_KEY_BAG) {
        bags.keys.push(openShroudedKey(value, password, budget, `${bag}.EncryptedPrivateKeyInfo`));
      } else if (bagId === OID_SAFE_CONTENTS_BAG) {
        readSafeBags(value, password, bags, budget, `${bag}.SafeContents`, depth + 1);
      }
      // crlBag and secretBag carry nothing to import.
    });
  }
}

/**
 * Shrouded keys of at most this many encrypted bytes are opened by OpenSSL, natively: its PKCS#12 key derivation
 * is several times faster than winprov's, and that derivation is most of reading a PFX with 50 keys. An RSA-4096
 * key is 2,374 bytes of PKCS#8. The costliest key that fits (DSA without its public value, p and x a third of
 * the bytes each: OpenSSL computes g^x mod p on load) took 0.26 s here, so the cost stays bounded, the clock is
 * checked between keys, and the key's type is checked as soon as it is loaded. Larger ones are decrypted by
 * winprov and checked before anything loads them (private-key-info.ts).
 */
export const NATIVE_KEY_MAX_BYTES = 2_560;

/**
 * EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm, encryptedData } (RFC 5208 section 6). Its
 * algorithm is checked and charged first (pbe.ts). A small one is opened by OpenSSL (above): its passphrase ""
 * is our '' (BMPString NUL for PKCS#12 PBE, no bytes for PBES2), and null has no passphrase form. Anything else,
 * or what OpenSSL refuses, is decrypted here, which tells a wrong password (padding) from a key that does not load.
 */
function openShroudedKey(value: Asn1 | undefined, password: Password, budget: WorkBudget, where: string): Buffer | KeyObject {
  const epki = children(value, where);
  const algorithm = readPbeAlgorithm(epki[0], where);
  const encrypted = bytes(universal(epki[1], Type.OCTETSTRING, `${where} encryptedData`), `${where} encryptedData`);
  if (password === '' && encrypted.length <= NATIVE_KEY_MAX_BYTES) {
    budget.charge(algorithm.work, `${where} (${algorithm.name})`);
    let key: KeyObject | undefined;
    try {
      key = createPrivateKey({ key: Buffer.from(forge.asn1.toDer(value!).getBytes(), 'binary'), format: 'der', type: 'pkcs8', passphrase: '' });
    } catch {
      // Decided below.
    }
    if (key !== undefined) return checkedKeyObject(key, `${where}.PrivateKeyInfo`);
  }
  const plaintext = pbeDecrypt(algorithm, encrypted, password, budget, where);
  return checkedPrivateKey(parse(plaintext, `${where} PrivateKeyInfo`, budget), `${where}.PrivateKeyInfo`, budget);
}

/** Password-based decryption with an algorithm read and checked (pbe.ts), charged first; a padding failure means the wrong password. */
function pbeDecrypt(algorithm: PbeAlgorithm, ciphertext: string, password: Password, budget: WorkBudget, where: string): Buffer {
  budget.charge(algorithm.work, `${where} (${algorithm.name})`);
  const plaintext = algorithm.decrypt(password, Buffer.from(ciphertext, 'binary'));
  if (plaintext === undefined) throw new WrongPassword();
  return plaintext;
}

function friendlyName(attributes: Asn1 | undefined, bag: string): string | undefined {
  if (attributes === undefined) return undefined;
  for (const attribute of children(attributes, `${bag} bagAttributes`)) {
    const parts = children(attribute, `${bag} bagAttribute`);
    if (oid(parts[0], `${bag} bagAttribute type`) !== OID_FRIENDLY_NAME) continue;
    const value = children(parts[1], `${bag} friendlyName`)[0];
    // forge decodes a BMPString into UTF-16 code units; Windows writes the name with a terminating NUL.
    return typeof value?.value === 'string' ? value.value.replace(/\0+$/, '') : undefined;
  }
  return undefined;
}

/**
 * Thumbprint, subject and key presence of each certificate. Keys are matched to certificates by their public
 * key (SPKI DER), one lookup per certificate: pairing every key with every certificate would let a PFX of
 * thousands of small bags cost millions of checks.
 */
function describe(bags: Bags, budget: WorkBudget): DecryptedCertificate[] {
  const keys = new Set<string>();
  for (const der of bags.keys) {
    budget.checkClock();
    try {
      const key = der instanceof Buffer ? createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) : der;
      keys.add(createPublicKey(key).export({ type: 'spki', format: 'der' }).toString('binary'));
    } catch {
      // A checked key node:crypto still cannot load (d out of range ...) matches no certificate; Windows decides on import.
    }
  }
  return bags.certificates.map(({ der, friendlyName }, index) => within(`certificate bag ${index + 1}`, () => {
    budget.checkClock();
    let cert: X509Certificate;
    let publicKey: string;
    try {
      cert = new X509Certificate(der);
      publicKey = cert.publicKey.export({ type: 'spki', format: 'der' }).toString('binary');
    } catch {
      return fail(`certificate bag ${index + 1} is not a valid X.509 certificate`);
    }
    return {
      thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase(),
      friendlyName,
      // node prints one RDN per line in certificate order (RFC 4514 escaping, multi-valued RDNs joined by " + ");
      // an empty subject is undefined.
      subject: (cert.subject ?? '').split('\n').join(', '),
      hasPrivateKey: keys.has(publicKey),
    };
  }));
}

// ---- ASN.1 reading: der.ts, with this module's error prefix.

const { parse, children, universal, oid, bytes, integer, within, fail: failWith } = derReader('PKCS#12');

// A declared function, so the compiler sees that it never returns.
function fail(rule: string): never {
  return failWith(rule);
}

function refuse(rule: string): never {
  throw new CertificateRefusedError(`PKCS#12: ${rule}`, { context: { limit: 'count' } });
}
