import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRemoval, recordBaseline } from '../../src/cli/remote-access.ts';
import type { RemoteAccessInventory } from '../../src/platform/image-types.ts';

const A = 'A'.repeat(40);
const B = 'B'.repeat(40);

function inventory(): RemoteAccessInventory {
  return {
    winrmRunning: true,
    listeners: [
      { address: '*', transport: 'HTTP', port: 5985, certificateThumbprint: '', source: '' },
      { address: '*', transport: 'HTTPS', port: 5986, certificateThumbprint: A, source: '' },
      { address: '*', transport: 'HTTP', port: 80, certificateThumbprint: '', source: 'Compatibility' },
    ],
    firewallRules: [
      { name: 'WINRM-HTTP-In-TCP', displayName: 'Windows Remote Management (HTTP-In)', enabled: true, localPorts: [5985] },
      { name: 'winprov-WinRM-HTTPS-In', displayName: 'winprov: WinRM over HTTPS', enabled: true, localPorts: [5986] },
    ],
    certificates: [{ thumbprint: A, subject: 'CN=build', hasPrivateKey: true }, { thumbprint: B, subject: 'CN=own', hasPrivateKey: true }],
    bindings: [{ kind: 'http.sys', name: '0.0.0.0:5986', port: 5986, thumbprint: A }],
  };
}

test('without a baseline or a thumbprint nothing is removed', () => {
  assert.deepEqual(planRemoval(inventory(), undefined, []).removal, { listeners: [], firewallRules: [], certificates: [] });
});

test('a thumbprint removes its listener, the rule left opening only that port, and the certificate; WinRM\'s own http.sys binding does not keep it', () => {
  const plan = planRemoval(inventory(), undefined, [A]);
  assert.deepEqual(plan.removal, { listeners: [{ address: '*', transport: 'HTTPS' }], firewallRules: ['winprov-WinRM-HTTPS-In'], certificates: [A] });
  assert.deepEqual(plan.kept, []);
});

test('a baseline taken before the build\'s listener existed removes what came after, never Windows\' rules or compatibility listeners', () => {
  const before = inventory();
  before.listeners = before.listeners.filter((l) => l.transport !== 'HTTPS');
  before.firewallRules = before.firewallRules.filter((r) => r.name.startsWith('WINRM'));
  before.certificates = before.certificates.filter((c) => c.thumbprint === B);
  const baseline = recordBaseline(before, [], []);
  const plan = planRemoval(inventory(), baseline, []);
  assert.deepEqual(plan.removal, { listeners: [{ address: '*', transport: 'HTTPS' }], firewallRules: ['winprov-WinRM-HTTPS-In'], certificates: [A] });
});

test('an HTTPS listener of the image\'s own bound to an image certificate stays, and so does the certificate', () => {
  const now = inventory();
  const baseline = recordBaseline(now, [], []);
  assert.deepEqual(planRemoval(now, baseline, []).removal, { listeners: [], firewallRules: [], certificates: [] });
});

test('a certificate an IIS binding uses is kept and says so', () => {
  const now = inventory();
  now.bindings.push({ kind: 'http.sys', name: '0.0.0.0:443', port: 443, thumbprint: A });
  const plan = planRemoval(now, recordBaseline(now, ['HTTPS'], []), []);
  assert.deepEqual(plan.removal.certificates, []);
  assert.deepEqual(plan.kept, [{ thumbprint: A, usedBy: 'http.sys 0.0.0.0:443' }]);
  assert.deepEqual(plan.removal.listeners, [{ address: '*', transport: 'HTTPS' }]);
});
