import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { provisioningFixture, type ProvisioningFixture } from '../helpers/provisioning.ts';
import { runCli } from '../helpers/cli.ts';
import { ImdsSimulator, type ImdsScenario } from '../../src/simulator/imds.ts';
import { RUNS_FILE } from '../../src/platform/sandbox/first-boot.ts';
import { FIRST_BOOT_RESUME_TASK } from '../../src/platform/first-boot-types.ts';
import { readFirstBootRecord, type ScriptRecord } from '../../src/first-boot/record.ts';
import { runFirstBoot } from '../../src/first-boot/run.ts';
import { silentLog } from '../../src/util/log.ts';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { unzipSync } from 'fflate';

/**
 * The first-boot script end to end on the sandbox: provisioning to Ready against the fabric simulator,
 * then `winprov first-boot-script` as SetupComplete.cmd runs it, with IMDS simulated on its own loopback
 * port. The sandbox's fake interpreter records each run (first-boot-runs.jsonl) so "exactly once" is counted.
 */

async function provisioned(customData?: string): Promise<ProvisioningFixture> {
  const fx = await provisioningFixture({ scenario: { adminPassword: 'Corr3ct-Horse-Battery!', ...(customData === undefined ? {} : { customData }) } });
  const result = await fx.run();
  assert.equal(result.outcome, 'ready', result.error?.describe());
  return fx;
}

async function firstBoot(fx: ProvisioningFixture, settings: Record<string, string>): Promise<{ code: number; out: string }> {
  const config = join(fx.sandboxRoot, '..', 'winprov.json');
  await writeFile(config, JSON.stringify(settings));
  return runCli(['first-boot-script', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, '--config', config]);
}

async function runs(fx: ProvisioningFixture): Promise<{ interpreter: string; pid: number }[]> {
  const text = await readFile(join(fx.sandboxRoot, RUNS_FILE), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { interpreter: string; pid: number });
}

async function script(fx: ProvisioningFixture, source: 'customData' | 'userData'): Promise<ScriptRecord | undefined> {
  return (await readFirstBootRecord(fx.platform.stateDirectory))?.scripts.find((s) => s.source === source);
}

async function withImds<T>(scenario: ImdsScenario, work: (url: string, imds: ImdsSimulator) => Promise<T>): Promise<T> {
  const imds = new ImdsSimulator(scenario);
  const url = await imds.start();
  try {
    return await work(url, imds);
  } finally {
    await imds.stop();
  }
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

for (const [name, text, interpreter] of [
  ['#ps1', '#ps1\nWrite-Output "hello from ps1"\nexit 0\n', 'powershell'],
  ['#ps1_sysnative', '#ps1_sysnative\nWrite-Output "hello from ps1"\n', 'powershell'],
  ['<powershell>', 'anything before\n<powershell>\nWrite-Output "hello from ps1"\n</powershell>\n', 'powershell'],
  ['rem cmd', 'rem cmd\necho hello from ps1\nexit /b 0\n', 'cmd'],
  ['#cmd', '#cmd\necho hello from ps1\n', 'cmd'],
] as const) {
  test(`custom data in the ${name} format runs once with ${interpreter}, after Ready, and is reported everywhere`, async () => {
    const fx = await provisioned(text);
    try {
      const first = await firstBoot(fx, { firstBootScript: 'customData' });
      assert.equal(first.code, 0, first.out);
      assert.deepEqual((await runs(fx)).map((r) => r.interpreter), [interpreter]);
      const record = await script(fx, 'customData');
      assert.equal(record?.outcome, 'succeeded');
      assert.equal(record.exitCode, 0);
      assert.ok(record.tail?.includes('hello from ps1'), JSON.stringify(record.tail));
      const output = await readFile(record.outputLog!, 'utf8');
      assert.match(output, /hello from ps1/);
      const machine = await fx.machine();
      assert.match(machine.kvp['FIRST_BOOT_SCRIPT'] ?? '', /source=customData\|outcome=succeeded\|exit=0/);
      assert.ok(machine.events?.some((e) => /first-boot script customData: succeeded/.test(e.message)));
      // The script file is gone once it has run.
      assert.deepEqual(await readdir(join(fx.platform.stateDirectory, 'first-boot')), []);
      // The startup task was there only while the script ran.
      assert.deepEqual(machine.scheduledTasks, []);
      assert.deepEqual(machine.changes.filter((c) => c.verb === 'setFirstBootResume').map((c) => c.detail), [`registered ${FIRST_BOOT_RESUME_TASK}`, `removed ${FIRST_BOOT_RESUME_TASK}`]);

      // A task left behind (a removal that failed, a script that restarted Windows after it exited 0) goes
      // with the next run, which runs nothing.
      await fx.editMachine((m) => void (m.scheduledTasks = [{ name: FIRST_BOOT_RESUME_TASK, command: 'winprov.exe first-boot-script', trigger: 'AtStartup', user: 'SYSTEM' }]));
      const again = await firstBoot(fx, { firstBootScript: 'customData' });
      assert.equal(again.code, 0);
      assert.match(again.out, /already done on this VM/);
      assert.equal((await runs(fx)).length, 1, 'never run twice');
      assert.deepEqual((await fx.machine()).scheduledTasks, []);

      const status = await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, '--json', '--config', join(fx.sandboxRoot, '..', 'winprov.json')]);
      const report = JSON.parse(status.out) as { firstBootScript: { mode: string; scripts: ScriptRecord[] } };
      assert.equal(report.firstBootScript.mode, 'customData');
      assert.equal(report.firstBootScript.scripts[0]?.outcome, 'succeeded');
    } finally {
      await fx.close();
    }
  });
}


/**
 * The URL of an IMDS nobody serves: a port that was free, below the ephemeral ranges so that no port-0
 * bind of a concurrent test gets it while the agent retries it.
 */
async function absentImds(): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = new ImdsSimulator();
    const url = await probe.start(20_000 + Math.floor(Math.random() * 12_000)).catch(() => undefined);
    await probe.stop();
    if (url !== undefined) return url;
  }
  throw new Error('no free port below the ephemeral range');
}

test('a failing script: its exit code is recorded, provisioning stays Ready', async () => {
  const fx = await provisioned('rem cmd\necho about to fail 1>&2\nexit /b 3\n');
  try {
    const result = await firstBoot(fx, { firstBootScript: 'customData' });
    assert.equal(result.code, 0);
    const record = await script(fx, 'customData');
    assert.equal(record?.outcome, 'failed');
    assert.equal(record.exitCode, 3);
    assert.deepEqual(record.tail, ['about to fail']);
    assert.equal((await fx.platform.readAgentState())?.result, 'ready');
    const status = await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.equal(status.code, 0, 'status still says provisioned');
  } finally {
    await fx.close();
  }
});

test('a script printing terminal control sequences cannot rewrite the console, status, the event log or KVP', async () => {
  // Clear the screen, set the window title, move up a line and erase it: a forged outcome over the real one.
  const forged = '\x1b[2J\x1b]0;owned\x07HELLO\x1b[1A\x1b[Kfake: provisioning succeeded';
  const fx = await provisioned(`#cmd\necho ${forged}\necho left\u202eright\nexit /b 1\n`);
  try {
    const config = join(fx.sandboxRoot, '..', 'winprov.json');
    const result = await firstBoot(fx, { firstBootScript: 'customData' });
    const status = await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, '--config', config]);
    const record = await script(fx, 'customData');
    assert.equal(record?.outcome, 'failed');
    assert.deepEqual(record.tail, ['\\u001b[2J\\u001b]0;owned\\u0007HELLO\\u001b[1A\\u001b[Kfake: provisioning succeeded', 'left\\u202eright']);
    const machine = await fx.machine();
    const shown = { console: result.out, status: status.out, kvp: machine.kvp['FIRST_BOOT_SCRIPT'] ?? '', events: (machine.events ?? []).map((e) => e.message).join('\n') };
    for (const [where, text] of Object.entries(shown)) {
      assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/, `${where} holds a control character`);
      assert.match(text, /\\u001b\[2J/, `${where} shows the sequence escaped`);
    }
    assert.match(await readFile(record.outputLog!, 'utf8'), /\x1b\[2J/, 'the output log keeps what the script wrote');
  } finally {
    await fx.close();
  }
});

test('a script that hangs past its timeout is stopped and recorded as timed-out', async () => {
  const fx = await provisioned('#ps1\nWrite-Output "working"\nStart-Sleep -Seconds 60\n');
  try {
    const started = Date.now();
    await firstBoot(fx, { firstBootScript: 'customData', firstBootTimeout: '1s' });
    assert.ok(Date.now() - started < 15_000);
    const record = await script(fx, 'customData');
    assert.equal(record?.outcome, 'timed-out');
    assert.match(record.reason ?? '', /timeout of 1 s/);
    assert.deepEqual(record.tail, ['working']);
  } finally {
    await fx.close();
  }
});

test('a script that prints itself (its secrets) leaves them out of the output log, the record, KVP and collect-logs', async () => {
  const secret = 'Sup3r-Secret-Token-8c1f0e';
  const fx = await provisioned(`#ps1\n$token = '${secret}'\nGet-Content $PSCommandPath\nWrite-Output "<AdminPassword>${secret}</AdminPassword>"\n`);
  try {
    const result = await firstBoot(fx, { firstBootScript: 'customData' });
    assert.ok(!result.out.includes(secret), 'the console holds the secret');
    const record = await script(fx, 'customData');
    assert.equal(record?.outcome, 'succeeded');
    const zip = join(fx.sandboxRoot, '..', 'logs.zip');
    const collected = await runCli(['collect-logs', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, '-o', zip]);
    assert.match(collected.out, /first-boot-customData\.log/);
    const files = [record.outputLog!, join(fx.platform.stateDirectory, 'first-boot.json'), join(fx.platform.stateDirectory, 'winprov.log'), join(fx.sandboxRoot, 'machine.json'), join(fx.sandboxRoot, RUNS_FILE)];
    for (const file of files) assert.ok(!(await readFile(file, 'utf8')).includes(secret), `${file} holds the secret`);
    for (const [name, data] of Object.entries(unzipSync(await readFile(zip)))) assert.ok(!Buffer.from(data).includes(Buffer.from(secret)), `${name} in the zip holds the secret`);
    assert.match(await readFile(record.outputLog!, 'utf8'), /\[redacted\]/);
  } finally {
    await fx.close();
  }
});

test('custom data that is not a recognised script is not run, and the record says why', async () => {
  const fx = await provisioned('#cloud-config\nruncmd: [ "echo hi" ]\n');
  try {
    const result = await firstBoot(fx, { firstBootScript: 'customData' });
    assert.match(result.out, /not a script winprov runs: its first line is not #ps1/);
    assert.equal((await script(fx, 'customData'))?.outcome, 'not-run');
    assert.deepEqual(await runs(fx), []);
  } finally {
    await fx.close();
  }
});

test('the switch off: nothing runs, nothing is written, the output says so once', async () => {
  const fx = await provisioned('#ps1\nWrite-Output "should not run"\n');
  try {
    const result = await firstBoot(fx, { firstBootScript: 'off' });
    assert.equal(result.code, 0);
    assert.equal(result.out.match(/first-boot script: off/g)?.length, 1, result.out);
    assert.deepEqual(await runs(fx), []);
    assert.equal(await readFirstBootRecord(fx.platform.stateDirectory), undefined);
    // The default (no setting) is off too, and the environment cannot turn it on.
    const byEnv = await runCli(['first-boot-script', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot], { WINPROV_FIRST_BOOT_SCRIPT: 'customData' });
    assert.match(byEnv.out, /first-boot script: off/);
    assert.deepEqual(await runs(fx), []);
  } finally {
    await fx.close();
  }
});

test('nothing runs before the fabric acknowledged Ready', async () => {
  const fx = await provisioningFixture({ scenario: { customData: '#ps1\nWrite-Output "early"\n' } });
  try {
    const result = await firstBoot(fx, { firstBootScript: 'customData' });
    assert.match(result.out, /has not acknowledged Ready/);
    assert.deepEqual(await runs(fx), []);
    assert.equal(await readFirstBootRecord(fx.platform.stateDirectory), undefined, 'a later run after Ready may still run it');
  } finally {
    await fx.close();
  }
});

test('user data from IMDS (base64) runs, asked with Metadata: true and never through a proxy', async () => {
  const fx = await provisioned();
  try {
    await withImds({ userData: b64('#ps1\nWrite-Output "from user data"\n') }, async (url, imds) => {
      const saved = process.env['HTTP_PROXY'];
      process.env['HTTP_PROXY'] = 'http://127.0.0.1:9';
      try {
        await firstBoot(fx, { firstBootScript: 'userData', imdsAddress: url });
      } finally {
        if (saved === undefined) delete process.env['HTTP_PROXY'];
        else process.env['HTTP_PROXY'] = saved;
      }
      assert.equal(imds.requests.length, 1);
      assert.equal(imds.requests[0]!.path, '/metadata/instance/compute/userData?api-version=2021-01-01&format=text');
      assert.equal(imds.requests[0]!.metadataHeader, 'true');
    });
    const record = await script(fx, 'userData');
    assert.equal(record?.outcome, 'succeeded');
    assert.deepEqual(record.tail, ['from user data']);
  } finally {
    await fx.close();
  }
});

test('both: custom data then user data, each in its own format, each once', async () => {
  const fx = await provisioned('rem cmd\necho custom\n');
  try {
    await withImds({ userData: b64('<powershell>Write-Output "user"</powershell>') }, async (url) => {
      await firstBoot(fx, { firstBootScript: 'both', imdsAddress: url });
      await firstBoot(fx, { firstBootScript: 'both', imdsAddress: url });
    });
    assert.deepEqual((await runs(fx)).map((r) => r.interpreter), ['cmd', 'powershell']);
    assert.equal((await script(fx, 'customData'))?.outcome, 'succeeded');
    assert.equal((await script(fx, 'userData'))?.outcome, 'succeeded');
  } finally {
    await fx.close();
  }
});

const imdsSettings = (url: string, budgetMs: number) => ({ mode: 'userData' as const, timeoutMs: 10_000, imds: { baseUrl: url, connectTimeoutMs: 500, readTimeoutMs: 1_000, budgetMs } });

test('IMDS absent (nothing listens, 404): user data is a logged skip for good; failing past its budget: tried again by the next run', async () => {
  const fx = await provisioned();
  try {
    const url = await absentImds();
    const record = await runFirstBoot({ platform: fx.platform, log: silentLog(), settings: imdsSettings(url, 1_500) });
    assert.equal(record?.scripts[0]?.outcome, 'not-run');
    assert.match(record.scripts[0]!.reason ?? '', /IMDS is not available/);
    assert.deepEqual(await runs(fx), []);
  } finally {
    await fx.close();
  }
  const absent = await provisioned();
  try {
    await withImds({ notFound: true }, async (url) => {
      const record = await runFirstBoot({ platform: absent.platform, log: silentLog(), settings: imdsSettings(url, 1_500) });
      assert.equal(record?.scripts[0]?.outcome, 'not-run');
      assert.match(record.scripts[0]!.reason ?? '', /IMDS is not available: .*HTTP 404/);
    });
  } finally {
    await absent.close();
  }
  const failing = await provisioned();
  try {
    await withImds({ faults: Array.from({ length: 40 }, () => ({ status: 500 })) }, async (url) => {
      const record = await runFirstBoot({ platform: failing.platform, log: silentLog(), settings: imdsSettings(url, 1_500) });
      assert.equal(record?.scripts[0]?.outcome, 'unavailable');
      assert.match(record.scripts[0]!.reason ?? '', /IMDS kept failing past its budget: .*; a later run tries again/);
    });
    // The startup task stays, so the next start of Windows tries again.
    assert.deepEqual((await failing.machine()).scheduledTasks?.map((t) => t.name), [FIRST_BOOT_RESUME_TASK]);
    // The next run, with IMDS answering: the script runs, and the record holds only its outcome.
    await withImds({ userData: Buffer.from('#cmd\necho second try\n').toString('base64') }, async (url) => {
      const record = await runFirstBoot({ platform: failing.platform, log: silentLog(), settings: imdsSettings(url, 1_500) });
      assert.deepEqual(record?.scripts.map((s) => s.outcome), ['succeeded']);
    });
    assert.equal((await runs(failing)).length, 1);
    assert.deepEqual((await failing.machine()).scheduledTasks, [], 'nothing left to try: the task goes');
  } finally {
    await failing.close();
  }
});

test('the image\'s imdsBudget (winprov.json) bounds the user data fetch of `winprov first-boot-script`', async () => {
  const fx = await provisioned();
  try {
    // IMDS answering 503 for far longer than the budget: the default 30 s would keep retrying all along.
    await withImds({ faults: Array.from({ length: 200 }, () => ({ status: 503 })) }, async (url, imds) => {
      const started = performance.now();
      const result = await firstBoot(fx, { firstBootScript: 'userData', imdsAddress: url, imdsBudget: '2s' });
      const elapsed = performance.now() - started;
      assert.equal(result.code, 0, result.out);
      assert.ok(elapsed < 10_000, `the fetch gave up after ${Math.round(elapsed)} ms, not within its 2 s budget`);
      assert.ok(imds.requests.length >= 2, 'retried within the budget');
      assert.ok(imds.requests.every((r) => r.answered === 503));
    });
    const record = await script(fx, 'userData');
    assert.equal(record?.outcome, 'unavailable');
    assert.match(record.reason ?? '', /IMDS kept failing past its budget: GET .* still failing after \d+ attempt/);
    assert.deepEqual(await runs(fx), []);
  } finally {
    await fx.close();
  }
});

test('IMDS failing for a moment (503, a reset) is retried within its budget', async () => {
  const fx = await provisioned();
  try {
    await withImds({ userData: b64('#cmd\necho retried\n'), faults: [{ status: 503 }, { reset: true }] }, async (url, imds) => {
      const record = await runFirstBoot({ platform: fx.platform, log: silentLog(), settings: imdsSettings(url, 15_000) });
      assert.equal(record?.scripts[0]?.outcome, 'succeeded');
      assert.equal(imds.requests.length, 3);
    });
  } finally {
    await fx.close();
  }
});

test('a startup task Windows refuses is a warning: the script still runs once, and nothing is left to remove', async () => {
  const fx = await provisioned('#ps1\nWrite-Output "runs anyway"\n');
  try {
    await fx.editMachine((m) => void (m.failVerb = { verb: 'setFirstBootResume', message: 'Access is denied.' }));
    const { code, out } = await firstBoot(fx, { firstBootScript: 'customData' });
    assert.equal(code, 0, out);
    assert.match(out, /the startup task that records a script's end after a restart could not be registered: setFirstBootResume failed: Access is denied\./);
    const record = await script(fx, 'customData');
    assert.equal(record?.outcome, 'succeeded');
    assert.equal(record.resumeTask, false);
    assert.equal((await runs(fx)).length, 1);
    // The removal every run ends with is refused too: a second warning, the outcome unchanged.
    assert.match(out, /the startup task that records a script's end after a restart could not be removed: setFirstBootResume failed: Access is denied\./);
  } finally {
    await fx.close();
  }
});

test('killed while the script runs: the next run reports it interrupted and never starts it again', async () => {
  const fx = await provisioned('#ps1\nWrite-Output "long job"\nStart-Sleep -Seconds 30\n');
  try {
    const config = join(fx.sandboxRoot, '..', 'winprov.json');
    await writeFile(config, JSON.stringify({ firstBootScript: 'customData' }));
    const main = new URL('../../src/main.ts', import.meta.url).pathname;
    const child = spawn(process.execPath, [main, 'first-boot-script', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, '--config', config], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const until = Date.now() + 20_000;
    const statusWhileRunning = async () => (await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, '--config', config])).out;
    // Until the script has started and its first line is in the output log (written by the parent, after the
    // interpreter's run record: killing between the two would leave nothing "printed before the kill").
    const outputLog = join(fx.platform.stateDirectory, 'first-boot-customData.log');
    const printed = async () => (await readFile(outputLog, 'utf8').catch(() => '')).includes('long job');
    while (((await runs(fx)).length === 0 || !(await printed())) && Date.now() < until) await sleep(50);
    assert.equal((await script(fx, 'customData'))?.outcome, 'started', 'recorded before the interpreter started');
    assert.equal((await script(fx, 'customData'))?.resumeTask, true);
    // While the script runs, Windows would start first-boot-script again at its next start.
    assert.deepEqual((await fx.machine()).scheduledTasks, [{ name: FIRST_BOOT_RESUME_TASK, command: 'winprov.exe first-boot-script', trigger: 'AtStartup', user: 'SYSTEM' }]);
    assert.doesNotMatch(await statusWhileRunning(), /no run is in progress/, 'the run holds the lock');
    child.kill('SIGKILL');
    await exited;
    // The interpreter outlives its parent, as on Windows; end it here.
    for (const r of await runs(fx)) try { process.kill(r.pid, 'SIGKILL'); } catch { /* already gone */ }

    // SetupComplete.cmd runs once: until first-boot-script runs again, status says the "started" has no run behind it.
    const status = await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, '--config', config]);
    assert.match(status.out, /customData: started, format ps1, no run is in progress: it ended without an end being recorded \(a restart or a kill\); the startup task winprov registered records it as interrupted at the next start of Windows, or run "winprov first-boot-script"/);
    const json = JSON.parse((await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, '--config', config, '--json'])).out);
    assert.match(json.firstBootScript.scripts[0].reason, /no run is in progress/);
    assert.equal((await script(fx, 'customData'))?.outcome, 'started', 'status only reads');

    // What the startup task runs at the next start of Windows.
    const again = await firstBoot(fx, { firstBootScript: 'customData' });
    assert.equal(again.code, 0, again.out);
    const record = await script(fx, 'customData');
    assert.equal(record?.outcome, 'interrupted');
    assert.deepEqual((await fx.machine()).scheduledTasks, [], 'the task goes once nothing is left "started"');
    assert.deepEqual(record.tail, ['long job'], 'what it printed before the kill');
    assert.match(again.out, /interrupted/);
    assert.match((await fx.machine()).kvp['FIRST_BOOT_SCRIPT'] ?? '', /outcome=interrupted/);
    await firstBoot(fx, { firstBootScript: 'customData' });
    assert.equal((await runs(fx)).length, 1, 'started once, never again');
    assert.equal((await script(fx, 'customData'))?.outcome, 'interrupted');
  } finally {
    await fx.close();
  }
});
