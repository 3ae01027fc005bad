import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FabricDocumentError } from '../../src/errors.ts';
import { parseGoalState } from '../../src/protocol/goal-state.ts';
import { HEALTH_DESCRIPTION_MAX, buildHealthReport, type HealthReport } from '../../src/protocol/health.ts';
import { isNode, parseXml, type XmlNode } from '../../src/protocol/xml.ts';

const fail = (field: string, rule: string): Error => new FabricDocumentError('Health', field, rule);
const ids = { incarnation: '1', containerId: 'c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2', instanceId: 'b61f93d0-e1ed-40b2-b067-22c243233448.MachineRole_IN_0' };

/** Walks a parsed document along element names, failing the test when one is missing. */
function at(node: unknown, ...path: string[]): unknown {
  let current = node;
  for (const name of path) {
    assert.ok(isNode(current), `expected an element before ${name}`);
    current = (current as XmlNode)[name];
    assert.notEqual(current, undefined, `missing element ${name}`);
  }
  return current;
}

/** Builds a report and parses it back with the project's own parser. */
function roundTrip(report: HealthReport): { raw: string; health: unknown } {
  const raw = buildHealthReport(report);
  const health = at(parseXml(raw, fail), 'Health', 'Container', 'RoleInstanceList', 'Role', 'Health');
  return { raw, health };
}

test('builds a Ready report that echoes incarnation, container id and instance id', () => {
  const raw = buildHealthReport({ ...ids, state: 'Ready' });
  assert.ok(raw.startsWith('<?xml version="1.0" encoding="utf-8"?><Health '));
  assert.ok(raw.includes('xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'));
  assert.ok(raw.includes('xmlns:xsd="http://www.w3.org/2001/XMLSchema"'));
  const doc = parseXml(raw, fail);
  assert.equal(at(doc, 'Health', 'GoalStateIncarnation'), ids.incarnation);
  assert.equal(at(doc, 'Health', 'Container', 'ContainerId'), ids.containerId);
  assert.equal(at(doc, 'Health', 'Container', 'RoleInstanceList', 'Role', 'InstanceId'), ids.instanceId);
  assert.deepEqual(at(doc, 'Health', 'Container', 'RoleInstanceList', 'Role', 'Health'), { State: 'Ready' });
});

test('echoes the values of the real goal state unchanged', () => {
  const goal = parseGoalState(readFileSync(new URL('../fixtures/fabric/goal-state.xml', import.meta.url)));
  const raw = buildHealthReport({ incarnation: goal.incarnation, containerId: goal.containerId, instanceId: goal.roleInstance!.instanceId, state: 'Ready' });
  const doc = parseXml(raw, fail);
  assert.equal(at(doc, 'Health', 'GoalStateIncarnation'), goal.incarnation);
  assert.equal(at(doc, 'Health', 'Container', 'ContainerId'), goal.containerId);
  assert.equal(at(doc, 'Health', 'Container', 'RoleInstanceList', 'Role', 'InstanceId'), goal.roleInstance!.instanceId);
});

test('builds NotReady/Provisioning with its description', () => {
  const { health } = roundTrip({ ...ids, state: 'NotReady', subStatus: 'Provisioning', description: 'Starting' });
  assert.deepEqual(health, { State: 'NotReady', Details: { SubStatus: 'Provisioning', Description: 'Starting' } });
});

test('builds NotReady/ProvisioningFailed, with an empty description when none is given', () => {
  const failed = roundTrip({ ...ids, state: 'NotReady', subStatus: 'ProvisioningFailed', description: 'DHCP is disabled on Ethernet 2' });
  assert.deepEqual(failed.health, { State: 'NotReady', Details: { SubStatus: 'ProvisioningFailed', Description: 'DHCP is disabled on Ethernet 2' } });
  const bare = roundTrip({ ...ids, state: 'NotReady', subStatus: 'ProvisioningFailed' });
  assert.deepEqual(bare.health, { State: 'NotReady', Details: { SubStatus: 'ProvisioningFailed', Description: '' } });
});

test('sends no Details with Ready, nor with NotReady lacking a sub-status', () => {
  assert.deepEqual(roundTrip({ ...ids, state: 'Ready', subStatus: 'ProvisioningFailed', description: 'x' }).health, { State: 'Ready' });
  assert.deepEqual(roundTrip({ ...ids, state: 'NotReady', description: 'x' }).health, { State: 'NotReady' });
});

test('trims a 5000-character description with markup to the limit and escapes it', () => {
  const long = 'reason=<&> <bad> & "quoted" '.repeat(200).slice(0, 5000);
  assert.equal(long.length, 5000);
  const { raw, health } = roundTrip({ ...ids, state: 'NotReady', subStatus: 'ProvisioningFailed', description: long });
  const description = at(health, 'Details', 'Description');
  assert.equal(typeof description, 'string');
  assert.ok((description as string).length <= HEALTH_DESCRIPTION_MAX);
  assert.equal(description, long.slice(0, HEALTH_DESCRIPTION_MAX));
  assert.ok(raw.includes('reason=&lt;&amp;&gt; &lt;bad&gt; &amp; '));
  assert.ok(!raw.includes('<bad>') && !raw.includes('<&>'));
  assert.ok(Buffer.byteLength(raw, 'utf8') < 4096);
});

test('removes control characters other than tab and newline', () => {
  const { health } = roundTrip({ ...ids, state: 'NotReady', subStatus: 'ProvisioningFailed', description: '\u0000a\u0007b\tc\nd\re\u001bf\u009fg\uffffh' });
  assert.equal(at(health, 'Details', 'Description'), 'ab\tc\ndefgh');
});

test('cuts before a surrogate pair that would straddle the limit, and keeps one that fits', () => {
  const smile = '\u{1F600}';
  const straddling = roundTrip({ ...ids, state: 'NotReady', subStatus: 'ProvisioningFailed', description: `${'a'.repeat(511)}${smile}tail` });
  assert.equal(at(straddling.health, 'Details', 'Description'), 'a'.repeat(511));
  const fitting = roundTrip({ ...ids, state: 'NotReady', subStatus: 'ProvisioningFailed', description: `${'a'.repeat(510)}${smile}tail` });
  assert.equal(at(fitting.health, 'Details', 'Description'), `${'a'.repeat(510)}${smile}`);
});

test('replaces a lone surrogate so the report stays valid UTF-8', () => {
  const { raw } = roundTrip({ ...ids, state: 'NotReady', subStatus: 'ProvisioningFailed', description: 'x\ud800y' });
  const bytes = new TextEncoder().encode(raw);
  const health = at(parseXml(bytes, fail), 'Health', 'Container', 'RoleInstanceList', 'Role', 'Health');
  assert.equal(at(health, 'Details', 'Description'), 'x\ufffdy');
});

test('escapes ids and keeps them verbatim, leading zeros included', () => {
  const raw = buildHealthReport({ incarnation: '0012', containerId: 'a&b<c>', instanceId: 'i"d\'', state: 'Ready' });
  assert.ok(raw.includes('a&amp;b&lt;c&gt;'));
  const doc = parseXml(raw, fail);
  assert.equal(at(doc, 'Health', 'GoalStateIncarnation'), '0012');
  assert.equal(at(doc, 'Health', 'Container', 'ContainerId'), 'a&b<c>');
  assert.equal(at(doc, 'Health', 'Container', 'RoleInstanceList', 'Role', 'InstanceId'), 'i"d\'');
});

test('refuses, by name and before anything is sent, an id holding a character XML does not allow', () => {
  const cases: Array<[Partial<HealthReport>, string, string]> = [
    [{ containerId: 'c6d5\uffff' }, 'Container/ContainerId', 'U+FFFF at position 5'],
    [{ instanceId: 'b61f\u0008x' }, 'Container/RoleInstanceList/Role/InstanceId', 'U+0008 at position 5'],
    [{ instanceId: 'b61f\udc00' }, 'Container/RoleInstanceList/Role/InstanceId', 'U+DC00'],
    [{ incarnation: '1\u0000' }, 'GoalStateIncarnation', 'U+0000'],
  ];
  for (const [change, field, what] of cases) {
    assert.throws(
      () => buildHealthReport({ ...ids, state: 'NotReady', subStatus: 'ProvisioningFailed', description: 'x', ...change }),
      (err: unknown) => err instanceof FabricDocumentError && err.code === 'FABRIC_DOCUMENT_INVALID' && err.field === field && err.reason.includes(what) && /a character XML does not allow/.test(err.reason),
      field,
    );
  }
});

test('keeps ids that XML allows verbatim, unusual characters included', () => {
  const unusual = { ...ids, containerId: 'c\u0085\u2028\ufeff\u{1F600}&<>', instanceId: 'i\u007f\t' };
  const doc = parseXml(buildHealthReport({ ...unusual, state: 'Ready' }), fail);
  assert.equal(at(doc, 'Health', 'Container', 'ContainerId'), unusual.containerId);
  assert.equal(at(doc, 'Health', 'Container', 'RoleInstanceList', 'Role', 'InstanceId'), unusual.instanceId);
});

test('refuses a state or sub-status outside the protocol vocabulary', () => {
  assert.throws(() => buildHealthReport({ ...ids, state: 'Started' as 'Ready' }), /HealthReport Health\/State: must be Ready or NotReady/);
  assert.throws(() => buildHealthReport({ ...ids, state: 'NotReady', subStatus: 'Bogus' as 'Provisioning' }), /Details\/SubStatus: must be Provisioning or ProvisioningFailed/);
});

test('a description is made safe, never refused: every character XML forbids is removed', () => {
  const all = Array.from({ length: 0x20 }, (_, c) => String.fromCharCode(c)).join('') + '\ufffe\uffff\ud800';
  const { raw, health } = roundTrip({ ...ids, state: 'NotReady', subStatus: 'ProvisioningFailed', description: `a${all}b` });
  assert.equal(at(health, 'Details', 'Description'), 'a\t\nb'.replace('b', '\ufffdb'));
  assert.ok(!/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(raw));
});
