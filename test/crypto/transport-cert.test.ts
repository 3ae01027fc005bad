import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { inspect } from 'node:util';
import forge from 'node-forge';
import { createTransportCertificate } from '../../src/crypto/transport-cert.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

test('the header value is the certificate DER in base64 on one line, the same bytes as the PEM', async () => {
  const transport = await createTransportCertificate();
  assert.match(transport.headerValue, /^[A-Za-z0-9+/]+={0,2}$/);
  const der = Buffer.from(transport.headerValue, 'base64');
  assert.equal(der.toString('base64'), transport.headerValue);
  assert.deepEqual(new X509Certificate(der).raw, new X509Certificate(transport.certPem).raw);
});

test('the certificate is self-signed with sha256, CN=winprov transport, a positive serial and a 2048-bit key', async () => {
  const transport = await createTransportCertificate();
  const x509 = new X509Certificate(transport.certPem);
  assert.equal(x509.subject, 'CN=winprov transport');
  assert.equal(x509.issuer, 'CN=winprov transport');
  assert.ok(x509.verify(x509.publicKey), 'signature verifies with its own key');
  assert.equal(x509.publicKey.asymmetricKeyType, 'rsa');
  assert.equal(x509.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  assert.ok(Number.parseInt(x509.serialNumber.slice(0, 2), 16) < 0x80, 'serial number is positive');
  const cert = forge.pki.certificateFromPem(transport.certPem);
  assert.equal(cert.signatureOid, forge.pki.oids['sha256WithRSAEncryption']);
});

test('the certificate is valid from one day ago for one year', async () => {
  const before = Date.now();
  const transport = await createTransportCertificate();
  const x509 = new X509Certificate(transport.certPem);
  // X.509 times have one-second resolution.
  assert.ok(Math.abs(x509.validFromDate.getTime() - (before - DAY_MS)) < 5000);
  const days = (x509.validToDate.getTime() - x509.validFromDate.getTime()) / DAY_MS;
  assert.ok(days >= 366 && days <= 367, `validity spans ${days} days`);
});

test('the subject key identifier is SHA-1 of the RSAPublicKey (RFC 5280 method 1)', async () => {
  const transport = await createTransportCertificate();
  const x509 = new X509Certificate(transport.certPem);
  const expected = createHash('sha1').update(x509.publicKey.export({ type: 'pkcs1', format: 'der' })).digest('hex');
  const cert = forge.pki.certificateFromPem(transport.certPem);
  const extension = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  assert.equal(extension?.subjectKeyIdentifier, expected);
});

test('the private key belongs to the certificate and prints as [redacted]', async () => {
  const transport = await createTransportCertificate();
  const key = createPrivateKey(transport.keyPem.reveal());
  assert.ok(new X509Certificate(transport.certPem).checkPrivateKey(key));
  for (const printed of [String(transport.keyPem), JSON.stringify(transport), inspect(transport, { depth: 5 })]) {
    assert.ok(!printed.includes('PRIVATE KEY'), 'no key text when printed');
  }
});

test('each call creates a new key and a new serial number', async () => {
  const [a, b] = await Promise.all([createTransportCertificate(), createTransportCertificate()]);
  const [x, y] = [new X509Certificate(a.certPem), new X509Certificate(b.certPem)];
  assert.notEqual(a.keyPem.reveal(), b.keyPem.reveal());
  assert.ok(!x.publicKey.equals(y.publicKey));
  assert.notEqual(x.serialNumber, y.serialNumber);
});

test('key generation leaves the event loop free while it runs', async () => {
  let ticks = 0;
  const timer = setInterval(() => (ticks += 1), 1);
  try {
    await createTransportCertificate();
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks > 0, 'timers ran during generation, so it did not block the main thread');
});
