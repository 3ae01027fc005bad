import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FabricSimulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { SandboxPlatform } from '../../src/platform/sandbox/index.ts';
import { loadMachine, saveMachine } from '../../src/platform/sandbox/machine.ts';
import { LOCK_FILE, RunLock, type LockHolder } from '../../src/run-lock.ts';
import { EXIT_CODES, RunLockedError } from '../../src/errors.ts';
import { bootTime, processStartToken } from '../../src/util/process-identity.ts';
import { createLog } from '../../src/util/log.ts';
import { MAIN, REPO_ROOT } from '../fault/support.ts';
import { runCli } from '../helpers/cli.ts';

/**
 * One run at a time: real `winprov provision` processes on one sandbox, a lock left by a killed run,
 * and the lock's own rules (stale holders, concurrent takeovers, release on every way out).
 */

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  ms: number;
}

async function provisionProcess(root: string, fabricUrl: string, lockWait = '1s'): Promise<Exit> {
  const started = performance.now();
  const child = spawn(process.execPath, [MAIN, 'provision', '--platform', 'sandbox', '--sandbox', root, '--fabric', fabricUrl, '--deadline', '60s'], {
    cwd: REPO_ROOT,
    env: { ...process.env, WINPROV_LOCK_WAIT: lockWait },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, signal, output, ms: performance.now() - started };
}

async function machineWithFabric(options: SimulatorOptions = {}): Promise<{ root: string; sandbox: string; simulator: FabricSimulator; close: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'winprov-lock-'));
  const sandbox = join(root, 'sandbox');
  const simulator = new FabricSimulator({ scenario: { certificateCount: 0 }, ...options });
  await simulator.start();
  await SandboxPlatform.open(sandbox, { create: true });
  await simulator.writeProvisioningMedia(join(sandbox, 'drives', 'D'));
  return { root, sandbox, simulator, close: async () => { await simulator.stop(); await rm(root, { recursive: true, force: true }); } };
}

const exists = (path: string) => stat(path).then(() => true, () => false);
const stateDirectory = (sandbox: string) => join(sandbox, 'ProgramData', 'winprov');

test('two provision processes started together: exactly one applies, the other exits with RUN_LOCKED (8)', { timeout: 60_000 }, async () => {
  // The Provisioning report is answered after 3 s, so the first run holds the lock longer than the other waits (1 s).
  const m = await machineWithFabric({ faults: { endpoints: { health: [{ delayMs: 3_000 }] } } });
  try {
    const runs = await Promise.all([provisionProcess(m.sandbox, m.simulator.url), provisionProcess(m.sandbox, m.simulator.url)]);
    const codes = runs.map((r) => r.code).sort();
    assert.deepEqual(codes, [0, EXIT_CODES.locked], runs.map((r) => r.output.slice(-300)).join('\n---\n'));
    const refused = runs.find((r) => r.code === EXIT_CODES.locked)!;
    assert.match(refused.output, /another winprov provision \(pid \d+, since .*\) holds .*winprov\.lock; this provision waited 1 s and stops without changing anything/);
    assert.ok(refused.ms < 3_000 + 2_000, `refused after ${Math.round(refused.ms)} ms`);
    const machine = (await loadMachine(m.sandbox))!;
    for (const verb of ['setComputerName', 'ensureAdminAccount', 'writeCompletionMarker', 'setGuestAgentServices']) {
      assert.equal(machine.changes.filter((c) => c.verb === verb).length, 1, `${verb} once`);
    }
    assert.deepEqual(m.simulator.healthReports.filter((r) => r.accepted).map((r) => r.state), ['NotReady', 'Ready'], 'one run reported');
    assert.equal(await exists(join(stateDirectory(m.sandbox), LOCK_FILE)), false, 'the lock was released');
  } finally {
    await m.close();
  }
});

test('a lock left by a run killed with SIGKILL is taken over by the next run, which provisions', { timeout: 60_000 }, async () => {
  const m = await machineWithFabric();
  try {
    // Also a temporary file a killed write left behind: removed at start, by its naming pattern only.
    await mkdir(stateDirectory(m.sandbox), { recursive: true });
    await writeFile(join(stateDirectory(m.sandbox), 'state.json.0123456789ab.tmp'), '{"half":');
    await writeFile(join(stateDirectory(m.sandbox), 'notes.tmp'), 'not winprov\'s');
    const prepared = (await loadMachine(m.sandbox))!;
    prepared.crashAfter = 'ensureAdminAccount';
    await saveMachine(m.sandbox, prepared);
    const killed = await provisionProcess(m.sandbox, m.simulator.url);
    assert.equal(killed.signal, 'SIGKILL');
    const left = JSON.parse(await readFile(join(stateDirectory(m.sandbox), LOCK_FILE), 'utf8')) as LockHolder;
    assert.equal(left.command, 'provision');

    const resumed = await provisionProcess(m.sandbox, m.simulator.url);
    assert.equal(resumed.code, 0, resumed.output.slice(-600));
    assert.match(resumed.output, new RegExp(`took over the lock .*winprov\\.lock left by another winprov provision \\(pid ${left.pid}, .*: process ${left.pid} is no longer running`));
    assert.equal(await exists(join(stateDirectory(m.sandbox), LOCK_FILE)), false);
    assert.match(killed.output, /removed 1 temporary file\(s\) an interrupted run left in .*: state\.json\.0123456789ab\.tmp/);
    assert.equal(await exists(join(stateDirectory(m.sandbox), 'notes.tmp')), true, 'a file of another naming is left alone');
    assert.deepEqual((await readdir(stateDirectory(m.sandbox))).filter((n) => /\.[0-9a-f]{12}\.tmp$/.test(n)), []);
  } finally {
    await m.close();
  }
});

test('the lock is released when a run fails, and when the process exits without unwinding', { timeout: 60_000 }, async () => {
  const m = await machineWithFabric({ faults: { endpoints: { goalstate: [{ malformed: true }] } } });
  try {
    const failed = await provisionProcess(m.sandbox, m.simulator.url);
    assert.equal(failed.code, EXIT_CODES.fabric, failed.output.slice(-300));
    assert.equal(await exists(join(stateDirectory(m.sandbox), LOCK_FILE)), false, 'released after a failed run');

    // process.exit() from a crash handler skips every finally block; the exit listener still releases.
    const directory = join(m.root, 'exit-path');
    const script = `import { RunLock } from './src/run-lock.ts';
      const log = { warn() {}, info() {}, debug() {}, error() {} };
      await RunLock.acquire({ directory: ${JSON.stringify(directory)}, command: 'provision', waitMs: 0, log });
      process.stdout.write('held\\n');
      process.exit(3);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 3);
    assert.equal(out, 'held\n');
    assert.deepEqual(await readdir(directory), [], 'no lock file is left');
  } finally {
    await m.close();
  }
});

const silent = createLog({ consoleLevel: 'error', write: () => undefined });

test('a lock whose pid now belongs to another process (start time differs) is stale', { skip: process.platform !== 'linux' }, async () => {
  const directory = await mkdtemp(join(tmpdir(), 'winprov-lock-unit-'));
  try {
    // Our own pid is alive, but the lock says it started at another time: the pid was reused.
    const own = await processStartToken(process.pid);
    assert.match(own ?? '', /^linux:[0-9a-f-]{36}:\d+$/);
    const reused: LockHolder = { version: 1, pid: process.pid, processStart: 'linux:1', bootTime: bootTime(), command: 'provision', acquiredAt: new Date().toISOString(), nonce: 'reused' };
    await writeFile(join(directory, LOCK_FILE), JSON.stringify(reused));
    const lock = await RunLock.acquire({ directory, command: 'provision', waitMs: 0, log: silent });
    assert.equal(lock.holder.processStart, own);
    await lock.release();
    assert.deepEqual(await readdir(directory), []);

    // The same pid with its real start time is a live holder: refused at once with waitMs 0.
    await writeFile(join(directory, LOCK_FILE), JSON.stringify({ ...reused, processStart: own, nonce: 'live' }));
    await assert.rejects(RunLock.acquire({ directory, command: 'prepare-image', waitMs: 0, log: silent }), (err: unknown) => err instanceof RunLockedError && err.exitCode === 8);
    // Still live when the wall clock was stepped by more than the boot tolerance since it was taken
    // (boot times are worked out from the wall clock): the start token settles it.
    await writeFile(join(directory, LOCK_FILE), JSON.stringify({ ...reused, processStart: own, bootTime: bootTime() - 11 * 60_000, nonce: 'clock-stepped' }));
    await assert.rejects(RunLock.acquire({ directory, command: 'provision', waitMs: 0, log: silent }), RunLockedError);
    // The same pid and ticks under another boot is another process.
    await writeFile(join(directory, LOCK_FILE), JSON.stringify({ ...reused, processStart: own!.replace(/^linux:[0-9a-f-]{36}:/, 'linux:00000000-0000-0000-0000-000000000000:'), nonce: 'other-boot' }));
    await (await RunLock.acquire({ directory, command: 'provision', waitMs: 0, log: silent })).release();
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('many waiters on one stale lock: exactly one takes it over', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'winprov-lock-race-'));
  try {
    for (let round = 0; round < 5; round++) {
      // A pid far above any pid_max: no such process.
      const dead: LockHolder = { version: 1, pid: 2 ** 30, bootTime: bootTime(), command: 'provision', acquiredAt: new Date().toISOString(), nonce: `dead-${round}` };
      await writeFile(join(directory, LOCK_FILE), JSON.stringify(dead));
      const outcomes = await Promise.allSettled(Array.from({ length: 12 }, () => RunLock.acquire({ directory, command: 'provision', waitMs: 0, log: silent })));
      const held = outcomes.filter((o): o is PromiseFulfilledResult<RunLock> => o.status === 'fulfilled');
      assert.equal(held.length, 1, `round ${round}: one waiter holds the lock`);
      for (const o of outcomes) if (o.status === 'rejected') assert.ok(o.reason instanceof RunLockedError, String(o.reason));
      const onDisk = JSON.parse(await readFile(join(directory, LOCK_FILE), 'utf8')) as LockHolder;
      assert.equal(onDisk.nonce, held[0]!.value.holder.nonce);
      await held[0]!.value.release();
      assert.deepEqual(await readdir(directory), [], 'no lock or guard file is left');
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('a lock file is never seen empty or half-written while it is being taken', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'winprov-lock-whole-'));
  try {
    const path = join(directory, LOCK_FILE);
    const seen: string[] = [];
    for (let round = 0; round < 100; round++) {
      let done = false;
      const taking = RunLock.acquire({ directory, command: 'provision', waitMs: 0, log: silent }).finally(() => (done = true));
      // A synchronous read at every turn of the event loop, between the acquire's own file system steps.
      while (!done) {
        await new Promise((resolve) => setImmediate(resolve));
        try {
          seen.push(readFileSync(path, 'utf8'));
        } catch {
          // Not there (yet, or any more).
        }
      }
      await (await taking).release();
    }
    assert.ok(seen.length > 0, 'some reads found the lock');
    for (const text of seen) assert.ok(text.endsWith('}\n') && typeof JSON.parse(text).nonce === 'string', JSON.stringify(text));
    assert.deepEqual(await readdir(directory), [], 'no lock or temporary file is left');
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('an empty lock file (a run killed between creating and writing it) is taken over once it is old', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'winprov-lock-empty-'));
  try {
    const path = join(directory, LOCK_FILE);
    await writeFile(path, '');
    await assert.rejects(RunLock.acquire({ directory, command: 'provision', waitMs: 0, log: silent }), RunLockedError);
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    const lock = await RunLock.acquire({ directory, command: 'provision', waitMs: 0, log: silent });
    await lock.release();
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('prepare-image refuses with RUN_LOCKED while a provision run holds the lock, and removes nothing', { skip: process.platform !== 'linux' }, async () => {
  const m = await machineWithFabric();
  try {
    const directory = stateDirectory(m.sandbox);
    await mkdir(directory, { recursive: true });
    await writeFile(join(directory, 'state.json'), '{}');
    // A live holder: this very process, with its real start time.
    const live: LockHolder = { version: 1, pid: process.pid, processStart: (await processStartToken(process.pid))!, bootTime: bootTime(), command: 'provision', acquiredAt: new Date().toISOString(), nonce: 'live' };
    await writeFile(join(directory, LOCK_FILE), JSON.stringify(live));
    const { code, err } = await runCli(['prepare-image', '--platform', 'sandbox', '--sandbox', m.sandbox], { WINPROV_LOCK_WAIT: '300ms' });
    assert.equal(code, EXIT_CODES.locked);
    assert.match(err, new RegExp(`winprov: another winprov provision \\(pid ${process.pid}, .*\\) holds .*winprov\\.lock; this prepare-image waited 0\\.3 s`));
    assert.deepEqual((await readdir(directory)).sort(), ['state.json', LOCK_FILE], 'nothing removed');
  } finally {
    await m.close();
  }
});

