import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FabricDocumentError } from '../../src/errors.ts';
import { GOAL_STATE_PATH, HEALTH_PATH, VERSIONS_PATH, parseGoalState } from '../../src/protocol/goal-state.ts';

const real = readFileSync(new URL('../fixtures/fabric/goal-state.xml', import.meta.url), 'utf8');
const variant = (name: string): string => readFileSync(new URL(`../fixtures/protocol/${name}`, import.meta.url), 'utf8');

const CONTAINER = 'c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2';
const INSTANCE = 'b61f93d0-e1ed-40b2-b067-22c243233448.MachineRole_IN_0';
const BASE = 'http://168.63.129.16:80/machine/865a6683-91d8-450f-99ae/bc8b9d47%2Db5ed%2D4704%2D85d9%2Dfd74cc967ec2.%5Fcanary';

/** The real goal state with one substring replaced (each replacement must hit). */
function edit(from: string | RegExp, to: string): string {
  const changed = real.replace(from, to);
  assert.notEqual(changed, real, `fixture edit ${String(from)} did not apply`);
  return changed;
}

function assertDocumentError(fn: () => unknown, field: string, rule?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FabricDocumentError, `expected FabricDocumentError, got ${String(err)}`);
    assert.equal(err.document, 'GoalState');
    assert.equal(err.field, field);
    if (rule) assert.match(err.reason, rule);
    return true;
  });
}

test('parses the real goal state: incarnation, container, instance and decoded URLs', () => {
  const goal = parseGoalState(real);
  assert.equal(goal.incarnation, '1');
  assert.equal(goal.containerId, CONTAINER);
  assert.equal(goal.expectedState, 'Started');
  assert.deepEqual(goal.roleInstance, {
    instanceId: INSTANCE,
    hostingEnvironmentConfigUrl: `${BASE}?comp=config&type=hostingEnvironmentConfig&incarnation=1`,
    sharedConfigUrl: `${BASE}?comp=config&type=sharedConfig&incarnation=1`,
    certificatesUrl: `${BASE}?comp=certificates&incarnation=1`,
    configName: 'bc8b9d47-b5ed-4704-85d9-fd74cc967ec2.5.bc8b9d47-b5ed-4704-85d9-fd74cc967ec2.5._canary.1.xml',
  });
});

test('keeps percent-escapes in URLs verbatim and decodes only the XML escaping', () => {
  const url = parseGoalState(real).roleInstance?.certificatesUrl ?? '';
  assert.ok(!url.includes('&amp;'));
  assert.ok(url.includes('%2Db5ed%2D4704') && url.includes('%5Fcanary'));
  assert.equal(new URL(url).searchParams.get('comp'), 'certificates');
});

test('parses UTF-8 bytes, with or without a byte order mark, like the string', () => {
  const bytes = new TextEncoder().encode(real);
  const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes]);
  assert.deepEqual(parseGoalState(bytes), parseGoalState(real));
  assert.deepEqual(parseGoalState(withBom), parseGoalState(real));
});

test('reads a goal state whose elements carry any namespace prefix', () => {
  const goal = parseGoalState(variant('goal-state-prefixed.xml'));
  assert.equal(goal.incarnation, '1');
  assert.equal(goal.containerId, CONTAINER);
  assert.equal(goal.roleInstance?.instanceId, INSTANCE);
  assert.equal(goal.roleInstance?.certificatesUrl, `${BASE}?comp=certificates&incarnation=1`);
  assert.equal(goal.roleInstance?.sharedConfigUrl, undefined);
});

test('returns no role instance when RoleInstanceList is empty or absent, so the caller can re-fetch', () => {
  const empty = parseGoalState(variant('goal-state-no-role-instance.xml'));
  assert.equal(empty.roleInstance, undefined);
  assert.equal(empty.containerId, CONTAINER);
  const absent = parseGoalState(edit(/<RoleInstanceList>[\s\S]*<\/RoleInstanceList>/, ''));
  assert.equal(absent.roleInstance, undefined);
});

test('leaves the certificates URL undefined when the VM has no certificates', () => {
  const goal = parseGoalState(variant('goal-state-no-certificates.xml'));
  assert.equal(goal.incarnation, '3');
  assert.equal(goal.roleInstance?.certificatesUrl, undefined);
  assert.equal(goal.roleInstance?.hostingEnvironmentConfigUrl, `${BASE}?comp=config&type=hostingEnvironmentConfig&incarnation=3`);
});

test('takes the first of several role instances', () => {
  const second = '<RoleInstance><InstanceId>second.MachineRole_IN_1</InstanceId></RoleInstance></RoleInstanceList>';
  const goal = parseGoalState(edit('</RoleInstanceList>', second));
  assert.equal(goal.roleInstance?.instanceId, INSTANCE);
});

test('accepts a role instance without Configuration and a goal state without Machine', () => {
  const goal = parseGoalState(edit(/<Configuration>[\s\S]*<\/Configuration>/, '').replace(/<Machine>[\s\S]*<\/Machine>/, ''));
  assert.equal(goal.expectedState, undefined);
  assert.deepEqual(goal.roleInstance, {
    instanceId: INSTANCE,
    hostingEnvironmentConfigUrl: undefined,
    sharedConfigUrl: undefined,
    certificatesUrl: undefined,
    configName: undefined,
  });
});

test('requires ContainerId, Container, Incarnation and InstanceId, naming the one missing', () => {
  assertDocumentError(() => parseGoalState(edit(/<ContainerId>[^<]*<\/ContainerId>/, '')), 'Container/ContainerId', /required/);
  assertDocumentError(() => parseGoalState(edit(/<Container>[\s\S]*<\/Container>/, '')), 'Container', /required/);
  assertDocumentError(() => parseGoalState(edit(/<Incarnation>1<\/Incarnation>/, '')), 'Incarnation', /required/);
  assertDocumentError(
    () => parseGoalState(edit(/<InstanceId>[^<]*<\/InstanceId>/, '')),
    'Container/RoleInstanceList/RoleInstance/InstanceId',
    /required/,
  );
});

test('rejects a duplicated Incarnation, ContainerId or Container', () => {
  assertDocumentError(() => parseGoalState(edit('<Incarnation>1</Incarnation>', '<Incarnation>1</Incarnation><Incarnation>2</Incarnation>')), 'Incarnation', /once/);
  assertDocumentError(() => parseGoalState(edit(`<ContainerId>${CONTAINER}</ContainerId>`, `<ContainerId>${CONTAINER}</ContainerId><ContainerId>x</ContainerId>`)), 'Container/ContainerId', /once/);
  assertDocumentError(() => parseGoalState(edit('</Container>', '</Container><Container><ContainerId>x</ContainerId></Container>')), 'Container', /once/);
});

test('rejects an incarnation that is not 1 to 20 digits, keeping leading zeros otherwise', () => {
  for (const bad of ['1a', ' 1', '1 ', '-1', '+1', '1.0', '', '1'.repeat(21), '１']) {
    assertDocumentError(() => parseGoalState(edit('<Incarnation>1</Incarnation>', `<Incarnation>${bad}</Incarnation>`)), 'Incarnation', /digits/);
  }
  assert.equal(parseGoalState(edit('<Incarnation>1</Incarnation>', '<Incarnation>007</Incarnation>')).incarnation, '007');
});

test('rejects relative, non-http and malformed configuration URLs, naming the element', () => {
  const field = 'Container/RoleInstanceList/RoleInstance/Configuration/Certificates';
  const bad = ['/machine/x?comp=certificates', 'ftp://168.63.129.16/x', 'http:168.63.129.16/x', 'http://', 'file:///etc/passwd', 'http://host/a b', ''];
  for (const url of bad) {
    assertDocumentError(() => parseGoalState(edit(/<Certificates>[^<]*<\/Certificates>/, `<Certificates>${url}</Certificates>`)), field);
  }
  const https = parseGoalState(edit(/<Certificates>[^<]*<\/Certificates>/, '<Certificates>HTTPS://127.0.0.1:8443/c?a=1&amp;b=2</Certificates>'));
  assert.equal(https.roleInstance?.certificatesUrl, 'HTTPS://127.0.0.1:8443/c?a=1&b=2');
});

test('rejects ids that are empty, over 256 characters or hold control characters', () => {
  const withId = (id: string): string => edit(`<InstanceId>${INSTANCE}</InstanceId>`, `<InstanceId>${id}</InstanceId>`);
  const field = 'Container/RoleInstanceList/RoleInstance/InstanceId';
  assertDocumentError(() => parseGoalState(withId('')), field, /empty/);
  assertDocumentError(() => parseGoalState(withId('x'.repeat(257))), field, /256/);
  assertDocumentError(() => parseGoalState(withId('a\tb')), field, /control/);
  assertDocumentError(() => parseGoalState(withId('a\u0085b')), field, /control/);
  assert.equal(parseGoalState(withId('x'.repeat(256))).roleInstance?.instanceId, 'x'.repeat(256));
  assertDocumentError(() => parseGoalState(edit(CONTAINER, `${CONTAINER}\u007f`)), 'Container/ContainerId', /control/);
  // Characters XML forbids are refused by the well-formedness check, under the same field name.
  assertDocumentError(() => parseGoalState(edit(CONTAINER, `${CONTAINER}\u0001`)), 'Container/ContainerId', /not well-formed XML \(at line 12, column \d+\): U\+0001/);
  assertDocumentError(() => parseGoalState(edit(CONTAINER, `${CONTAINER}\uffff`)), 'Container/ContainerId', /U\+FFFF is a character XML does not allow/);
});

test('rejects an id given as nested elements instead of text', () => {
  assertDocumentError(() => parseGoalState(edit(CONTAINER, '<A>1</A>')), 'Container/ContainerId', /nested/);
});

test('rejects text where elements belong, never reading it as absent (the certificates URL would vanish)', () => {
  assertDocumentError(() => parseGoalState(edit(/<Configuration>[^]*<\/Configuration>/, '<Configuration>http://168.63.129.16/certs</Configuration>')),
    'Container/RoleInstanceList/RoleInstance/Configuration', /: must contain elements, not text$/);
  assertDocumentError(() => parseGoalState(edit(/<Machine>[^]*<\/Machine>/, '<Machine>oops</Machine>')), 'Machine', /: must contain elements, not text$/);
  assertDocumentError(() => parseGoalState(edit(/<Container>[^]*<\/Container>/, '<Container>oops</Container>')), 'Container', /: must contain elements, not text$/);
  // Whitespace alone is an empty element, as before.
  assert.equal(parseGoalState(edit(/<Configuration>[^]*<\/Configuration>/, '<Configuration>\r\n  </Configuration>')).roleInstance?.certificatesUrl, undefined);
});

test('rejects a DOCTYPE, invalid UTF-8, an oversize document and another root element', () => {
  assertDocumentError(() => parseGoalState(edit('<GoalState ', '<!DOCTYPE GoalState [<!ENTITY x "y">]><GoalState ')), '(document)', /DOCTYPE/);
  const bytes = new TextEncoder().encode(real);
  const invalid = new Uint8Array([...bytes.subarray(0, 200), 0xc3, 0x28, ...bytes.subarray(200)]);
  assertDocumentError(() => parseGoalState(invalid), '(document)', /UTF-8/);
  assertDocumentError(() => parseGoalState(edit('<Incarnation>', `<!-- ${'x'.repeat(300 * 1024)} --><Incarnation>`)), '(document)', /limit/);
  assertDocumentError(() => parseGoalState('<Versions><Preferred/></Versions>'), '(document)', /root/);
  assertDocumentError(() => parseGoalState('<GoalState>1</GoalState>'), 'GoalState', /elements/);
  assertDocumentError(() => parseGoalState(real.replace('</GoalState>', '')), '(document)', /well-formed/);
});

test('exports the protocol paths as paths relative to the fabric address', () => {
  const at = (path: string): URL => new URL(path, 'http://127.0.0.1:8080');
  assert.equal(at(GOAL_STATE_PATH).pathname, '/machine/');
  assert.equal(at(GOAL_STATE_PATH).searchParams.get('comp'), 'goalstate');
  assert.equal(at(VERSIONS_PATH).pathname, '/');
  assert.equal(at(VERSIONS_PATH).searchParams.get('comp'), 'versions');
  assert.equal(at(HEALTH_PATH).pathname, '/machine');
  assert.equal(at(HEALTH_PATH).searchParams.get('comp'), 'health');
});
