import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FabricDocumentError } from '../../src/errors.ts';
import { parseHostingEnvironmentConfig } from '../../src/protocol/hosting-env.ts';

const real = readFileSync(new URL('../fixtures/fabric/hosting-environment-config.xml', import.meta.url), 'utf8');
const variant = (name: string): string => readFileSync(new URL(`../fixtures/protocol/${name}`, import.meta.url), 'utf8');

const FIELD = 'StoredCertificates/StoredCertificate[1]';

/** The real document with one attribute of its StoredCertificate replaced. */
function withAttribute(name: string, value: string): string {
  const changed = real.replace(new RegExp(`${name}="[^"]*"`), `${name}="${value}"`);
  assert.notEqual(changed, real, `attribute ${name} not found`);
  return changed;
}

function assertDocumentError(fn: () => unknown, field: string, rule?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FabricDocumentError, `expected FabricDocumentError, got ${String(err)}`);
    assert.equal(err.document, 'HostingEnvironmentConfig');
    assert.equal(err.field, field);
    if (rule) assert.match(err.reason, rule);
    return true;
  });
}

test('reads the one stored certificate of the real document into LocalMachine\\My', () => {
  assert.deepEqual(parseHostingEnvironmentConfig(real), {
    storedCertificates: [
      {
        name: 'Stored0Microsoft.WindowsAzure.Plugins.RemoteAccess.PasswordEncryption',
        thumbprint: 'C093FA5CD3AAE057CB7C4E04532B2E16E07C26CA',
        storeName: 'My',
        storeLocation: 'LocalMachine',
      },
    ],
  });
});

test('uppercases thumbprints, maps User to CurrentUser and keeps document order', () => {
  const certs = parseHostingEnvironmentConfig(new TextEncoder().encode(variant('hosting-environment-config-two-stores.xml'))).storedCertificates;
  assert.deepEqual(
    certs.map((c) => [c.thumbprint, c.storeName, c.storeLocation]),
    [
      ['C093FA5CD3AAE057CB7C4E04532B2E16E07C26CA', 'My', 'LocalMachine'],
      ['F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9', 'Remote Desktop.Certs_2-a', 'CurrentUser'],
    ],
  );
});

test('returns no certificates when StoredCertificates is absent or empty', () => {
  const absent = real.replace(/<StoredCertificates>[\s\S]*<\/StoredCertificates>/, '');
  assert.notEqual(absent, real);
  assert.deepEqual(parseHostingEnvironmentConfig(absent), { storedCertificates: [] });
  const empty = real.replace(/<StoredCertificates>[\s\S]*<\/StoredCertificates>/, '<StoredCertificates />');
  assert.deepEqual(parseHostingEnvironmentConfig(empty), { storedCertificates: [] });
});

test('accepts a namespace prefix on the elements', () => {
  const xml =
    '<h:HostingEnvironmentConfig xmlns:h="urn:x"><h:StoredCertificates><h:StoredCertificate name="n" ' +
    'certificateId="sha1:C093FA5CD3AAE057CB7C4E04532B2E16E07C26CA" storeName="Root" configurationLevel="System"/>' +
    '</h:StoredCertificates></h:HostingEnvironmentConfig>';
  assert.equal(parseHostingEnvironmentConfig(xml).storedCertificates[0]?.storeName, 'Root');
});

test('rejects a configurationLevel other than System or User, naming the attribute', () => {
  for (const level of ['Machine', 'system', 'SYSTEM', '', 'constructor', 'toString']) {
    assertDocumentError(() => parseHostingEnvironmentConfig(withAttribute('configurationLevel', level)), `${FIELD}/@configurationLevel`, /System/);
  }
});

test('rejects a certificateId that is not sha1 and 40 hex digits', () => {
  const hex = 'C093FA5CD3AAE057CB7C4E04532B2E16E07C26CA';
  for (const id of [hex, `sha256:${hex}`, `sha1:${hex.slice(1)}`, `sha1:${hex}0`, `sha1:${hex.slice(1)}G`, `sha1: ${hex}`]) {
    assertDocumentError(() => parseHostingEnvironmentConfig(withAttribute('certificateId', id)), `${FIELD}/@certificateId`, /40 hex/);
  }
  assert.equal(parseHostingEnvironmentConfig(withAttribute('certificateId', `SHA1:${hex}`)).storedCertificates[0]?.thumbprint, hex);
});

test('rejects store names that could mean something else to the OS', () => {
  for (const store of ['', '.', '..', ' My', 'My ', 'My.', 'My\\Root', 'a/b', 'My*', 'Mÿ', 'x'.repeat(65), 'a\tb']) {
    assertDocumentError(() => parseHostingEnvironmentConfig(withAttribute('storeName', store)), `${FIELD}/@storeName`, /64/);
  }
  for (const store of ['Root', 'Remote Desktop', 'x'.repeat(64), 'a', '_-', 'Trusted.People']) {
    assert.equal(parseHostingEnvironmentConfig(withAttribute('storeName', store)).storedCertificates[0]?.storeName, store);
  }
});

test('requires every attribute and a sane name, naming the one at fault', () => {
  for (const name of ['name', 'certificateId', 'storeName', 'configurationLevel']) {
    const without = real.replace(new RegExp(` ${name}="[^"]*"`), '');
    assertDocumentError(() => parseHostingEnvironmentConfig(without), `${FIELD}/@${name}`, /required/);
  }
  assertDocumentError(() => parseHostingEnvironmentConfig(withAttribute('name', '')), `${FIELD}/@name`, /256/);
  assertDocumentError(() => parseHostingEnvironmentConfig(withAttribute('name', 'x'.repeat(257))), `${FIELD}/@name`, /256/);
  assertDocumentError(() => parseHostingEnvironmentConfig(withAttribute('name', 'a\u009bb')), `${FIELD}/@name`, /control/);
  // A character XML forbids fails the well-formedness check, which names the attribute by element path (no index).
  assertDocumentError(() => parseHostingEnvironmentConfig(withAttribute('name', 'a\u0007b')), 'StoredCertificates/StoredCertificate/@name', /U\+0007 is a character XML does not allow/);
});

test('names the position of the faulty certificate among several', () => {
  const two = variant('hosting-environment-config-two-stores.xml').replace('configurationLevel="User"', 'configurationLevel="Domain"');
  assertDocumentError(() => parseHostingEnvironmentConfig(two), 'StoredCertificates/StoredCertificate[2]/@configurationLevel');
});

test('rejects repeated StoredCertificates, a DOCTYPE and another root element', () => {
  const repeated = real.replace('</StoredCertificates>', '</StoredCertificates><StoredCertificates/>');
  assertDocumentError(() => parseHostingEnvironmentConfig(repeated), 'StoredCertificates', /once/);
  assertDocumentError(() => parseHostingEnvironmentConfig(`<!DOCTYPE x>${real}`), '(document)', /DOCTYPE/);
  assertDocumentError(() => parseHostingEnvironmentConfig('<SharedConfig/>'), '(document)', /root/);
  assertDocumentError(() => parseHostingEnvironmentConfig('<HostingEnvironmentConfig><StoredCertificates>x</StoredCertificates></HostingEnvironmentConfig>'), 'StoredCertificates');
});
