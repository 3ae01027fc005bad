import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxPlatform, passwordMatches } from '../../../src/platform/sandbox/index.ts';
import { ADMINISTRATORS_SID, loadMachine, saveMachine } from '../../../src/platform/sandbox/machine.ts';
import { generateTenantCertificates } from '../../../src/simulator/pfx.ts';
import { PlatformRejectedError, MediaNotFoundError, StateError } from '../../../src/errors.ts';
import { Secret } from '../../../src/util/secret.ts';

async function withSandbox(fn: (platform: SandboxPlatform, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'winprov-sandbox-'));
  try {
    await fn(await SandboxPlatform.open(root, { create: true }), root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('opening a folder that is not a sandbox without create is a StateError', async () => {
  const root = await mkdtemp(join(tmpdir(), 'winprov-sandbox-'));
  try {
    await assert.rejects(SandboxPlatform.open(root), StateError);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('computer names follow SetComputerNameEx and the rename is idempotent against the pending name', () => withSandbox(async (platform) => {
  await assert.rejects(platform.setComputerName('bad name!'), PlatformRejectedError);
  await assert.rejects(platform.setComputerName('123456'), PlatformRejectedError);
  assert.equal(await platform.setComputerName('Web-01'), 'renamed');
  assert.equal(await platform.setComputerName('WEB-01'), 'unchanged');
  const machine = await platform.machine();
  assert.equal(machine.pendingComputerName, 'Web-01');
  assert.equal(machine.computerName, 'WIN-GENERALIZED', 'the active name changes only after the reboot');
}));

test('accounts: the password policy is enforced, RID 500 is renamed then updated, membership is by SID', () => withSandbox(async (platform) => {
  const account = (password: string) => ({ username: 'opsadmin', password: new Secret(password), resetPasswordOnFirstLogon: false });
  await assert.rejects(platform.ensureAdminAccount(account('short1A')), PlatformRejectedError);
  await assert.rejects(platform.ensureAdminAccount(account('xxopsadminXX1')), (err: unknown) => err instanceof PlatformRejectedError && !/xxopsadminXX1/.test(String(err)));
  const first = await platform.ensureAdminAccount(account('First-Passw0rd'));
  assert.equal(first.outcome, 'renamed');
  assert.equal(first.previousName, 'Administrator');
  assert.match(first.sid, /^S-1-5-21-\d+-\d+-\d+-500$/);
  assert.deepEqual(await platform.ensureAdminAccount(account('Second-Passw0rd')), { outcome: 'updated', sid: first.sid });
  const machine = await platform.machine();
  const users = machine.users.filter((u) => u.name === 'opsadmin');
  assert.equal(users.length, 1);
  assert.equal(machine.users.length, 1, 'no second account');
  assert.ok(passwordMatches(users[0]!.passwordDigest, 'Second-Passw0rd'));
  assert.equal(machine.groups[ADMINISTRATORS_SID]!.members.filter((sid) => sid === users[0]!.sid).length, 1);
  await assert.rejects(platform.ensureAdminAccount({ ...account('Third-Passw0rd'), username: 'a/b' }), PlatformRejectedError);
  await assert.rejects(platform.ensureAdminAccount({ ...account('Third-Passw0rd'), username: 'Administrators' }), /already the name of a local group/);
}));

test('a user named like the computer still joins Administrators (membership by SID)', () => withSandbox(async (platform) => {
  await platform.setComputerName('web01');
  await platform.ensureAdminAccount({ username: 'web01', password: new Secret('Same-Name-Passw0rd'), resetPasswordOnFirstLogon: true });
  const machine = await platform.machine();
  const user = machine.users.find((u) => u.name === 'web01')!;
  assert.ok(machine.groups[ADMINISTRATORS_SID]!.members.includes(user.sid));
  assert.equal(user.mustChangePassword, true);
  assert.equal(user.passwordNeverExpires, false);
}));

test('certificates: imported once by thumbprint, never duplicated, and only those the PFX holds', () => withSandbox(async (platform) => {
  const generated = await generateTenantCertificates(2);
  const [withKey, withoutKey] = generated.certificates;
  const bundle = {
    pfx: new Secret(generated.pfx),
    pfxPassword: '' as const,
    placements: [
      { thumbprint: withKey!.thumbprint, store: 'My', hasPrivateKey: true },
      { thumbprint: withoutKey!.thumbprint, store: 'Root', hasPrivateKey: false },
    ],
  };
  assert.deepEqual((await platform.importCertificates(bundle)).map((r) => r.outcome), ['imported', 'imported']);
  assert.deepEqual((await platform.importCertificates(bundle)).map((r) => r.outcome), ['present', 'present']);
  const machine = await platform.machine();
  assert.equal(machine.certificateStores.My!.length, 1);
  assert.equal(machine.certificateStores.My![0]!.keyStorage, 'MachineKeySet');
  assert.equal(machine.certificateStores.Root![0]!.hasPrivateKey, false);
  const stranger = { ...bundle, placements: [{ thumbprint: 'A'.repeat(40), store: 'My', hasPrivateKey: false }] };
  await assert.rejects(platform.importCertificates(stranger), PlatformRejectedError);
  // The image held the certificate without its key: the bundle's copy, with the key, replaces it.
  const held = await platform.machine();
  held.certificateStores.My![0]!.hasPrivateKey = false;
  await saveMachine(platform.root, held);
  assert.deepEqual((await platform.importCertificates(bundle)).map((r) => r.outcome), ['imported', 'present']);
  const replaced = (await platform.machine()).certificateStores.My!;
  assert.deepEqual(replaced.map((c) => [c.thumbprint, c.hasPrivateKey]), [[withKey!.thumbprint, true]]);
}));

test('media: the drive holding the tag file is found; none is a MediaNotFoundError', () => withSandbox(async (platform, root) => {
  await assert.rejects(platform.readProvisioningMedia(), MediaNotFoundError);
  const { mkdir, writeFile } = await import('node:fs/promises');
  await mkdir(join(root, 'drives', 'E'), { recursive: true });
  await writeFile(join(root, 'drives', 'E', 'E6DA6616-8EC4-48E0-BE93-58CE6ACE3CFB.tag'), '');
  await writeFile(join(root, 'drives', 'E', 'ovf-env.xml'), '<Environment/>');
  const media = await platform.readProvisioningMedia();
  assert.equal(media.location, 'E:\\');
  assert.equal(Buffer.from(media.ovfEnv.reveal()).toString(), '<Environment/>');
  assert.equal(media.customData, undefined);
}));

test('the KVP report is cut to 1 KB on a character boundary', () => withSandbox(async (platform, root) => {
  await platform.writeKvpReport('é'.repeat(600));
  const value = (await loadMachine(root))!.kvp.PROVISIONING_REPORT!;
  assert.ok(Buffer.byteLength(value) <= 1024);
  assert.equal(value, 'é'.repeat(512));
}));

test('WinRM: an HTTPS listener needs its certificate in My with the private key; Http needs none', () => withSandbox(async (platform) => {
  await assert.rejects(platform.configureWinRm([{ protocol: 'Https', certificateThumbprint: 'B'.repeat(40) }]), (err: unknown) => err instanceof PlatformRejectedError && /not in LocalMachine\\My/.test(err.message));
  const results = await platform.configureWinRm([{ protocol: 'Http', certificateThumbprint: undefined }]);
  assert.deepEqual(results, [{ protocol: 'Http', port: 5985, outcome: 'created' }]);
  assert.deepEqual((await platform.configureWinRm([{ protocol: 'Http', certificateThumbprint: undefined }]))[0]!.outcome, 'present');
  assert.deepEqual((await platform.machine()).winrm, { listeners: [{ transport: 'HTTP', port: 5985 }], firewallPorts: [5985] });
}));

test('the sandbox reads its state files with the checks Windows uses: a foreign or damaged one is a StateError', async () => {
  const root = await mkdtemp(join(tmpdir(), 'winprov-sandbox-state-'));
  try {
    const platform = await SandboxPlatform.open(root, { create: true });
    await platform.ensureStateDirectory();
    const { writeFile } = await import('node:fs/promises');
    const cases: [string, string, RegExp][] = [
      ['state.json', '[]', /state\.json is not a JSON object/],
      ['state.json', JSON.stringify({ version: 2, vmId: 'x', agentVersion: '0', runId: 'r', startedAt: 't', steps: [], applied: [], reports: [] }), /state\.json field version: must be 1/],
      ['provisioned.json', JSON.stringify({ vmId: 'x', provisionedAt: 't', agentVersion: '0', containerId: 'c', instanceId: 5 }), /provisioned\.json field instanceId: must be a string/],
    ];
    for (const [name, text, reason] of cases) {
      await writeFile(join(platform.stateDirectory, name), text);
      const read = name === 'state.json' ? platform.readAgentState() : platform.readCompletionMarker();
      await assert.rejects(read, (err: unknown) => err instanceof StateError && reason.test(err.message), name);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
