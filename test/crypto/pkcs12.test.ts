import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { CertificateError } from '../../src/errors.ts';
import { decryptEnvelopedData } from '../../src/crypto/enveloped-data.ts';
import { readPkcs12 } from '../../src/crypto/pkcs12.ts';
import { generateTenantCertificates } from '../../src/simulator/pfx.ts';
import { Secret } from '../../src/util/secret.ts';
import { opensslAvailable } from '../helpers/openssl.ts';
import { assertCertificateError } from '../helpers/certificate-error.ts';
import { assemblePfx, nestSafeContents, safeContentsOf, selfSigned } from '../helpers/pfx-builder.ts';

// Fills the simulator's key pool on the thread pool while the other tests run; the timing test needs it warm.
const warmPool = generateTenantCertificates(50);
const fixtures = new URL('../fixtures/fabric/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, fixtures), 'utf8');

/** The fabric sample's PFX, decrypted from its envelope. */
function fabricPfx(): Uint8Array {
  const blob = Buffer.from(/<Data>([^<]+)<\/Data>/.exec(fixture('certificates-pkcs1-3des.xml'))![1]!, 'base64');
  return decryptEnvelopedData(blob, {
    keyPem: new Secret(fixture('certificates-pkcs1-3des.transport-key.pem')),
    certPem: fixture('certificates-pkcs1-3des.transport-cert.pem'),
  });
}

/** A one-certificate PFX made by forge (a third implementation), with the given password and bag encryption. */
function forgePfx(password: string | null, algorithm: '3des' | 'aes256'): { pfx: Buffer; thumbprint: string } {
  const { key, cert } = selfSigned('forge made', '0a');
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, cert, password, { algorithm, friendlyName: 'Forge' });
  const der = forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes();
  return {
    pfx: Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary'),
    thumbprint: createHash('sha1').update(der, 'binary').digest('hex').toUpperCase(),
  };
}


test('the fabric sample opens with the empty-string password and shows thumbprint, friendly name without NUL, DC subject', () => {
  const contents = readPkcs12(fabricPfx());
  assert.equal(contents.password, '');
  const [tenant, crp] = contents.certificates;
  assert.equal(contents.certificates.length, 2);
  assert.deepEqual(tenant, {
    thumbprint: 'F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9',
    friendlyName: 'TenantEncryptionCert',
    subject: 'DC=Windows Azure CRP Certificate Generator',
    hasPrivateKey: true,
  });
  assert.equal(crp?.thumbprint, '8979F1AC8C4215827BF3B5A403E6137B504D02A4');
  assert.equal(crp?.subject, 'CN=CRP, OU=AzureRT, O=Microsoft Corporation, L=Redmond, ST=WA, C=US');
  assert.equal(crp?.hasPrivateKey, false);
});

test('a simulator PFX reads back as generated: names, subjects, keys on all but the last certificate', async () => {
  const generated = await generateTenantCertificates(4);
  const contents = readPkcs12(generated.pfx);
  assert.equal(contents.password, '');
  assert.deepEqual(contents.certificates, generated.certificates);
  assert.deepEqual(contents.certificates.map((c) => c.friendlyName), ['TenantCert0', 'TenantCert1', 'TenantCert2', 'TenantCert3']);
  assert.deepEqual(contents.certificates.map((c) => c.subject), [0, 1, 2, 3].map((i) => `CN=winprov-sim-tenant-${i}`));
  assert.deepEqual(contents.certificates.map((c) => c.hasPrivateKey), [true, true, true, false]);
});

test('a single simulator certificate keeps its key; zero certificates give an empty but valid PFX', async () => {
  const one = readPkcs12((await generateTenantCertificates(1)).pfx);
  assert.deepEqual(one.certificates.map((c) => [c.friendlyName, c.hasPrivateKey]), [['TenantCert0', true]]);
  const none = readPkcs12((await generateTenantCertificates(0)).pfx);
  assert.deepEqual(none, { password: '', certificates: [] });
});

test('forge reads the simulator PFX with the empty password: same certificates, keys and friendly names', async () => {
  const generated = await generateTenantCertificates(3);
  const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(Buffer.from(generated.pfx).toString('binary')), '');
  const certBags = p12.getBags({ bagType: forge.pki.oids['certBag']! })[forge.pki.oids['certBag']!] ?? [];
  const keyBags = p12.getBags({ bagType: forge.pki.oids['pkcs8ShroudedKeyBag']! })[forge.pki.oids['pkcs8ShroudedKeyBag']!] ?? [];
  assert.deepEqual(certBags.map((bag) => bag.attributes['friendlyName']?.[0]), ['TenantCert0', 'TenantCert1', 'TenantCert2']);
  const thumbprints = certBags.map((bag) =>
    new X509Certificate(Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(bag.cert!)).getBytes(), 'binary')).fingerprint.replaceAll(':', ''),
  );
  assert.deepEqual(thumbprints, generated.certificates.map((c) => c.thumbprint));
  assert.equal(keyBags.length, 2);
});

test('a PFX without a password (null, distinct from "") opens and reports password null', () => {
  const { pfx, thumbprint } = forgePfx(null, '3des');
  const contents = readPkcs12(pfx);
  assert.equal(contents.password, null);
  assert.deepEqual(contents.certificates, [{ thumbprint, friendlyName: 'Forge', subject: 'CN=forge made', hasPrivateKey: true }]);
});

test('a PBES2 (AES-256) key bag with the empty password opens too', () => {
  const { pfx, thumbprint } = forgePfx('', 'aes256');
  const contents = readPkcs12(pfx);
  assert.equal(contents.password, '');
  assert.equal(contents.certificates[0]?.thumbprint, thumbprint);
  assert.equal(contents.certificates[0]?.hasPrivateKey, true);
});

test('a PFX protected by another password fails with a CertificateError', () => {
  const { pfx } = forgePfx('correct horse', '3des');
  assertCertificateError(() => readPkcs12(pfx), /neither the empty password nor no password opens it/);
});

test('truncated, corrupt or empty PFX bytes fail with a CertificateError', async () => {
  const { pfx } = await generateTenantCertificates(2);
  assertCertificateError(() => readPkcs12(pfx.subarray(0, pfx.length - 10)), /not valid DER\/BER/);
  assertCertificateError(() => readPkcs12(new Uint8Array(0)), /PFX is empty/);
  const tampered = Buffer.from(pfx);
  tampered[200]! ^= 0x01; // inside the authenticated content: the MAC no longer matches
  assertCertificateError(() => readPkcs12(tampered), /neither the empty password nor no password opens it|not valid DER/);
});

test('fifty simulator certificates come out well under five seconds once the key pool is warm', async () => {
  await warmPool;
  const started = performance.now();
  const generated = await generateTenantCertificates(50);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 5000, `took ${elapsed.toFixed(0)} ms`);
  const contents = readPkcs12(generated.pfx);
  assert.equal(contents.certificates.length, 50);
  assert.equal(contents.certificates.filter((c) => c.hasPrivateKey).length, 49);
});

test('the count must be a whole number from 0 to 1000', async () => {
  for (const count of [-1, 1.5, Number.NaN, 1001]) {
    await assert.rejects(generateTenantCertificates(count), RangeError);
  }
});

const openssl = opensslAvailable();
test(
  'OpenSSL opens the simulator PFX with the empty password and lists the same certificates',
  { skip: openssl ? false : 'the openssl CLI is not on PATH; this interoperability check needs it' },
  async () => {
    const generated = await generateTenantCertificates(2);
    const dir = mkdtempSync(join(tmpdir(), 'winprov-pfx-'));
    try {
      writeFileSync(join(dir, 'tenant.pfx'), generated.pfx);
      const pem = execFileSync('openssl', ['pkcs12', '-in', join(dir, 'tenant.pfx'), '-passin', 'pass:', '-nokeys'], { stdio: 'pipe' }).toString();
      const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
      const thumbprints = certs.map((c) => new X509Certificate(c).fingerprint.replaceAll(':', ''));
      assert.deepEqual(thumbprints.sort(), generated.certificates.map((c) => c.thumbprint).sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('the same PFX buffer is read once; each caller gets its own copy of the result', async () => {
  const generated = await generateTenantCertificates(2);
  const first = readPkcs12(generated.pfx);
  first.certificates[0]!.thumbprint = 'changed by a caller';
  const second = readPkcs12(generated.pfx);
  assert.deepEqual(second.certificates.map((c) => c.thumbprint), generated.certificates.map((c) => c.thumbprint));
  const started = performance.now();
  readPkcs12(generated.pfx);
  assert.ok(performance.now() - started < 5, 'a second read does not derive keys again');
});

test('certificates in a SafeContents nested four deep (safeContentsBag) are read with their key; a fifth level is too deep', () => {
  const { keys, certificates, thumbprint } = safeContentsOf();
  const contents = readPkcs12(assemblePfx(nestSafeContents(keys, 4), nestSafeContents(certificates, 4)));
  assert.deepEqual(contents.certificates.map((c) => [c.thumbprint, c.hasPrivateKey]), [[thumbprint, true]]);
  // No MAC and the keys in plain data: both password attempts reach the fifth level, so the reason is its own.
  assertCertificateError(() => readPkcs12(assemblePfx(nestSafeContents(keys, 5), certificates, { mac: false })),
    /^PKCS#12: AuthenticatedSafe\[0\]\.SafeContents(\[0\]\.SafeContents){5} is nested too deeply$/);
});
