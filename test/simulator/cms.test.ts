import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { buildEnvelopedData } from '../../src/simulator/cms.ts';
import type { EnvelopeOptions } from '../../src/simulator/cms.ts';
import { opensslAvailable } from '../helpers/openssl.ts';

type Asn1 = forge.asn1.Asn1;

/** A recipient made with forge alone, so these tests do not lean on the agent's code; optionally without a SKI extension. */
function recipient(withSubjectKeyIdentifier: boolean): { certPem: string; keyPem: string; key: forge.pki.rsa.PrivateKey } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = '00c3d2e1f0'; // a leading zero octet keeps it positive
  cert.setSubject([{ shortName: 'CN', value: 'sim recipient' }]);
  cert.setIssuer([{ shortName: 'O', value: 'Sim Issuer' }, { shortName: 'CN', value: 'sim ca' }]);
  if (withSubjectKeyIdentifier) {
    // A deliberately non-method-1 value: the builder must take the certificate's own extension.
    const value = forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.OCTETSTRING, false, 'winprov-own-ski-0001');
    cert.setExtensions([{ name: 'subjectKeyIdentifier', value }]);
  }
  cert.sign(key, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem, key };
}

const withSki = recipient(true);
const withoutSki = recipient(false);
const content = randomBytes(3000);

function parts(der: Uint8Array): { envelopedData: Asn1[]; ktri: Asn1[]; encryptedContentInfo: Asn1[]; contentType: string } {
  const contentInfo = forge.asn1.fromDer(Buffer.from(der).toString('binary'));
  const [type, wrapper] = contentInfo.value as Asn1[];
  const envelopedData = ((wrapper!.value as Asn1[])[0]!).value as Asn1[];
  const ktri = ((envelopedData[1]!.value as Asn1[])[0]!).value as Asn1[];
  return { envelopedData, ktri, encryptedContentInfo: envelopedData[2]!.value as Asn1[], contentType: forge.asn1.derToOid(type!.value as string) };
}

const version = (node: Asn1 | undefined): number => forge.asn1.derToInteger(node!.value as string);
const oidOf = (node: Asn1 | undefined): string => forge.asn1.derToOid((node!.value as Asn1[])[0]!.value as string);

test('recipient by subjectKeyIdentifier: EnvelopedData v2, KeyTransRecipientInfo v2, rid = the certificate\'s own SKI', () => {
  const der = buildEnvelopedData(content, withSki.certPem, { keyTransport: 'rsaes-pkcs1-v1_5', cipher: 'aes-128-cbc', recipientId: 'subjectKeyIdentifier' });
  const { envelopedData, ktri, contentType } = parts(der);
  assert.equal(contentType, '1.2.840.113549.1.7.3');
  assert.equal(version(envelopedData[0]), 2);
  assert.equal(version(ktri[0]), 2);
  assert.equal(ktri[1]!.tagClass, forge.asn1.Class.CONTEXT_SPECIFIC);
  assert.equal(ktri[1]!.type, 0);
  assert.equal(ktri[1]!.value, 'winprov-own-ski-0001');
});

test('without a SKI extension the rid is SHA-1 of the RSAPublicKey (RFC 5280 method 1)', () => {
  const der = buildEnvelopedData(content, withoutSki.certPem, { keyTransport: 'rsaes-pkcs1-v1_5', cipher: 'aes-128-cbc', recipientId: 'subjectKeyIdentifier' });
  const pkcs1 = new X509Certificate(withoutSki.certPem).publicKey.export({ type: 'pkcs1', format: 'der' });
  assert.equal(Buffer.from(parts(der).ktri[1]!.value as string, 'binary').toString('hex'), createHash('sha1').update(pkcs1).digest('hex'));
});

test('recipient by issuerAndSerialNumber: versions 0, and the issuer and serial of the certificate', () => {
  const der = buildEnvelopedData(content, withSki.certPem, { keyTransport: 'rsaes-pkcs1-v1_5', cipher: 'des-ede3-cbc', recipientId: 'issuerAndSerialNumber' });
  const { envelopedData, ktri } = parts(der);
  assert.equal(version(envelopedData[0]), 0);
  assert.equal(version(ktri[0]), 0);
  const [issuer, serial] = ktri[1]!.value as Asn1[];
  const certAsn1 = forge.pki.certificateToAsn1(forge.pki.certificateFromPem(withSki.certPem));
  const tbs = (certAsn1.value as Asn1[])[0]!.value as Asn1[];
  assert.equal(forge.asn1.toDer(issuer!).getBytes(), forge.asn1.toDer(tbs[3]!).getBytes());
  assert.equal(Buffer.from(serial!.value as string, 'binary').toString('hex'), '00c3d2e1f0');
});

test('key transport algorithm identifiers: rsaEncryption with NULL, RSAES-OAEP with empty (SHA-1 default) parameters', () => {
  const pkcs1 = parts(buildEnvelopedData(content, withSki.certPem, { keyTransport: 'rsaes-pkcs1-v1_5', cipher: 'aes-128-cbc', recipientId: 'subjectKeyIdentifier' }));
  assert.equal(oidOf(pkcs1.ktri[2]), '1.2.840.113549.1.1.1');
  assert.equal((pkcs1.ktri[2]!.value as Asn1[])[1]!.type, forge.asn1.Type.NULL);
  const oaep = parts(buildEnvelopedData(content, withSki.certPem, { keyTransport: 'rsaes-oaep-sha1', cipher: 'aes-128-cbc', recipientId: 'subjectKeyIdentifier' }));
  assert.equal(oidOf(oaep.ktri[2]), '1.2.840.113549.1.1.7');
  assert.deepEqual((oaep.ktri[2]!.value as Asn1[])[1]!.value, []);
  // The OAEP-wrapped key opens with forge's RSA-OAEP (SHA-1) and is a 16-byte AES-128 key.
  const cek = withSki.key.decrypt(oaep.ktri[3]!.value as string, 'RSA-OAEP');
  assert.equal(cek.length, 16);
});

const ciphers = {
  'des-ede3-cbc': { oid: '1.2.840.113549.3.7', ivLength: 8 },
  'aes-128-cbc': { oid: '2.16.840.1.101.3.4.1.2', ivLength: 16 },
  'aes-192-cbc': { oid: '2.16.840.1.101.3.4.1.22', ivLength: 16 },
  'aes-256-cbc': { oid: '2.16.840.1.101.3.4.1.42', ivLength: 16 },
} as const;

for (const [cipher, expected] of Object.entries(ciphers) as [EnvelopeOptions['cipher'], (typeof ciphers)[keyof typeof ciphers]][]) {
  test(`forge.pkcs7 (an independent reader) decrypts the ${cipher} issuerAndSerialNumber envelope to the content`, () => {
    const der = buildEnvelopedData(content, withSki.certPem, { keyTransport: 'rsaes-pkcs1-v1_5', cipher, recipientId: 'issuerAndSerialNumber' });
    const { encryptedContentInfo } = parts(der);
    assert.equal(oidOf(encryptedContentInfo[1]), expected.oid);
    assert.equal(((encryptedContentInfo[1]!.value as Asn1[])[1]!.value as string).length, expected.ivLength);
    const message = forge.pkcs7.messageFromAsn1(forge.asn1.fromDer(Buffer.from(der).toString('binary'))) as forge.pkcs7.PkcsEnvelopedData & {
      findRecipient(cert: forge.pki.Certificate): unknown;
      decrypt(recipient: unknown, key: forge.pki.PrivateKey): void;
    };
    const found = message.findRecipient(forge.pki.certificateFromPem(withSki.certPem));
    assert.ok(found, 'forge finds the recipient by issuer and serial');
    message.decrypt(found, withSki.key);
    assert.equal(Buffer.from((message.content as forge.util.ByteBuffer).getBytes(), 'binary').toString('hex'), content.toString('hex'));
  });
}

test('every envelope has a fresh content-encryption key and IV', () => {
  const options: EnvelopeOptions = { keyTransport: 'rsaes-pkcs1-v1_5', cipher: 'aes-256-cbc', recipientId: 'subjectKeyIdentifier' };
  const [a, b] = [parts(buildEnvelopedData(content, withSki.certPem, options)), parts(buildEnvelopedData(content, withSki.certPem, options))];
  assert.notEqual(a.ktri[3]!.value, b.ktri[3]!.value);
  assert.notEqual((a.encryptedContentInfo[1]!.value as Asn1[])[1]!.value, (b.encryptedContentInfo[1]!.value as Asn1[])[1]!.value);
});

const openssl = opensslAvailable();
test(
  'OpenSSL decrypts every key transport, cipher and recipient form',
  { skip: openssl ? false : 'the openssl CLI is not on PATH; this interoperability check needs it' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'winprov-simcms-'));
    try {
      writeFileSync(join(dir, 'cert.pem'), withSki.certPem);
      writeFileSync(join(dir, 'key.pem'), withSki.keyPem);
      for (const keyTransport of ['rsaes-pkcs1-v1_5', 'rsaes-oaep-sha1'] as const) {
        for (const cipher of Object.keys(ciphers) as EnvelopeOptions['cipher'][]) {
          for (const recipientId of ['issuerAndSerialNumber', 'subjectKeyIdentifier'] as const) {
            writeFileSync(join(dir, 'envelope.der'), buildEnvelopedData(content, withSki.certPem, { keyTransport, cipher, recipientId }));
            execFileSync('openssl', ['cms', '-decrypt', '-inform', 'DER', '-in', join(dir, 'envelope.der'), '-inkey', join(dir, 'key.pem'),
              '-recip', join(dir, 'cert.pem'), '-out', join(dir, 'content.bin')], { stdio: 'pipe' });
            assert.ok(readFileSync(join(dir, 'content.bin')).equals(content), `${keyTransport} ${cipher} ${recipientId}`);
          }
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('the simulator\'s certificate code imports nothing from the agent (src/crypto, src/protocol)', () => {
  for (const file of ['cms.ts', 'pfx.ts', 'asn1.ts']) {
    const source = readFileSync(new URL(`../../src/simulator/${file}`, import.meta.url), 'utf8');
    const imports = [...source.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    for (const specifier of imports) {
      const local = /^\.\/[\w-]+\.ts$/.test(specifier!);
      assert.ok(['node-forge', 'node:crypto', 'node:util'].includes(specifier!) || local || specifier === '../util/secret.ts', `${file} imports ${specifier}`);
    }
  }
});
