import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { CertificateRefusedError } from '../../src/errors.ts';
import { NATIVE_KEY_MAX_BYTES, readPkcs12 } from '../../src/crypto/pkcs12.ts';
import { MAX_RSA_MODULUS_BITS } from '../../src/crypto/private-key-info.ts';
import { WorkBudget } from '../../src/crypto/work-budget.ts';
import { nullValue, octetString, oid, sequence, set, tlv, unsignedInteger } from '../../src/crypto/der-writer.ts';
import { assertCertificateError } from '../helpers/certificate-error.ts';
import { assemblePfx, certBagContents, keyBagContents, safeContentsOf, selfSigned, selfSignedEc, type KeyProtection } from '../helpers/pfx-builder.ts';

/**
 * The key bags of a PFX are read before node:crypto loads them (private-key-info.ts): OpenSSL's load costs
 * what the key says (a DSA key without its public value has it compute g^x mod p for any p and x), so only
 * RSA up to 16384 bits and EC on a named curve go on, and anything else is refused by its algorithm OID.
 * The keys here are real (node:crypto) and cheap to load: the old reader took them without a word.
 */

const RSA = '1.2.840.113549.1.1.1';
const PROTECTIONS: (KeyProtection | 'plain')[] = ['plain', { scheme: 'pbe-3des', iterations: 16 }, { scheme: 'pbes2', iterations: 16 }];

/** The tenant certificate's SafeContents, to sit beside the key under test. */
const tenantCertificates = (): Buffer => safeContentsOf().certificates;

const pkcs8 = (key: KeyObject): Buffer => key.export({ type: 'pkcs8', format: 'der' });
const pem = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }).toString();

/** A refusal of the key in the PFX, by name, with no key text in any printed form of the error. */
function refusedKey(pfx: Buffer, pattern: RegExp, keyPem?: string): CertificateRefusedError {
  const started = process.cpuUsage();
  const error = assertCertificateError(() => readPkcs12(pfx), pattern, keyPem);
  assert.ok(error instanceof CertificateRefusedError, `a refusal, not ${error.name}: ${error.reason}`);
  const spent = process.cpuUsage(started);
  assert.ok((spent.user + spent.system) / 1000 < 500, 'refused without loading the key');
  return error;
}

/** RSAPrivateKey (RFC 8017 A.1.2) from its integers, in a PrivateKeyInfo. */
function rsaPkcs8(fields: Buffer[], version = 0): Buffer {
  const key = sequence(tlv(0x02, Buffer.from([version])), ...fields.map(unsignedInteger));
  return sequence(tlv(0x02, Buffer.from([0])), sequence(oid(RSA), nullValue()), octetString(key));
}

/** A real RSA key's eight integers n, e, d, p, q, dP, dQ, qInv. */
function rsaFields(key: KeyObject): Buffer[] {
  const jwk = key.export({ format: 'jwk' });
  return [jwk.n, jwk.e, jwk.d, jwk.p, jwk.q, jwk.dp, jwk.dq, jwk.qi].map((field) => Buffer.from(field!, 'base64url'));
}

test('a DSA key bag is refused by its algorithm OID before node:crypto loads it: plain, shrouded with PKCS#12 PBE and with PBES2', () => {
  const { privateKey } = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 });
  // node:crypto exports the private value only: OpenSSL would compute the public one on load.
  for (const protection of PROTECTIONS) {
    const pfx = assemblePfx(keyBagContents(pkcs8(privateKey), protection), tenantCertificates());
    const where = protection === 'plain' ? 'SafeContents\\[0\\]\\.PrivateKeyInfo' : 'SafeContents\\[0\\]\\.EncryptedPrivateKeyInfo\\.PrivateKeyInfo';
    refusedKey(pfx, new RegExp(`^PKCS#12: AuthenticatedSafe\\[0\\]\\.${where} key algorithm DSA \\(1\\.2\\.840\\.10040\\.4\\.1\\) is not accepted \\(rsaEncryption`), pem(privateKey));
  }
});

/** A DSA PrivateKeyInfo with a pBytes-byte p (odd, not prime) and an xBytes-byte private value, no public value: OpenSSL computes g^x mod p to load it. */
function hostileDsaPkcs8(pBytes: number, xBytes: number): Buffer {
  const positive = (n: number): Buffer => {
    const b = randomBytes(n);
    b[0] = (b[0]! & 0x7f) | 0x40;
    b[n - 1]! |= 1;
    return b;
  };
  const parameters = sequence(unsignedInteger(positive(pBytes)), unsignedInteger(positive(32)), unsignedInteger(positive(pBytes - 1)));
  return sequence(tlv(0x02, Buffer.from([0])), sequence(oid('1.2.840.10040.4.1'), parameters), octetString(unsignedInteger(positive(xBytes))));
}

test('a shrouded key over the size OpenSSL may open is decrypted and refused by winprov; a small one costs OpenSSL a bounded load, then is refused by name', () => {
  const protection: KeyProtection = { scheme: 'pbe-3des', iterations: 16 };
  // Through OpenSSL this one would cost seconds of one native call (p 24,000 bits, x 12,000).
  const large = hostileDsaPkcs8(3_000, 1_500);
  assert.ok(large.length > NATIVE_KEY_MAX_BYTES);
  refusedKey(assemblePfx(keyBagContents(large, protection), tenantCertificates()), /EncryptedPrivateKeyInfo\.PrivateKeyInfo key algorithm DSA \(1\.2\.840\.10040\.4\.1\) is not accepted/);
  // The costliest shape that fits: a third of the bytes each for p, g and x.
  const small = hostileDsaPkcs8(780, 780);
  assert.ok(small.length + 8 <= NATIVE_KEY_MAX_BYTES);
  const started = performance.now();
  assertCertificateError(() => readPkcs12(assemblePfx(keyBagContents(small, protection), tenantCertificates())), /EncryptedPrivateKeyInfo\.PrivateKeyInfo key algorithm DSA \(1\.2\.840\.10040\.4\.1\) is not accepted/);
  assert.ok(performance.now() - started < 5_000, 'bounded');
});

test('Ed25519 and X25519 keys are refused by name; a refusal is not tried again with the other password', () => {
  for (const type of ['ed25519', 'x25519'] as const) {
    const { privateKey } = generateKeyPairSync(type as 'ed25519');
    const budget = new WorkBudget();
    const pfx = assemblePfx(keyBagContents(pkcs8(privateKey), { scheme: 'pbe-3des', iterations: 16 }), tenantCertificates());
    assertCertificateError(() => readPkcs12(pfx, budget), type === 'ed25519' ? /key algorithm Ed25519 \(1\.3\.101\.112\) is not accepted/ : /key algorithm X25519 \(1\.3\.101\.110\) is not accepted/, pem(privateKey));
    // MAC 16 + key 16 x 3: the null attempt never ran.
    assert.equal(budget.used, 64);
  }
});

test(`an RSA modulus over ${MAX_RSA_MODULUS_BITS} bits, a field longer than the modulus, and multi-prime RSA are refused`, () => {
  const odd = (length: number): Buffer => {
    const bytes = randomBytes(length);
    bytes[0] = 0x80;
    bytes[length - 1]! |= 1;
    return bytes;
  };
  const small = [Buffer.from([1, 0, 1]), ...Array.from({ length: 6 }, () => randomBytes(16))];
  refusedKey(assemblePfx(keyBagContents(rsaPkcs8([odd(MAX_RSA_MODULUS_BITS / 8 + 1), ...small])), tenantCertificates()),
    /PrivateKeyInfo RSA modulus has 16392 bits, over the limit of 16384$/);
  const fields = rsaFields(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey);
  // d, 300 bytes whose first is not zero: a zero there is dropped when read, and d would be 299 bytes long.
  fields[2] = Buffer.concat([Buffer.from([0x40]), randomBytes(299)]);
  refusedKey(assemblePfx(keyBagContents(rsaPkcs8(fields)), tenantCertificates()), /RSAPrivateKey privateExponent is longer than the modulus \(300 > 128 bytes\)$/);
  refusedKey(assemblePfx(keyBagContents(rsaPkcs8(fields.slice(0, 8), 1), { scheme: 'pbe-3des', iterations: 16 }), tenantCertificates()),
    /RSAPrivateKey version 1 \(multi-prime\) is not accepted/);
});

test('an RSA key at the size limit is read; it is only not the certificate\'s key', () => {
  const n = randomBytes(MAX_RSA_MODULUS_BITS / 8);
  n[0]! |= 0x80;
  const contents = readPkcs12(assemblePfx(keyBagContents(rsaPkcs8([n, Buffer.from([1, 0, 1]), ...Array.from({ length: 6 }, () => randomBytes(64))])), tenantCertificates()));
  assert.deepEqual(contents.certificates.map((c) => c.hasPrivateKey), [false]);
});

test('an RSA key with PrivateKeyInfo attributes (as Windows exports them) still matches its certificate', () => {
  const { privateKey, certDer, thumbprint } = selfSigned('with attributes', '0d');
  const plain = pkcs8(privateKey);
  // attributes [0] IMPLICIT SET OF Attribute (RFC 5958): one keyUsage attribute, as CNG writes.
  const attributes = tlv(0xa0, sequence(oid('2.5.29.15'), set(tlv(0x03, Buffer.from([0x07, 0x80])))));
  const withAttributes = sequence(plain.subarray(plain.length - lengthOfBody(plain)), attributes);
  for (const protection of PROTECTIONS) {
    const contents = readPkcs12(assemblePfx(keyBagContents(withAttributes, protection), certBagContents(certDer)));
    assert.deepEqual(contents.certificates.map((c) => [c.thumbprint, c.hasPrivateKey]), [[thumbprint, true]]);
  }
});

test('EC keys on a named curve keep working, plain and shrouded: the certificate shows its private key', () => {
  for (const curve of ['P-256', 'P-384', 'P-521']) {
    const { privateKey, certDer, thumbprint } = selfSignedEc(curve);
    for (const protection of PROTECTIONS) {
      const contents = readPkcs12(assemblePfx(keyBagContents(pkcs8(privateKey), protection), certBagContents(certDer)));
      assert.deepEqual(contents.certificates.map((c) => [c.thumbprint, c.hasPrivateKey]), [[thumbprint, true]], `${curve}, ${JSON.stringify(protection)}`);
    }
  }
});

test('EC keys with explicit curve parameters or on a curve not listed are refused by name', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = pkcs8(privateKey).toString('hex');
  // The namedCurve OID (prime256v1) swapped for a SEQUENCE of the same length: specifiedCurve (RFC 5480 2.1.1).
  const explicitCurve = Buffer.from(der.replace('06082a8648ce3d030107', '30080201010201010500'), 'hex');
  assert.notEqual(explicitCurve.toString('hex'), der);
  refusedKey(assemblePfx(keyBagContents(explicitCurve), tenantCertificates()), /EC key parameters do not name a curve \(explicit and implicit curves are not accepted/, pem(privateKey));
  const secp224 = generateKeyPairSync('ec', { namedCurve: 'secp224r1' }).privateKey;
  refusedKey(assemblePfx(keyBagContents(pkcs8(secp224), { scheme: 'pbes2', iterations: 16 }), tenantCertificates()), /EC curve (1\.3\.132\.0\.33|secp224r1) is not accepted/, pem(secp224));
});

test('a key bag that is not a PrivateKeyInfo fails as malformed, naming the bag and not its bytes', () => {
  const garbage = sequence(tlv(0x02, Buffer.from([0])), octetString(Buffer.from('secret-looking bytes')));
  // No MAC, so both password attempts reach the bag and the reason is its own.
  const error = assertCertificateError(() => readPkcs12(assemblePfx(keyBagContents(garbage), tenantCertificates(), { mac: false })), /AuthenticatedSafe\[0\]\.SafeContents\[0\]\.PrivateKeyInfo privateKeyAlgorithm is missing or not a constructed value/);
  assert.ok(!(error instanceof CertificateRefusedError));
  assert.ok(!error.reason.includes('secret-looking'));
});

// ---- helpers

/** The length of a DER SEQUENCE's contents (its header dropped). */
function lengthOfBody(sequenceDer: Buffer): number {
  const first = sequenceDer[1]!;
  return first < 0x80 ? first : sequenceDer.readUIntBE(2, first & 0x7f);
}
