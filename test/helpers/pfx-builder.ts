import { createCipheriv, createHash, createHmac, generateKeyPairSync, pbkdf2Sync, randomBytes, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { seq, objectId, integer, octets, nullValue, toDer, type Asn1 } from '../../src/simulator/asn1.ts';
import * as der from '../../src/crypto/der-writer.ts';

/**
 * PFX files of any shape, for the limits and hostile-input tests: the MAC, the shrouded key's PBE (PKCS#12
 * PBE, PBES2 with PBKDF2 or scrypt), iteration counts and how often structures repeat. The PKCS#12 KDF here is
 * forge's, independent of the agent's (src/crypto/pkcs12-pbe.ts).
 */

const { asn1 } = forge;
const { Class, Type } = asn1;

export const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  safeContentsBag: '1.2.840.113549.1.12.10.1.6',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  pbeSha1TripleDes: '1.2.840.113549.1.12.1.3',
  pbeSha1Rc2_40: '1.2.840.113549.1.12.1.6',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  scrypt: '1.3.6.1.4.1.11591.4.11',
  hmacWithSha1: '1.2.840.113549.2.7',
  hmacWithSha256: '1.2.840.113549.2.9',
  hmacWithSha512: '1.2.840.113549.2.11',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

export type KeyProtection =
  | { scheme: 'pbe-3des'; iterations: number }
  | { scheme: 'pbe-rc2'; iterations: number }
  | { scheme: 'pbes2'; iterations: number; prf?: 'sha1' | 'sha256' | 'sha512' }
  | { scheme: 'pbes2-scrypt'; cost: number; blockSize: number; parallelization: number };

export interface PfxShape {
  /** '' (BMPString NUL, the fabric's) or null (no bytes). */
  password?: '' | null;
  /** The MacData; false leaves it out. */
  mac?: { iterations: number; digest?: 'sha1' | 'sha256' } | false;
  /** How the private key is shrouded, and how many copies of its bag the PFX holds. */
  key?: KeyProtection;
  keyBags?: number;
  /** The certificate's EncryptedData (PKCS#12 PBE 3DES) and how many times the AuthenticatedSafe repeats it. */
  certificateIterations?: number;
  encryptedDataRepeats?: number;
}

interface Material {
  privateKey: KeyObject;
  certDer: Buffer;
  thumbprint: string;
}

let material: Material | undefined;

/** A new RSA-2048 key and a self-signed certificate for it (made by forge), with its DER and SHA-1 thumbprint. */
export function selfSigned(commonName: string, serialNumber: string): { privateKey: KeyObject; key: forge.pki.rsa.PrivateKey; cert: forge.pki.Certificate; certDer: Buffer; thumbprint: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = serialNumber;
  cert.setSubject([{ shortName: 'CN', value: commonName }]);
  cert.setIssuer([{ shortName: 'CN', value: commonName }]);
  cert.sign(key, forge.md.sha256.create());
  const certDer = Buffer.from(toDer(forge.pki.certificateToAsn1(cert)));
  return { privateKey, key, cert, certDer, thumbprint: createHash('sha1').update(certDer).digest('hex').toUpperCase() };
}

/** One RSA key and self-signed certificate per process: the shapes vary, the key does not need to. */
function tenant(): Material {
  material ??= selfSigned('shaped', '0c');
  return material;
}

/** The PKCS#12 KDF (RFC 7292 appendix B) by forge. */
export function forgeKdf(password: '' | null, salt: Buffer, id: 1 | 2 | 3, iterations: number, length: number, digest: 'sha1' | 'sha256' = 'sha1'): Buffer {
  const md = digest === 'sha1' ? forge.md.sha1.create() : forge.md.sha256.create();
  return Buffer.from(forge.pkcs12.generateKey(password, forge.util.createBuffer(salt.toString('binary')), id, iterations, id === 3 ? (digest === 'sha1' ? 20 : 32) : length, md).getBytes(), 'binary');
}

/** pkcs-12PbeParams encryption with 3DES or 40-bit RC2 (RFC 7292 appendix C). */
export function pkcs12PbeEncrypt(scheme: 'pbe-3des' | 'pbe-rc2', password: '' | null, salt: Buffer, iterations: number, plaintext: Buffer): { algorithm: Asn1; ciphertext: Buffer } {
  const rc2 = scheme === 'pbe-rc2';
  const key = forgeKdf(password, salt, 1, iterations, rc2 ? 5 : 24);
  const iv = forgeKdf(password, salt, 2, iterations, 8);
  let ciphertext: Buffer;
  if (rc2) {
    const cipher = forge.rc2.createEncryptionCipher(key.toString('binary'), 40);
    cipher.start(iv.toString('binary'));
    cipher.update(forge.util.createBuffer(plaintext.toString('binary')));
    cipher.finish();
    ciphertext = Buffer.from(cipher.output.getBytes(), 'binary');
  } else {
    const cipher = createCipheriv('des-ede3-cbc', key, iv);
    ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  }
  const algorithm = seq([objectId(rc2 ? OID.pbeSha1Rc2_40 : OID.pbeSha1TripleDes), seq([octets(salt), integer(iterations)])]);
  return { algorithm, ciphertext };
}

/** EncryptedPrivateKeyInfo for the key, protected as asked (a scrypt one is never meant to be opened). */
function shroud(protection: KeyProtection, password: '' | null, pkcs8: Buffer): Asn1 {
  const salt = randomBytes(8);
  if (protection.scheme === 'pbe-3des' || protection.scheme === 'pbe-rc2') {
    const { algorithm, ciphertext } = pkcs12PbeEncrypt(protection.scheme, password, salt, protection.iterations, pkcs8);
    return seq([algorithm, octets(ciphertext)]);
  }
  const iv = randomBytes(16);
  if (protection.scheme === 'pbes2-scrypt') {
    // scrypt-params ::= SEQUENCE { salt, costParameter, blockSize, parallelizationParameter, keyLength OPTIONAL } (RFC 7914 section 7)
    const kdf = seq([objectId(OID.scrypt), seq([octets(salt), integer(protection.cost), integer(protection.blockSize), integer(protection.parallelization), integer(32)])]);
    return seq([seq([objectId(OID.pbes2), seq([kdf, seq([objectId(OID.aes256Cbc), octets(iv)])])]), octets(randomBytes(1232))]);
  }
  const prf = protection.prf ?? 'sha256';
  const key = pbkdf2Sync(Buffer.alloc(0), salt, protection.iterations, 32, prf);
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const ciphertext = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  const prfOid = { sha1: OID.hmacWithSha1, sha256: OID.hmacWithSha256, sha512: OID.hmacWithSha512 }[prf];
  const kdf = seq([objectId(OID.pbkdf2), seq([octets(salt), integer(protection.iterations), seq([objectId(prfOid), nullValue()])])]);
  return seq([seq([objectId(OID.pbes2), seq([kdf, seq([objectId(OID.aes256Cbc), octets(iv)])])]), octets(ciphertext)]);
}

export const explicit0 = (value: Asn1): Asn1 => asn1.create(Class.CONTEXT_SPECIFIC, 0, true, [value]);
export const dataInfo = (content: Buffer): Asn1 => seq([objectId(OID.data), explicit0(octets(content))]);

/** The AuthenticatedSafe entry of an EncryptedData holding `safeContents` (RFC 7292 section 4.1). */
export function encryptedDataInfo(safeContents: Buffer, password: '' | null, iterations: number): Asn1 {
  const { algorithm, ciphertext } = pkcs12PbeEncrypt('pbe-3des', password, randomBytes(8), iterations, safeContents);
  return encryptedDataEntry(algorithm, ciphertext);
}

/** EncryptedData ::= SEQUENCE { version 0, EncryptedContentInfo { data, algorithm, [0] IMPLICIT ciphertext } }, as an AuthenticatedSafe entry. */
export function encryptedDataEntry(algorithm: Asn1, ciphertext: Buffer): Asn1 {
  const info = seq([objectId(OID.data), algorithm, asn1.create(Class.CONTEXT_SPECIFIC, 0, false, ciphertext.toString('binary'))]);
  return seq([objectId(OID.encryptedData), explicit0(seq([integer(0), info]))]);
}

/** MacData over the AuthenticatedSafe (RFC 7292 section 4). */
export function macData(authSafe: Buffer, password: '' | null, iterations: number, digest: 'sha1' | 'sha256' = 'sha1'): Asn1 {
  const salt = randomBytes(20);
  const mac = createHmac(digest, forgeKdf(password, salt, 3, iterations, 0, digest)).update(authSafe).digest();
  return seq([seq([seq([objectId(digest === 'sha1' ? OID.sha1 : OID.sha256), nullValue()]), octets(mac)]), octets(salt), integer(iterations)]);
}

/** A PFX of the given shape, with the thumbprint of the one certificate it holds. */
export function buildPfx(shape: PfxShape = {}): { pfx: Buffer; thumbprint: string } {
  const { privateKey, certDer, thumbprint } = tenant();
  const password = shape.password === undefined ? '' : shape.password;
  const entries: Asn1[] = [];
  const keyBags = shape.keyBags ?? 1;
  if (keyBags > 0) {
    const bag = seq([objectId(OID.shroudedKeyBag), explicit0(shroud(shape.key ?? { scheme: 'pbe-3des', iterations: 2048 }, password, privateKey.export({ type: 'pkcs8', format: 'der' })))]);
    entries.push(dataInfo(toDer(seq(Array.from({ length: keyBags }, () => bag)))));
  }
  const certBags = toDer(seq([seq([objectId(OID.certBag), explicit0(seq([objectId(OID.x509Certificate), explicit0(octets(certDer))]))])]));
  const encrypted = encryptedDataInfo(certBags, password, shape.certificateIterations ?? 2048);
  for (let i = 0; i < (shape.encryptedDataRepeats ?? 1); i++) entries.push(encrypted);
  const authSafe = toDer(seq(entries));
  const mac = shape.mac ?? { iterations: 2048 };
  const fields = [integer(3), dataInfo(authSafe)];
  if (mac !== false) fields.push(macData(authSafe, password, mac.iterations, mac.digest));
  return { pfx: toDer(seq(fields)), thumbprint };
}

/** The two SafeContents of a one-certificate PFX in plaintext: the shrouded key bag, the certificate bag. */
export function safeContentsOf(key: KeyProtection = { scheme: 'pbe-3des', iterations: 16 }, password: '' | null = ''): { keys: Buffer; certificates: Buffer; thumbprint: string } {
  const { privateKey, certDer, thumbprint } = tenant();
  const keyBag = seq([objectId(OID.shroudedKeyBag), explicit0(shroud(key, password, privateKey.export({ type: 'pkcs8', format: 'der' })))]);
  const certBag = seq([objectId(OID.certBag), explicit0(seq([objectId(OID.x509Certificate), explicit0(octets(certDer))]))]);
  return { keys: toDer(seq([keyBag])), certificates: toDer(seq([certBag])), thumbprint };
}

/** A PFX around SafeContents given as bytes (valid or not): keys as data, certificates in an EncryptedData, a MAC that matches. */
export function assemblePfx(keys: Buffer, certificates: Buffer, options: { password?: '' | null; iterations?: number; mac?: boolean } = {}): Buffer {
  const password = options.password === undefined ? '' : options.password;
  const iterations = options.iterations ?? 16;
  const authSafe = toDer(seq([dataInfo(keys), encryptedDataInfo(certificates, password, iterations)]));
  const fields = [integer(3), dataInfo(authSafe)];
  if (options.mac !== false) fields.push(macData(authSafe, password, iterations));
  return toDer(seq(fields));
}

/** A new EC key on a named curve and a self-signed ecdsa-with-SHA256 certificate for it (forge cannot sign with EC). */
export function selfSignedEc(namedCurve = 'P-256'): { privateKey: KeyObject; certDer: Buffer; thumbprint: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
  const algorithm = der.sequence(der.oid('1.2.840.10045.4.3.2')); // ecdsa-with-SHA256: no parameters (RFC 5758 3.2)
  const name = der.sequence(der.set(der.sequence(der.oid('2.5.4.3'), der.printableString('ec tenant'))));
  const day = 24 * 60 * 60 * 1000;
  const tbs = der.sequence(
    der.explicit(0, der.unsignedInteger(Buffer.from([2]))),
    der.unsignedInteger(Buffer.from([0x0e])),
    algorithm,
    name,
    der.sequence(der.time(new Date(Date.now() - day)), der.time(new Date(Date.now() + day))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const certDer = der.sequence(tbs, algorithm, der.bitString(sign('sha256', tbs, privateKey)));
  return { privateKey, certDer, thumbprint: createHash('sha1').update(certDer).digest('hex').toUpperCase() };
}

/** A SafeContents of one key bag around `pkcs8` as given (valid or not): a plain keyBag, or shrouded as asked. */
export function keyBagContents(pkcs8: Buffer, protection: KeyProtection | 'plain' = 'plain', password: '' | null = ''): Buffer {
  const bag = protection === 'plain'
    ? der.sequence(der.oid(OID.keyBag), der.explicit(0, pkcs8))
    : der.sequence(der.oid(OID.shroudedKeyBag), der.explicit(0, toDer(shroud(protection, password, pkcs8))));
  return der.sequence(bag);
}

/** A SafeContents of one certificate bag. */
export function certBagContents(certDer: Buffer): Buffer {
  return toDer(seq([seq([objectId(OID.certBag), explicit0(seq([objectId(OID.x509Certificate), explicit0(octets(certDer))]))])]));
}

/** SafeContents bytes wrapped `levels` times in a SafeContents holding one safeContentsBag (RFC 7292 4.2.6). */
export function nestSafeContents(safeContents: Buffer, levels: number): Buffer {
  let nested = safeContents;
  for (let i = 0; i < levels; i++) nested = der.sequence(der.sequence(der.oid(OID.safeContentsBag), der.explicit(0, nested)));
  return nested;
}
