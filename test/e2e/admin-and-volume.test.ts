import { test } from 'node:test';
import assert from 'node:assert/strict';
import { provisioningFixture } from '../helpers/provisioning.ts';
import { passwordMatches } from '../../src/platform/sandbox/index.ts';
import { ADMINISTRATORS_SID, type SandboxMachine, type SandboxUser } from '../../src/platform/sandbox/machine.ts';
import { digest } from '../../src/platform/sandbox/password.ts';
import { buildStatus, formatStatus } from '../../src/cli/status.ts';
import { Secret } from '../../src/util/secret.ts';

/**
 * The admin account as Azure makes it (the built-in Administrator, RID 500, renamed), the WinRM
 * listener's Hostname, and the OS volume extended, on the sandbox platform end to end.
 */

const PASSWORD = 'Corr3ct-Horse-Battery!';
const BUILD_PASSWORD = 'Packer-Bu1ld-Passw0rd!';
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

function rid500(machine: SandboxMachine): SandboxUser {
  return machine.users.find((u) => u.sid.endsWith('-500'))!;
}

test('the admin is the built-in Administrator (RID 500) renamed, with the password, and status shows it by SID', async () => {
  const fx = await provisioningFixture({ scenario: { adminUsername: 'opsadmin', adminPassword: PASSWORD, certificateCount: 0 } });
  try {
    // The image's RID 500 as the Packer example leaves it: enabled, holding the build password.
    await fx.editMachine((m) => Object.assign(rid500(m), { enabled: true, passwordDigest: digest(BUILD_PASSWORD) }));
    const result = await fx.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    const machine = await fx.machine();
    assert.equal(machine.users.length, 1, 'no second account');
    const admin = rid500(machine);
    assert.equal(admin.name, 'opsadmin');
    assert.ok(admin.enabled);
    assert.ok(admin.passwordNeverExpires);
    assert.ok(passwordMatches(admin.passwordDigest, PASSWORD));
    assert.ok(!passwordMatches(admin.passwordDigest, BUILD_PASSWORD), 'the build password is gone');
    assert.ok(machine.groups[ADMINISTRATORS_SID]!.members.includes(admin.sid));
    const state = await fx.platform.readAgentState();
    assert.deepEqual(state?.adminAccount, { name: 'opsadmin', sid: admin.sid });
    assert.ok(state!.applied.some((a) => a.what === 'admin-account' && a.detail.includes(`built-in Administrator ${admin.sid} renamed from Administrator to opsadmin`)));
    const status = buildStatus(machine.vmId, await fx.platform.readCompletionMarker(), state, { installed: [] });
    assert.deepEqual(JSON.parse(JSON.stringify(status)).adminAccount, { name: 'opsadmin', sid: admin.sid });
    assert.match(formatStatus(status), new RegExp(`admin account  opsadmin \\(${admin.sid}, the built-in Administrator\\)`));
  } finally {
    await fx.close();
  }
});

test('RID 500 already named as requested: only the password and enabled flag change', async () => {
  const fx = await provisioningFixture({ scenario: { adminUsername: 'opsadmin', adminPassword: PASSWORD, certificateCount: 0 } });
  try {
    await fx.editMachine((m) => { rid500(m).name = 'OpsAdmin'; });
    const result = await fx.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    const machine = await fx.machine();
    assert.equal(rid500(machine).name, 'OpsAdmin', 'not renamed');
    assert.ok(rid500(machine).enabled);
    assert.ok(passwordMatches(rid500(machine).passwordDigest, PASSWORD));
    assert.ok(!machine.changes.some((c) => /renamed/.test(c.detail)));
    assert.match(result.state.steps.find((s) => s.name === 'admin-account')!.detail!, /opsadmin updated \(S-1-5-21-[\d-]+-500\)/);
  } finally {
    await fx.close();
  }
});

test('an image account of the requested name is the admin; RID 500 gets a random password and is disabled, and the log says so', async () => {
  const fx = await provisioningFixture({ scenario: { adminUsername: 'opsadmin', adminPassword: PASSWORD, certificateCount: 0 } });
  try {
    let sid = '';
    await fx.editMachine((m) => {
      Object.assign(rid500(m), { enabled: true, passwordDigest: digest(BUILD_PASSWORD) });
      sid = rid500(m).sid.replace(/-500$/, '-1000');
      m.users.push({ name: 'opsadmin', sid, passwordDigest: '', passwordNeverExpires: false, mustChangePassword: false, enabled: false });
    });
    const result = await fx.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    const machine = await fx.machine();
    const admin = machine.users.find((u) => u.sid === sid)!;
    assert.ok(admin.enabled);
    assert.ok(passwordMatches(admin.passwordDigest, PASSWORD));
    assert.ok(machine.groups[ADMINISTRATORS_SID]!.members.includes(sid));
    const builtin = rid500(machine);
    assert.equal(builtin.name, 'Administrator');
    assert.equal(builtin.enabled, false);
    assert.ok(!passwordMatches(builtin.passwordDigest, BUILD_PASSWORD) && !passwordMatches(builtin.passwordDigest, PASSWORD), 'a password nobody knows');
    assert.deepEqual(result.state.adminAccount, { name: 'opsadmin', sid });
    const locked = result.state.applied.find((a) => a.what === 'builtin-administrator');
    assert.match(locked?.detail ?? '', new RegExp(`Administrator \\(${builtin.sid}\\) given a random password nobody knows and disabled`));
    assert.ok(fx.lines.some((line) => line.includes('given a random password nobody knows and disabled')), 'the log says so');
  } finally {
    await fx.close();
  }
});

test('a reserved admin name is refused before any change', async () => {
  const fx = await provisioningFixture({ scenario: { adminUsername: 'admin', adminPassword: PASSWORD, certificateCount: 0 } });
  try {
    const before = await fx.machine();
    const result = await fx.run();
    assert.equal(result.outcome, 'failed');
    assert.equal(result.error?.code, 'OVF_INVALID');
    assert.match(result.error!.reason, /AdminUsername/);
    const after = await fx.machine();
    assert.deepEqual(after.users, before.users);
    assert.deepEqual(after.disk, before.disk);
    assert.deepEqual(after.changes.filter((c) => c.verb === 'ensureAdminAccount' || c.verb === 'extendOsVolume'), []);
  } finally {
    await fx.close();
  }
});

test('a re-run applies nothing: the account and the volume stay as the first run left them', async () => {
  const fx = await provisioningFixture({ scenario: { adminUsername: 'opsadmin', adminPassword: PASSWORD, certificateCount: 0 } });
  try {
    assert.equal((await fx.run()).outcome, 'ready');
    const first = await fx.machine();
    const second = await fx.run();
    assert.equal(second.outcome, 'ready');
    assert.equal(second.alreadyProvisioned, true);
    const again = await fx.machine();
    assert.deepEqual(again.users, first.users);
    assert.deepEqual(again.disk, first.disk);
    assert.deepEqual(again.changes, first.changes);
    // The verbs themselves converge too.
    const account = await fx.platform.ensureAdminAccount({ username: 'opsadmin', password: new Secret(PASSWORD), resetPasswordOnFirstLogon: false });
    assert.equal(account.outcome, 'updated');
    assert.equal((await fx.platform.extendOsVolume()).outcome, 'maximum');
    assert.equal((await fx.machine()).users.length, 1);
  } finally {
    await fx.close();
  }
});

test('the OS volume is extended to the end of the disk as the last apply step', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 0 } });
  try {
    const result = await fx.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    const steps = result.state.steps.map((s) => s.name);
    assert.equal(steps[steps.indexOf('os-volume') + 1], 'marker', steps.join(', '));
    assert.ok(steps.indexOf('os-volume') > steps.indexOf('time-zone'), steps.join(', '));
    const c = (await fx.machine()).disk!.partitions.find((p) => p.driveLetter === 'C')!;
    assert.equal(c.offset + c.size, 127 * GIB);
    assert.ok(result.state.applied.some((a) => a.what === 'os-volume' && /C: extended from 29\.9 GiB to 126\.9 GiB/.test(a.detail)));
    assert.equal(result.state.warnings, undefined);
  } finally {
    await fx.close();
  }
});

test('a recovery partition after C: is reported with the fix and left where it is; provisioning still succeeds', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 0 } });
  try {
    await fx.editMachine((m) => {
      const c = m.disk!.partitions.find((p) => p.driveLetter === 'C')!;
      m.disk!.partitions.push({ number: 4, type: 'Recovery', offset: c.offset + c.size, size: 600 * MIB });
    });
    const before = (await fx.machine()).disk;
    const result = await fx.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    assert.deepEqual((await fx.machine()).disk, before, 'no partition moved or resized');
    const step = result.state.steps.find((s) => s.name === 'os-volume')!;
    assert.equal(step.outcome, 'ok');
    assert.match(step.detail ?? '', /^warning: C: cannot grow into the 96\.4 GiB free on its disk: partition 4 \(Recovery\)/);
    assert.equal(result.state.warnings?.length, 1);
    assert.match(result.state.warnings![0]!.message, /KB5028997/);
    assert.ok(fx.lines.some((line) => line.includes('partition 4 (Recovery) lies between them')), 'the log says so');
  } finally {
    await fx.close();
  }
});

test('Resize-Partition failing is a warning in the journal, never a failed provisioning', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 0 } });
  try {
    await fx.editMachine((m) => { m.resizeFails = 'Not enough available capacity'; });
    const result = await fx.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    assert.equal(result.exitCode, 0);
    assert.match(result.state.warnings?.[0]?.message ?? '', /C: was not extended: Resize-Partition failed: Not enough available capacity/);
    assert.equal(fx.simulator.healthReports.filter((r) => r.subStatus === 'ProvisioningFailed').length, 0);
  } finally {
    await fx.close();
  }
});

test('the HTTPS listener carries its certificate\'s CN as Hostname, and is re-created for a new certificate', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 2, winRmHttps: true } });
  try {
    const first = fx.simulator.expected.certificates[0]!;
    // An image whose HTTPS listener was made on the build VM, with the build VM's certificate and name.
    await fx.editMachine((m) => { m.winrm = { listeners: [{ transport: 'HTTPS', port: 5986, certificateThumbprint: 'B'.repeat(40), hostname: 'packer-build-vm' }], firewallPorts: [5986] }; });
    const result = await fx.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    const https = (await fx.machine()).winrm!.listeners.filter((l) => l.transport === 'HTTPS');
    assert.equal(https.length, 1);
    assert.equal(https[0]!.certificateThumbprint, first.thumbprint);
    assert.match(https[0]!.hostname ?? '', /^winprov-sim-tenant-\d+$/);
    assert.ok(result.state.applied.some((a) => a.what === 'winrm' && /Https listener on port 5986 recreated/.test(a.detail)));
  } finally {
    await fx.close();
  }
});
