import { createDecipheriv, createHmac, hash } from 'node:crypto';
import forge from 'node-forge';
import { CertificateError } from '../errors.ts';
import { rehashWithNodeCrypto, sha1Rehash } from './sha1-rehash.ts';
import { checkedIterations } from './work-budget.ts';

/**
 * PKCS#12 password-based encryption (RFC 7292 appendices B and C): the key derivation (SHA-1's rounds in
 * WebAssembly, sha1-rehash.ts; other digests on node:crypto), and decryption with the PKCS#12 PBE schemes.
 * A PFX runs one 2000-iteration derivation per MAC, per encrypted SafeContents and per shrouded key;
 * forge's general-purpose SHA-1 made that most of the time of reading a PFX.
 */

/** A hash for the KDF: node's name, output length u and block length v in bytes (RFC 7292 B.2). */
export interface KdfDigest {
  node: string;
  length: number;
  block: number;
}

/** SHA-1, the hash of the PKCS#12 PBE schemes and of most MACs. */
export const SHA1: KdfDigest = { node: 'sha1', length: 20, block: 64 };

/** MAC digests (RFC 7292 appendix B with the MacData digest), by OID. */
export const MAC_DIGESTS: Record<string, KdfDigest> = {
  '1.3.14.3.2.26': SHA1,
  '2.16.840.1.101.3.4.2.1': { node: 'sha256', length: 32, block: 64 },
  '2.16.840.1.101.3.4.2.2': { node: 'sha384', length: 48, block: 128 },
  '2.16.840.1.101.3.4.2.3': { node: 'sha512', length: 64, block: 128 },
};

/** The PFX MAC: HMAC over the AuthenticatedSafe with the key the KDF derives for purpose 3 (RFC 7292 appendix B.4). */
export function pkcs12Mac(digest: KdfDigest, password: string | null, salt: Uint8Array, iterations: number, data: Uint8Array): Buffer {
  return createHmac(digest.node, pkcs12Kdf(password, salt, 3, iterations, digest.length, digest)).update(data).digest();
}

/** The PBE schemes read here (RFC 7292 appendix C), by OID: key length and the CBC decryption. */
const SCHEMES: Record<string, { keyLength: number; decrypt: (key: Buffer, iv: Buffer, data: Buffer) => Buffer }> = {
  // pbeWithSHAAnd3-KeyTripleDES-CBC: what the fabric and Windows use.
  '1.2.840.113549.1.12.1.3': { keyLength: 24, decrypt: desEde3Decrypt },
  // pbeWithSHAAnd40BitRC2-CBC: older Windows exports encrypt certificates with it; OpenSSL 3 has RC2 only in its legacy provider.
  '1.2.840.113549.1.12.1.6': { keyLength: 5, decrypt: rc2Decrypt },
};

/** True for a PKCS#12 PBE scheme pkcs12PbeDecrypt can open. */
export function isPkcs12PbeScheme(oid: string): boolean {
  return Object.hasOwn(SCHEMES, oid);
}

/** The key length of a PKCS#12 PBE scheme, to price its derivation before it runs. */
export function pkcs12PbeKeyLength(oid: string): number {
  return SCHEMES[oid]?.keyLength ?? 0;
}

/**
 * Decrypts with a PKCS#12 PBE scheme: key (ID 1) and IV (ID 2) from the SHA-1 KDF. undefined when the
 * CBC padding is wrong, which is what a wrong password gives.
 */
export function pkcs12PbeDecrypt(oid: string, salt: Buffer, iterations: number, password: string | null, data: Buffer): Buffer | undefined {
  const scheme = SCHEMES[oid];
  if (scheme === undefined) throw new CertificateError(`PKCS#12: encryption algorithm ${oid} is not a PKCS#12 PBE scheme read here`);
  const key = pkcs12Kdf(password, salt, 1, iterations, scheme.keyLength);
  const iv = pkcs12Kdf(password, salt, 2, iterations, 8);
  try {
    return scheme.decrypt(key, iv, data);
  } catch {
    return undefined;
  }
}

/**
 * The PKCS#12 key derivation (RFC 7292 appendix B.2): `length` bytes for purpose `id` (1 key, 2 IV,
 * 3 MAC key). The password is taken as a BMPString with its two-byte NUL, so '' is 00 00; null (no
 * password at all) is no bytes.
 */
export function pkcs12Kdf(password: string | null, salt: Uint8Array, id: 1 | 2 | 3, iterations: number, length: number, digest: KdfDigest = SHA1): Buffer {
  if (!Number.isInteger(iterations) || iterations < 1) throw new CertificateError(`PKCS#12: the key derivation iteration count must be at least 1, not ${iterations}`);
  // Callers check and charge the count first (work-budget.ts); this is the last line against a runaway derivation.
  checkedIterations(iterations, 'key derivation');
  const v = digest.block;
  const passwordBytes = password === null ? Buffer.alloc(0) : Buffer.from(`${password}\0`, 'utf16le').swap16();
  const input = Buffer.concat([repeatToBlocks(Buffer.from(salt), v), repeatToBlocks(passwordBytes, v)]);
  const diversifier = Buffer.alloc(v, id);
  const out = Buffer.alloc(length);
  for (let produced = 0; produced < length; produced += digest.length) {
    // A_i = H^r(D || I)
    const a = iterate(digest, hash(digest.node, Buffer.concat([diversifier, input]), 'buffer'), iterations - 1);
    a.copy(out, produced);
    if (produced + digest.length >= length) break;
    // I_j = (I_j + B + 1) mod 2^(8v) for every v-byte block of I, B being A_i repeated to v bytes.
    const b = repeatToBlocks(a, v);
    for (let offset = 0; offset < input.length; offset += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = input[offset + k]! + b[k]! + carry;
        input[offset + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return out;
}

/** Hashes a digest `rounds` more times: SHA-1 in WebAssembly (sha1-rehash.ts), others with node:crypto. */
function iterate(digest: KdfDigest, first: Buffer, rounds: number): Buffer {
  return digest === SHA1 ? sha1Rehash(first, rounds) : rehashWithNodeCrypto(digest.node, first, rounds);
}

/** Repeats the bytes to fill whole v-byte blocks (RFC 7292 B.2 steps 2 and 3); empty stays empty. */
function repeatToBlocks(data: Buffer, v: number): Buffer {
  const out = Buffer.alloc(v * Math.ceil(data.length / v));
  for (let i = 0; i < out.length; i++) out[i] = data[i % data.length]!;
  return out;
}

function desEde3Decrypt(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const decipher = createDecipheriv('des-ede3-cbc', key, iv);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

function rc2Decrypt(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const cipher = forge.rc2.createDecryptionCipher(key.toString('binary'), key.length * 8);
  cipher.start(iv.toString('binary'));
  cipher.update(forge.util.createBuffer(data.toString('binary')));
  if (!cipher.finish()) throw new CertificateError('PKCS#12: RC2-CBC padding check failed');
  return Buffer.from(cipher.output.getBytes(), 'binary');
}
