/**
 * Whole provisioning runs through the Windows platform on PowerShell 7 with Windows emulated: the real
 * -EncodedCommand bootstrap, the host loop, every verb script, secrets on their own stdin lines, framed
 * answers, against the fabric simulator on 127.0.0.1. One run goes through the command line
 * (`provision --platform windows`), the others through the library.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { provision, type ProvisionResult, type RunSettings } from '../../src/agent.ts';
import { FabricSimulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { createLog } from '../../src/util/log.ts';
import { FAST_READ, FAST_REPORT } from '../helpers/provisioning.ts';
import { emulatedMachine, MUTATING_COMMANDS, type EmulatedMachine, type MachineState } from './emulated-machine.ts';
import { powerShellTools, REPO_ROOT } from './tools.ts';

const tools = powerShellTools();
const skip = 'skipped' in tools ? `PowerShell tier skipped: ${tools.skipped}` : false;
const PASSWORD = `Emul4ted-${createHash('sha1').update(String(process.pid)).digest('hex').slice(0, 12)}!`;
const ADMINISTRATORS = 'S-1-5-32-544';

interface World {
  simulator: FabricSimulator;
  machine: EmulatedMachine;
  lines: string[];
}

async function world(options: SimulatorOptions, transcripts = false): Promise<World> {
  if ('skipped' in tools) throw new Error('unreachable');
  const simulator = new FabricSimulator(options);
  await simulator.start();
  const machine = await emulatedMachine(tools.pwsh, { mediaDir: '', transcripts });
  const mediaDir = join(machine.dir, 'D');
  await simulator.writeProvisioningMedia(mediaDir);
  await machine.editState((state) => {
    state['drives'].find((d: MachineState) => d['letter'] === 'D')['root'] = mediaDir;
  });
  return { simulator, machine, lines: [] };
}

async function close(w: World | undefined): Promise<void> {
  await w?.simulator.stop();
  await w?.machine.close();
}

/** A library run on the emulated machine; the PowerShell session is closed before it returns. */
async function run(w: World, settings: Partial<RunSettings> = {}): Promise<ProvisionResult> {
  return w.machine.withEnv(async () => {
    const log = createLog({ consoleLevel: 'debug', write: (line) => void w.lines.push(line) });
    const platform = w.machine.platform((level, message) => w.lines.push(`${level}: ${message}`));
    try {
      return await provision({
        platform,
        log,
        settings: { fabricUrl: w.simulator.url, deadlineMs: 180_000, readPolicy: FAST_READ, reportPolicy: FAST_REPORT, failureReportGraceMs: 20_000, ...settings },
      });
    } finally {
      await platform.close();
    }
  });
}

function reports(w: World): string[] {
  return w.simulator.healthReports.map((r) => `${r.state}${r.subStatus ? `/${r.subStatus}` : ''}`);
}

function userNamed(state: MachineState, name: string): MachineState | undefined {
  return state['users'].find((u: MachineState) => String(u['name']).toLowerCase() === name.toLowerCase());
}

/** What a run may change on the machine, for "applied nothing" comparisons. */
function appliedView(state: MachineState): unknown {
  const registry = state['registry'];
  return {
    users: state['users'],
    groups: state['groups'],
    certificates: state['certificates'],
    services: state['services'],
    wsman: state['wsman'],
    firewallRules: state['firewallRules'],
    timeZone: state['timeZone'],
    disks: state['disks'],
    pendingName: registry['SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters']['NV Hostname'],
  };
}

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, 'src', 'main.ts'), ...args], { env: { ...process.env, ...env }, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

describe('provisioning through the Windows platform on pwsh with Windows emulated', { skip, timeout: 900_000 }, () => {
  describe('the command line: provision --platform windows, then again', () => {
    let w: World | undefined;
    before(async () => {
      w = await world({ scenario: { computerName: 'web-emu-01', adminUsername: 'opsadmin', adminPassword: PASSWORD, certificateCount: 2, provisionGuestAgent: true, customData: 'first boot data\n', winRmHttps: true } });
    });
    after(() => close(w));

    it('reaches Ready, applies everything, and reports no failure', async () => {
      const first = await runCli(['provision', '--platform', 'windows', '--fabric', w!.simulator.url, '--deadline', '3m', '-v'], w!.machine.env);
      assert.equal(first.code, 0, `exit code 0\n${first.stdout.slice(-3000)}\n${first.stderr.slice(-2000)}`);
      assert.deepEqual(reports(w!), ['NotReady/Provisioning', 'Ready']);
      const state = await w!.machine.state();
      assert.equal(state['registry']['SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters']['NV Hostname']['data'], 'web-emu-01', 'the pending computer name');
      const user = userNamed(state, 'opsadmin');
      assert.ok(user, 'the admin account exists');
      assert.match(user['sid'], /^S-1-5-21-\d+-\d+-\d+-500$/, 'the admin is the built-in Administrator');
      assert.ok(!userNamed(state, 'Administrator'), 'RID 500 was renamed, no second account');
      assert.equal(user['passwordSha256'], createHash('sha256').update(PASSWORD).digest('hex'), 'the password from ovf-env.xml was set');
      assert.equal(user['enabled'], true);
      assert.equal(user['passwordNeverExpires'], true);
      const administrators = state['groups'].find((g: MachineState) => g['sid'] === ADMINISTRATORS);
      assert.ok(administrators['members'].includes(user['sid']), 'member of Administrators by SID');
      for (const certificate of w!.simulator.expected.certificates) {
        const stored = (state['certificates'][certificate.storeName] ?? []).find((c: MachineState) => c['thumbprint'] === certificate.thumbprint);
        assert.ok(stored, `${certificate.thumbprint} is in LocalMachine\\${certificate.storeName}`);
        assert.equal(stored['hasPrivateKey'], certificate.hasPrivateKey);
      }
      const https = state['wsman']['listeners'].find((l: MachineState) => l['transport'] === 'HTTPS' && String(l['port']) === '5986');
      assert.ok(https, 'the HTTPS listener');
      assert.equal(https['certificateThumbprint'], w!.simulator.expected.certificates[0]!.thumbprint, 'bound to the first certificate');
      assert.match(https['hostname'], /^winprov-sim-tenant-\d+$/, 'its Hostname is the certificate\'s CN');
      const c = state['disks'][0]['partitions'].find((p: MachineState) => p['driveLetter'] === 'C');
      assert.equal(c['offset'] + c['size'], 127 * 2 ** 30, 'C: extended to the end of the disk');
      const agentServices = state['services'].filter((s: MachineState) => ['RdAgent', 'WindowsAzureGuestAgent', 'WindowsAzureTelemetryService'].includes(s['name']));
      assert.deepEqual(agentServices.map((s: MachineState) => s['startType']), ['Automatic', 'Automatic', 'Automatic'], 'guest agent enabled after Ready');
      assert.match(state['registry']['SOFTWARE\\Microsoft\\Virtual Machine\\Guest']['PROVISIONING_REPORT']['data'], /^result=success\|/);
      assert.ok(state['eventLog']['entries'].some((e: MachineState) => e['source'] === 'winprov' && /succeeded/.test(e['message'])), 'the success event');
      assert.equal(await readFile(join(w!.machine.dir, 'C', 'AzureData', 'CustomData.bin'), 'utf8'), 'first boot data\n');
      const status = await runCli(['status', '--platform', 'windows', '--json'], w!.machine.env);
      assert.equal(status.code, 0, status.stderr);
      const report = JSON.parse(status.stdout) as { status: string; vmId: string; lastRun: { result: string }; adminAccount: { name: string; sid: string }; guestAgent: { name: string; startMode: string }[] };
      assert.equal(report.status, 'provisioned');
      assert.deepEqual(report.adminAccount, { name: 'opsadmin', sid: user['sid'] });
      assert.equal(report.vmId, '7a1d6e1f-2c3b-4d5e-8f90-a1b2c3d4e5f6', 'the SMBIOS UUID of the emulated machine');
      assert.equal(report.lastRun.result, 'ready');
      assert.deepEqual(report.guestAgent.map((s) => `${s.name}:${s.startMode}`), ['RdAgent:Automatic', 'WindowsAzureGuestAgent:Automatic', 'WindowsAzureTelemetryService:Automatic']);
    });

    it('a second run applies nothing, changes nothing and sends Ready again (and only Ready: the marker is written)', async () => {
      const before = appliedView(await w!.machine.state());
      const callsBefore = (await w!.machine.calls()).length;
      const second = await runCli(['provision', '--platform', 'windows', '--fabric', w!.simulator.url, '--deadline', '3m'], w!.machine.env);
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(reports(w!), ['NotReady/Provisioning', 'Ready', 'Ready']);
      assert.deepEqual(appliedView(await w!.machine.state()), before);
      const mutating = (await w!.machine.calls()).slice(callsBefore).filter((c) => MUTATING_COMMANDS.has(c.command)).map((c) => c.command);
      // The guest agent hand-off runs after every Ready and finds the services as they are.
      assert.deepEqual(mutating.filter((c) => c !== 'Set-Service'), [], 'no change but the guest agent services, which are already set');
    });
  });

  describe('the deferred mode', () => {
    let w: World | undefined;
    before(async () => {
      w = await world({ scenario: { adminPassword: PASSWORD, certificateCount: 1, provisionGuestAgent: true } });
    });
    after(() => close(w));

    it('specialize applies everything without Ready; the SetupComplete run sends Ready and hands over', async () => {
      const specialize = await run(w!, { phase: 'apply' });
      assert.equal(specialize.outcome, 'applied', specialize.error?.describe());
      assert.deepEqual(reports(w!), ['NotReady/Provisioning']);
      const applied = await w!.machine.state();
      const admin = userNamed(applied, w!.simulator.scenario.adminUsername);
      assert.ok(admin, 'the account exists before Ready');
      assert.match(admin['sid'], /-500$/, 'the admin is the built-in Administrator (RID 500)');
      assert.equal(admin['enabled'], true);
      assert.equal(admin['passwordSha256'], createHash('sha256').update(PASSWORD).digest('hex'));
      assert.equal(applied['users'].filter((u: MachineState) => String(u['sid']).endsWith('-500')).length, 1);
      assert.deepEqual(specialize.state.adminAccount, { name: w!.simulator.scenario.adminUsername, sid: admin['sid'] });
      assert.ok(applied['services'].filter((s: MachineState) => s['name'] === 'RdAgent').every((s: MachineState) => s['startType'] === 'Disabled'), 'no guest agent before Ready');
      const setupComplete = await run(w!);
      assert.equal(setupComplete.outcome, 'ready', setupComplete.error?.describe());
      assert.equal(setupComplete.alreadyProvisioned, true);
      assert.deepEqual(reports(w!), ['NotReady/Provisioning', 'Ready']);
      const after = await w!.machine.state();
      assert.deepEqual(after['users'], applied['users']);
      assert.deepEqual(after['certificates'], applied['certificates']);
      assert.ok(after['services'].filter((s: MachineState) => s['name'] === 'RdAgent').every((s: MachineState) => s['startType'] === 'Automatic'), 'guest agent enabled after Ready');
    });
  });

  /** Windows refusing a change: exit 5, one ProvisioningFailed, and a journal that knows what was applied. */
  const refusals: { name: string; fault: MachineState; step: string; appliedBefore: string[]; reason: RegExp }[] = [
    { name: 'a password the policy refuses', fault: { 'Set-LocalUser': { error: 'InvalidPassword' } }, step: 'admin-account', appliedBefore: ['computer-name'], reason: /password policy/ },
    { name: 'a rename Windows refuses', fault: { 'Invoke-CimMethod': { returnValue: 1210 } }, step: 'computer-name', appliedBefore: [], reason: /1210/ },
    { name: 'a certificate import Windows refuses', fault: { 'X509Store.Add': { error: 'AccessDenied' } }, step: 'certificate-import', appliedBefore: ['computer-name', 'admin-account'], reason: /certificate|access|denied/i },
  ];
  for (const refusal of refusals) {
    describe(`Windows refusing: ${refusal.name}`, () => {
      let w: World | undefined;
      before(async () => {
        w = await world({ scenario: { adminPassword: PASSWORD, certificateCount: 1 } });
        await w.machine.editState((state) => {
          state['faults'] = refusal.fault;
        });
      });
      after(() => close(w));

      it('ends in exit 5, one ProvisioningFailed, and a journal that names what was applied', async () => {
        const result = await run(w!);
        assert.equal(result.outcome, 'failed');
        assert.equal(result.exitCode, 5, result.error?.describe());
        assert.match(result.error!.describe(), refusal.reason);
        assert.deepEqual(reports(w!), ['NotReady/Provisioning', 'NotReady/ProvisioningFailed']);
        const failed = w!.simulator.healthReports.at(-1)!;
        assert.match(failed.description ?? '', /^PLATFORM_/);
        assert.ok(!(failed.description ?? '').includes(PASSWORD));
        assert.equal(result.state.result, 'failed');
        assert.equal(result.state.steps.find((s) => s.name === refusal.step)?.outcome, 'failed', `the ${refusal.step} step failed`);
        assert.deepEqual([...new Set(result.state.applied.map((a) => a.what))], refusal.appliedBefore, 'the journal lists exactly what was applied');
        const marker = await readFile(join(w!.machine.env['ProgramData']!, 'winprov', 'provisioned.json')).catch(() => undefined);
        assert.equal(marker, undefined, 'no completion marker');
      });
    });
  }

  describe('secrets on the Windows path', () => {
    let w: World | undefined;
    before(async () => {
      w = await world({ scenario: { adminPassword: PASSWORD, certificateCount: 2, customData: `custom-${PASSWORD.slice(7)}-data` } }, true);
    });
    after(() => close(w));

    it('no secret is ever bound to a cmdlet parameter or printed into a transcript', async () => {
      const result = await run(w!);
      assert.equal(result.outcome, 'ready', result.error?.describe());
      const customData = Buffer.from(w!.simulator.scenario.customData!, 'utf8');
      const forms = (bytes: Buffer): string[] => [bytes.toString('utf8'), bytes.toString('base64'), bytes.toString('hex'), bytes.toString('hex').toUpperCase(), Buffer.from(bytes.toString('utf8'), 'utf16le').toString('base64'), [...bytes].join(' '), [...bytes].join(',')];
      const needles = [...forms(Buffer.from(PASSWORD, 'utf8')), ...forms(customData)].filter((n) => n.length >= 8);
      const calls = await w!.machine.calls();
      assert.ok(calls.length > 50, `the emulation recorded the run's bindings (${calls.length})`);
      for (const call of calls) {
        const text = JSON.stringify(call);
        for (const needle of needles) assert.ok(!text.includes(needle), `${call.command} was bound a secret`);
      }
      // The PFX: any 48-character slice of its base64 would show a binding of its bytes.
      const pfxBindings = calls.filter((c) => c.deep.some((s) => s.length > 1000 && /^[A-Za-z0-9+/=]+$/.test(s)));
      assert.deepEqual(pfxBindings.map((c) => c.command), [], 'no long base64 value (the PFX) was bound');
      const files = (await readdir(w!.machine.transcriptDir, { recursive: true })).filter((f) => f.endsWith('.txt'));
      assert.ok(files.length >= 1, 'transcription was on and wrote a transcript');
      for (const file of files) {
        const text = await readFile(join(w!.machine.transcriptDir, file), 'utf8');
        assert.match(text, /PowerShell transcript start/);
        for (const needle of needles) assert.ok(!text.includes(needle), `transcript ${file} holds a secret`);
      }
    });
  });
});
