import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRoleProperties, normalizeThumbprint } from '../src/protocol/role-properties.ts';
import { checkRoleProperties } from '../src/simulator/role-properties.ts';
import { FabricDocumentError } from '../src/errors.ts';

const THUMBPRINT = 'A1B2C3D4E5F60718293A4B5C6D7E8F9011223344';

test('role properties are built in the documented shape (fabric-protocol.md 2.9), values escaped', () => {
  const xml = buildRoleProperties({ containerId: 'c-1&2', instanceId: 'deploy._vm<1>', certificateThumbprint: THUMBPRINT });
  assert.equal(xml,
    '<?xml version="1.0" encoding="utf-8"?><RoleProperties><Container><ContainerId>c-1&amp;2</ContainerId><RoleInstances><RoleInstance>'
    + '<Id>deploy._vm&lt;1&gt;</Id><Properties><Property name="CertificateThumbprint" value="A1B2C3D4E5F60718293A4B5C6D7E8F9011223344"></Property>'
    + '</Properties></RoleInstance></RoleInstances></Container></RoleProperties>');
  // The simulator, with its own reader, takes it for this VM.
  const verdict = checkRoleProperties(Buffer.from(xml), { containerId: 'c-1&2', instanceId: 'deploy._vm<1>' });
  assert.equal(verdict.accepted, true, verdict.reason);
  assert.equal(verdict.httpStatus, 202);
  assert.equal(verdict.certificateThumbprint, THUMBPRINT);
});

test('a thumbprint that is not 40 upper-case hex digits is never built', () => {
  for (const bad of ['', 'a1b2', THUMBPRINT.toLowerCase(), `${THUMBPRINT}00`, `${THUMBPRINT.slice(0, 39)}"`]) {
    assert.throws(() => buildRoleProperties({ containerId: 'c', instanceId: 'i', certificateThumbprint: bad }), FabricDocumentError);
  }
});

test('WMI thumbprints are normalized; an empty or all-zero hash means no certificate yet', () => {
  assert.equal(normalizeThumbprint(THUMBPRINT.toLowerCase()), THUMBPRINT);
  assert.equal(normalizeThumbprint(` ${THUMBPRINT.match(/../g)!.join(' ')} `), THUMBPRINT);
  assert.equal(normalizeThumbprint('0'.repeat(40)), undefined);
  assert.equal(normalizeThumbprint(''), undefined);
  assert.equal(normalizeThumbprint('xyz'), undefined);
});

test('the simulated fabric refuses role properties for another VM or in another shape', () => {
  const expected = { containerId: 'c', instanceId: 'i' };
  const good = buildRoleProperties({ containerId: 'c', instanceId: 'i', certificateThumbprint: THUMBPRINT });
  assert.match(checkRoleProperties(Buffer.from(good.replace('<ContainerId>c<', '<ContainerId>d<')), expected).reason ?? '', /not this VM's container/);
  assert.match(checkRoleProperties(Buffer.from(good.replace('<Id>i<', '<Id>j<')), expected).reason ?? '', /not this VM's role instance/);
  assert.match(checkRoleProperties(Buffer.from('<Health/>'), expected).reason ?? '', /not <RoleProperties>/);
  assert.match(checkRoleProperties(Buffer.from(good.replace(' value="', ' val="')), expected).reason ?? '', /lacks its name or value/);
  assert.match(checkRoleProperties(Buffer.from(good.replace(THUMBPRINT, 'nothex')), expected).reason ?? '', /40 hexadecimal/);
  assert.equal(checkRoleProperties(Buffer.from('<!DOCTYPE x><RoleProperties/>'), expected).accepted, false);
});
