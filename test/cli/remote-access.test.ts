import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRemoval, recordBaseline, describeKeptRules } from '../../src/cli/remote-access.ts';
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
      { name: 'WINRM-HTTP-In-TCP', displayName: 'Windows Remote Management (HTTP-In)', enabled: true, localPorts: [5985], opensOtherPorts: false },
      { name: 'winprov-WinRM-HTTPS-In', displayName: 'winprov: WinRM over HTTPS', enabled: true, localPorts: [5986], opensOtherPorts: false },
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

test('a rule added during the build that opens other ports too (IIS on 80, RDP on 3389) is named and kept, never removed whole', () => {
  const before = inventory();
  before.listeners = before.listeners.filter((l) => l.transport !== 'HTTPS');
  before.firewallRules = before.firewallRules.filter((r) => r.name.startsWith('WINRM'));
  const baseline = recordBaseline(before, [], []);
  const now = inventory();
  now.firewallRules.push(
    { name: 'Hardening-Remote-In', displayName: 'RDP and WinRM', enabled: true, localPorts: [5986], opensOtherPorts: true },
    { name: 'winprov-WinRM-5986-Extra', displayName: 'the build\'s second rule', enabled: true, localPorts: [5986], opensOtherPorts: false },
  );
  const plan = planRemoval(now, baseline, []);
  assert.deepEqual(plan.removal.firewallRules, ['winprov-WinRM-HTTPS-In', 'winprov-WinRM-5986-Extra']);
  assert.deepEqual(plan.keptRules, [{ name: 'Hardening-Remote-In', ports: [5986] }]);
  assert.deepEqual(describeKeptRules(plan), ['keep the firewall rule Hardening-Remote-In: it opens other ports besides 5986; remove that port from it by hand if the build added it']);
  // Without a baseline, a rule left opening only a removed listener's port goes; one that opens more stays.
  const named = planRemoval(now, undefined, [A]);
  assert.deepEqual(named.removal.firewallRules, ['winprov-WinRM-HTTPS-In', 'winprov-WinRM-5986-Extra']);
  assert.deepEqual(named.keptRules.map((r) => r.name), ['Hardening-Remote-In']);
});
