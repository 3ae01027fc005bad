import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { createTransportCertificate } from '../../src/crypto/transport-cert.ts';
import type { TransportCertificate } from '../../src/crypto/transport-cert.ts';
import { decryptEnvelopedData } from '../../src/crypto/enveloped-data.ts';
import { readPkcs12 } from '../../src/crypto/pkcs12.ts';
import { buildEnvelopedData } from '../../src/simulator/cms.ts';
import type { EnvelopeOptions } from '../../src/simulator/cms.ts';
import { generateTenantCertificates } from '../../src/simulator/pfx.ts';
import { Secret } from '../../src/util/secret.ts';
import { opensslAvailable } from '../helpers/openssl.ts';
import { assertCertificateError } from '../helpers/certificate-error.ts';

const fixtures = new URL('../fixtures/fabric/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, fixtures), 'utf8');
const fabricBlob = Buffer.from(/<Data>([^<]+)<\/Data>/.exec(fixture('certificates-pkcs1-3des.xml'))![1]!, 'base64');
const fabricRecipient = {
  keyPem: new Secret(fixture('certificates-pkcs1-3des.transport-key.pem')),
  certPem: fixture('certificates-pkcs1-3des.transport-cert.pem'),
};

const transport = createTransportCertificate();
const otherTransport = createTransportCertificate();
const tenant = generateTenantCertificates(3);


test('decrypts the fabric sample to a PFX holding exactly the two expected certificates', () => {
  const contents = readPkcs12(decryptEnvelopedData(fabricBlob, fabricRecipient));
  assert.equal(contents.password, '');
  assert.deepEqual(
    contents.certificates.map(({ thumbprint, friendlyName, hasPrivateKey }) => ({ thumbprint, friendlyName, hasPrivateKey })),
    [
      { thumbprint: 'F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9', friendlyName: 'TenantEncryptionCert', hasPrivateKey: true },
      { thumbprint: '8979F1AC8C4215827BF3B5A403E6137B504D02A4', friendlyName: undefined, hasPrivateKey: false },
    ],
  );
});

const keyTransports = ['rsaes-pkcs1-v1_5', 'rsaes-oaep-sha1'] as const;
const ciphers = ['des-ede3-cbc', 'aes-128-cbc', 'aes-192-cbc', 'aes-256-cbc'] as const;
const recipientIds = ['issuerAndSerialNumber', 'subjectKeyIdentifier'] as const;
for (const keyTransport of keyTransports) {
  for (const cipher of ciphers) {
    for (const recipientId of recipientIds) {
      test(`round-trips a simulator PFX through ${keyTransport} + ${cipher}, recipient by ${recipientId}`, async () => {
        const [recipient, generated] = await Promise.all([transport, tenant]);
        const envelope = buildEnvelopedData(generated.pfx, recipient.certPem, { keyTransport, cipher, recipientId });
        const pfx = decryptEnvelopedData(envelope, recipient);
        assert.deepEqual(Buffer.from(pfx), Buffer.from(generated.pfx));
        assert.deepEqual(readPkcs12(pfx).certificates, generated.certificates);
      });
    }
  }
}

test('reads BER: indefinite lengths and encryptedContent split into segments', async () => {
  const [recipient, generated] = await Promise.all([transport, tenant]);
  const der = buildEnvelopedData(generated.pfx, recipient.certPem, { keyTransport: 'rsaes-pkcs1-v1_5', cipher: 'aes-128-cbc', recipientId: 'subjectKeyIdentifier' });
  const contentInfo = forge.asn1.fromDer(Buffer.from(der).toString('binary'));
  const encryptedContentInfo = ((contentInfo.value[1] as forge.asn1.Asn1).value[0] as forge.asn1.Asn1).value[2] as forge.asn1.Asn1;
  const content = (encryptedContentInfo.value as forge.asn1.Asn1[])[2]!;
  const bytes = content.value as string;
  const segment = (s: string): forge.asn1.Asn1 => forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.OCTETSTRING, false, s);
  content.constructed = true;
  content.composed = true;
  content.value = [segment(bytes.slice(0, 1000)), segment(bytes.slice(1000))];
  const inner = Buffer.from(forge.asn1.toDer(contentInfo).getBytes(), 'binary');
  // Re-frame the outer SEQUENCE with the indefinite-length form (0x80) and end-of-contents octets.
  const headerLength = 2 + (inner[1]! & 0x7f);
  const ber = Buffer.concat([Buffer.from([0x30, 0x80]), inner.subarray(headerLength), Buffer.from([0, 0])]);
  assert.deepEqual(Buffer.from(decryptEnvelopedData(ber, recipient)), Buffer.from(generated.pfx));
});

test('an envelope for another transport certificate fails with "no recipient matches"', async () => {
  const [recipient, other, generated] = await Promise.all([transport, otherTransport, tenant]);
  for (const recipientId of recipientIds) {
    const envelope = buildEnvelopedData(generated.pfx, other.certPem, { keyTransport: 'rsaes-pkcs1-v1_5', cipher: 'aes-128-cbc', recipientId });
    assertCertificateError(() => decryptEnvelopedData(envelope, recipient), /no recipient matches the transport certificate/, recipient.keyPem.reveal());
  }
});

test('an envelope naming our certificate but encrypted to another key fails clearly, PKCS#1 v1.5 included', async () => {
  const [recipient, generated] = await Promise.all([transport, tenant]);
  // A certificate with the same subject key identifier as ours but another key: the rid matches, the RSA key does not.
  // Its modulus is smaller than ours, so our RSA step accepts the ciphertext and Node 24's implicit rejection answers
  // PKCS#1 v1.5 with a random-looking key instead of an error: the key-length or padding check must catch that.
  const impostor = certificateWithKeyIdentifier(recipient);
  for (const cipher of ciphers) {
    const pkcs1 = buildEnvelopedData(generated.pfx, impostor.certPem, { keyTransport: 'rsaes-pkcs1-v1_5', cipher, recipientId: 'subjectKeyIdentifier' });
    assertCertificateError(() => decryptEnvelopedData(pkcs1, recipient), /(content-encryption key has \d+ bytes|bad padding)/, recipient.keyPem.reveal());
    const oaep = buildEnvelopedData(generated.pfx, impostor.certPem, { keyTransport: 'rsaes-oaep-sha1', cipher, recipientId: 'subjectKeyIdentifier' });
    assertCertificateError(() => decryptEnvelopedData(oaep, recipient), /RSAES-OAEP decryption .* failed/, recipient.keyPem.reveal());
  }
});

test('truncated or empty input fails as invalid DER', async () => {
  const [recipient, generated] = await Promise.all([transport, tenant]);
  const envelope = buildEnvelopedData(generated.pfx, recipient.certPem, { keyTransport: 'rsaes-oaep-sha1', cipher: 'aes-256-cbc', recipientId: 'subjectKeyIdentifier' });
  for (const length of [1, 2, 40, 300, envelope.length - 1]) {
    assertCertificateError(() => decryptEnvelopedData(envelope.subarray(0, length), recipient), /not valid DER\/BER.*truncated/);
  }
  assertCertificateError(() => decryptEnvelopedData(new Uint8Array(0), recipient), /is empty/);
  assertCertificateError(() => decryptEnvelopedData(Buffer.from('not a blob at all'), recipient), /not valid DER\/BER/);
});

test('a corrupted last block fails the CBC padding check', async () => {
  const [recipient, generated] = await Promise.all([transport, tenant]);
  const envelope = Buffer.from(buildEnvelopedData(generated.pfx, recipient.certPem, { keyTransport: 'rsaes-oaep-sha1', cipher: 'aes-128-cbc', recipientId: 'issuerAndSerialNumber' }));
  // encryptedContent ends the DER. XOR the previous block's last byte with the pad value: the last plaintext byte becomes 0, never valid padding.
  const pad = 16 - (generated.pfx.length % 16);
  envelope[envelope.length - 17]! ^= pad;
  assertCertificateError(() => decryptEnvelopedData(envelope, recipient), /aes-128-cbc decryption failed: bad padding/, recipient.keyPem.reveal());
});

test('unsupported algorithms are named by OID', async () => {
  const [recipient, generated] = await Promise.all([transport, tenant]);
  const options: EnvelopeOptions = { keyTransport: 'rsaes-pkcs1-v1_5', cipher: 'des-ede3-cbc', recipientId: 'subjectKeyIdentifier' };
  // des-ede3-cbc 1.2.840.113549.3.7 -> rc2-cbc 1.2.840.113549.3.2 (same length, one byte).
  const rc2 = replaceOnce(buildEnvelopedData(generated.pfx, recipient.certPem, options), '06082a864886f70d0307', '06082a864886f70d0302');
  assertCertificateError(() => decryptEnvelopedData(rc2, recipient), /content cipher .*1\.2\.840\.113549\.3\.2.* is not supported/);
  // rsaEncryption 1.2.840.113549.1.1.1 -> 1.2.840.113549.1.1.2 (md2WithRSAEncryption, not a key transport).
  const md2 = replaceOnce(buildEnvelopedData(generated.pfx, recipient.certPem, options), '06092a864886f70d010101', '06092a864886f70d010102');
  assertCertificateError(() => decryptEnvelopedData(md2, recipient), /key transport algorithm .*1\.2\.840\.113549\.1\.1\.2.* is not supported/);
});

test('RSAES-OAEP parameters naming SHA-256 are rejected with the hash named', async () => {
  const [recipient, generated] = await Promise.all([transport, tenant]);
  const der = buildEnvelopedData(generated.pfx, recipient.certPem, { keyTransport: 'rsaes-oaep-sha1', cipher: 'aes-128-cbc', recipientId: 'subjectKeyIdentifier' });
  const { asn1 } = forge;
  const contentInfo = asn1.fromDer(Buffer.from(der).toString('binary'));
  const recipientInfos = ((contentInfo.value[1] as forge.asn1.Asn1).value[0] as forge.asn1.Asn1).value[1] as forge.asn1.Asn1;
  const keyEncryptionAlgorithm = ((recipientInfos.value[0] as forge.asn1.Asn1).value as forge.asn1.Asn1[])[2]!;
  const sha256 = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer('2.16.840.1.101.3.4.2.1').getBytes()),
  ]);
  (keyEncryptionAlgorithm.value as forge.asn1.Asn1[])[1] = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [sha256]),
  ]);
  const patched = Buffer.from(asn1.toDer(contentInfo).getBytes(), 'binary');
  assertCertificateError(() => decryptEnvelopedData(patched, recipient), /RSAES-OAEP hashAlgorithm sha256 \(2\.16\.840\.1\.101\.3\.4\.2\.1\) is not supported/);
});

test('content that is not EnvelopedData is refused', async () => {
  const recipient = await transport;
  const { asn1 } = forge;
  const signedData = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer('1.2.840.113549.1.7.2').getBytes()),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [])]),
  ]);
  const der = Buffer.from(asn1.toDer(signedData).getBytes(), 'binary');
  assertCertificateError(() => decryptEnvelopedData(der, recipient), /contentType is signedData .* not envelopedData/);
});

test('a key that does not belong to the transport certificate is refused before decrypting', async () => {
  const [recipient, other] = await Promise.all([transport, otherTransport]);
  assertCertificateError(
    () => decryptEnvelopedData(fabricBlob, { keyPem: other.keyPem, certPem: recipient.certPem }),
    /transport private key is not the RSA key of the transport certificate/,
    other.keyPem.reveal(),
  );
  assertCertificateError(() => decryptEnvelopedData(fabricBlob, { keyPem: new Secret('not a key'), certPem: recipient.certPem }), /not a valid PEM private key/);
});

const openssl = opensslAvailable();
test(
  'decrypts an OpenSSL envelope (cms -encrypt -keyid, RSAES-OAEP, AES-128)',
  { skip: openssl ? false : 'the openssl CLI is not on PATH; this interoperability vector needs it' },
  async () => {
    const [recipient, generated] = await Promise.all([transport, tenant]);
    const dir = mkdtempSync(join(tmpdir(), 'winprov-cms-'));
    try {
      writeFileSync(join(dir, 'recipient.pem'), recipient.certPem);
      writeFileSync(join(dir, 'content.pfx'), generated.pfx);
      execFileSync('openssl', ['cms', '-encrypt', '-keyid', '-binary', '-outform', 'DER', '-aes128', '-in', join(dir, 'content.pfx'),
        '-out', join(dir, 'envelope.der'), '-recip', join(dir, 'recipient.pem'), '-keyopt', 'rsa_padding_mode:oaep'], { stdio: 'pipe' });
      const pfx = decryptEnvelopedData(readFileSync(join(dir, 'envelope.der')), recipient);
      assert.deepEqual(readPkcs12(pfx).certificates, generated.certificates);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

function replaceOnce(der: Uint8Array, fromHex: string, toHex: string): Buffer {
  const buffer = Buffer.from(der);
  const at = buffer.indexOf(Buffer.from(fromHex, 'hex'));
  assert.ok(at >= 0, `${fromHex} occurs in the envelope`);
  Buffer.from(toHex, 'hex').copy(buffer, at);
  return buffer;
}

/** A self-signed certificate carrying the given certificate's subjectKeyIdentifier, for a new key with a smaller modulus. */
function certificateWithKeyIdentifier(original: TransportCertificate): { certPem: string } {
  const originalCert = forge.pki.certificateFromPem(original.certPem);
  const ski = (originalCert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier: string }).subjectKeyIdentifier;
  const originalModulus = (originalCert.publicKey as forge.pki.rsa.PublicKey).n;
  let key: forge.pki.rsa.PrivateKey;
  do {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    key = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()) as forge.pki.rsa.PrivateKey;
  } while (key.n.compareTo(originalModulus) >= 0);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = '01';
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ shortName: 'CN', value: 'impostor' }]);
  cert.setIssuer([{ shortName: 'CN', value: 'impostor' }]);
  // A preset value keeps forge from computing the identifier from this certificate's own key.
  const { asn1 } = forge;
  const value = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, forge.util.hexToBytes(ski));
  cert.setExtensions([{ name: 'subjectKeyIdentifier', value }]);
  cert.sign(key, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert) };
}
