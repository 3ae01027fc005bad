import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FabricDocumentError, FabricVersionError } from '../../src/errors.ts';
import { chooseProtocolVersion, parseVersions } from '../../src/protocol/versions.ts';

const fabric = (name: string): string => readFileSync(new URL(`../fixtures/fabric/${name}`, import.meta.url), 'utf8');
const variant = (name: string): string => readFileSync(new URL(`../fixtures/protocol/${name}`, import.meta.url), 'utf8');

function assertDocumentError(fn: () => unknown, field: string, rule?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FabricDocumentError, `expected FabricDocumentError, got ${String(err)}`);
    assert.equal(err.document, 'Versions');
    assert.equal(err.field, field);
    if (rule) assert.match(err.reason, rule);
    return true;
  });
}

test('parses the real versions sample with both lists verbatim', () => {
  const versions = parseVersions(fabric('versions.xml'));
  assert.deepEqual(versions, { preferred: ['2012-11-30'], supported: ['2010-12-15', '2010-28-10'] });
});

test('parses the same document given as UTF-8 bytes', () => {
  const bytes = new TextEncoder().encode(fabric('versions.xml'));
  assert.deepEqual(parseVersions(bytes), parseVersions(fabric('versions.xml')));
});

test('chooses 2012-11-30 when the sample lists it only as Preferred', () => {
  assert.equal(chooseProtocolVersion(parseVersions(fabric('versions.xml'))), '2012-11-30');
});

test('chooses 2015-04-05 from what current fabrics answer', () => {
  const versions = parseVersions(variant('versions-current-fabric.xml'));
  assert.deepEqual(versions.preferred, ['2015-04-05']);
  assert.ok(versions.supported.includes('2012-11-30'));
  assert.equal(chooseProtocolVersion(versions), '2015-04-05');
});

test('chooses the newer version when both are listed only under Supported, in any order', () => {
  assert.equal(chooseProtocolVersion({ preferred: [], supported: ['2012-11-30', '2015-04-05'] }), '2015-04-05');
  assert.equal(chooseProtocolVersion({ preferred: ['2010-12-15'], supported: ['2012-11-30'] }), '2012-11-30');
});

test('refuses a fabric that offers neither version, naming what it offered', () => {
  const versions = parseVersions(variant('versions-unknown-only.xml'));
  assert.throws(
    () => chooseProtocolVersion(versions),
    (err: unknown) => err instanceof FabricVersionError && /2010-12-15, 2010-28-10/.test(err.reason),
  );
});

test('treats absent Preferred and Supported as empty lists, which no version satisfies', () => {
  const versions = parseVersions('<Versions></Versions>');
  assert.deepEqual(versions, { preferred: [], supported: [] });
  assert.throws(() => chooseProtocolVersion(versions), FabricVersionError);
});

test('accepts a namespace prefix on every element', () => {
  const xml = '<v:Versions xmlns:v="urn:x"><v:Supported><v:Version>2012-11-30</v:Version></v:Supported></v:Versions>';
  assert.deepEqual(parseVersions(xml), { preferred: [], supported: ['2012-11-30'] });
});

test('rejects a repeated Preferred list', () => {
  const xml = '<Versions><Preferred><Version>2015-04-05</Version></Preferred><Preferred><Version>2012-11-30</Version></Preferred></Versions>';
  assertDocumentError(() => parseVersions(xml), 'Preferred', /once/);
});

test('rejects a Version that is empty, nested or holds spaces, naming its position', () => {
  assertDocumentError(() => parseVersions('<Versions><Supported><Version>2012-11-30</Version><Version/></Supported></Versions>'), 'Supported/Version[2]');
  assertDocumentError(() => parseVersions('<Versions><Supported><Version><X>1</X></Version></Supported></Versions>'), 'Supported/Version[1]', /nested/);
  assertDocumentError(() => parseVersions('<Versions><Preferred><Version>2012-11-30 x</Version></Preferred></Versions>'), 'Preferred/Version[1]', /spaces/);
});

test('rejects a list that is text instead of Version elements', () => {
  assertDocumentError(() => parseVersions('<Versions><Supported>2012-11-30</Supported></Versions>'), 'Supported');
});

test('rejects another root element, a DOCTYPE and an oversize document', () => {
  assertDocumentError(() => parseVersions('<GoalState><Incarnation>1</Incarnation></GoalState>'), '(document)', /root/);
  assertDocumentError(() => parseVersions(`<!DOCTYPE Versions>${fabric('versions.xml').replace(/^<\?xml[^>]*>/, '')}`), '(document)', /DOCTYPE/);
  const padded = fabric('versions.xml').replace('<Versions>', `<Versions><!-- ${'x'.repeat(70_000)} -->`);
  assertDocumentError(() => parseVersions(padded), '(document)', /limit/);
});
