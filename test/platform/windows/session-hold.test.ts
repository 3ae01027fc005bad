import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunLockedError } from '../../../src/errors.ts';
import { runMutexHold } from '../../../src/platform/windows/run-mutex.ts';
import { PowerShellSession } from '../../../src/platform/windows/session.ts';
import { FakeRunner, requests, type Reply, type RecordedSpawn } from './fake-runner.ts';

/**
 * The run mutex lives in the session's PowerShell process (lock.ps1), and Windows gives it up when that
 * process ends. The session replaces a process that timed out or died while the run goes on: the new
 * process takes the mutex again (waitMs 0) before any other request, and when it cannot, the request and
 * every later one fail with RUN_LOCKED, since another run may now be changing the machine.
 */

const LIBRARY = [{ name: 'host.ps1', text: '# static' }];
const HELD = { result: { acquired: true, abandoned: false } };
const BUSY = { result: { acquired: false, abandoned: false } };

function setup(respond: (verb: string, index: number) => Reply | undefined, requestTimeoutMs = 5_000) {
  const runner: FakeRunner = new FakeRunner((verb, _params, spawn: RecordedSpawn) => respond(verb, runner.spawns.indexOf(spawn)) ?? (verb === 'enterRunMutex' ? HELD : { result: { verb } }));
  const logged: string[] = [];
  const session = new PowerShellSession({ file: 'powershell.exe', args: [], library: LIBRARY, runner, log: (level, message) => logged.push(`${level}: ${message}`), requestTimeoutMs });
  const verbs = (index: number) => requests(runner.spawns[index]!).map((r) => (r.verb === 'enterRunMutex' ? `enterRunMutex ${JSON.stringify(r.params)}` : r.verb));
  return { runner, session, logged, verbs };
}

const ticks = async () => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
};

test('a process that died between requests is replaced, and its successor takes the run mutex again before the next verb', async () => {
  const { runner, session, logged, verbs } = setup(() => undefined);
  await session.request('enterRunMutex', { waitMs: 5_000 }, { hold: runMutexHold });
  await session.request('readVmId', {});
  runner.crash(0, 9);
  await ticks();
  assert.ok(logged.some((l) => l.startsWith('warn: the PowerShell process ended unexpectedly between requests (exit code 9); it held the run mutex Global\\winprov-run')), logged.join('\n'));
  assert.deepEqual(await session.request('setComputerName', { name: 'vm1' }), { verb: 'setComputerName' });
  assert.deepEqual(verbs(0), ['enterRunMutex {"waitMs":5000}', 'readVmId']);
  assert.deepEqual(verbs(1), ['enterRunMutex {"waitMs":0}', 'setComputerName']);
  assert.ok(logged.includes('info: the new PowerShell process took the run mutex Global\\winprov-run again'));
  await session.close();
});

test('a holder that died between requests is replaced at once, before any request asks: the mutex is not left free meanwhile', async () => {
  const { runner, session, logged, verbs } = setup(() => undefined);
  await session.request('enterRunMutex', { waitMs: 0 }, { hold: runMutexHold });
  runner.crash(0, 9);
  for (let i = 0; i < 20 && !logged.includes('info: the new PowerShell process took the run mutex Global\\winprov-run again'); i++) await ticks();
  assert.equal(runner.spawns.length, 2, 'a new process was started without a request');
  assert.deepEqual(verbs(1), ['enterRunMutex {"waitMs":0}']);
  assert.ok(logged.some((l) => l.endsWith('it held the run mutex Global\\winprov-run, which a new process takes again now')), logged.join('\n'));
  // The next request goes straight to it: nothing is taken twice.
  await session.request('readVmId', {});
  assert.deepEqual(verbs(1), ['enterRunMutex {"waitMs":0}', 'readVmId']);
  await session.close();
});

test('a crash during a request: the request is sent once more, after the new process took the mutex again', async () => {
  const { session, logged, verbs } = setup((verb, index) => (verb === 'setComputerName' && index === 0 ? { crash: 9 } : undefined));
  await session.request('enterRunMutex', { waitMs: 0 }, { hold: runMutexHold });
  assert.deepEqual(await session.request('setComputerName', { name: 'vm1' }), { verb: 'setComputerName' });
  assert.deepEqual(verbs(1), ['enterRunMutex {"waitMs":0}', 'setComputerName']);
  assert.ok(logged.some((l) => l.startsWith('warn: the PowerShell process ended unexpectedly during a request (exit code 9); it held the run mutex')), logged.join('\n'));
  await session.close();
});

test('after a timeout stopped the process holding the mutex, the next process takes it again first', async () => {
  const { runner, session, logged, verbs } = setup((verb, index) => (verb === 'readVmId' && index === 0 ? { hang: true } : undefined), 200);
  await session.request('enterRunMutex', { waitMs: 0 }, { hold: runMutexHold });
  await assert.rejects(session.request('readVmId', {}), /did not answer within 200 ms/);
  assert.ok(logged.includes('warn: the PowerShell process holding the run mutex Global\\winprov-run was stopped; the next process takes it again before any other request'), logged.join('\n'));
  assert.deepEqual(await session.request('readVmId', {}), { verb: 'readVmId' });
  assert.equal(runner.spawns[0]!.killed, true);
  assert.deepEqual(verbs(1), ['enterRunMutex {"waitMs":0}', 'readVmId']);
  await session.close();
});

test('when the new process finds the mutex taken, the request and every later one fail with RUN_LOCKED, and nothing else is sent', async () => {
  const { runner, session, logged, verbs } = setup((verb, index) => (verb === 'enterRunMutex' && index === 1 ? BUSY : undefined));
  await session.request('enterRunMutex', { waitMs: 0 }, { hold: runMutexHold });
  runner.crash(0, 1);
  await ticks();
  const err = await session.request('setComputerName', { name: 'vm1' }).catch((e: unknown) => e);
  assert.ok(err instanceof RunLockedError, String(err));
  assert.equal(err.code, 'RUN_LOCKED');
  assert.equal(err.exitCode, 8);
  assert.match(err.reason, /could not take the mutex again \(another winprov run holds it/);
  await assert.rejects(session.request('writeKvpReport', {}), RunLockedError);
  assert.deepEqual(verbs(1), ['enterRunMutex {"waitMs":0}']);
  assert.equal(runner.spawns.length, 2);
  assert.ok(logged.some((l) => l.startsWith('warn: the new PowerShell process could not take the run mutex Global\\winprov-run again')));
  await session.close();
});

test('a new process whose attempt to take the mutex fails in PowerShell stops the run the same way', async () => {
  const { runner, session } = setup((verb, index) => (verb === 'enterRunMutex' && index === 1 ? { error: { message: 'Access to the path is denied', fullyQualifiedErrorId: 'UnauthorizedAccessException' } } : undefined));
  await session.request('enterRunMutex', { waitMs: 0 }, { hold: runMutexHold });
  runner.crash(0, 1);
  await ticks();
  await assert.rejects(session.request('readVmId', {}), (err: unknown) => err instanceof RunLockedError && /PowerShell could not take it: Access to the path is denied/.test(err.reason));
  await session.close();
});

test('a session that did not get the mutex (busy) sends nothing extra to a new process', async () => {
  const { runner, session, verbs } = setup((verb) => (verb === 'enterRunMutex' ? BUSY : undefined));
  await session.request('enterRunMutex', { waitMs: 0 }, { hold: runMutexHold });
  runner.crash(0, 1);
  await ticks();
  await session.request('readVmId', {});
  assert.deepEqual(verbs(1), ['readVmId']);
  await session.close();
});
