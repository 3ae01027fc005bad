import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createDecipheriv, createHash, privateDecrypt } from 'node:crypto';
import forge from 'node-forge';
import { FabricSimulator } from '../../src/simulator/index.ts';
import { selectCipher, readTransportCertificate } from '../../src/simulator/certificates.ts';
import { AGENT_HEADERS, elementText, goalStateUrls, httpRequest, makeTransportPair, type TransportPair } from './support.ts';

/*
 * The decryption below is this test's own (forge ASN.1 + node:crypto), not the agent's: it proves the
 * simulator serves a real CMS envelope (RFC 5652) around a real PKCS#12, addressed to the requester.
 */

const CONTENT_CIPHERS: Record<string, string> = {
  '2.16.840.1.101.3.4.1.2': 'aes-128-cbc',
  '2.16.840.1.101.3.4.1.22': 'aes-192-cbc',
  '2.16.840.1.101.3.4.1.42': 'aes-256-cbc',
  '1.2.840.113549.3.7': 'des-ede3-cbc',
};

interface Opened {
  cipher: string;
  keyTransport: string;
  recipient: { ski: string } | { serial: string };
  version: number;
  pfx: Buffer;
}

function children(node: forge.asn1.Asn1): forge.asn1.Asn1[] {
  return node.value as forge.asn1.Asn1[];
}

function openEnvelope(der: Buffer, pair: TransportPair): Opened {
  const contentInfo = forge.asn1.fromDer(der.toString('binary'));
  const [oid, wrapped] = children(contentInfo);
  assert.equal(forge.asn1.derToOid(oid!.value as string), '1.2.840.113549.1.7.3', 'ContentInfo is envelopedData');
  const envelope = children(children(wrapped!)[0]!);
  const version = forge.asn1.derToInteger(envelope[0]!.value as string);
  const recipients = children(envelope[1]!);
  assert.equal(recipients.length, 1);
  const [, rid, keyAlg, encryptedKey] = children(recipients[0]!);
  const recipient =
    rid!.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC
      ? { ski: forge.util.bytesToHex(rid!.value as string) }
      : { serial: forge.util.bytesToHex(children(rid!)[1]!.value as string) };
  const keyOid = forge.asn1.derToOid(children(keyAlg!)[0]!.value as string);
  const wrappedKey = Buffer.from(encryptedKey!.value as string, 'binary');
  let cek: Buffer;
  let keyTransport: string;
  if (keyOid === '1.2.840.113549.1.1.7') {
    keyTransport = 'oaep';
    cek = privateDecrypt({ key: pair.privateKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, wrappedKey);
  } else {
    assert.equal(keyOid, '1.2.840.113549.1.1.1');
    keyTransport = 'pkcs1';
    // node:crypto refuses PKCS#1 v1.5 decryption (CVE-2023-46809), forge does it.
    const key = forge.pki.privateKeyFromPem(pair.privateKeyPem) as forge.pki.rsa.PrivateKey;
    cek = Buffer.from(key.decrypt(wrappedKey.toString('binary'), 'RSAES-PKCS1-V1_5'), 'binary');
  }
  const [, contentAlg, encrypted] = children(envelope.at(-1)!);
  const [cipherOid, ivNode] = children(contentAlg!);
  const cipher = CONTENT_CIPHERS[forge.asn1.derToOid(cipherOid!.value as string)]!;
  assert.ok(cipher, 'known content cipher');
  const ciphertext =
    typeof encrypted!.value === 'string' ? encrypted!.value : children(encrypted!).map((part) => part.value as string).join('');
  const decipher = createDecipheriv(cipher, cek, Buffer.from(ivNode!.value as string, 'binary'));
  const pfx = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'binary')), decipher.final()]);
  return { cipher, keyTransport, recipient, version, pfx };
}

function pfxContents(pfx: Buffer): { thumbprints: string[]; keys: number } {
  const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(pfx.toString('binary')), '');
  const certBags = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? [];
  const keyBags = p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ?? [];
  const thumbprints = certBags.map((bag) => {
    const der = forge.asn1.toDer(forge.pki.certificateToAsn1(bag.cert!)).getBytes();
    return createHash('sha1').update(Buffer.from(der, 'binary')).digest('hex').toUpperCase();
  });
  return { thumbprints: thumbprints.sort(), keys: keyBags.length };
}

function dataOf(xml: string): Buffer {
  const data = /<Data>([^<]*)<\/Data>/.exec(xml)![1]!;
  return Buffer.from(data.replace(/\s+/g, ''), 'base64');
}

const pair = makeTransportPair();
const sim = new FabricSimulator({ scenario: { certificateCount: 2 }, supportedCiphers: ['AES128_CBC', 'DES_EDE3_CBC', 'AES256_CBC'] });
await sim.start();
const { certificates: certsUrl } = await goalStateUrls(sim);
after(() => sim.stop());

function fetchCertificates(url: string, extra: Record<string, string> = {}): ReturnType<typeof httpRequest> {
  return httpRequest(url, { headers: { ...AGENT_HEADERS, 'x-ms-guest-agent-public-x509-cert': pair.header, ...extra } });
}

test('the certificates answer is a CertificateFile with a real envelope around the tenant PFX, addressed by SKI', async () => {
  const res = await fetchCertificates(certsUrl!, { 'x-ms-cipher-name': 'AES128_CBC' });
  assert.equal(res.status, 200);
  assert.equal(elementText(res.text, 'Format'), 'Pkcs7BlobWithPfxContents');
  assert.equal(elementText(res.text, 'Incarnation'), '1');
  const lines = /<Data>([^<]*)<\/Data>/.exec(res.text)![1]!.split('\n');
  assert.ok(lines.length > 2);
  assert.ok(lines.slice(0, -1).every((line) => line.length === 64), 'base64 in 64-character lines');
  const opened = openEnvelope(dataOf(res.text), pair);
  assert.equal(opened.cipher, 'aes-128-cbc');
  assert.equal(opened.keyTransport, 'pkcs1');
  assert.deepEqual(opened.recipient, { ski: pair.subjectKeyIdentifier });
  assert.equal(opened.version, 2, 'EnvelopedData v2 with an SKI recipient');
  const contents = pfxContents(opened.pfx);
  assert.deepEqual(contents.thumbprints, sim.expected.certificates.map((c) => c.thumbprint).sort());
  assert.equal(contents.keys, sim.expected.certificates.filter((c) => c.hasPrivateKey).length);
});

test('x-ms-cipher-name is honoured: DES_EDE3_CBC, AES256_CBC when supported, aes-128-cbc when absent', async () => {
  for (const [header, cipher] of [
    ['DES_EDE3_CBC', 'des-ede3-cbc'],
    ['AES256_CBC', 'aes-256-cbc'],
    [undefined, 'aes-128-cbc'],
  ] as const) {
    const res = await fetchCertificates(certsUrl!, header === undefined ? {} : { 'x-ms-cipher-name': header });
    assert.equal(res.status, 200, String(header));
    const opened = openEnvelope(dataOf(res.text), pair);
    assert.equal(opened.cipher, cipher);
    assert.equal(pfxContents(opened.pfx).thumbprints.length, 2);
  }
});

test('a cipher outside supportedCiphers is refused with 400 "unsupported cypher"', async () => {
  for (const name of ['AES192_CBC', 'RC2_CBC', 'aes128_cbc']) {
    const res = await fetchCertificates(certsUrl!, { 'x-ms-cipher-name': name });
    assert.equal(res.status, 400, name);
    assert.match(res.text, /unsupported cypher/);
  }
  assert.deepEqual(selectCipher('AES128_CBC', ['DES_EDE3_CBC']), { refused: 'unsupported cypher: AES128_CBC' });
});

test('the transport certificate header is required and must be a base64 DER certificate', async () => {
  const missing = await httpRequest(certsUrl!, { headers: AGENT_HEADERS });
  assert.equal(missing.status, 400);
  assert.match(missing.text, /x-ms-guest-agent-public-x509-cert/);
  const pem = forge.pki.certificateToPem(pair.certificate).replace(/\r?\n/g, '\\n');
  for (const bad of ['not base64!', Buffer.from('hello, not a certificate').toString('base64'), pem]) {
    const res = await fetchCertificates(certsUrl!, { 'x-ms-guest-agent-public-x509-cert': bad });
    assert.equal(res.status, 400, bad.slice(0, 20));
  }
  assert.ok(!('refused' in readTransportCertificate(pair.header)));
});

test('OAEP key transport and an issuerAndSerialNumber recipient are served when configured', async () => {
  const other = new FabricSimulator({ scenario: { certificateCount: 1 }, keyTransport: 'rsaes-oaep-sha1', recipientId: 'issuerAndSerialNumber' });
  await other.start();
  try {
    const { certificates } = await goalStateUrls(other);
    const res = await fetchCertificates(certificates!, { 'x-ms-cipher-name': 'DES_EDE3_CBC' });
    assert.equal(res.status, 200);
    const opened = openEnvelope(dataOf(res.text), pair);
    assert.equal(opened.keyTransport, 'oaep');
    assert.equal(opened.cipher, 'des-ede3-cbc');
    assert.deepEqual(opened.recipient, { serial: pair.certificate.serialNumber });
    assert.equal(opened.version, 0, 'EnvelopedData v0 with an issuerAndSerialNumber recipient');
    assert.deepEqual(pfxContents(opened.pfx).thumbprints, other.expected.certificates.map((c) => c.thumbprint));
  } finally {
    await other.stop();
  }
});

test('each request gets a fresh envelope (new content key), the same PFX inside', async () => {
  const a = await fetchCertificates(certsUrl!);
  const b = await fetchCertificates(certsUrl!);
  assert.notDeepEqual(dataOf(a.text), dataOf(b.text));
  assert.deepEqual(openEnvelope(dataOf(a.text), pair).pfx, openEnvelope(dataOf(b.text), pair).pfx);
});
