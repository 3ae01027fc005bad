import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  OVERSIZE_BYTES,
  base64Lines,
  certificateFileXml,
  escapeXml,
  goalStateXml,
  hostingEnvironmentConfigXml,
  malformedXml,
  oversizeBody,
  sharedConfigXml,
  versionsXml,
} from '../../src/simulator/templates.ts';

const fixture = (name: string): Promise<string> => readFile(new URL(`../fixtures/fabric/${name}`, import.meta.url), 'utf8');
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false });

/** Every element path (and attribute) in a document, e.g. GoalState/Container/ContainerId. */
function paths(xml: string): Set<string> {
  const out = new Set<string>();
  const walk = (node: unknown, path: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, path));
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '?xml') continue;
      const next = path ? `${path}/${key}` : key;
      out.add(next);
      walk(value, next);
    }
  };
  walk(parser.parse(xml), '');
  return out;
}

const goal = {
  incarnation: 4,
  containerId: 'c-1',
  instanceId: 'i-1._vm&1',
  documentUrl: 'http://127.0.0.1:8080/machine/c%2D1/i%2D1',
  withCertificates: true,
  noRoleInstance: false,
};

test('our documents have every element and attribute of the real fabric samples that agents read', async () => {
  const pairs: [string, string, string[]][] = [
    [await fixture('goal-state.xml'), goalStateXml(goal), ['ExtensionsConfig', 'FullConfig']],
    [await fixture('versions.xml'), versionsXml(), []],
    [
      await fixture('hosting-environment-config.xml'),
      hostingEnvironmentConfigXml(4, 'c-1', [{ thumbprint: 'AB', friendlyName: 'T', storeName: 'My' }]),
      ['AdditionalProperties/CgiHandlers', 'ApplicationSettings/Setting/@name', 'ApplicationSettings/Setting/@value'],
    ],
    [await fixture('shared-config.xml'), sharedConfigXml(4, 'c-1'), ['loadBalancedPublicAddress']],
    [await fixture('certificates-pkcs1-3des.xml'), certificateFileXml(4, Buffer.from('x')), []],
  ];
  for (const [real, ours, notServed] of pairs) {
    assert.equal(XMLValidator.validate(ours), true);
    const have = paths(ours);
    const missing = [...paths(real)].filter((p) => !have.has(p) && !notServed.some((n) => p.includes(n)));
    assert.deepEqual(missing, [], [...paths(real)][0]);
  }
});

test('goal-state URLs are absolute, carry the incarnation and are escaped; Certificates and RoleInstance are optional', () => {
  const xml = goalStateXml(goal);
  assert.match(xml, /<Certificates>http:\/\/127\.0\.0\.1:8080\/machine\/c%2D1\/i%2D1\?comp=certificates&amp;incarnation=4<\/Certificates>/);
  assert.match(xml, /<InstanceId>i-1\._vm&amp;1<\/InstanceId>/);
  assert.doesNotMatch(goalStateXml({ ...goal, withCertificates: false }), /Certificates/);
  const bare = goalStateXml({ ...goal, noRoleInstance: true });
  assert.doesNotMatch(bare, /RoleInstance>|InstanceId/);
  assert.match(bare, /<RoleInstanceList><\/RoleInstanceList>/);
});

test('escapeXml escapes the five special characters and nothing else', () => {
  assert.equal(escapeXml(`a&b<c>d"e'f é`), 'a&amp;b&lt;c&gt;d&quot;e&apos;f é');
});

test('base64Lines wraps at 64 characters and decodes back', () => {
  const bytes = Buffer.from(Array.from({ length: 200 }, (_, i) => i));
  const text = base64Lines(bytes);
  const lines = text.split('\n');
  assert.ok(lines.slice(0, -1).every((l) => l.length === 64));
  assert.ok(lines.at(-1)!.length <= 64);
  assert.deepEqual(Buffer.from(text.replaceAll('\n', ''), 'base64'), bytes);
  assert.equal(base64Lines(new Uint8Array()), '');
});

test('malformedXml is never well-formed; oversizeBody is exactly 4 MiB', () => {
  for (const doc of [versionsXml(), goalStateXml(goal), '']) assert.notEqual(XMLValidator.validate(malformedXml(doc)), true);
  const big = oversizeBody();
  assert.equal(big.length, OVERSIZE_BYTES);
  assert.equal(OVERSIZE_BYTES, 4 * 1024 * 1024);
  assert.match(big.subarray(0, 60).toString(), /^<\?xml/);
});

test('HostingEnvironmentConfig names each certificate with sha1:THUMBPRINT, store and System level', () => {
  const xml = hostingEnvironmentConfigXml(2, 'c-1', [
    { thumbprint: 'AA', friendlyName: 'One', storeName: 'My' },
    { thumbprint: 'BB', friendlyName: '', storeName: 'Root' },
  ]);
  const stored = [...xml.matchAll(/<StoredCertificate name="([^"]+)" certificateId="([^"]+)" storeName="(\w+)" configurationLevel="System" \/>/g)];
  assert.deepEqual(stored.map((m) => m.slice(1)), [
    ['Stored0One', 'sha1:AA', 'My'],
    ['Stored1Certificate', 'sha1:BB', 'Root'],
  ]);
  assert.match(xml, /goalStateIncarnation="2"/);
});
