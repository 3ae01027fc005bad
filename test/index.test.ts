import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

test('the package exports its library surface by name', async () => {
  const winprov = await import('winprov');
  for (const name of ['provision', 'FabricSimulator', 'parseOvfEnv', 'decryptCertificateFile', 'decodeDhcpPacket', 'wireServerFromDhcpReply']) {
    assert.equal(typeof (winprov as Record<string, unknown>)[name], 'function', name);
  }
});

test('decryptCertificateFile opens the real fabric sample with its transport key', async () => {
  const { decryptCertificateFile } = await import('winprov');
  const dir = new URL('./fixtures/fabric/', import.meta.url);
  const certificates = decryptCertificateFile(await readFile(new URL('certificates-pkcs1-3des.xml', dir), 'utf8'), {
    keyPem: await readFile(new URL('certificates-pkcs1-3des.transport-key.pem', dir), 'utf8'),
    certPem: await readFile(new URL('certificates-pkcs1-3des.transport-cert.pem', dir), 'utf8'),
  });
  assert.deepEqual(certificates.map((c) => [c.thumbprint, c.friendlyName ?? null, c.hasPrivateKey]), [
    ['F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9', 'TenantEncryptionCert', true],
    ['8979F1AC8C4215827BF3B5A403E6137B504D02A4', null, false],
  ]);
  assert.ok(certificates.every((c) => c.subject.length > 0));
});

test('importing the library starts nothing: no handles, no timers', async () => {
  await import('winprov');
  const resources = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap' && r !== 'FSReqCallback');
  assert.deepEqual(resources.filter((r) => /TCP|UDP|Timeout|Process/.test(r)), []);
});
