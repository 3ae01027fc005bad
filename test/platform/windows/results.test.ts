import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlatformCommandError } from '../../../src/errors.ts';
import { HostResult, toFabricInterface, toGuestAgentServices } from '../../../src/platform/windows/results.ts';

const IFACE = { name: 'Ethernet', index: 4, id: '{3F2504E0-4F89-11D3-9A0C-0305E82C3301}', mac: '', dhcpEnabled: false, addresses: ['10.1.0.4', 'fe80::1', 7] };

test('an interface keeps IPv4 addresses only and omits an empty MAC', () => {
  assert.deepEqual(toFabricInterface('findFabricInterface', IFACE), { name: 'Ethernet', index: 4, id: IFACE.id, dhcpEnabled: false, addresses: ['10.1.0.4'] });
  assert.equal(toFabricInterface('findFabricInterface', { ...IFACE, mac: '00-0D-3A-00-00-01' }).mac, '00-0D-3A-00-00-01');
});

test('an interface answer with a wrong field names the field', () => {
  assert.throws(() => toFabricInterface('findFabricInterface', { ...IFACE, id: 'Ethernet' }), /interface GUID "Ethernet"/);
  assert.throws(() => toFabricInterface('findFabricInterface', { ...IFACE, index: -1 }), /no valid index/);
  assert.throws(() => toFabricInterface('findFabricInterface', { ...IFACE, dhcpEnabled: 'Enabled' }), /no valid dhcpEnabled/);
  assert.throws(() => toFabricInterface('findFabricInterface', [IFACE]), (err: unknown) => err instanceof PlatformCommandError && /the result/.test(err.message));
});

test('guest agent services accept the three start modes and nothing else', () => {
  assert.deepEqual(toGuestAgentServices('readGuestAgentServices', { installed: [{ name: 'RdAgent', startMode: 'Manual', running: true }] }), { installed: [{ name: 'RdAgent', startMode: 'Manual', running: true }] });
  assert.deepEqual(toGuestAgentServices('readGuestAgentServices', { installed: null }), { installed: [] });
  assert.throws(() => toGuestAgentServices('readGuestAgentServices', { installed: [{ name: 'RdAgent', startMode: 'Boot', running: false }] }), /startMode \(expected one of Automatic, Manual, Disabled/);
});

test('optional strings treat null and empty as absent, lists treat null as empty', () => {
  const r = new HostResult('v', { a: null, b: '', c: 'x', d: null });
  assert.equal(r.optionalString('a'), undefined);
  assert.equal(r.optionalString('b'), undefined);
  assert.equal(r.optionalString('c'), 'x');
  assert.deepEqual(r.list('d'), []);
  assert.throws(() => r.string('a'), /no valid a/);
});
