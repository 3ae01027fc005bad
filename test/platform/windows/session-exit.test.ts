import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/**
 * Setup runs winprov synchronously in the specialize pass, so winprov must exit once its run is over,
 * even when the PowerShell it killed does not end (its termination waiting on a hung driver) or ignores
 * being asked to exit: the runner lets go of such a child (exec.ts processRunner), after the session has
 * run taskkill /T on it (process-tree.ts). The process under test is a real node process
 * (fixtures/windows/session-exit-driver.ts) whose "PowerShell" ignores SIGTERM and lives 30 s.
 */

const STUB = fileURLToPath(new URL('../../fixtures/windows/stubborn-host.mjs', import.meta.url));
const DRIVER = fileURLToPath(new URL('../../fixtures/windows/session-exit-driver.ts', import.meta.url));
/** Beyond this the driver is stopped and the test fails: well below the stub's 30 s. */
const DRIVER_LIMIT_MS = 12_000;

/** A machine folder: the stub as "powershell" (recording its pid) and a taskkill.exe that is refused. */
async function machine(t: TestContext, mode: 'hang' | 'answer') {
  const dir = await mkdtemp(join(tmpdir(), 'winprov-session-exit-'));
  const powershell = join(dir, 'powershell');
  await writeFile(powershell, `#!/bin/sh\necho $$ >> '${dir}/pids'\nexec '${process.execPath}' '${STUB}' ${mode} "$@"\n`);
  const system32 = join(dir, 'Windows', 'System32');
  await mkdir(system32, { recursive: true });
  await writeFile(join(system32, 'taskkill.exe'), `#!/bin/sh\necho "$*" >> '${dir}/taskkill-calls'\necho 'ERROR: The process could not be terminated. Reason: Access is denied.' >&2\nexit 1\n`);
  await chmod(powershell, 0o755);
  await chmod(join(system32, 'taskkill.exe'), 0o755);
  const read = (name: string) => readFile(join(dir, name), 'utf8').catch(() => '');
  const pids = async () => (await read('pids')).split('\n').filter((l) => l !== '').map(Number);
  t.after(async () => {
    for (const pid of await pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Ended already.
      }
    }
    await rm(dir, { recursive: true, force: true });
  });
  return { powershell, systemRoot: join(dir, 'Windows'), pids, taskkillCalls: () => read('taskkill-calls') };
}

/** Runs the driver; resolves when it exits (or is stopped at DRIVER_LIMIT_MS) with its lifetime and output. */
function runDriver(powershell: string, systemRoot: string): Promise<{ lifetimeMs: number; stopped: boolean; stdout: string; stderr: string }> {
  const started = performance.now();
  const child = spawn(process.execPath, [DRIVER, powershell, systemRoot], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
  let stopped = false;
  const limit = setTimeout(() => {
    stopped = true;
    child.kill('SIGKILL');
  }, DRIVER_LIMIT_MS);
  return new Promise((resolve) => {
    child.on('exit', () => {
      clearTimeout(limit);
      resolve({ lifetimeMs: performance.now() - started, stopped, stdout, stderr });
    });
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Both at once: each waits seconds on timers, not on the processor.
describe('winprov exits with a PowerShell that will not end', { concurrency: true }, () => {
  test('a request that timed out ends the run at once, although the killed PowerShell lives on', async (t) => {
    const m = await machine(t, 'hang');
    const run = await runDriver(m.powershell, m.systemRoot);
    const failedAt = Number(/^failed (\d+) .*did not answer within 500 ms/m.exec(run.stdout)?.[1]);
    assert.ok(Number.isFinite(failedAt), `${run.stdout}\n${run.stderr}`);
    assert.equal(run.stopped, false, `the driver did not exit within ${DRIVER_LIMIT_MS} ms:\n${run.stdout}\n${run.stderr}`);
    t.diagnostic(`failed at ${failedAt} ms, exited at ${Math.round(run.lifetimeMs)} ms`);
    // taskkill, then the kill's grace (1 s): the stub's own 30 s do not count.
    assert.ok(run.lifetimeMs - failedAt < 3_000, `exited ${Math.round(run.lifetimeMs - failedAt)} ms after the failure`);
    const [pid] = await m.pids();
    assert.ok(pid !== undefined && alive(pid), 'the stub outlived the process under test');
    assert.equal((await m.taskkillCalls()).trim(), `/PID ${pid} /T /F`, 'its tree was stopped first');
    assert.match(run.stderr, /warn: the processes PowerShell started could not be stopped with it \(taskkill \/T: exit 1, "ERROR: .*Access is denied\."\); stopping PowerShell alone/);
  });

  test('close() is bounded for a PowerShell that ignores the exit request, the end of stdin and the kill', async (t) => {
    const m = await machine(t, 'answer');
    const run = await runDriver(m.powershell, m.systemRoot);
    const answeredAt = Number(/^answered (\d+)$/m.exec(run.stdout)?.[1]);
    const closedAt = Number(/^closed (\d+)$/m.exec(run.stdout)?.[1]);
    assert.equal(run.stopped, false, `the driver did not exit within ${DRIVER_LIMIT_MS} ms:\n${run.stdout}\n${run.stderr}`);
    assert.ok(Number.isFinite(answeredAt) && Number.isFinite(closedAt), run.stdout);
    t.diagnostic(`answered at ${answeredAt} ms, close() returned at ${closedAt} ms, exited at ${Math.round(run.lifetimeMs)} ms`);
    // close(): 3 s for the exit request, then taskkill (refused at once here) and the kill; the process
    // exits once the kill's grace (1 s) has passed.
    assert.ok(closedAt - answeredAt < 5_000, `close() took ${closedAt - answeredAt} ms`);
    assert.ok(run.lifetimeMs - closedAt < 3_000, `exited ${Math.round(run.lifetimeMs - closedAt)} ms after close() returned`);
    const [pid] = await m.pids();
    assert.ok(pid !== undefined && alive(pid), 'the stub outlived the process under test');
  });
});
