import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { provisioningFixture } from '../helpers/provisioning.ts';
import { passwordMatches } from '../../src/platform/sandbox/index.ts';
import { ADMINISTRATORS_SID } from '../../src/platform/sandbox/machine.ts';

const PASSWORD = 'Corr3ct-Horse-Battery!';

test('a run reports Provisioning then Ready and applies name, account, certificates and custom data', async () => {
  const fx = await provisioningFixture({
    scenario: { computerName: 'web-01', adminUsername: 'opsadmin', adminPassword: PASSWORD, certificateCount: 3, provisionGuestAgent: true, customData: 'line one\nline two\n' },
  });
  try {
    const result = await fx.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    assert.equal(result.exitCode, 0);

    const reports = fx.simulator.healthReports.map((r) => `${r.state}${r.subStatus ? `/${r.subStatus}` : ''}:${r.accepted}`);
    assert.deepEqual(reports, ['NotReady/Provisioning:true', 'Ready:true']);

    const machine = await fx.machine();
    assert.equal(machine.pendingComputerName, 'web-01');
    const user = machine.users.find((u) => u.name === 'opsadmin');
    assert.ok(user, 'the admin account exists');
    assert.ok(passwordMatches(user.passwordDigest, PASSWORD), 'the password from ovf-env.xml was set');
    assert.ok(machine.groups[ADMINISTRATORS_SID]!.members.includes(user.sid), 'member of Administrators by SID');
    assert.equal(user.passwordNeverExpires, true);

    const expected = fx.simulator.expected.certificates;
    assert.equal(expected.length, 3);
    for (const certificate of expected) {
      const stored = machine.certificateStores[certificate.storeName]?.find((c) => c.thumbprint === certificate.thumbprint);
      assert.ok(stored, `${certificate.thumbprint} is in LocalMachine\\${certificate.storeName}`);
      assert.equal(stored.hasPrivateKey, certificate.hasPrivateKey);
      assert.equal(stored.exportable, false);
    }
    const customData = await readFile(join(fx.sandboxRoot, 'SystemDrive', 'AzureData', 'CustomData.bin'), 'utf8');
    assert.equal(customData, 'line one\nline two\n');
    assert.deepEqual(machine.services.map((s) => `${s.name}:${s.startMode}:${s.running}`), ['RdAgent:Automatic:false', 'WindowsAzureGuestAgent:Automatic:false']);

    const state = await fx.platform.readAgentState();
    assert.equal(state?.result, 'ready');
    assert.ok(state.steps.every((s) => s.outcome !== 'failed'));
    const marker = await fx.platform.readCompletionMarker();
    assert.equal(marker?.vmId, machine.vmId);
  } finally {
    await fx.close();
  }
});

test('with one logical processor the key is generated when the goal state lists certificates, and they are imported', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 2 } });
  try {
    const result = await fx.run({ transportKeyWithRun: false });
    assert.equal(result.outcome, 'ready', result.error?.describe());
    assert.ok(fx.lines.some((line) => line.includes('transport key: generated only if the goal state lists certificates')), fx.lines.join('\n'));
    const machine = await fx.machine();
    for (const certificate of fx.simulator.expected.certificates) {
      assert.ok(machine.certificateStores[certificate.storeName]?.some((c) => c.thumbprint === certificate.thumbprint), certificate.thumbprint);
    }
    assert.equal(fx.simulator.requestsTo('certificates').length, 1);
  } finally {
    await fx.close();
  }
});

test('a second run on a provisioned machine applies nothing and sends Ready again', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 1 } });
  try {
    const first = await fx.run();
    assert.equal(first.outcome, 'ready');
    const before = await fx.machine();
    // Every journal the re-run saves keeps the account: one killed after its first save (after DHCP,
    // before the VM id is read) must not leave a state.json without it.
    const write = fx.platform.writeAgentState.bind(fx.platform);
    const saved: (string | undefined)[] = [];
    fx.platform.writeAgentState = async (state) => {
      saved.push(state.adminAccount?.sid);
      await write(state);
    };
    const second = await fx.run();
    assert.equal(second.outcome, 'ready');
    assert.equal(second.alreadyProvisioned, true);
    assert.ok(saved.length > 1 && saved.every((sid) => sid === first.state.adminAccount?.sid), JSON.stringify(saved));
    assert.ok(first.state.adminAccount?.sid.endsWith('-500'), 'the admin account is the built-in Administrator');
    assert.deepEqual(second.state.adminAccount, first.state.adminAccount, 'the re-run carries the admin account over for status');
    const after = await fx.machine();
    assert.deepEqual(after.changes, before.changes, 'no change was made by the second run');
    assert.deepEqual(after.users, before.users);
    assert.deepEqual(after.certificateStores, before.certificateStores);
    const readies = fx.simulator.healthReports.filter((r) => r.state === 'Ready' && r.accepted);
    assert.equal(readies.length, 2, 'Ready was sent by each run');
    assert.equal(fx.simulator.requestsTo('certificates').length, 1, 'certificates were not fetched again');
  } finally {
    await fx.close();
  }
});

test('a journal whose carried-over records were edited out of shape does not stop a re-run from sending Ready', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 0 } });
  try {
    assert.equal((await fx.run()).outcome, 'ready');
    const path = join(fx.platform.stateDirectory, 'state.json');
    for (const warnings of [{ note: 'hand edit' }, [null], [{ message: 'no step' }]]) {
      await writeFile(path, JSON.stringify({ ...JSON.parse(await readFile(path, 'utf8')), warnings }));
      const again = await fx.run();
      assert.equal(again.outcome, 'ready', again.error?.describe());
      assert.equal(again.alreadyProvisioned, true);
    }
    assert.equal(fx.simulator.healthReports.filter((r) => r.state === 'Ready' && r.accepted).length, 4);
  } finally {
    await fx.close();
  }
});

test('an invalid computer name ends in one ProvisioningFailed naming the rule, a non-zero exit code and no change', async () => {
  const fx = await provisioningFixture({ scenario: { computerName: 'this-name-is-far-too-long', adminPassword: PASSWORD } });
  try {
    const result = await fx.run();
    assert.equal(result.outcome, 'failed');
    assert.notEqual(result.exitCode, 0);
    assert.equal(result.error?.code, 'OVF_INVALID');
    const failures = fx.simulator.healthReports.filter((r) => r.subStatus === 'ProvisioningFailed');
    assert.equal(failures.length, 1);
    assert.match(failures[0]!.description ?? '', /ComputerName/);
    assert.match(failures[0]!.description ?? '', /1 to 15 characters/);
    assert.equal(fx.simulator.healthReports.filter((r) => r.state === 'Ready').length, 0);
    const machine = await fx.machine();
    assert.equal(machine.pendingComputerName, undefined);
    assert.equal(machine.users.length, 1, 'no account was created');
    assert.equal((await fx.platform.readCompletionMarker()), undefined);
    assert.equal((await fx.platform.readAgentState())?.failure?.code, 'OVF_INVALID');
  } finally {
    await fx.close();
  }
});

test('an invalid document is saved (redacted) before the failure is reported; a copy that cannot be saved only warns', async () => {
  const invalid = await provisioningFixture({ scenario: { computerName: 'this-name-is-far-too-long', adminPassword: PASSWORD } });
  try {
    assert.equal((await invalid.run()).outcome, 'failed');
    const copy = await readFile(join(invalid.platform.stateDirectory, 'ovf-env.xml'), 'utf8');
    assert.match(copy, /this-name-is-far-too-long/);
    assert.ok(!copy.includes(PASSWORD));
  } finally {
    await invalid.close();
  }
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD } });
  try {
    // A folder where the copy goes: the rename over it fails, as on a state folder that cannot be written.
    await mkdir(join(fx.platform.stateDirectory, 'ovf-env.xml', 'in-the-way'), { recursive: true });
    const result = await fx.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    assert.ok(fx.lines.some((line) => /WARN the redacted copy of ovf-env\.xml could not be saved/.test(line)), fx.lines.join(''));
    assert.notEqual(await fx.platform.readCompletionMarker(), undefined);
  } finally {
    await fx.close();
  }
});

test('a run that fails before the media are read still saves the copy before the failure is reported', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD } });
  try {
    // DHCP off and not to be repaired: the run fails while the (slow) media read is under way, and the
    // save that read starts when it ends is slow too, so only a wait for it puts the copy on disk first.
    await fx.editMachine((m) => void (m.interfaces[0]!.dhcpEnabled = false));
    const read = fx.platform.readProvisioningMedia.bind(fx.platform);
    fx.platform.readProvisioningMedia = async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return read();
    };
    const save = fx.platform.saveOvfEnvCopy.bind(fx.platform);
    let reportsWhenSaved: number | undefined;
    fx.platform.saveOvfEnvCopy = async (xml: string) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await save(xml);
      reportsWhenSaved = fx.simulator.healthReports.length;
    };
    const result = await fx.run({ repairDhcp: false });
    assert.equal(result.error?.code, 'DHCP_DISABLED', result.error?.describe());
    assert.equal(reportsWhenSaved, 0, 'the copy was saved before any report reached the fabric');
    assert.deepEqual(fx.simulator.healthReports.map((r) => r.subStatus), ['ProvisioningFailed']);
    assert.ok(!(await readFile(join(fx.platform.stateDirectory, 'ovf-env.xml'), 'utf8')).includes(PASSWORD));
  } finally {
    await fx.close();
  }
});

test('ProvisionGuestAgent false leaves the guest agent services disabled', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, provisionGuestAgent: false, certificateCount: 0 } });
  try {
    const result = await fx.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    const machine = await fx.machine();
    assert.ok(machine.services.every((s) => s.startMode === 'Disabled'));
    assert.equal(fx.simulator.requestsTo('certificates').length, 0, 'no certificates URL, no request');
  } finally {
    await fx.close();
  }
});

test('WinRM listeners from ovf-env.xml: Https bound to the imported certificate, firewall open, idempotent', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 2, winRmHttps: true } });
  try {
    const result = await fx.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    const machine = await fx.machine();
    const first = fx.simulator.expected.certificates[0]!;
    const https = machine.winrm?.listeners.find((l) => l.transport === 'HTTPS');
    assert.equal(https?.port, 5986);
    assert.equal(https?.certificateThumbprint, first.thumbprint);
    assert.ok(machine.winrm?.firewallPorts.includes(5986));
    assert.ok(result.state.applied.some((a) => a.what === 'winrm' && /Https listener on port 5986 created/.test(a.detail)));
    // Run again as a new image would not: the same VM applies nothing, the listener stays as it is.
    assert.equal((await fx.run()).outcome, 'ready');
    assert.deepEqual((await fx.machine()).winrm, machine.winrm);
  } finally {
    await fx.close();
  }
});

test('deferred Ready: the specialize run applies everything without Ready; the SetupComplete run sends Ready and applies nothing', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 1, provisionGuestAgent: true } });
  try {
    const specialize = await fx.run({ phase: 'apply' });
    assert.equal(specialize.outcome, 'applied', specialize.error?.describe());
    assert.equal(specialize.exitCode, 0);
    assert.deepEqual(fx.simulator.healthReports.map((r) => `${r.state}/${r.subStatus ?? ''}`), ['NotReady/Provisioning']);
    const applied = await fx.machine();
    assert.equal(applied.pendingComputerName, fx.simulator.scenario.computerName);
    assert.ok(applied.services.every((s) => s.startMode === 'Disabled'), 'the guest agent is not enabled before Ready');
    assert.ok(await fx.platform.readCompletionMarker());

    const setupComplete = await fx.run();
    assert.equal(setupComplete.outcome, 'ready');
    assert.equal(setupComplete.alreadyProvisioned, true);
    // The machine is provisioned (completion marker): the SetupComplete run sends Ready and nothing else.
    assert.deepEqual(fx.simulator.healthReports.map((r) => `${r.state}/${r.subStatus ?? ''}`), ['NotReady/Provisioning', 'Ready/']);
    const after = await fx.machine();
    assert.deepEqual(after.users, applied.users);
    assert.deepEqual(after.certificateStores, applied.certificateStores);
    assert.ok(after.services.every((s) => s.startMode === 'Automatic'), 'the guest agent is enabled after Ready');
  } finally {
    await fx.close();
  }
});

test('Ready is final: a run whose Ready was never acknowledged sends no ProvisioningFailed, and the next run only sends Ready', async () => {
  const lost = Array.from({ length: 6 }, () => ({ acceptThenReset: true as const }));
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 0, provisionGuestAgent: true }, faults: { endpoints: { health: [{ delayMs: 0 }, ...lost] } } });
  try {
    const first = await fx.run({ reportPolicy: { baseDelayMs: 5, maxDelayMs: 5, maxAttempts: 3, jitter: 0 }, failureReportGraceMs: 2_000 });
    assert.equal(first.outcome, 'failed');
    assert.equal(first.error?.code, 'READY_UNCONFIRMED');
    assert.equal(first.exitCode, 4);
    assert.ok(await fx.platform.readCompletionMarker(), 'the marker stays: the machine is provisioned');
    assert.equal((await fx.machine()).kvp.PROVISIONING_REPORT?.split('|')[1], `reason=READY_UNCONFIRMED: ${first.error!.reason}`);
    const applied = await fx.machine();

    const second = await fx.run();
    assert.equal(second.outcome, 'ready', second.error?.describe());
    assert.equal(second.alreadyProvisioned, true);
    const reports = fx.simulator.healthReports.map((r) => `${r.state}/${r.subStatus ?? ''}`);
    assert.deepEqual(reports, ['NotReady/Provisioning', ...Array(6).fill('Ready/'), 'Ready/'], 'Ready only, never ProvisioningFailed');
    assert.deepEqual((await fx.machine()).users, applied.users, 'nothing applied again');
  } finally {
    await fx.close();
  }
});

