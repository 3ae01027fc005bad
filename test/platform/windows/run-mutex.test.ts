import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WindowsPlatform } from '../../../src/platform/windows/windows-platform.ts';
import { loadScript } from '../../../src/platform/windows/scripts.ts';
import { exclusively } from '../../../src/cli/exclusive-run.ts';
import { RunLockedError } from '../../../src/errors.ts';
import { LOCK_FILE } from '../../../src/run-lock.ts';
import { bootTime } from '../../../src/util/process-identity.ts';
import { createLog } from '../../../src/util/log.ts';
import { FakeRunner, requests, type RecordedSpawn, type Reply } from './fake-runner.ts';

/**
 * On Windows the run lock is also the named mutex Global\winprov-run, held by the run's PowerShell
 * process (lock.ps1): the verb travels as JSON like every other. It is taken before the lock file: a
 * mutex held elsewhere refuses the run before the file is touched, and with the mutex held a lock file
 * left by a killed run is taken over even when its pid runs again (early-boot pids are reused).
 */

const silent = createLog({ consoleLevel: 'error', write: () => undefined });

function platformAnswering(acquired: boolean | 'abandoned' | 'fails', programData: string): { platform: WindowsPlatform; runner: FakeRunner } {
  const runner = new FakeRunner((verb) => {
    if (verb !== 'enterRunMutex') return { result: {} };
    if (acquired === 'fails') return { error: { message: 'Access is denied', fullyQualifiedErrorId: 'UnauthorizedAccessException' } };
    return { result: { acquired: acquired !== false, abandoned: acquired === 'abandoned' } };
  });
  return { platform: new WindowsPlatform({ runner, programData, powershell: 'powershell.exe' }), runner };
}

test('lock.ps1 waits on Global\\winprov-run, takes an abandoned mutex saying so, and host.ps1 releases it when the run ends', () => {
  const script = loadScript('lock.ps1');
  assert.match(script, /New-Object -TypeName System\.Threading\.Mutex -ArgumentList \$false, 'Global\\winprov-run'/);
  assert.match(script, /\$mutex\.WaitOne\(\[int\]\$Request\.waitMs\)/);
  assert.match(script, /catch \[System\.Threading\.AbandonedMutexException\] \{\s*\$acquired = \$true\s*\$abandoned = \$true/);
  assert.match(script, /\$mutex\.ReleaseMutex\(\)/);
  const host = loadScript('host.ps1');
  assert.match(host, /'enterRunMutex' \{ Enter-WinprovRunMutex -Request \$Params \}/);
  assert.match(host, /if \(\$null -eq \$line\) \{ Exit-WinprovRunMutex; return \}/, 'at the end of stdin');
  assert.match(host, /if \(\$verb -ceq 'exit'\) \{\s*\$stop = \$true\s*Exit-WinprovRunMutex/, 'on the exit request');
});

test('the run takes the mutex before the lock file; a mutex held elsewhere refuses the run and leaves the file alone', async () => {
  const programData = await mkdtemp(join(tmpdir(), 'winprov-mutex-'));
  try {
    const held = platformAnswering(true, programData);
    const ran = await exclusively(held.platform, { command: 'provision', waitMs: 1_500, log: silent }, async () => 'ran');
    assert.equal(ran, 'ran');
    assert.deepEqual(held.runner.allRequests().map((r) => [r.verb, r.params]), [['enterRunMutex', { waitMs: 1_500 }]]);
    await held.platform.close();

    const refused = platformAnswering(false, programData);
    let worked = false;
    await assert.rejects(
      exclusively(refused.platform, { command: 'provision', waitMs: 0, log: silent }, async () => void (worked = true)),
      (err: unknown) => err instanceof RunLockedError && /named mutex Global\\winprov-run/.test(err.reason),
    );
    assert.equal(worked, false);
    assert.deepEqual(await readdir(join(programData, 'winprov')), [], 'no lock file was written');
    await refused.platform.close();

    // A mutex that cannot be asked about does not stop a VM from being provisioned.
    const failing = platformAnswering('fails', programData);
    assert.equal(await exclusively(failing.platform, { command: 'provision', waitMs: 0, log: silent }, async () => 'ran anyway'), 'ran anyway');
    await failing.platform.close();
  } finally {
    await rm(programData, { recursive: true, force: true });
  }
});

test('with the mutex held, a lock file whose pid runs again (a killed run, the pid reused after a reboot) is taken over', async () => {
  const programData = await mkdtemp(join(tmpdir(), 'winprov-mutex-'));
  try {
    // As a killed run left it: this very process's pid (alive), this boot, no start time (as on Windows).
    await mkdir(join(programData, 'winprov'), { recursive: true });
    const left = { version: 1, pid: process.pid, bootTime: bootTime(), command: 'provision', acquiredAt: new Date().toISOString(), nonce: 'left-by-a-killed-run' };
    await writeFile(join(programData, 'winprov', LOCK_FILE), `${JSON.stringify(left)}\n`);
    const lines: string[] = [];
    const log = createLog({ consoleLevel: 'debug', write: (line) => void lines.push(line) });
    const held = platformAnswering(true, programData);
    assert.equal(await exclusively(held.platform, { command: 'provision', waitMs: 200, log }, async () => 'ran'), 'ran');
    assert.ok(lines.some((l) => /took over the lock .* this run holds the OS run lock/.test(l)), lines.join(''));
    await held.platform.close();
    // Without the mutex (the sandbox, or one that cannot be asked), the same file is a live holder's.
    await writeFile(join(programData, 'winprov', LOCK_FILE), `${JSON.stringify(left)}\n`);
    const failing = platformAnswering('fails', programData);
    await assert.rejects(exclusively(failing.platform, { command: 'provision', waitMs: 200, log: silent }, async () => 'ran'), RunLockedError);
    await failing.platform.close();
  } finally {
    await rm(programData, { recursive: true, force: true });
  }
});

test('an abandoned mutex (a PowerShell that died, its run maybe still going) does not make a lock file stale: its holder is checked', async () => {
  const programData = await mkdtemp(join(tmpdir(), 'winprov-mutex-'));
  try {
    await mkdir(join(programData, 'winprov'), { recursive: true });
    // The holder is this very process: alive, as a run whose PowerShell crashed is.
    const live = { version: 1, pid: process.pid, bootTime: bootTime(), command: 'provision', acquiredAt: new Date().toISOString(), nonce: 'a-live-run' };
    await writeFile(join(programData, 'winprov', LOCK_FILE), `${JSON.stringify(live)}\n`);
    const lines: string[] = [];
    const log = createLog({ consoleLevel: 'debug', write: (line) => void lines.push(line) });
    const abandoned = platformAnswering('abandoned', programData);
    let worked = false;
    await assert.rejects(exclusively(abandoned.platform, { command: 'provision', waitMs: 200, log }, async () => void (worked = true)), RunLockedError);
    assert.equal(worked, false);
    assert.ok(lines.some((l) => l.includes('the run mutex Global\\winprov-run was abandoned')), lines.join(''));
    await abandoned.platform.close();
    // A holder that is gone is taken over as without the mutex.
    const gone = { ...live, pid: 2 ** 22 + 12345, nonce: 'a-killed-run' };
    await writeFile(join(programData, 'winprov', LOCK_FILE), `${JSON.stringify(gone)}\n`);
    const again = platformAnswering('abandoned', programData);
    assert.equal(await exclusively(again.platform, { command: 'provision', waitMs: 200, log }, async () => 'ran'), 'ran');
    assert.ok(lines.some((l) => /took over the lock .* process \d+ is no longer running/.test(l)), lines.join(''));
    await again.platform.close();
  } finally {
    await rm(programData, { recursive: true, force: true });
  }
});

/**
 * Windows' side of Global\winprov-run for fake PowerShell processes: one owner at a time; an owner that
 * exited after its stdin was closed (close()) released it, one that exited otherwise abandoned it.
 */
class FakeOsMutex {
  owner: RecordedSpawn | undefined;

  enter(spawn: RecordedSpawn): Reply {
    const owner = this.owner;
    if (owner !== undefined && owner !== spawn && !owner.exited) return { result: { acquired: false, abandoned: false } };
    this.owner = spawn;
    return { result: { acquired: true, abandoned: owner !== undefined && owner !== spawn && !owner.stdinEnded } };
  }
}

test('two runs on one machine: a run whose PowerShell crashed takes the mutex again before its next verb, so a second run is refused', async () => {
  const programData = await mkdtemp(join(tmpdir(), 'winprov-mutex-'));
  try {
    const os = new FakeOsMutex();
    const respond = (verb: string, _params: Record<string, unknown>, spawn: RecordedSpawn): Reply => (verb === 'enterRunMutex' ? os.enter(spawn) : { result: { uuid: '0c1e4a5b-2d3f-4e5a-8b9c-0d1e2f3a4b5c' } });
    const a = new FakeRunner(respond);
    const platformA = new WindowsPlatform({ runner: a, programData, powershell: 'powershell.exe' });
    const outcome = await exclusively(platformA, { command: 'provision', waitMs: 200, log: silent }, async () => {
      a.crash(0, 255);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await platformA.readVmId();
      const b = new FakeRunner(respond);
      const platformB = new WindowsPlatform({ runner: b, programData, powershell: 'powershell.exe' });
      let bWorked = false;
      await assert.rejects(exclusively(platformB, { command: 'provision', waitMs: 0, log: silent }, async () => void (bWorked = true)), /holds the named mutex Global\\winprov-run/);
      await platformB.close();
      return bWorked ? 'B ran while A was inside exclusively()' : 'A alone';
    });
    assert.equal(outcome, 'A alone');
    assert.deepEqual(requests(a.spawns[1]!).map((r) => r.verb), ['enterRunMutex', 'readVmId']);
    await platformA.close();
  } finally {
    await rm(programData, { recursive: true, force: true });
  }
});
