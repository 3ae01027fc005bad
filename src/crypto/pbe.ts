import { createDecipheriv, pbkdf2Sync } from 'node:crypto';
import forge from 'node-forge';
import { CertificateRefusedError } from '../errors.ts';
import { derReader, type Asn1 } from './der.ts';
import { isPkcs12PbeScheme, pkcs12PbeDecrypt, pkcs12PbeKeyLength, SHA1 } from './pkcs12-pbe.ts';
import { checkedIterations, work } from './work-budget.ts';
import { CBC_CIPHERS } from './cbc-ciphers.ts';

/**
 * The password-based encryption a PFX may use for its SafeContents and shrouded keys, read from its
 * AlgorithmIdentifier and priced before anything is derived. Only what fabric and Windows PFX files use is
 * accepted: the PKCS#12 PBE schemes (RFC 7292 appendix C, with the appendix B KDF) and PBES2 with PBKDF2
 * over HMAC-SHA-1 or HMAC-SHA-256 (RFC 8018 section 6.2, what OpenSSL 3 and Windows' AES export write).
 * Anything else (scrypt, other PRFs, iteration counts over the cap) is refused unread: it would run with
 * whatever cost parameters the blob names.
 */

export type Password = '' | null;

/** A readable PBE algorithm: its cost in derivation rounds and its decryption. */
export interface PbeAlgorithm {
  /** "pbeWithSHAAnd3-KeyTripleDES-CBC", "PBES2 (PBKDF2-hmacWithSHA256, aes-256-cbc)" */
  name: string;
  /** Derivation rounds one decryption costs (work-budget.ts). */
  work: number;
  /** The plaintext, or undefined when the padding check fails (a wrong password). */
  decrypt(password: Password, ciphertext: Buffer): Buffer | undefined;
}

const OID_PBES2 = '1.2.840.113549.1.5.13';
const OID_PBKDF2 = '1.2.840.113549.1.5.12';
const OID_SCRYPT = '1.3.6.1.4.1.11591.4.11';

/** PBKDF2 PRFs (RFC 8018 B.1): node digest and output length. */
const PRFS: Record<string, { name: string; node: string; length: number }> = {
  '1.2.840.113549.2.7': { name: 'hmacWithSHA1', node: 'sha1', length: 20 },
  '1.2.840.113549.2.9': { name: 'hmacWithSHA256', node: 'sha256', length: 32 },
};
const DEFAULT_PRF = '1.2.840.113549.2.7';


const PKCS12_PBE_NAMES: Record<string, string> = {
  '1.2.840.113549.1.12.1.3': 'pbeWithSHAAnd3-KeyTripleDES-CBC',
  '1.2.840.113549.1.12.1.6': 'pbeWithSHAAnd40BitRC2-CBC',
};

const { oid, children, bytes, integer, fail, universal } = derReader('PKCS#12');
const { Class, Type } = forge.asn1;

/** Reads and checks an encryption AlgorithmIdentifier; `what` names its place ("AuthenticatedSafe[1].EncryptedData"). */
export function readPbeAlgorithm(algorithm: Asn1 | undefined, what: string): PbeAlgorithm {
  const parts = children(algorithm, `${what} encryption algorithm`);
  const algorithmOid = oid(parts[0], `${what} encryption algorithm`);
  if (isPkcs12PbeScheme(algorithmOid)) return pkcs12Pbe(algorithmOid, parts[1], what);
  if (algorithmOid === OID_PBES2) return pbes2(parts[1], what);
  throw new CertificateRefusedError(`PKCS#12: ${what} encryption algorithm ${algorithmOid} is not read here (PKCS#12 PBE with SHA-1, or PBES2 with PBKDF2)`, {
    context: { limit: 'algorithm' },
  });
}

/** pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }: key (ID 1) and IV (ID 2) from the SHA-1 KDF. */
function pkcs12Pbe(schemeOid: string, params: Asn1 | undefined, what: string): PbeAlgorithm {
  const fields = children(params, `${what} pkcs-12PbeParams`);
  const salt = Buffer.from(bytes(universal(fields[0], Type.OCTETSTRING, `${what} pkcs-12PbeParams salt`), `${what} salt`), 'binary');
  const iterations = checkedIterations(integer(fields[1], `${what} pkcs-12PbeParams iterations`), `${what} PBE`);
  return {
    name: PKCS12_PBE_NAMES[schemeOid] ?? schemeOid,
    work: work(iterations, pkcs12PbeKeyLength(schemeOid), SHA1.length) + work(iterations, 8, SHA1.length),
    decrypt: (password, ciphertext) => pkcs12PbeDecrypt(schemeOid, salt, iterations, password, ciphertext),
  };
}

/**
 * PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, encryptionScheme AlgorithmIdentifier }
 * PBKDF2-params ::= SEQUENCE { salt OCTET STRING, iterationCount INTEGER, keyLength INTEGER OPTIONAL, prf AlgorithmIdentifier DEFAULT hmacWithSHA1 }
 */
function pbes2(params: Asn1 | undefined, what: string): PbeAlgorithm {
  const [kdf, scheme] = children(params, `${what} PBES2-params`);
  const kdfParts = children(kdf, `${what} PBES2 keyDerivationFunc`);
  const kdfOid = oid(kdfParts[0], `${what} PBES2 keyDerivationFunc`);
  if (kdfOid !== OID_PBKDF2) {
    const name = kdfOid === OID_SCRYPT ? `scrypt (${kdfOid})` : kdfOid;
    throw new CertificateRefusedError(`PKCS#12: ${what} PBES2 key derivation ${name} is not accepted (PBKDF2 only: its cost is the blob's to name)`, {
      context: { limit: 'algorithm' },
    });
  }
  const schemeParts = children(scheme, `${what} PBES2 encryptionScheme`);
  const schemeOid = oid(schemeParts[0], `${what} PBES2 encryptionScheme`);
  const cipher = CBC_CIPHERS[schemeOid];
  if (cipher === undefined) {
    throw new CertificateRefusedError(`PKCS#12: ${what} PBES2 encryption scheme ${schemeOid} is not read here (AES-CBC or DES-EDE3-CBC)`, { context: { limit: 'algorithm' } });
  }
  const iv = Buffer.from(bytes(universal(schemeParts[1], Type.OCTETSTRING, `${what} PBES2 IV`), `${what} PBES2 IV`), 'binary');
  if (iv.length !== cipher.ivLength) fail(`${what} PBES2 IV has ${iv.length} bytes, ${cipher.name} needs ${cipher.ivLength}`);

  const fields = children(kdfParts[1], `${what} PBKDF2-params`);
  // salt CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier }: only the first is defined (RFC 8018 A.2).
  const salt = Buffer.from(bytes(universal(fields[0], Type.OCTETSTRING, `${what} PBKDF2 salt`), `${what} PBKDF2 salt`), 'binary');
  const iterations = checkedIterations(integer(fields[1], `${what} PBKDF2 iterationCount`), `${what} PBKDF2`);
  let next = 2;
  // keyLength is an INTEGER when present; prf is a SEQUENCE.
  if (fields[next]?.tagClass === Class.UNIVERSAL && fields[next]?.type === Type.INTEGER) {
    const keyLength = integer(fields[next], `${what} PBKDF2 keyLength`);
    if (keyLength !== cipher.keyLength) fail(`${what} PBKDF2 keyLength is ${keyLength}, ${cipher.name} needs ${cipher.keyLength}`);
    next += 1;
  }
  const prfOid = fields[next] === undefined ? DEFAULT_PRF : oid(children(fields[next], `${what} PBKDF2 prf`)[0], `${what} PBKDF2 prf`);
  const prf = PRFS[prfOid];
  if (prf === undefined) {
    throw new CertificateRefusedError(`PKCS#12: ${what} PBKDF2 PRF ${prfOid} is not accepted (hmacWithSHA1 or hmacWithSHA256)`, { context: { limit: 'algorithm' } });
  }
  return {
    name: `PBES2 (PBKDF2-${prf.name}, ${cipher.name})`,
    work: work(iterations, cipher.keyLength, prf.length),
    decrypt: (_password, ciphertext) => {
      // RFC 8018's password is an octet string with no terminator: '' and "no password" are both no bytes.
      const key = pbkdf2Sync(Buffer.alloc(0), salt, iterations, cipher.keyLength, prf.node);
      try {
        const decipher = createDecipheriv(cipher.name, key, iv);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
      } catch {
        return undefined;
      }
    },
  };
}
