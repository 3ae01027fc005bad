import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { LOADER_KEY_GLOBAL, generateTransportKeyPair, keyStartsWithRun, transportKeyForRun, type TransportKeyPair } from '../../src/crypto/transport-key.ts';
import { createTransportCertificate } from '../../src/crypto/transport-cert.ts';

test('the transport key pair is a fresh RSA-2048 pair in SPKI and PKCS#8 PEM', async () => {
  const [a, b] = await Promise.all([generateTransportKeyPair(), generateTransportKeyPair()]);
  assert.match(a.publicKey, /^-----BEGIN PUBLIC KEY-----/);
  assert.match(a.privateKey, /^-----BEGIN PRIVATE KEY-----/);
  const key = createPrivateKey(a.privateKey);
  assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
  assert.equal(createPublicKey(key).export({ type: 'spki', format: 'pem' }), a.publicKey);
  assert.notEqual(a.publicKey, b.publicKey);
});

test('a key generation started early is the key the transport certificate is made for', async () => {
  const started = generateTransportKeyPair();
  const transport = await createTransportCertificate(started);
  const { publicKey, privateKey } = await started;
  const certificate = new X509Certificate(transport.certPem);
  assert.equal(certificate.publicKey.export({ type: 'spki', format: 'pem' }), publicKey);
  assert.equal(transport.keyPem.reveal(), privateKey);
});

test('the key starts with the run only when a second logical processor can generate it beside the run', async () => {
  assert.equal(keyStartsWithRun(1), false);
  assert.equal(keyStartsWithRun(2), true);
  assert.equal(keyStartsWithRun(64), true);
  assert.equal(transportKeyForRun(1), undefined);
  const started = transportKeyForRun(2);
  assert.ok(started !== undefined);
  assert.equal(createPrivateKey((await started).privateKey).asymmetricKeyDetails?.modulusLength, 2048);
});

test('the key the loader started is the run\'s, taken once: a second run in the process starts its own', async () => {
  const fromLoader = generateTransportKeyPair();
  Object.defineProperty(globalThis, Symbol.for(LOADER_KEY_GLOBAL), { value: fromLoader, configurable: true });
  assert.equal(transportKeyForRun(1), fromLoader, 'taken even where the program would not have started one');
  assert.equal(Symbol.for(LOADER_KEY_GLOBAL) in globalThis, false);
  assert.equal(transportKeyForRun(1), undefined);
  const second = transportKeyForRun(2) as Promise<TransportKeyPair>;
  assert.notEqual(second, fromLoader);
  assert.notEqual((await second).privateKey, (await fromLoader).privateKey);
});
