import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execaRunner, type SessionExit } from '../../../src/platform/windows/exec.ts';

/** Runs a real child through execaRunner and collects what it reports. */
function start(file: string, args: string[]) {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let resolveExit!: (info: SessionExit) => void;
  const exited = new Promise<SessionExit>((resolve) => {
    resolveExit = resolve;
  });
  const session = execaRunner.spawnSession(file, args, {
    stdout: (chunk) => stdout.push(Buffer.from(chunk)),
    stderr: (chunk) => stderr.push(Buffer.from(chunk)),
    exit: resolveExit,
  });
  return { session, exited, stdout: () => Buffer.concat(stdout).toString('utf8'), stderr: () => Buffer.concat(stderr).toString('utf8') };
}

test('execaRunner pipes stdin to a real child and reports its output and exit code', async () => {
  const child = start(process.execPath, ['-e', "process.stdin.on('data', (d) => process.stdout.write(d)); process.stdin.on('end', () => { process.stderr.write('done'); process.exitCode = 4; })"]);
  child.session.write('héllo 名前\n');
  child.session.write(Buffer.from('second\n'));
  child.session.end();
  const exit = await child.exited;
  assert.deepEqual(exit, { exitCode: 4, signal: undefined, spawnError: undefined });
  assert.equal(child.stdout(), 'héllo 名前\nsecond\n');
  assert.equal(child.stderr(), 'done');
});

test('execaRunner kills a child that does not end by itself, and later writes are dropped', async () => {
  const child = start(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
  child.session.kill();
  const exit = await child.exited;
  assert.equal(exit.exitCode, undefined);
  assert.equal(exit.signal, 'SIGTERM');
  child.session.write('too late\n');
});

test('execaRunner reports a missing executable as a spawn error', async () => {
  const child = start('/nonexistent/WindowsPowerShell/v1.0/powershell.exe', ['-NoProfile']);
  child.session.write('{}\n');
  const exit = await child.exited;
  assert.equal(exit.spawnError, 'ENOENT');
});
