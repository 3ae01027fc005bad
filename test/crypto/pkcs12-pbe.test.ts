import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, createHmac, hash, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { CertificateError } from '../../src/errors.ts';
import { SHA1, pkcs12Kdf, pkcs12PbeDecrypt, type KdfDigest } from '../../src/crypto/pkcs12-pbe.ts';
import { readPkcs12 } from '../../src/crypto/pkcs12.ts';
import { selfSigned } from '../helpers/pfx-builder.ts';

const OID_PBE_SHA1_3DES = '1.2.840.113549.1.12.1.3';
const OID_PBE_SHA1_RC2_40 = '1.2.840.113549.1.12.1.6';

/** forge's PKCS#12 KDF: an independent implementation to compare with. */
function forgeKdf(password: string | null, salt: Buffer, id: 1 | 2 | 3, iterations: number, length: number, md: forge.md.MessageDigest = forge.md.sha1.create()): Buffer {
  const key = forge.pkcs12.generateKey(password, forge.util.createBuffer(salt.toString('binary')), id, iterations, length, md);
  return Buffer.from(key.getBytes(), 'binary');
}

test('the KDF gives the published PKCS#12 vectors (password "smeg", 1 iteration; "queeg", 1000 iterations)', () => {
  assert.equal(pkcs12Kdf('smeg', Buffer.from('0A58CF64530D823F', 'hex'), 1, 1, 24).toString('hex').toUpperCase(), '8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3');
  assert.equal(pkcs12Kdf('queeg', Buffer.from('05DEC959ACFF72F7', 'hex'), 1, 1000, 24).toString('hex').toUpperCase(), 'ED2034E36328830FF09DF1E1A07DD357185DAC0D4F9EB3D4');
});

test('the KDF agrees with forge for every purpose, length, password form, iteration count and digest', () => {
  const digests: [KdfDigest, () => forge.md.MessageDigest][] = [
    [SHA1, () => forge.md.sha1.create()],
    [{ node: 'sha256', length: 32, block: 64 }, () => forge.md.sha256.create()],
    [{ node: 'sha512', length: 64, block: 128 }, () => forge.md.sha512.create()],
  ];
  for (const [digest, md] of digests) {
    for (const password of ['', null, 'pässwörd with more than one block of characters, to wrap the 64-byte P'] as const) {
      for (const [id, length, iterations] of [[1, 24, 2000], [2, 8, 2000], [3, digest.length, 1], [1, 5, 2], [1, 100, 17]] as const) {
        const salt = randomBytes(8 + id);
        assert.deepEqual(pkcs12Kdf(password, salt, id, iterations, length, digest), forgeKdf(password, salt, id, iterations, length, md()), `${digest.node} ${password} id ${id} length ${length} x${iterations}`);
      }
    }
  }
});

test('the KDF refuses fewer than one iteration (the key would not depend on the password)', () => {
  assert.throws(() => pkcs12Kdf('', randomBytes(8), 1, 0, 24), (err: unknown) => err instanceof CertificateError && /iteration count must be at least 1/.test(err.reason));
});

/** Encrypts with a PKCS#12 PBE scheme using forge's KDF (3DES in node:crypto, RC2 in forge). */
function pbeEncrypt(oid: string, password: string | null, salt: Buffer, iterations: number, plaintext: Buffer): Buffer {
  const rc2 = oid === OID_PBE_SHA1_RC2_40;
  const key = forgeKdf(password, salt, 1, iterations, rc2 ? 5 : 24);
  const iv = forgeKdf(password, salt, 2, iterations, 8);
  if (!rc2) {
    const cipher = createCipheriv('des-ede3-cbc', key, iv);
    return Buffer.concat([cipher.update(plaintext), cipher.final()]);
  }
  const cipher = forge.rc2.createEncryptionCipher(key.toString('binary'), 40);
  cipher.start(iv.toString('binary'));
  cipher.update(forge.util.createBuffer(plaintext.toString('binary')));
  cipher.finish();
  return Buffer.from(cipher.output.getBytes(), 'binary');
}

test('3DES and 40-bit RC2 PBE decrypt what forge-derived keys encrypted; a wrong password gives undefined', () => {
  const salt = Buffer.from('8a9b0c1d2e3f4051', 'hex');
  const plaintext = Buffer.from('a shrouded key bag would be here, 48 bytes long.');
  for (const oid of [OID_PBE_SHA1_3DES, OID_PBE_SHA1_RC2_40]) {
    for (const password of ['', null] as const) {
      const ciphertext = pbeEncrypt(oid, password, salt, 2000, plaintext);
      assert.deepEqual(pkcs12PbeDecrypt(oid, salt, 2000, password, ciphertext), plaintext, `${oid} ${password}`);
    }
    // Fixed inputs, so the padding check's verdict on the wrong key is fixed too.
    assert.equal(pkcs12PbeDecrypt(oid, salt, 2000, 'wrong', pbeEncrypt(oid, '', salt, 2000, plaintext)), undefined, oid);
  }
  assert.throws(() => pkcs12PbeDecrypt('1.2.840.113549.1.5.13', salt, 1, '', plaintext), CertificateError);
});

// ---- A PFX assembled by hand, to reach the paths the simulator's and forge's PFX files do not take.

const { asn1 } = forge;
const seq = (items: forge.asn1.Asn1[]) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
const oidNode = (oid: string) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes());
const octets = (bytes: Buffer) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes.toString('binary'));
const int = (value: number) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(value).getBytes());
const explicit0 = (value: forge.asn1.Asn1) => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [value]);
const der = (value: forge.asn1.Asn1) => Buffer.from(asn1.toDer(value).getBytes(), 'binary');
const dataInfo = (content: Buffer) => seq([oidNode('1.2.840.113549.1.7.1'), explicit0(octets(content))]);

/** One certificate and its key, shrouded with the given PBE scheme and password, SHA-1 MAC with the same password. */
function handMadePfx(password: string | null, keyScheme: string, declaredKeyIterations = 2048): { pfx: Buffer; thumbprint: string } {
  const { privateKey, certDer } = selfSigned('hand made', '0b');
  const salt = randomBytes(8);
  const shrouded = pbeEncrypt(keyScheme, password, salt, 2048, privateKey.export({ type: 'pkcs8', format: 'der' }));
  const epki = seq([seq([oidNode(keyScheme), seq([octets(salt), int(declaredKeyIterations)])]), octets(shrouded)]);
  const bags = seq([
    seq([oidNode('1.2.840.113549.1.12.10.1.2'), explicit0(epki)]),
    seq([oidNode('1.2.840.113549.1.12.10.1.3'), explicit0(seq([oidNode('1.2.840.113549.1.9.22.1'), explicit0(octets(certDer))]))]),
  ]);
  const authSafe = der(seq([dataInfo(der(bags))]));
  const macSalt = randomBytes(20);
  const mac = createHmac('sha1', forgeKdf(password, macSalt, 3, 2048, 20)).update(authSafe).digest();
  const macData = seq([seq([seq([oidNode('1.3.14.3.2.26'), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '')]), octets(mac)]), octets(macSalt), int(2048)]);
  return { pfx: der(seq([int(3), dataInfo(authSafe), macData])), thumbprint: createHash('sha1').update(certDer).digest('hex').toUpperCase() };
}

test('a key shrouded with 40-bit RC2, which OpenSSL 3 refuses, is still opened (step-by-step path)', () => {
  const { pfx, thumbprint } = handMadePfx('', OID_PBE_SHA1_RC2_40);
  assert.deepEqual(readPkcs12(pfx), { password: '', certificates: [{ thumbprint, friendlyName: undefined, subject: 'CN=hand made', hasPrivateKey: true }] });
});

test('a 3DES-shrouded key under no password at all (null) is opened once the MAC rules out ""', () => {
  const { pfx, thumbprint } = handMadePfx(null, OID_PBE_SHA1_3DES);
  assert.deepEqual(readPkcs12(pfx), { password: null, certificates: [{ thumbprint, friendlyName: undefined, subject: 'CN=hand made', hasPrivateKey: true }] });
});

test('a shrouded key asking for more than 10000 iterations is refused before any derivation runs', () => {
  const { pfx } = handMadePfx('', OID_PBE_SHA1_3DES, 10_001);
  const started = performance.now();
  assert.throws(() => readPkcs12(pfx), (err: unknown) => err instanceof CertificateError && /PBE iteration count 10001 is over the limit of 10000/.test(err.reason));
  assert.ok(performance.now() - started < 1000, 'refused without deriving');
});
