import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { AgentError, CertificateDeadlineError, CertificateError, CertificateRefusedError, EXIT_CODES } from '../../src/errors.ts';
import { decryptEnvelopedData } from '../../src/crypto/enveloped-data.ts';
import { readPkcs12 } from '../../src/crypto/pkcs12.ts';
import { pkcs12PbeDecrypt } from '../../src/crypto/pkcs12-pbe.ts';
import { MAX_ASN1_VALUES, MAX_ENCRYPTED_DATA, MAX_ITERATIONS, WORK_BUDGET, WorkBudget } from '../../src/crypto/work-budget.ts';
import { createTransportCertificate } from '../../src/crypto/transport-cert.ts';
import { buildEnvelopedData } from '../../src/simulator/cms.ts';
import { seq, integer, toDer } from '../../src/simulator/asn1.ts';
import { assertCertificateError } from '../helpers/certificate-error.ts';
import { OID, assemblePfx, buildPfx, dataInfo, encryptedDataEntry, nestSafeContents, pkcs12PbeEncrypt, safeContentsOf } from '../helpers/pfx-builder.ts';

/**
 * The limits on what a certificates blob may make the agent do (issue "Hold up against a hostile or broken
 * fabric"): the iteration cap, the accepted key derivations, the structure counts, the step's work budget
 * and the deadline.
 */

const transport = createTransportCertificate();

/**
 * The refusal and its cost. The bound is on the process's CPU time (the work is synchronous), not on the
 * wall clock, which a loaded machine stretches without the work being any larger.
 */
function refused(fn: () => unknown, pattern: RegExp, withinCpuMs = 1000): CertificateRefusedError {
  const started = process.cpuUsage();
  const error = assertCertificateError(fn, pattern);
  assert.ok(error instanceof CertificateRefusedError, `a refusal, not ${error.name}`);
  const spent = process.cpuUsage(started);
  const cpuMs = (spent.user + spent.system) / 1000;
  assert.ok(cpuMs < withinCpuMs, `refused after ${cpuMs.toFixed(0)} ms of CPU time`);
  return error;
}

test('a forged 16-byte blob (an OID too large for forge) is CERTIFICATE_DECRYPT_FAILED naming ContentInfo, not a bug', async () => {
  const recipient = await transport;
  const forged = Buffer.from('300e060cf77f1df78cc8d39888bf2b4c', 'hex');
  const error = assertCertificateError(() => decryptEnvelopedData(forged, recipient), /certificates envelope: ContentInfo is malformed \(Error: OID value too large/);
  assert.equal(error.code, 'CERTIFICATE_DECRYPT_FAILED');
  assert.equal(error.exitCode, EXIT_CODES.fabric);
  assert.ok(!error.reason.includes('f77f1d'), 'the bytes are not in the reason');
  assertCertificateError(() => readPkcs12(forged), /PKCS#12: PFX is malformed|PKCS#12: .* is missing/);
});

test(`MAC, PKCS#12 PBE and PBKDF2 iteration counts: exactly ${MAX_ITERATIONS} is read, one more is refused before deriving`, () => {
  assert.equal(MAX_ITERATIONS, 10_000);
  const atCap = [
    buildPfx({ mac: { iterations: MAX_ITERATIONS } }),
    buildPfx({ key: { scheme: 'pbe-3des', iterations: MAX_ITERATIONS } }),
    buildPfx({ key: { scheme: 'pbes2', iterations: MAX_ITERATIONS, prf: 'sha256' } }),
    buildPfx({ key: { scheme: 'pbes2', iterations: MAX_ITERATIONS, prf: 'sha1' } }),
    buildPfx({ certificateIterations: MAX_ITERATIONS }),
  ];
  for (const { pfx, thumbprint } of atCap) {
    assert.deepEqual(readPkcs12(pfx).certificates.map((c) => [c.thumbprint, c.hasPrivateKey]), [[thumbprint, true]]);
  }
  const over = MAX_ITERATIONS + 1;
  refused(() => readPkcs12(buildPfx({ mac: { iterations: over, digest: 'sha256' } }).pfx), /MAC iteration count 10001 is over the limit of 10000/);
  refused(() => readPkcs12(buildPfx({ key: { scheme: 'pbe-3des', iterations: over } }).pfx), /SafeContents\[0\]\.EncryptedPrivateKeyInfo PBE iteration count 10001 is over the limit/);
  refused(() => readPkcs12(buildPfx({ key: { scheme: 'pbes2', iterations: over } }).pfx), /EncryptedPrivateKeyInfo PBKDF2 iteration count 10001 is over the limit/);
  refused(() => readPkcs12(buildPfx({ certificateIterations: over }).pfx), /AuthenticatedSafe\[1\]\.EncryptedData PBE iteration count 10001/);
});

test('PBES2 with scrypt at a huge cost (the 1.4 KB blob shape) is refused at once, as is PBKDF2 with another PRF', () => {
  const scrypt = buildPfx({ key: { scheme: 'pbes2-scrypt', cost: 2 ** 20, blockSize: 8, parallelization: 1 << 16 } });
  assert.ok(scrypt.pfx.length < 4096, `${scrypt.pfx.length} bytes`);
  refused(() => readPkcs12(scrypt.pfx), /PBES2 key derivation scrypt \(1\.3\.6\.1\.4\.1\.11591\.4\.11\) is not accepted/, 200);
  refused(() => readPkcs12(buildPfx({ key: { scheme: 'pbes2', iterations: 2048, prf: 'sha512' } }).pfx), /PBKDF2 PRF 1\.2\.840\.113549\.2\.11 is not accepted/);
});

test(`an AuthenticatedSafe may repeat an EncryptedData at the cap ${MAX_ENCRYPTED_DATA} times, not once more`, () => {
  const atLimit = buildPfx({ certificateIterations: MAX_ITERATIONS, encryptedDataRepeats: MAX_ENCRYPTED_DATA });
  assert.equal(readPkcs12(atLimit.pfx).certificates.length, MAX_ENCRYPTED_DATA);
  const repeated = buildPfx({ certificateIterations: MAX_ITERATIONS, encryptedDataRepeats: MAX_ENCRYPTED_DATA + 1 });
  refused(() => readPkcs12(repeated.pfx), /more than 4 EncryptedData entries/);
});

test('the work budget: a PFX costing exactly the budget is read, one round less refuses it', () => {
  // MAC 2048 (one SHA-1 output) + shrouded 3DES key 2048 x 3 (24-byte key, 8-byte IV) + certificate EncryptedData 2048 x 3.
  const cost = 2048 + 3 * 2048 + 3 * 2048;
  const { pfx, thumbprint } = buildPfx();
  const exact = new WorkBudget({ work: cost });
  assert.equal(readPkcs12(pfx, exact).certificates[0]?.thumbprint, thumbprint);
  assert.equal(exact.used, cost);
  const short = new WorkBudget({ work: cost - 1 });
  refused(() => readPkcs12(Buffer.from(pfx), short), /over the certificates step's budget of 14335/);
  assert.ok(short.used <= short.limit);
});

test(`a blob whose work would pass the step's budget (${WORK_BUDGET} rounds) is stopped before it is spent`, () => {
  // Each key bag at the cap costs 30,000 rounds: 140 of them ask for 4.2 million.
  const { pfx } = buildPfx({ key: { scheme: 'pbe-3des', iterations: MAX_ITERATIONS }, keyBags: 140 });
  const budget = new WorkBudget();
  refused(() => readPkcs12(pfx, budget), /over the certificates step's budget of 4000000/, 5000);
  assert.ok(budget.used <= WORK_BUDGET && budget.used > WORK_BUDGET - 40_000, `${budget.used} rounds spent`);
});

test('a deadline that passes mid-decryption stops it between derivations, with DEADLINE_EXCEEDED', () => {
  // 40-bit RC2 keys are opened step by step in JS (OpenSSL 3 refuses them): about 10 ms each at the cap.
  const { pfx } = buildPfx({ key: { scheme: 'pbe-rc2', iterations: MAX_ITERATIONS }, keyBags: 400 });
  const started = Date.now();
  const budget = new WorkBudget({ work: Number.POSITIVE_INFINITY, deadline: started + 300 });
  assert.throws(() => readPkcs12(pfx, budget), (err: unknown) => err instanceof CertificateDeadlineError && err.code === 'DEADLINE_EXCEEDED');
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 300 && elapsed < 800, `stopped after ${elapsed} ms`);
});

test('a password attempt that meets a malformed structure moves on to the next password', () => {
  // No MAC, and an EncryptedData under no password (null) whose decryption with '' happens to pass the padding
  // check (about 1 salt in 256): with '' the SafeContents is garbage, with null it opens.
  const safeContents = toDer(seq([]));
  let encrypted: ReturnType<typeof pkcs12PbeEncrypt>;
  let salt: Buffer;
  do {
    salt = randomBytes(8);
    encrypted = pkcs12PbeEncrypt('pbe-3des', null, salt, 1, safeContents);
  } while (pkcs12PbeDecrypt(OID.pbeSha1TripleDes, salt, 1, '', encrypted.ciphertext) === undefined);
  const authSafe = toDer(seq([encryptedDataEntry(encrypted.algorithm, encrypted.ciphertext)]));
  const pfx = toDer(seq([integer(3), dataInfo(authSafe)]));
  assert.deepEqual(readPkcs12(pfx), { password: null, certificates: [] });
});

test('only the last failure of the password attempts is reported', () => {
  // An EncryptedData under no password (null) holding bytes that are not DER: with '' its padding check fails
  // (a wrong password), with null it decrypts to garbage. The reason is the null attempt's.
  const garbage = Buffer.from('not a SafeContents at all');
  let encrypted: ReturnType<typeof pkcs12PbeEncrypt>;
  let salt: Buffer;
  do {
    salt = randomBytes(8);
    encrypted = pkcs12PbeEncrypt('pbe-3des', null, salt, 1, garbage);
  } while (pkcs12PbeDecrypt(OID.pbeSha1TripleDes, salt, 1, '', encrypted.ciphertext) !== undefined);
  const pfx = toDer(seq([integer(3), dataInfo(toDer(seq([encryptedDataEntry(encrypted.algorithm, encrypted.ciphertext)])))]));
  const error = assertCertificateError(() => readPkcs12(pfx), /PKCS#12: AuthenticatedSafe\[0\]\.EncryptedData\.SafeContents is not valid DER/);
  assert.ok(!(error instanceof CertificateRefusedError));
});

test('refusals and the deadline are AgentErrors with stable codes; a malformed blob is never another exception', async () => {
  const recipient = await transport;
  for (const blob of [Buffer.alloc(16), Buffer.from('3080', 'hex'), Buffer.from('30840fffffff', 'hex'), randomBytes(16)]) {
    try {
      decryptEnvelopedData(blob, recipient);
      assert.fail('a 16-byte blob cannot be an envelope');
    } catch (error) {
      assert.ok(error instanceof CertificateError, String(error));
    }
  }
  const envelope = buildEnvelopedData(buildPfx({ key: { scheme: 'pbes2-scrypt', cost: 2 ** 20, blockSize: 8, parallelization: 1 } }).pfx, recipient.certPem,
    { keyTransport: 'rsaes-oaep-sha1', cipher: 'aes-128-cbc', recipientId: 'subjectKeyIdentifier' });
  const pfx = decryptEnvelopedData(envelope, { keyPem: recipient.keyPem, certPem: recipient.certPem });
  assert.throws(() => readPkcs12(pfx), (err: unknown) => err instanceof AgentError && err.code === 'CERTIFICATE_DECRYPT_FAILED');
});

test('ASN.1 values: a PFX building exactly the limit is read, one value less refuses it by name before forge builds the tree', () => {
  const { keys, certificates, thumbprint } = safeContentsOf();
  const pfx = assemblePfx(keys, nestSafeContents(certificates, 4));
  const probe = new WorkBudget();
  assert.equal(readPkcs12(pfx, probe).certificates[0]?.thumbprint, thumbprint);
  assert.ok(probe.values > 50 && probe.values < 200, `${probe.values} values`);
  assert.equal(readPkcs12(Buffer.from(pfx), new WorkBudget({ values: probe.values })).certificates.length, 1);
  refused(() => readPkcs12(Buffer.from(pfx), new WorkBudget({ values: probe.values - 1 })),
    new RegExp(`^PKCS#12: AuthenticatedSafe\\[1\\]\\.EncryptedData\\.SafeContents holds more ASN\\.1 values than the certificates step's limit of ${probe.values - 1}`));
});

test('a nested SafeContents is walked in the tree it came in: each nesting level adds its own values only', () => {
  const { keys, certificates } = safeContentsOf();
  const valuesAt = (levels: number): number => {
    const budget = new WorkBudget();
    readPkcs12(assemblePfx(keys, nestSafeContents(certificates, levels)), budget);
    return budget.values;
  };
  // Each level: SafeContents SEQUENCE, SafeBag SEQUENCE, bagId, [0]. Parsing a level again would count the levels below it again.
  assert.equal(valuesAt(4) - valuesAt(0), 4 * 4);
});

test(`a SafeContents of ${MAX_ASN1_VALUES + 1} two-byte values (512 KB) is refused before forge builds one of them`, () => {
  const body = Buffer.alloc((MAX_ASN1_VALUES + 1) * 2);
  for (let i = 0; i < body.length; i += 2) body[i] = 0x04; // OCTET STRING, length 0
  const header = Buffer.from([0x30, 0x83, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]);
  const pfx = toDer(seq([integer(3), dataInfo(toDer(seq([dataInfo(Buffer.concat([header, body]))])))]));
  refused(() => readPkcs12(pfx), new RegExp(`^PKCS#12: AuthenticatedSafe\\[0\\]\\.SafeContents holds more ASN\\.1 values than the certificates step's limit of ${MAX_ASN1_VALUES} \\(\\d+ already read\\)$`), 300);
});

test('the envelope\'s values count against the same limit', async () => {
  const recipient = await transport;
  const envelope = buildEnvelopedData(buildPfx().pfx, recipient.certPem, { keyTransport: 'rsaes-oaep-sha1', cipher: 'aes-128-cbc', recipientId: 'subjectKeyIdentifier' });
  const budget = new WorkBudget({ values: 10 });
  refused(() => decryptEnvelopedData(envelope, recipient, budget), /^certificates envelope: CMS ContentInfo holds more ASN\.1 values than the certificates step's limit of 10 \(0 already read\)$/);
});
