/**
 * The first-boot script through the Windows platform on pwsh with Windows emulated, user data: `provision
 * --platform windows` to Ready against the fabric simulator, then `first-boot-script --platform windows`
 * as SetupComplete.cmd runs it, the user data served by the IMDS simulator on its own loopback port. A
 * PowerShell script is run by the real pwsh (the emulation's powershell launcher hands -File scripts to
 * pwsh); a cmd script by a stand-in cmd.exe under the emulated %SystemRoot%. The outcome lands in the
 * emulated registry (KVP) and event log through the real kvp.ps1 and events.ps1. Custom data:
 * first-boot-custom-data.test.ts; the helpers: first-boot-machine.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImdsSimulator, type ImdsScenario } from '../../src/simulator/imds.ts';
import { readFirstBootRecord } from '../../src/first-boot/record.ts';
import { assertNotRun, assertRan, b64, firstBootMachine, MAIN, NOT_A_SCRIPT, runCli, SCRIPT_FORMATS, type FirstBootMachine } from './first-boot-machine.ts';
import { powerShellTools } from './tools.ts';

const tools = powerShellTools();
const skip = 'skipped' in tools ? `PowerShell tier skipped: ${tools.skipped}` : false;

describe('the first-boot script (user data) through the Windows platform on pwsh with Windows emulated', { skip, timeout: 900_000 }, () => {
  let fb: FirstBootMachine | undefined;

  before(async () => {
    if ('skipped' in tools) return;
    fb = await firstBootMachine(tools.pwsh);
  });
  after(async () => {
    await fb?.close();
  });

  const userData = (settings: Record<string, string>, scenario: ImdsScenario) => fb!.firstBoot({ firstBootScript: 'userData', ...settings }, { imds: scenario });

  it('a #ps1 user data script runs on pwsh; its exit code, output, KVP and event are recorded', async () => {
    const { result, script, imds, kvp, events } = await userData({}, { userData: b64('#ps1\nWrite-Output "hello from pwsh $($PSVersionTable.PSEdition)"\nexit 4\n') });
    assert.equal(result.code, 0, result.stdout);
    assert.equal(imds!.requests[0]!.metadataHeader, 'true');
    assert.equal(imds!.requests[0]!.forwardedFor, undefined);
    const record = script('userData');
    assert.equal(record?.outcome, 'failed');
    assert.equal(record.exitCode, 4);
    assert.deepEqual(record.tail, ['hello from pwsh Core']);
    assert.match(kvp ?? '', /source=userData\|outcome=failed\|exit=4/);
    const state = await fb!.machine.state();
    assert.match(state['registry']['SOFTWARE\\Microsoft\\Virtual Machine\\Guest']['PROVISIONING_REPORT']['data'], /^result=success/, 'provisioning stays a success');
    assert.equal(events.filter((e) => /^first-boot script userData: failed, format ps1, exit 4/.test(e)).length, 1, events.join('\n'));
  });

  it('a rem cmd script runs with %SystemRoot%\\System32\\cmd.exe /d /c', async () => {
    const { script, cmdRuns } = await userData({}, { userData: b64('rem cmd\r\necho from cmd\r\nexit /b 0\r\n') });
    assert.equal(script('userData')?.outcome, 'succeeded');
    assert.deepEqual(script('userData')?.tail, ['from cmd']);
    assert.deepEqual(cmdRuns, [`/d /c ${join(fb!.stateDir, 'first-boot', 'userData.cmd')}`]);
  });

  for (const format of SCRIPT_FORMATS.filter((f) => f.format !== 'ps1' && f.format !== 'rem-cmd')) {
    it(`user data in the ${format.name} format runs with ${format.interpreter === 'cmd' ? 'cmd.exe' : 'PowerShell'} and is reported everywhere`, async () => {
      const run = await userData({}, { userData: b64(format.text(`user data ${format.format}`)) });
      assert.equal(run.imds!.requests.length, 1);
      await assertRan(fb!, run, 'userData', format, `user data ${format.format}`);
    });
  }

  it('user data that is not a recognised script is not run, and the record says why', async () => {
    const run = await userData({}, { userData: b64(NOT_A_SCRIPT) });
    await assertNotRun(fb!, run, 'userData', /^not a script winprov runs: its first line is not #ps1/);
    assert.equal(run.events.filter((e) => e.startsWith('first-boot script userData: not-run, not a script')).length, 1, run.events.join('\n'));
  });

  it('a script past its timeout is stopped; one printing itself has its secrets redacted', async () => {
    const hung = await userData({ firstBootTimeout: '5s' }, { userData: b64('#ps1\nWrite-Output "started"\nStart-Sleep -Seconds 120\n') });
    assert.equal(hung.script('userData')?.outcome, 'timed-out');
    assert.deepEqual(hung.script('userData')?.tail, ['started']);
    const secret = 'Emulated-Secret-Value-42b9';
    const leak = await userData({}, { userData: b64(`#ps1\n$token = '${secret}'\nGet-Content -LiteralPath $PSCommandPath\n`) });
    assert.equal(leak.script('userData')?.outcome, 'succeeded');
    const outputLog = String(leak.script('userData')?.outputLog);
    assert.match(await readFile(outputLog, 'utf8'), /\[redacted\]/, 'the line was printed, masked');
    for (const file of [outputLog, join(fb!.stateDir, 'first-boot.json'), join(fb!.stateDir, 'winprov.log'), fb!.machine.statePath, fb!.machine.callsPath]) {
      assert.ok(!(await readFile(file, 'utf8').catch(() => '')).includes(secret), `${file} holds the secret`);
    }
    assert.ok(!leak.out.includes(secret), 'the console holds the secret');
  });

  it('IMDS without the userData endpoint (404): a logged skip, nothing runs', async () => {
    const run = await userData({}, { notFound: true });
    await assertNotRun(fb!, run, 'userData', /^IMDS is not available: .*HTTP 404/);
    assert.equal(run.imds!.requests.length, 1, '404 is not retried');
  });

  it('IMDS failing (500) past its budget: nothing runs, the reason is said, and a later run tries again', async () => {
    // winprov.json "imdsBudget" shortens the default 30 s; more 500s than the retry policy asks for in 3 s.
    const started = Date.now();
    const run = await userData({ imdsBudget: '3s' }, { userData: b64('#ps1\nWrite-Output "never"\n'), faults: Array.from({ length: 20 }, () => ({ status: 500 })) });
    const took = Date.now() - started;
    await assertNotRun(fb!, run, 'userData', /^IMDS kept failing past its budget: .*still failing after \d+ attempt.*; a later run tries again$/, 'unavailable');
    const answered = run.imds!.requests.map((r) => r.answered);
    assert.ok(answered.length >= 2 && answered.length < 20, `retried, then gave up: ${answered.join(',')}`);
    assert.ok(answered.every((a) => a === 500));
    assert.ok(took < 20_000, `ended by its 3 s budget (${took} ms)`);
    assert.equal(run.out.match(/IMDS did not answer/g)?.length, answered.length - 1, 'each retry is logged');
  });

  it('IMDS failing for a moment (503, then a reset connection) is retried and the script runs', async () => {
    const run = await userData({ imdsBudget: '15s' }, { userData: b64('#cmd\necho retried\n'), faults: [{ status: 503 }, { reset: true }] });
    assert.deepEqual(run.imds!.requests.map((r) => r.answered), [503, 'reset', 200]);
    assert.equal(run.script('userData')?.outcome, 'succeeded');
    assert.deepEqual(run.script('userData')?.tail, ['retried']);
    assert.equal(run.cmdRuns.length, 1);
    assert.equal(run.out.match(/IMDS did not answer/g)?.length, 2, run.out);
  });

  it('killed during the script, the next run reports it interrupted and does not run it again', async () => {
    for (const file of ['first-boot.json', 'first-boot-userData.log']) await rm(join(fb!.stateDir, file), { force: true });
    const pidFile = join(fb!.machine.dir, 'script.pid');
    const imds = new ImdsSimulator({ userData: b64(`#ps1\nWrite-Output "long job"\n$PID | Out-File -LiteralPath '${pidFile}'\nStart-Sleep -Seconds 120\n`) });
    const url = await imds.start();
    try {
      await writeFile(fb!.config, JSON.stringify({ firstBootScript: 'userData', imdsAddress: url }));
      const child = spawn(process.execPath, [MAIN, 'first-boot-script', '--platform', 'windows', '--config', fb!.config], { env: { ...process.env, ...fb!.env }, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      // Killed once the script is running and its first line has reached the output log.
      const outputLog = join(fb!.stateDir, 'first-boot-userData.log');
      const running = async (): Promise<boolean> => (await readFile(pidFile, 'utf8').then(() => true, () => false)) && /^long job$/m.test(await readFile(outputLog, 'utf8').catch(() => ''));
      const until = Date.now() + 120_000;
      while (!(await running()) && Date.now() < until) await sleep(100);
      assert.equal((await readFirstBootRecord(fb!.stateDir))?.scripts[0]?.outcome, 'started', 'recorded before the interpreter started');
      child.kill('SIGKILL');
      await exited;
      const pid = Number((await readFile(pidFile, 'utf8')).replace(/^\uFEFF/, '').trim());
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      const again = await runCli(['first-boot-script', '--platform', 'windows', '--config', fb!.config], fb!.env);
      assert.equal(again.code, 0, again.stdout);
      assert.match(again.stdout, /first-boot script userData: interrupted/);
      const record = await readFirstBootRecord(fb!.stateDir);
      assert.equal(record?.scripts[0]?.outcome, 'interrupted');
      assert.deepEqual(record.scripts[0]?.tail, ['long job'], 'what it printed before the kill');
      const kvp = (await fb!.machine.state())['registry']['SOFTWARE\\Microsoft\\Virtual Machine\\Guest']['FIRST_BOOT_SCRIPT']['data'];
      assert.match(kvp, /source=userData\|outcome=interrupted/);
      assert.equal(imds.requests.length, 1, 'user data fetched once: the script was not started again');
    } finally {
      await imds.stop();
    }
  });
});
