import { test } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import assert from 'node:assert/strict';
import { fetchCertificates } from '../../src/certificates.ts';
import { CertificateDeadlineError, CertificateError, CertificateRefusedError, EXIT_CODES } from '../../src/errors.ts';
import { createTransportCertificate, type TransportCertificate } from '../../src/crypto/transport-cert.ts';
import { MAX_ITERATIONS } from '../../src/crypto/work-budget.ts';
import type { CipherName, WireClient } from '../../src/net/wire-client.ts';
import { buildEnvelopedData } from '../../src/simulator/cms.ts';
import { certificateFileXml } from '../../src/simulator/templates.ts';
import { silentLog } from '../../src/util/log.ts';
import { assemblePfx, buildPfx, keyBagContents, safeContentsOf } from '../helpers/pfx-builder.ts';

/**
 * The certificates step against a fabric that answers each cipher with a blob of our choosing: malformed
 * blobs move on to the next cipher, refusals and the deadline end the step at once, and the step's one
 * deadline stops a decryption that would outlast it.
 */

const transport = createTransportCertificate();
const FORGED = Buffer.from('300e060cf77f1df78cc8d39888bf2b4c', 'hex');

/** A WireClient stand-in: the certificates answer per cipher, the run's deadline, and which ciphers were asked for. */
function fabric(answers: Partial<Record<CipherName, Uint8Array>>, deadline = Date.now() + 60_000, delayMs = 0): { client: WireClient; asked: CipherName[] } {
  const asked: CipherName[] = [];
  const client = {
    deadline,
    async certificates(_url: string, _header: string, cipher: CipherName): Promise<Buffer> {
      asked.push(cipher);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return Buffer.from(certificateFileXml(1, answers[cipher] ?? FORGED));
    },
    async document(): Promise<Buffer> {
      throw new Error('no hosting environment config in these tests');
    },
  };
  return { client: client as unknown as WireClient, asked };
}

function envelope(pfx: Uint8Array, recipient: TransportCertificate): Uint8Array {
  return buildEnvelopedData(pfx, recipient.certPem, { keyTransport: 'rsaes-pkcs1-v1_5', cipher: 'aes-128-cbc', recipientId: 'subjectKeyIdentifier' });
}

const urls = { certificatesUrl: 'http://fabric/certificates', hostingEnvironmentConfigUrl: undefined };

test('a forged 16-byte blob for AES moves on to 3DES, whose good blob is used', async () => {
  const recipient = await transport;
  const { pfx, thumbprint } = buildPfx();
  const { client, asked } = fabric({ AES128_CBC: FORGED, DES_EDE3_CBC: envelope(pfx, recipient) });
  const bundle = await fetchCertificates(client, urls, transport, silentLog());
  assert.deepEqual(asked, ['AES128_CBC', 'DES_EDE3_CBC']);
  assert.deepEqual(bundle?.placements, [{ thumbprint, store: 'My', hasPrivateKey: true }]);
});

test('forged blobs for both ciphers end the step as CERTIFICATE_DECRYPT_FAILED (exit 4) naming the structure', async () => {
  const { client, asked } = fabric({});
  await assert.rejects(fetchCertificates(client, urls, transport, silentLog()), (err: unknown) => {
    assert.ok(err instanceof CertificateError);
    assert.equal(err.code, 'CERTIFICATE_DECRYPT_FAILED');
    assert.equal(err.exitCode, EXIT_CODES.fabric);
    assert.match(err.reason, /ContentInfo is malformed/);
    return true;
  });
  assert.deepEqual(asked, ['AES128_CBC', 'DES_EDE3_CBC']);
});

test('a refused blob (PBES2 with scrypt) is not fetched again with the other cipher', async () => {
  const recipient = await transport;
  const { pfx } = buildPfx({ key: { scheme: 'pbes2-scrypt', cost: 2 ** 20, blockSize: 8, parallelization: 1 << 16 } });
  const { client, asked } = fabric({ AES128_CBC: envelope(pfx, recipient) });
  const started = performance.now();
  await assert.rejects(fetchCertificates(client, urls, transport, silentLog()), CertificateRefusedError);
  assert.ok(performance.now() - started < 1000);
  assert.deepEqual(asked, ['AES128_CBC']);
});

test('a DSA key bag (whose load OpenSSL would price by the key) is refused by name and not fetched again with the other cipher', async () => {
  const recipient = await transport;
  const { privateKey } = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 });
  const pfx = assemblePfx(keyBagContents(privateKey.export({ type: 'pkcs8', format: 'der' }), { scheme: 'pbe-3des', iterations: 16 }), safeContentsOf().certificates);
  const { client, asked } = fabric({ AES128_CBC: envelope(pfx, recipient) });
  await assert.rejects(fetchCertificates(client, urls, transport, silentLog()), (err: unknown) => {
    assert.ok(err instanceof CertificateRefusedError, String(err));
    assert.equal(err.code, 'CERTIFICATE_DECRYPT_FAILED');
    assert.match(err.reason, /EncryptedPrivateKeyInfo\.PrivateKeyInfo key algorithm DSA \(1\.2\.840\.10040\.4\.1\) is not accepted/);
    return true;
  });
  assert.deepEqual(asked, ['AES128_CBC']);
});

test('a 1 s deadline passing mid-decryption ends the step in under 2 s with DEADLINE_EXCEEDED', async () => {
  const recipient = await transport;
  // 190 RC2-shrouded keys at the cap: 3.8 million rounds, inside the budget, 1 to 2 s of derivation here. The
  // fabric takes 600 ms to answer, so the deadline passes while the keys are derived, however fast the machine.
  const { pfx } = buildPfx({ key: { scheme: 'pbe-rc2', iterations: MAX_ITERATIONS }, keyBags: 190 });
  const blob = envelope(pfx, recipient);
  const started = Date.now();
  const { client, asked } = fabric({ AES128_CBC: blob }, started + 1000, 600);
  await assert.rejects(fetchCertificates(client, urls, transport, silentLog()), (err: unknown) => {
    assert.ok(err instanceof CertificateDeadlineError, String(err));
    assert.equal(err.code, 'DEADLINE_EXCEEDED');
    assert.equal(err.exitCode, EXIT_CODES.fabric);
    return true;
  });
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 1000 && elapsed < 2000, `the step ended after ${elapsed} ms`);
  assert.deepEqual(asked, ['AES128_CBC']);
});
