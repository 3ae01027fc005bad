import { createCipheriv, createHash, createHmac, generateKeyPair, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { seq, objectId, integer, octets, nullValue, toDer } from './asn1.ts';

/**
 * The tenant certificates the simulated fabric hands out, packed like the real fabric's PFX: PKCS#12
 * (RFC 7292) with the empty-string password, pbeWithSHAAnd3-KeyTripleDES-CBC for the key bags and for the
 * encrypted certificate SafeContents, a SHA-1 MAC, 2000 iterations. The PKCS#12 key derivation is our own
 * (node:crypto hashes), independent of forge's, which the agent uses to read it.
 *
 * count = 0 yields a valid PFX whose AuthenticatedSafe is empty (MAC still present); the simulated fabric
 * leaves the Certificates URL out of the goal state instead, as the real one does, so it only serves tests.
 */

/** One generated certificate as the agent should report it after decrypting the PFX. */
export interface TenantCertificate {
  thumbprint: string;
  friendlyName: string;
  subject: string;
  hasPrivateKey: boolean;
}

/** A PFX and what it holds. */
export interface GeneratedCertificates {
  /** PKCS#12, password '' (empty string), 3DES bags, SHA-1 MAC, like the fabric's. */
  pfx: Uint8Array;
  certificates: TenantCertificate[];
}

interface PooledKey {
  privateKey: KeyObject;
  /** PKCS#8 PrivateKeyInfo DER. */
  pkcs8: Buffer;
  /** forge's view of the public key, for the certificate body. */
  publicKey: forge.pki.PublicKey;
  /** The shrouded key (EncryptedPrivateKeyInfo), made once: its 2000-iteration KDF is most of the per-certificate cost. */
  shrouded?: forge.asn1.Asn1;
}

const { asn1 } = forge;
const { Class, Type } = asn1;

const OID_DATA = '1.2.840.113549.1.7.1';
const OID_ENCRYPTED_DATA = '1.2.840.113549.1.7.6';
const OID_SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
const OID_CERT_BAG = '1.2.840.113549.1.12.10.1.3';
const OID_X509_CERTIFICATE = '1.2.840.113549.1.9.22.1';
const OID_FRIENDLY_NAME = '1.2.840.113549.1.9.20';
const OID_LOCAL_KEY_ID = '1.2.840.113549.1.9.21';
const OID_PBE_SHA1_3DES = '1.2.840.113549.1.12.1.3';
const OID_SHA1 = '1.3.14.3.2.26';
const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const ITERATIONS = 2000;
const MAX_COUNT = 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

const generateRsaKeyPair = promisify(generateKeyPair);
/**
 * RSA-2048 generation costs 50-200 ms, so key pairs (and their shrouded key bags) are reused across calls
 * within the process: a benchmark asks for 50 certificates. Certificates themselves are new on every call.
 */
const keyPool: Promise<PooledKey>[] = [];

/** Generates `count` self-signed tenant certificates (TenantCert<i>, CN=winprov-sim-tenant-<i>) and their PFX. */
export async function generateTenantCertificates(count: number): Promise<GeneratedCertificates> {
  if (!Number.isInteger(count) || count < 0 || count > MAX_COUNT) {
    throw new RangeError(`tenant certificate count must be an integer from 0 to ${MAX_COUNT}, got ${count}`);
  }
  const keys = await pooledKeys(count);
  const password = bmpPassword('');
  const keyBags: forge.asn1.Asn1[] = [];
  const certBags: forge.asn1.Asn1[] = [];
  const certificates: TenantCertificate[] = [];
  for (const [i, key] of keys.entries()) {
    const friendlyName = `TenantCert${i}`;
    const subject = `CN=winprov-sim-tenant-${i}`;
    // Like the fabric's sample, whose second certificate comes without its key.
    const hasPrivateKey = !(count >= 2 && i === count - 1);
    const der = selfSignedCertificate(key, `winprov-sim-tenant-${i}`);
    const localKeyId = Buffer.alloc(4);
    localKeyId.writeUInt32LE(i + 1); // the fabric numbers its keys 01 00 00 00, 02 00 00 00 ...
    const attributes = [attribute(OID_FRIENDLY_NAME, asn1.create(Class.UNIVERSAL, Type.BMPSTRING, false, friendlyName))];
    if (hasPrivateKey) {
      attributes.unshift(attribute(OID_LOCAL_KEY_ID, octets(localKeyId)));
      key.shrouded ??= shroud(key.pkcs8, password);
      keyBags.push(safeBag(OID_SHROUDED_KEY_BAG, key.shrouded, attributes));
    }
    const certBag = seq([objectId(OID_X509_CERTIFICATE), explicit0(octets(der))]);
    certBags.push(safeBag(OID_CERT_BAG, certBag, attributes));
    const thumbprint = createHash('sha1').update(der).digest('hex').toUpperCase();
    certificates.push({ thumbprint, friendlyName, subject, hasPrivateKey });
  }

  // AuthenticatedSafe: the key bags as plain data (each bag is shrouded), the certificates in EncryptedData.
  const authenticatedSafe: forge.asn1.Asn1[] = [];
  if (keyBags.length > 0) {
    authenticatedSafe.push(seq([objectId(OID_DATA), explicit0(octets(toDer(seq(keyBags))))]));
  }
  if (certBags.length > 0) {
    const encrypted = pbeEncrypt(toDer(seq(certBags)), password);
    const encryptedContentInfo = seq([objectId(OID_DATA), encrypted.algorithm, asn1.create(Class.CONTEXT_SPECIFIC, 0, false, encrypted.ciphertext.toString('binary'))]);
    authenticatedSafe.push(seq([objectId(OID_ENCRYPTED_DATA), explicit0(seq([integer(0), encryptedContentInfo]))]));
  }
  const authSafeDer = toDer(seq(authenticatedSafe));

  // MacData: HMAC-SHA-1 over the AuthenticatedSafe with the KDF's MAC key (ID 3), RFC 7292 appendix B.
  const macSalt = randomBytes(20);
  const macKey = pkcs12Kdf(password, macSalt, 3, ITERATIONS, 20);
  const mac = createHmac('sha1', macKey).update(authSafeDer).digest();
  const macData = seq([seq([seq([objectId(OID_SHA1), nullValue()]), octets(mac)]), octets(macSalt), integer(ITERATIONS)]);

  const pfx = seq([integer(3), seq([objectId(OID_DATA), explicit0(octets(authSafeDer))]), macData]);
  return { pfx: new Uint8Array(toDer(pfx)), certificates };
}

/** The first `count` keys of the pool, generating the missing ones in parallel on the thread pool. */
async function pooledKeys(count: number): Promise<PooledKey[]> {
  while (keyPool.length < count) {
    const entry = newKey();
    keyPool.push(entry);
    // A failed generation leaves the pool so that a later call tries again.
    entry.catch(() => {
      const index = keyPool.indexOf(entry);
      if (index >= 0) keyPool.splice(index, 1);
    });
  }
  return Promise.all(keyPool.slice(0, count));
}

async function newKey(): Promise<PooledKey> {
  const { publicKey, privateKey } = await generateRsaKeyPair('rsa', { modulusLength: 2048 });
  return {
    privateKey,
    pkcs8: privateKey.export({ type: 'pkcs8', format: 'der' }),
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  };
}

/** A self-signed sha256WithRSAEncryption certificate; the body by forge, the signature by node:crypto (fast). */
function selfSignedCertificate(key: PooledKey, commonName: string): Buffer {
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.publicKey;
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, minimal DER
  cert.serialNumber = serial.toString('hex');
  const now = Date.now();
  cert.validity.notBefore = new Date(now - DAY_MS);
  cert.validity.notAfter = new Date(now + 365 * DAY_MS);
  cert.setSubject([{ shortName: 'CN', value: commonName }]);
  cert.setIssuer([{ shortName: 'CN', value: commonName }]);
  cert.setExtensions([{ name: 'subjectKeyIdentifier' }]);
  cert.siginfo.algorithmOid = OID_SHA256_WITH_RSA;
  const tbs = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  const tbsDer = toDer(tbs);
  const signature = sign('sha256', tbsDer, key.privateKey);
  const signatureBits = asn1.create(Class.UNIVERSAL, Type.BITSTRING, false, `\x00${signature.toString('binary')}`);
  return toDer(seq([tbs, seq([objectId(OID_SHA256_WITH_RSA), nullValue()]), signatureBits]));
}

/** EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm, encryptedData } (RFC 5208 section 6). */
function shroud(pkcs8: Buffer, password: Buffer): forge.asn1.Asn1 {
  const encrypted = pbeEncrypt(pkcs8, password);
  return seq([encrypted.algorithm, octets(encrypted.ciphertext)]);
}

/** pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 appendix C): key from KDF ID 1, IV from ID 2. */
function pbeEncrypt(plaintext: Buffer, password: Buffer): { algorithm: forge.asn1.Asn1; ciphertext: Buffer } {
  const salt = randomBytes(8);
  const key = pkcs12Kdf(password, salt, 1, ITERATIONS, 24);
  const iv = pkcs12Kdf(password, salt, 2, ITERATIONS, 8);
  const cipher = createCipheriv('des-ede3-cbc', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { algorithm: seq([objectId(OID_PBE_SHA1_3DES), seq([octets(salt), integer(ITERATIONS)])]), ciphertext };
}

/** The password as PKCS#12 wants it: BMPString (UTF-16BE) with a two-byte NUL terminator, so '' is 00 00. */
function bmpPassword(password: string): Buffer {
  return Buffer.from(`${password}\0`, 'utf16le').swap16();
}

/** RFC 7292 appendix B.2 key derivation with SHA-1 (u = 20, v = 64). */
function pkcs12Kdf(password: Buffer, salt: Buffer, id: 1 | 2 | 3, iterations: number, length: number): Buffer {
  const v = 64;
  const diversifier = Buffer.alloc(v, id);
  const input = Buffer.concat([repeatToBlocks(salt, v), repeatToBlocks(password, v)]);
  const blocks: Buffer[] = [];
  for (let produced = 0; produced < length; produced += 20) {
    let a = createHash('sha1').update(diversifier).update(input).digest();
    for (let round = 1; round < iterations; round += 1) a = createHash('sha1').update(a).digest();
    blocks.push(a);
    if (produced + 20 >= length) break;
    // I_j = (I_j + B + 1) mod 2^(8v) for every v-byte block of I, B being A repeated to v bytes.
    const b = repeatToBlocks(a, v);
    for (let offset = 0; offset < input.length; offset += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k -= 1) {
        const sum = input[offset + k]! + b[k]! + carry;
        input[offset + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** Repeats the bytes to fill whole v-byte blocks (RFC 7292 B.2 steps 2 and 3); empty stays empty. */
function repeatToBlocks(bytes: Buffer, v: number): Buffer {
  const out = Buffer.alloc(v * Math.ceil(bytes.length / v));
  for (let i = 0; i < out.length; i += 1) out[i] = bytes[i % bytes.length]!;
  return out;
}

function safeBag(bagId: string, value: forge.asn1.Asn1, attributes: forge.asn1.Asn1[]): forge.asn1.Asn1 {
  return seq([objectId(bagId), explicit0(value), asn1.create(Class.UNIVERSAL, Type.SET, true, attributes)]);
}

function attribute(oid: string, value: forge.asn1.Asn1): forge.asn1.Asn1 {
  return seq([objectId(oid), asn1.create(Class.UNIVERSAL, Type.SET, true, [value])]);
}

function explicit0(value: forge.asn1.Asn1): forge.asn1.Asn1 {
  return asn1.create(Class.CONTEXT_SPECIFIC, 0, true, [value]);
}






