import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FabricSimulator } from '../../src/simulator/index.ts';
import { SandboxPlatform, passwordMatches } from '../../src/platform/sandbox/index.ts';
import { ADMINISTRATORS_SID, loadMachine, saveMachine } from '../../src/platform/sandbox/machine.ts';
import { MAIN, REPO_ROOT, assertJournalKnowsChanges } from './support.ts';

/**
 * Crash and resume: the agent runs as its own process, and the sandbox kills it (SIGKILL) right after a
 * chosen verb saved its change, as a power cut would. Run again, it must converge to the machine an
 * uninterrupted run leaves, report Ready, and repeat nothing harmfully.
 */

const SCENARIO = {
  computerName: 'crash-web-01',
  adminUsername: 'opsadmin',
  adminPassword: 'Cr4sh-Resume-Pw!',
  certificateCount: 2,
  customData: '#ps1_sysnative\nWrite-Output "resumed"\n',
  timeZone: 'Tokyo Standard Time',
  provisionGuestAgent: true,
};

/** Every verb that changes the machine, in the order a run calls them (the start entry once DHCP is settled). */
const CRASH_VERBS = [
  'enableDhcp', 'recordEvent', 'setComputerName', 'ensureAdminAccount', 'importCertificates', 'writeCustomData',
  'setTimeZone', 'writeCompletionMarker', 'setGuestAgentServices', 'writeKvpReport',
];
/** Verbs that come after Ready: a run killed there had already been acknowledged once. */
const AFTER_READY = new Set(['setGuestAgentServices', 'writeKvpReport']);

let workspace: string;
before(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'winprov-crash-'));
});
after(() => rm(workspace, { recursive: true, force: true }));

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** `winprov provision` as a child process against the sandbox in root. */
async function provisionProcess(root: string, fabricUrl: string): Promise<Exit> {
  const child = spawn(process.execPath, [MAIN, 'provision', '--platform', 'sandbox', '--sandbox', root, '--fabric', fabricUrl, '--deadline', '60s'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, signal, output };
}

interface Machine {
  simulator: FabricSimulator;
  root: string;
}

/** A simulator and a fresh generalized sandbox with DHCP off (so enableDhcp is part of the run). */
async function freshMachine(name: string): Promise<Machine> {
  const simulator = new FabricSimulator({ scenario: SCENARIO });
  await simulator.start();
  const root = join(workspace, name);
  await SandboxPlatform.open(root, { create: true });
  await simulator.writeProvisioningMedia(join(root, 'drives', 'D'));
  const machine = (await loadMachine(root))!;
  Object.assign(machine.interfaces[0]!, { dhcpEnabled: false, addresses: ['192.168.1.50'] });
  await saveMachine(root, machine);
  return { simulator, root };
}

/**
 * The parts of machine.json a run decides, comparable across sandboxes: SIDs become user names and
 * certificate thumbprints their position in the fabric's list (each simulator makes its own certificates).
 */
async function outcomeOf(m: Machine): Promise<unknown> {
  const machine = (await loadMachine(m.root))!;
  const sidName = new Map(machine.users.map((u) => [u.sid, u.name]));
  const certificateIndex = new Map(m.simulator.expected.certificates.map((c, i) => [c.thumbprint, i]));
  return {
    computerName: machine.computerName,
    pendingComputerName: machine.pendingComputerName,
    timeZone: machine.timeZone,
    interfaces: machine.interfaces.map((i) => ({ name: i.name, dhcpEnabled: i.dhcpEnabled, addresses: i.addresses })),
    users: machine.users.map((u) => ({ name: u.name, enabled: u.enabled, passwordNeverExpires: u.passwordNeverExpires, mustChangePassword: u.mustChangePassword })),
    administrators: machine.groups[ADMINISTRATORS_SID]!.members.map((sid) => sidName.get(sid) ?? sid),
    certificateStores: Object.fromEntries(
      Object.entries(machine.certificateStores).map(([store, certificates]) => [
        store,
        certificates.map((c) => ({ certificate: certificateIndex.get(c.thumbprint) ?? c.thumbprint, hasPrivateKey: c.hasPrivateKey, keyStorage: c.keyStorage, exportable: c.exportable })),
      ]),
    ),
    services: machine.services,
    acls: machine.acls,
    kvpResult: machine.kvp.PROVISIONING_REPORT?.split('|')[0],
    customData: await readFile(join(m.root, 'SystemDrive', 'AzureData', 'CustomData.bin'), 'utf8').catch(() => undefined),
  };
}

let reference: unknown;
before(async () => {
  const m = await freshMachine('reference');
  try {
    const run = await provisionProcess(m.root, m.simulator.url);
    assert.equal(run.code, 0, run.output);
    reference = await outcomeOf(m);
  } finally {
    await m.simulator.stop();
  }
});

test('the uninterrupted reference run applied the whole scenario', async () => {
  assert.deepEqual(reference, {
    computerName: 'WIN-GENERALIZED',
    pendingComputerName: 'crash-web-01',
    timeZone: 'Tokyo Standard Time',
    interfaces: [{ name: 'Ethernet', dhcpEnabled: true, addresses: ['10.0.0.4'] }],
    // The built-in Administrator (RID 500) renamed: the admin account, as on Azure.
    users: [
      { name: 'opsadmin', enabled: true, passwordNeverExpires: true, mustChangePassword: false },
    ],
    administrators: ['opsadmin'],
    certificateStores: {
      My: [{ certificate: 0, hasPrivateKey: true, keyStorage: 'MachineKeySet', exportable: false }],
      Root: [{ certificate: 1, hasPrivateKey: false, keyStorage: 'none', exportable: false }],
      CA: [],
    },
    services: [
      { name: 'RdAgent', startMode: 'Automatic', running: false },
      { name: 'WindowsAzureGuestAgent', startMode: 'Automatic', running: false },
    ],
    acls: { 'SystemDrive/AzureData': ['SYSTEM', 'Administrators'] },
    kvpResult: 'result=success',
    customData: SCENARIO.customData,
  });
});

describe('killed right after a verb and run again', { concurrency: 3 }, () => {
  for (const verb of CRASH_VERBS) {
    test(`after ${verb}: the second run converges to the same machine and reports Ready`, { timeout: 60_000 }, async () => {
      const m = await freshMachine(`crash-${verb}`);
      try {
        const prepared = (await loadMachine(m.root))!;
        prepared.crashAfter = verb;
        await saveMachine(m.root, prepared);

        const crashed = await provisionProcess(m.root, m.simulator.url);
        assert.equal(crashed.signal, 'SIGKILL', `the run was killed by the sandbox (exit ${crashed.code}): ${crashed.output.slice(-400)}`);
        const platform = await SandboxPlatform.open(m.root);
        // Killed inside its first step (DHCP, which the network waits for) the run left no journal; killed
        // after Ready (KVP) it had finished it.
        const journalAtKill = verb === 'enableDhcp' ? undefined : verb === 'writeKvpReport' ? 'ready' : 'running';
        assert.equal((await platform.readAgentState())?.result, journalAtKill, 'the journal shows how far the killed run got');
        const killedMachine = (await loadMachine(m.root))!;
        assert.equal(killedMachine.crashAfter, undefined);
        const readiesBefore = m.simulator.healthReports.filter((r) => r.state === 'Ready' && r.accepted).length;
        assert.equal(readiesBefore, AFTER_READY.has(verb) ? 1 : 0);

        // The killed run held the run lock; the next run takes it over and leaves nothing behind.
        const stateDirectory = join(m.root, 'ProgramData', 'winprov');
        assert.ok((await readdir(stateDirectory)).includes('winprov.lock'), 'the killed run left its lock');
        const resumed = await provisionProcess(m.root, m.simulator.url);
        assert.equal(resumed.code, 0, resumed.output.slice(-600));
        assert.equal(resumed.signal, null);
        assert.match(resumed.output, /took over the lock .*winprov\.lock .*is no longer running/);
        assert.deepEqual((await readdir(stateDirectory)).filter((n) => n.startsWith('winprov.lock') || n.endsWith('.tmp')), []);

        assert.deepEqual(await outcomeOf(m), reference, 'the same machine as an uninterrupted run');
        const machine = (await loadMachine(m.root))!;
        assert.ok(passwordMatches(machine.users.find((u) => u.name === 'opsadmin')!.passwordDigest, SCENARIO.adminPassword));
        assert.equal(machine.changes.filter((c) => c.verb === 'setComputerName').length, 1, 'the rename is recorded once');
        assert.equal(machine.changes.filter((c) => c.verb === 'enableDhcp').length, 1, 'DHCP was enabled once');
        const imported = machine.changes.filter((c) => c.verb === 'importCertificates').flatMap((c) => c.detail.match(/[0-9A-F]{40}/g) ?? []);
        assert.equal(new Set(imported).size, imported.length, 'no certificate was imported twice');

        const state = (await platform.readAgentState())!;
        assert.equal(state.result, 'ready');
        assertJournalKnowsChanges(
          { ...machine, changes: machine.changes.filter((c) => Date.parse(c.at) >= Date.parse(state.startedAt)) },
          state,
        );
        const marker = await platform.readCompletionMarker();
        assert.equal(marker?.vmId, machine.vmId);
        const reports = m.simulator.healthReports.filter((r) => r.accepted);
        assert.equal(reports.at(-1)?.state, 'Ready', 'the fabric last heard Ready');
        assert.equal(reports.filter((r) => r.state === 'Ready').length, readiesBefore + 1, 'the second run reported Ready');
        assert.equal(reports.filter((r) => r.subStatus === 'ProvisioningFailed').length, 0);
        // Once the marker was written, the second run applies nothing again.
        const markerWritten = ['writeCompletionMarker', ...AFTER_READY].includes(verb);
        const fetchedBeforeKill = !['recordEvent', 'enableDhcp'].includes(verb);
        assert.equal(m.simulator.requestsTo('certificates').length, (fetchedBeforeKill ? 1 : 0) + (markerWritten ? 0 : 1), 'certificates are fetched only by a run that applies');
      } finally {
        await m.simulator.stop();
      }
    });
  }
});
