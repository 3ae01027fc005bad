/**
 * What Azure itself does on Windows, through the Windows platform on pwsh with Windows emulated: the RDP
 * listener's certificate thumbprint posted as role properties (Get-CimInstance Win32_TSGeneralSetting in
 * root\cimv2\TerminalServices), and AdditionalUnattendContent merged into the oobeSystem pass of
 * %WINDIR%\Panther\Unattend\unattend.xml (written by unattend.ps1 with the password on a secret line).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { provision, type ProvisionResult } from '../../src/agent.ts';
import { FabricSimulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { createLog } from '../../src/util/log.ts';
import { clearAnswerFile, CLEARED_PASSWORD } from '../../src/answer-file-clear.ts';
import { removeFromImage } from '../../src/cli/remove-from-image.ts';
import { FAST_READ, FAST_REPORT } from '../helpers/provisioning.ts';
import { emulatedMachine, type EmulatedMachine, type MachineState } from './emulated-machine.ts';
import { powerShellTools, REPO_ROOT } from './tools.ts';

const tools = powerShellTools();
const skip = 'skipped' in tools ? `PowerShell tier skipped: ${tools.skipped}` : false;
const PASSWORD = 'Emul4ted-Azure-Parity!';
const AUTOLOGON_PASSWORD = 'Aut0-L0gon-Emul4ted-91f!';
const SEEDED_THUMBPRINT = '3F2A9C4E1B7D6A58C0E4F19B2D3C4A5B6E7F8091';
const AUTOLOGON = `<AutoLogon><Password><Value>${AUTOLOGON_PASSWORD}</Value><PlainText>true</PlainText></Password><Enabled>true</Enabled><LogonCount>2</LogonCount><Username>opsadmin</Username></AutoLogon>`;
const COMMANDS = '<FirstLogonCommands><SynchronousCommand wcm:action="add"><CommandLine>cmd /c echo hi &gt; C:\\hi.txt</CommandLine><Order>1</Order></SynchronousCommand></FirstLogonCommands>';

interface World {
  simulator: FabricSimulator;
  machine: EmulatedMachine;
  lines: string[];
}

async function world(options: SimulatorOptions): Promise<World> {
  if ('skipped' in tools) throw new Error('unreachable');
  const simulator = new FabricSimulator(options);
  await simulator.start();
  const machine = await emulatedMachine(tools.pwsh, { mediaDir: '' });
  const mediaDir = join(machine.dir, 'D');
  await simulator.writeProvisioningMedia(mediaDir);
  await machine.editState((state) => {
    state['drives'].find((d: MachineState) => d['letter'] === 'D')['root'] = mediaDir;
  });
  // What prepare-image leaves in the image.
  const folder = join(machine.env['SystemRoot']!, 'Panther', 'Unattend');
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'unattend.xml'), await readFile(join(REPO_ROOT, 'unattend', 'unattend.xml')));
  return { simulator, machine, lines: [] };
}

async function run(w: World): Promise<ProvisionResult> {
  return w.machine.withEnv(async () => {
    const log = createLog({ consoleLevel: 'debug', write: (line) => void w.lines.push(line) });
    const platform = w.machine.platform((level, message) => w.lines.push(`${level}: ${message}`));
    try {
      return await provision({ platform, log, settings: { fabricUrl: w.simulator.url, deadlineMs: 180_000, readPolicy: FAST_READ, reportPolicy: FAST_REPORT, failureReportGraceMs: 20_000 } });
    } finally {
      await platform.close();
    }
  });
}

describe('Azure parity through the Windows platform on pwsh with Windows emulated', { skip, timeout: 600_000 }, () => {
  let w: World | undefined;
  before(async () => {
    w = await world({ scenario: { computerName: 'web-emu-02', adminUsername: 'opsadmin', adminPassword: PASSWORD, certificateCount: 0, autoLogonContent: AUTOLOGON, firstLogonCommandsContent: COMMANDS } });
  });
  after(async () => {
    await w?.simulator.stop();
    await w?.machine.close();
  });

  it('posts the RDP certificate thumbprint once, before Ready, and merges the unattend content', async () => {
    const result = await run(w!);
    assert.equal(result.outcome, 'ready', `${result.error?.describe()}\n${w!.lines.slice(-30).join('\n')}`);
    assert.deepEqual(w!.simulator.roleProperties.map((r) => [r.certificateThumbprint, r.accepted, r.httpStatus]), [[SEEDED_THUMBPRINT, true, 202]]);
    assert.deepEqual(w!.simulator.roleProperties[0]!.properties, [{ name: 'CertificateThumbprint', value: SEEDED_THUMBPRINT }]);
    const endpoints = w!.simulator.requests.map((r) => r.endpoint).filter((e) => e === 'health' || e === 'roleProperties');
    assert.deepEqual(endpoints, ['health', 'roleProperties', 'health']);
    const calls = await w!.machine.calls();
    const cim = calls.filter((c) => c.command === 'Get-CimInstance' && c.bound['ClassName'] === 'Win32_TSGeneralSetting');
    assert.equal(cim.length, 1);
    assert.equal(cim[0]!.bound['Namespace'], 'root\\cimv2\\TerminalServices');

    const answerFile = join(w!.machine.env['SystemRoot']!, 'Panther', 'Unattend', 'unattend.xml');
    const merged = await readFile(answerFile, 'utf8');
    const oobe = merged.slice(merged.indexOf('<settings pass="oobeSystem">'));
    assert.match(oobe, /<AutoLogon>\s*<Password>\s*<Value>Aut0-L0gon-Emul4ted-91f!<\/Value>\s*<PlainText>true<\/PlainText>\s*<\/Password>\s*<Enabled>true<\/Enabled>\s*<LogonCount>2<\/LogonCount>\s*<Username>opsadmin<\/Username>\s*<\/AutoLogon>/);
    assert.match(oobe, /<SynchronousCommand wcm:action="add">\s*<CommandLine>cmd \/c echo hi &gt; C:\\hi.txt<\/CommandLine>\s*<Order>1<\/Order>/);
    assert.match(oobe, /<SkipMachineOOBE>true<\/SkipMachineOOBE>/);
    // The folder is limited to SYSTEM and Administrators before the file is written into it.
    const state = await w!.machine.state();
    const acl = Object.entries(state['acls'] as Record<string, MachineState>).find(([path]) => path.endsWith(join('Panther', 'Unattend')));
    assert.ok(acl, 'an ACL was set on Panther\\Unattend');
    assert.deepEqual(acl[1]['rules'].map((r: MachineState) => r['sid']).sort(), ['S-1-5-18', 'S-1-5-32-544']);
    // The password travelled on a secret line only: no cmdlet parameter, no log line holds it.
    assert.ok(!calls.some((c) => JSON.stringify(c).includes(AUTOLOGON_PASSWORD)), 'no cmdlet parameter holds the AutoLogon password');
    assert.ok(!w!.lines.join('\n').includes(AUTOLOGON_PASSWORD));
  });

  it('a run on the provisioned machine posts the thumbprint again and leaves the answer file as it is', async () => {
    const answerFile = join(w!.machine.env['SystemRoot']!, 'Panther', 'Unattend', 'unattend.xml');
    const before = await readFile(answerFile, 'utf8');
    const again = await run(w!);
    assert.equal(again.alreadyProvisioned, true);
    assert.equal(w!.simulator.roleProperties.length, 2);
    assert.equal(await readFile(answerFile, 'utf8'), before);
  });

  it('after OOBE the password is cleared: SetupComplete.cmd makes the call, unattend.ps1 writes the file, no parameter holds it', async () => {
    const systemRoot = w!.machine.env['SystemRoot']!;
    const script = await readFile(join(systemRoot, 'Setup', 'Scripts', 'SetupComplete.cmd'), 'latin1');
    assert.match(script, /^"%ProgramFiles%\\winprov\\winprov\.exe" clear-answer-file >>"%WINPROV_LOG%" 2>&1\r$/m);
    const answerFile = join(systemRoot, 'Panther', 'Unattend', 'unattend.xml');
    const before = await readFile(answerFile, 'utf8');
    const callsBefore = (await w!.machine.calls()).length;
    const cleared = await w!.machine.withEnv(async () => {
      const platform = w!.machine.platform((level, message) => w!.lines.push(`${level}: ${message}`));
      try {
        return await clearAnswerFile(platform);
      } finally {
        await platform.close();
      }
    });
    assert.deepEqual(cleared, { path: answerFile, cleared: 1 });
    const after = await readFile(answerFile, 'utf8');
    assert.equal(after, before.replace(/(<Password>)[^]*?(<\/Password>)/, `$1${CLEARED_PASSWORD}$2`));
    const calls = (await w!.machine.calls()).slice(callsBefore);
    assert.ok(!calls.some((c) => JSON.stringify(c).includes(AUTOLOGON_PASSWORD)));
    assert.ok(!w!.lines.join('\n').includes(AUTOLOGON_PASSWORD));
  });

  it('no RDP listener: not posted, logged, Ready still sent', async () => {
    await w!.machine.editState((state) => void (state['terminalServices'] = { listeners: [] }));
    const result = await run(w!);
    assert.equal(result.outcome, 'ready');
    assert.equal(w!.simulator.roleProperties.length, 2);
    assert.equal(result.state.rdpCertificate?.posted, false);
    assert.ok(w!.lines.some((l) => /RDP certificate thumbprint was not posted/.test(l)));
  });

  it('remove-from-image on the provisioned machine, under the run mutex: the merged answer file is kept aside, the clearing SetupComplete.cmd goes', async () => {
    const systemRoot = w!.machine.env['SystemRoot']!;
    const answerFile = join(systemRoot, 'Panther', 'Unattend', 'unattend.xml');
    const merged = await readFile(answerFile, 'utf8');
    const out: string[] = [];
    const callsBefore = (await w!.machine.calls()).length;
    await w!.machine.withEnv(async () => {
      const log = createLog({ consoleLevel: 'error', write: () => undefined });
      const platform = w!.machine.platform((level, message) => w!.lines.push(`${level}: ${message}`));
      try {
        await removeFromImage(platform, log, { dryRun: false, lockWaitMs: 5_000, out: (line) => void out.push(line) });
      } finally {
        await platform.close();
        log.close();
      }
    });
    assert.deepEqual(out.slice(0, 2), [
      `move the answer file ${answerFile} to ${answerFile}.winprov-removed: it starts winprov.exe but is not one of this winprov's, unedited (kept for its edits; Setup does not read it there)`,
      `remove winprov's SetupComplete.cmd ${join(systemRoot, 'Setup', 'Scripts', 'SetupComplete.cmd')}`,
    ]);
    assert.equal(await readFile(`${answerFile}.winprov-removed`, 'utf8'), merged);
    await assert.rejects(readFile(answerFile), { code: 'ENOENT' });
    await assert.rejects(readFile(join(systemRoot, 'Setup', 'Scripts', 'SetupComplete.cmd')), { code: 'ENOENT' });
    // The run mutex was taken through the session (lock.ps1), as every command that changes the machine does.
    const requests = (await w!.machine.calls()).slice(callsBefore).filter((c) => c.command === 'ConvertFrom-Json').map((c) => JSON.parse(String(c.bound['InputObject'])).verb as string | undefined).filter((verb) => verb !== undefined);
    assert.deepEqual(requests, ['enterRunMutex', 'setFirstBootResume', 'exit'], 'the session held the mutex and looked for the startup task: the files are Node\'s');
  });
});
