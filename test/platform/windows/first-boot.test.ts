import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { CommandRunner, Session, SessionEvents } from '../../../src/platform/windows/exec.ts';
import { runWindowsScript, type WindowsFirstBootOptions } from '../../../src/platform/windows/first-boot.ts';
import type { FirstBootRunRequest } from '../../../src/platform/first-boot-types.ts';

/**
 * The Windows first-boot script's stop at the timeout, with a runner that starts nothing: the interpreter
 * runs until it is killed (or until taskkill ends its tree), and taskkill does what each case says. Every
 * spawn, kill and exit lands in one ordered list, so the order taskkill-then-TerminateProcess is checked.
 */

const SYSTEM_ROOT = join('X:', 'Windows');
const INTERPRETER_PID = 4242;

type TaskkillBehaviour = 'ends-tree' | 'fails' | 'hangs' | 'missing';

interface Fake {
  runner: CommandRunner;
  events: string[];
  spawns: { file: string; args: string[] }[];
}

function fakeRunner(taskkill: TaskkillBehaviour, options: { interpreterPid?: number | undefined; scriptExitsAfterMs?: number; streamsCloseAfterMs?: number } = {}): Fake {
  const events: string[] = [];
  const spawns: { file: string; args: string[] }[] = [];
  let interpreter: { exit: (code: number | undefined) => void } | undefined;
  const runner: CommandRunner = {
    spawnSession(file: string, args: readonly string[], ev: SessionEvents): Session {
      spawns.push({ file, args: [...args] });
      const name = file.endsWith('taskkill.exe') ? 'taskkill' : 'interpreter';
      events.push(`spawn ${name}`);
      let exited = false;
      const exit = (exitCode: number | undefined, spawnError?: string) => {
        if (exited) return;
        exited = true;
        events.push(`exit ${name} ${spawnError ?? exitCode ?? 'killed'}`);
        // Reported once its streams close: at once, or later when a background process holds them.
        const report = () => ev.exit({ exitCode, signal: exitCode === undefined && spawnError === undefined ? 'SIGTERM' : undefined, spawnError });
        if (name === 'interpreter' && options.streamsCloseAfterMs !== undefined) setTimeout(report, options.streamsCloseAfterMs);
        else setImmediate(report);
      };
      if (name === 'interpreter') {
        interpreter = { exit };
        setImmediate(() => ev.stdout(Buffer.from('working\n')));
        if (options.scriptExitsAfterMs !== undefined) setTimeout(() => exit(0), options.scriptExitsAfterMs);
        return {
          write: () => undefined,
          end: () => undefined,
          kill: () => {
            events.push('kill interpreter');
            exit(undefined);
          },
          pid: 'interpreterPid' in options ? options.interpreterPid : INTERPRETER_PID,
          get exited() {
            return exited;
          },
        };
      }
      if (taskkill === 'missing') setImmediate(() => exit(undefined, 'ENOENT'));
      if (taskkill === 'ends-tree') {
        setTimeout(() => {
          // As taskkill /T /F does: the tree, the interpreter included, is terminated (exit code 1), then it reports.
          interpreter?.exit(1);
          ev.stdout(Buffer.from(`SUCCESS: The process with PID ${INTERPRETER_PID} (child process of PID 1) has been terminated.\r\n`));
          exit(0);
        }, 20);
      }
      if (taskkill === 'fails') {
        setTimeout(() => {
          ev.stderr(Buffer.from(`ERROR: The process with PID ${INTERPRETER_PID} could not be terminated.\r\nReason: Access is denied.\r\n`));
          exit(1);
        }, 20);
      }
      return {
        write: () => undefined,
        end: () => undefined,
        // A hung taskkill ignores even this (the stop must not wait for it).
        kill: () => void events.push('kill taskkill'),
        pid: 5151,
      };
    },
  };
  return { runner, events, spawns };
}

function run(fake: Fake, timeoutMs: number, treeKillTimeoutMs?: number) {
  const logged: string[] = [];
  const output: string[] = [];
  const options: WindowsFirstBootOptions = {
    runner: fake.runner,
    powershell: join(SYSTEM_ROOT, 'System32', 'WindowsPowerShell', 'v1.0', 'powershell.exe'),
    systemRoot: SYSTEM_ROOT,
    systemDrive: 'X:',
    log: (level, message) => logged.push(`${level}: ${message}`),
    ...(treeKillTimeoutMs === undefined ? {} : { treeKillTimeoutMs }),
  };
  const request: FirstBootRunRequest = { scriptPath: join('X:', 'ProgramData', 'winprov', 'first-boot', 'userData.ps1'), interpreter: 'powershell', timeoutMs, onOutput: (c) => output.push(Buffer.from(c).toString()) };
  return runWindowsScript(options, request).then((exit) => ({ exit, logged, output }));
}

test('at the timeout taskkill /PID <interpreter> /T /F runs first, by absolute path, then the interpreter is killed', async () => {
  const fake = fakeRunner('ends-tree');
  const { exit, logged, output } = await run(fake, 50);
  assert.deepEqual(exit, { exitCode: undefined, timedOut: true });
  assert.deepEqual(fake.spawns[1], { file: join(SYSTEM_ROOT, 'System32', 'taskkill.exe'), args: ['/PID', String(INTERPRETER_PID), '/T', '/F'] });
  assert.deepEqual(fake.events, ['spawn interpreter', 'spawn taskkill', 'exit interpreter 1', 'exit taskkill 0', 'kill interpreter']);
  assert.deepEqual(logged, [], 'a tree taskkill ended is no warning');
  assert.deepEqual(output, ['working\n'], "taskkill's own output is not the script's");
});

test('taskkill failing: a warning with its exit code and message, and the interpreter is killed anyway', async () => {
  const fake = fakeRunner('fails');
  const { exit, logged } = await run(fake, 50);
  assert.deepEqual(exit, { exitCode: undefined, timedOut: true });
  assert.deepEqual(fake.events, ['spawn interpreter', 'spawn taskkill', 'exit taskkill 1', 'kill interpreter', 'exit interpreter killed']);
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /^warn: first-boot script: the processes the script started could not be stopped .*taskkill \/T: exit 1, "ERROR: The process with PID 4242 could not be terminated\. Reason: Access is denied\."/);
});

test('taskkill hanging: after its own short timeout it is abandoned, and the interpreter is killed', async () => {
  const fake = fakeRunner('hangs');
  const started = performance.now();
  const { exit, logged } = await run(fake, 50, 300);
  const elapsed = performance.now() - started;
  assert.deepEqual(exit, { exitCode: undefined, timedOut: true });
  assert.ok(elapsed >= 340 && elapsed < 5_000, `stopped after ${Math.round(elapsed)} ms: the script's 50 ms, then taskkill's 300 ms`);
  assert.deepEqual(fake.events, ['spawn interpreter', 'spawn taskkill', 'kill taskkill', 'kill interpreter', 'exit interpreter killed']);
  assert.match(logged.join('\n'), /taskkill \/T: no answer within 300 ms/);
});

test('taskkill missing, or no process id to give it: a warning, and the interpreter is killed', async () => {
  const missing = fakeRunner('missing');
  const first = await run(missing, 50);
  assert.equal(first.exit.timedOut, true);
  assert.deepEqual(missing.events, ['spawn interpreter', 'spawn taskkill', 'exit taskkill ENOENT', 'kill interpreter', 'exit interpreter killed']);
  assert.match(first.logged.join('\n'), /could not be started \(ENOENT\)/);

  const noPid = fakeRunner('ends-tree', { interpreterPid: undefined });
  const second = await run(noPid, 50);
  assert.equal(second.exit.timedOut, true);
  assert.deepEqual(noPid.events, ['spawn interpreter', 'kill interpreter', 'exit interpreter killed'], 'no taskkill without a pid');
  assert.match(second.logged.join('\n'), /the interpreter has no process id/);
});

test('a script that ends before its timeout: its exit code, and no taskkill', async () => {
  const fake = fakeRunner('ends-tree', { scriptExitsAfterMs: 10 });
  const { exit, logged } = await run(fake, 2_000);
  assert.deepEqual(exit, { exitCode: 0, timedOut: false });
  assert.deepEqual(fake.events, ['spawn interpreter', 'exit interpreter 0']);
  assert.deepEqual(logged, []);
});

test('a script that exited before its timeout while its output still drains: its exit code, and no taskkill of a stale id', async () => {
  // It exits at 10 ms; a background process it started holds the streams until 300 ms; the timeout is at 100 ms.
  const fake = fakeRunner('ends-tree', { scriptExitsAfterMs: 10, streamsCloseAfterMs: 300 });
  const { exit, logged } = await run(fake, 100);
  assert.deepEqual(exit, { exitCode: 0, timedOut: false });
  assert.deepEqual(fake.events, ['spawn interpreter', 'exit interpreter 0']);
  assert.deepEqual(logged, []);
});
