import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FabricDocumentError } from '../../src/errors.ts';
import { PFX_FORMAT, parseCertificateFile } from '../../src/protocol/certificates-file.ts';

const real = readFileSync(new URL('../fixtures/fabric/certificates-pkcs1-3des.xml', import.meta.url), 'utf8');
const variant = (name: string): string => readFileSync(new URL(`../fixtures/protocol/${name}`, import.meta.url), 'utf8');
const realData = /<Data>([^<]*)<\/Data>/.exec(real)![1]!;

function withData(data: string): string {
  return real.replace(/<Data>[^<]*<\/Data>/, `<Data>${data}</Data>`);
}

/** Decodes base64 with the web platform's atob, independent of the parser's decoder. */
function atobBytes(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64.replace(/\s+/g, '')), (c) => c.charCodeAt(0));
}

function assertDocumentError(fn: () => unknown, field: string, rule?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FabricDocumentError, `expected FabricDocumentError, got ${String(err)}`);
    assert.equal(err.document, 'CertificateFile');
    assert.equal(err.field, field);
    if (rule) assert.match(err.reason, rule);
    return true;
  });
}

test('decodes the real certificates file into one DER structure', () => {
  const file = parseCertificateFile(real);
  assert.equal(file.format, PFX_FORMAT);
  assert.equal(file.usable, true);
  const data = file.data!;
  assert.ok(data instanceof Uint8Array);
  assert.deepEqual(data, atobBytes(realData));
  // ContentInfo is a DER SEQUENCE with a two-byte length: the decoded blob is exactly that long.
  assert.equal(data[0], 0x30);
  assert.equal(data[1], 0x82);
  assert.equal(data.length, 4 + ((data[2]! << 8) | data[3]!));
});

test('accepts base64 wrapped with CRLF, spaces and tabs', () => {
  const wrapped = realData.replace(/\n/g, '\r\n \t');
  assert.deepEqual(parseCertificateFile(withData(wrapped)).data, atobBytes(realData));
});

test('marks a file with another Format unusable and leaves its Data alone', () => {
  const file = parseCertificateFile(variant('certificates-non-pfx.xml'));
  assert.deepEqual(file, { format: 'CertificatesNonPfxPackage', data: undefined, usable: false });
});

test('accepts an empty or absent Format as the PFX format', () => {
  const empty = parseCertificateFile(real.replace(`<Format>${PFX_FORMAT}</Format>`, '<Format></Format>'));
  assert.equal(empty.usable, true);
  assert.equal(empty.format, '');
  assert.deepEqual(empty.data, atobBytes(realData));
  const absent = parseCertificateFile(real.replace(`<Format>${PFX_FORMAT}</Format>`, ''));
  assert.equal(absent.usable, true);
  assert.equal(absent.format, undefined);
});

test('returns no data when Data is absent or empty', () => {
  assert.deepEqual(parseCertificateFile(variant('certificates-no-data.xml')), { format: PFX_FORMAT, data: undefined, usable: true });
  assert.equal(parseCertificateFile(withData('\n  \n')).data, undefined);
});

test('rejects Data with characters outside the base64 alphabet, misplaced padding or a partial group', () => {
  for (const bad of ['MIIO*gw==', 'MIIO-gw_', 'MI=Ogw==', 'MIIOgw===', 'MIIOg', 'QUJD\u00e9', 'QUJD\u007fQUJD']) {
    assertDocumentError(() => parseCertificateFile(withData(bad)), 'Data', /base64/);
  }
  // A form feed is no XML character at all (XML 1.0 [2] Char): the document is refused before base64 is looked at.
  assertDocumentError(() => parseCertificateFile(withData('QUJD\fQUJD')), 'Data', /not well-formed XML \(at line \d+, column \d+\): U\+000C/);
  assert.deepEqual(parseCertificateFile(withData('QUJD\nRA==')).data, new TextEncoder().encode('ABCD'));
});

test('never puts the data into the error', () => {
  const secretish = `${realData.slice(0, 120)}!`;
  assert.throws(
    () => parseCertificateFile(withData(secretish)),
    (err: unknown) => err instanceof FabricDocumentError && !err.message.includes(realData.slice(0, 16)) && !err.message.includes('!'),
  );
});

test('rejects repeated or nested Data and Format, and a Format that cannot be logged', () => {
  assertDocumentError(() => parseCertificateFile(real.replace('</Data>', '</Data><Data>QUJD</Data>')), 'Data', /once/);
  assertDocumentError(() => parseCertificateFile(withData('<X>QUJD</X>')), 'Data', /nested/);
  assertDocumentError(() => parseCertificateFile(real.replace('</Format>', '</Format><Format>x</Format>')), 'Format', /once/);
  assertDocumentError(() => parseCertificateFile(real.replace(PFX_FORMAT, 'Pkcs7\u0085')), 'Format', /control/);
  assertDocumentError(() => parseCertificateFile(real.replace(PFX_FORMAT, 'Pkcs7\u0007')), 'Format', /U\+0007 is a character XML does not allow/);
  assertDocumentError(() => parseCertificateFile(real.replace(PFX_FORMAT, 'F'.repeat(257))), 'Format', /256/);
});

test('rejects another root element, a DOCTYPE and invalid UTF-8', () => {
  assertDocumentError(() => parseCertificateFile('<Certificates><Data>QUJD</Data></Certificates>'), '(document)', /root/);
  assertDocumentError(() => parseCertificateFile(`<!DOCTYPE CertificateFile>${real.replace(/^<\?xml[^>]*>/, '')}`), '(document)', /DOCTYPE/);
  const bytes = new TextEncoder().encode(real);
  assertDocumentError(() => parseCertificateFile(new Uint8Array([...bytes.subarray(0, 50), 0xff, ...bytes.subarray(50)])), '(document)', /UTF-8/);
});
