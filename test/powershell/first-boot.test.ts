/**
 * The first-boot script through the Windows platform on pwsh with Windows emulated: `provision --platform
 * windows` to Ready against the fabric simulator, then `first-boot-script --platform windows` as
 * SetupComplete.cmd runs it, the user data served by the IMDS simulator on its own loopback port. A #ps1
 * script is run by the real pwsh (the emulation's powershell launcher hands -File scripts to pwsh); a cmd
 * script by a stand-in cmd.exe under the emulated %SystemRoot%. The outcome lands in the emulated
 * registry (KVP) and event log through the real kvp.ps1 and events.ps1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FabricSimulator } from '../../src/simulator/index.ts';
import { ImdsSimulator, type ImdsScenario } from '../../src/simulator/imds.ts';
import { emulatedMachine, type EmulatedMachine, type MachineState } from './emulated-machine.ts';
import { powerShellTools, REPO_ROOT } from './tools.ts';

const tools = powerShellTools();
const skip = 'skipped' in tools ? `PowerShell tier skipped: ${tools.skipped}` : false;

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, 'src', 'main.ts'), ...args], { env: { ...process.env, ...env }, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

/** A stand-in cmd.exe for `cmd.exe /d /c FILE`: prints `echo` lines, ends at `exit /b N`. */
const FAKE_CMD = `#!/usr/bin/env bash
[ "$1" = "/d" ] && [ "$2" = "/c" ] || exit 9009
while IFS= read -r line || [ -n "$line" ]; do
  line="\${line%$'\\r'}"
  case "$line" in
    "echo "*) printf '%s\\n' "\${line#echo }" ;;
    "exit /b "*) exit "\${line#exit /b }" ;;
  esac
done < "$3"
exit 0
`;

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

describe('the first-boot script through the Windows platform on pwsh with Windows emulated', { skip, timeout: 900_000 }, () => {
  let simulator: FabricSimulator | undefined;
  let machine: EmulatedMachine | undefined;
  let stateDir = '';
  let config = '';

  before(async () => {
    if ('skipped' in tools) return;
    simulator = new FabricSimulator({ scenario: { adminPassword: 'Emul4ted-First-Boot!', certificateCount: 0 } });
    await simulator.start();
    machine = await emulatedMachine(tools.pwsh, { mediaDir: '' });
    const mediaDir = join(machine.dir, 'D');
    await simulator.writeProvisioningMedia(mediaDir);
    await machine.editState((state) => {
      state['drives'].find((d: MachineState) => d['letter'] === 'D')['root'] = mediaDir;
    });
    const cmd = join(machine.env['SystemRoot']!, 'System32', 'cmd.exe');
    await mkdir(join(machine.env['SystemRoot']!, 'System32'), { recursive: true });
    await writeFile(cmd, FAKE_CMD);
    await chmod(cmd, 0o755);
    stateDir = join(machine.env['ProgramData']!, 'winprov');
    config = join(machine.dir, 'winprov.json');
    const provisioned = await runCli(['provision', '--platform', 'windows', '--fabric', simulator.url, '--deadline', '3m'], machine.env);
    assert.equal(provisioned.code, 0, provisioned.stdout.slice(-3000));
  });
  after(async () => {
    await simulator?.stop();
    await machine?.close();
  });

  /** One first-boot run with the given user data; the record of an earlier case is removed first. */
  async function firstBoot(scenario: ImdsScenario, settings: Record<string, string> = {}) {
    await rm(join(stateDir, 'first-boot.json'), { force: true });
    const imds = new ImdsSimulator(scenario);
    const url = await imds.start();
    try {
      await writeFile(config, JSON.stringify({ firstBootScript: 'userData', imdsAddress: url, ...settings }));
      const result = await runCli(['first-boot-script', '--platform', 'windows', '--config', config], machine!.env);
      const record = JSON.parse(await readFile(join(stateDir, 'first-boot.json'), 'utf8')) as { scripts: MachineState[] };
      return { result, script: record.scripts[0]!, imds };
    } finally {
      await imds.stop();
    }
  }

  it('a #ps1 user data script runs on pwsh; its exit code, output, KVP and event are recorded', async () => {
    const { result, script, imds } = await firstBoot({ userData: b64('#ps1\nWrite-Output "hello from pwsh $($PSVersionTable.PSEdition)"\nexit 4\n') });
    assert.equal(result.code, 0, result.stdout);
    assert.equal(imds.requests[0]!.metadataHeader, 'true');
    assert.equal(script['outcome'], 'failed');
    assert.equal(script['exitCode'], 4);
    assert.deepEqual(script['tail'], ['hello from pwsh Core']);
    const state = await machine!.state();
    assert.match(state['registry']['SOFTWARE\\Microsoft\\Virtual Machine\\Guest']['FIRST_BOOT_SCRIPT']['data'], /source=userData\|outcome=failed\|exit=4/);
    assert.match(state['registry']['SOFTWARE\\Microsoft\\Virtual Machine\\Guest']['PROVISIONING_REPORT']['data'], /^result=success/, 'provisioning stays a success');
    assert.ok(state['eventLog']['entries'].some((e: MachineState) => e['source'] === 'winprov' && /first-boot script userData: failed/.test(e['message'])));
  });

  it('a rem cmd script runs with %SystemRoot%\\System32\\cmd.exe /d /c', async () => {
    const { script } = await firstBoot({ userData: b64('rem cmd\r\necho from cmd\r\nexit /b 0\r\n') });
    assert.equal(script['outcome'], 'succeeded');
    assert.deepEqual(script['tail'], ['from cmd']);
  });

  it('a script past its timeout is stopped; one printing itself has its secrets redacted', async () => {
    const hung = await firstBoot({ userData: b64('#ps1\nWrite-Output "started"\nStart-Sleep -Seconds 120\n') }, { firstBootTimeout: '5s' });
    assert.equal(hung.script['outcome'], 'timed-out');
    const secret = 'Emulated-Secret-Value-42b9';
    const leak = await firstBoot({ userData: b64(`#ps1\n$token = '${secret}'\nGet-Content -LiteralPath $PSCommandPath\n`) });
    assert.equal(leak.script['outcome'], 'succeeded');
    for (const file of [String(leak.script['outputLog']), join(stateDir, 'first-boot.json'), join(stateDir, 'winprov.log'), machine!.statePath, machine!.callsPath]) {
      assert.ok(!(await readFile(file, 'utf8').catch(() => '')).includes(secret), `${file} holds the secret`);
    }
  });

  it('IMDS without the userData endpoint (404): a logged skip, nothing runs', async () => {
    const { result, script } = await firstBoot({ notFound: true });
    assert.equal(result.code, 0);
    assert.equal(script['outcome'], 'not-run');
    assert.match(String(script['reason']), /IMDS is not available: .*HTTP 404/);
  });

  it('killed during the script, the next run reports it interrupted and does not run it again', async () => {
    await rm(join(stateDir, 'first-boot.json'), { force: true });
    const pidFile = join(machine!.dir, 'script.pid');
    const imds = new ImdsSimulator({ userData: b64(`#ps1\n$PID | Out-File -LiteralPath '${pidFile}'\nStart-Sleep -Seconds 120\n`) });
    const url = await imds.start();
    try {
      await writeFile(config, JSON.stringify({ firstBootScript: 'userData', imdsAddress: url }));
      const child = spawn(process.execPath, [join(REPO_ROOT, 'src', 'main.ts'), 'first-boot-script', '--platform', 'windows', '--config', config], { env: { ...process.env, ...machine!.env }, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      const until = Date.now() + 120_000;
      while (!(await readFile(pidFile, 'utf8').then(() => true, () => false)) && Date.now() < until) await sleep(100);
      child.kill('SIGKILL');
      await exited;
      const pid = Number((await readFile(pidFile, 'utf8')).replace(/^\uFEFF/, '').trim());
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      const again = await runCli(['first-boot-script', '--platform', 'windows', '--config', config], machine!.env);
      assert.equal(again.code, 0, again.stdout);
      const record = JSON.parse(await readFile(join(stateDir, 'first-boot.json'), 'utf8')) as { scripts: MachineState[] };
      assert.equal(record.scripts[0]!['outcome'], 'interrupted');
      assert.equal(imds.requests.length, 1, 'user data fetched once: the script was not started again');
    } finally {
      await imds.stop();
    }
  });
});
