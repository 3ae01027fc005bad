import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OUTPUT_GRACE_MS, processRunner, type CommandRunner, type SessionExit } from '../../../src/platform/windows/exec.ts';
import { execaRunner } from '../../../src/platform/windows/execa-runner.ts';

// Both runners keep one contract: processRunner starts the PowerShell session, execaRunner the tools.
for (const [name, runner] of [['processRunner', processRunner], ['execaRunner', execaRunner]] as [string, CommandRunner][]) {
  /** Runs a real child through the runner and collects what it reports. */
  const start = (file: string, args: string[]) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let exits = 0;
    let resolveExit!: (info: SessionExit) => void;
    const exited = new Promise<SessionExit>((resolve) => {
      resolveExit = resolve;
    });
    const session = runner.spawnSession(file, args, {
      stdout: (chunk) => stdout.push(Buffer.from(chunk)),
      stderr: (chunk) => stderr.push(Buffer.from(chunk)),
      exit: (info) => {
        exits += 1;
        resolveExit(info);
      },
    });
    return { session, exited, exits: () => exits, stdout: () => Buffer.concat(stdout).toString('utf8'), stderr: () => Buffer.concat(stderr).toString('utf8') };
  };

  describe(name, () => {
    test('pipes stdin to a real child and reports its output, its pid and its exit code once', async () => {
      const child = start(process.execPath, ['-e', "process.stdin.on('data', (d) => process.stdout.write(d)); process.stdin.on('end', () => { process.stderr.write('done ' + process.pid); process.exitCode = 4; })"]);
      assert.ok(typeof child.session.pid === 'number' && child.session.pid > 0);
      child.session.write('héllo 名前\n');
      child.session.write(Buffer.from('second\n'));
      child.session.end();
      const exit = await child.exited;
      assert.deepEqual(exit, { exitCode: 4, signal: undefined, spawnError: undefined });
      assert.equal(child.stdout(), 'héllo 名前\nsecond\n');
      assert.equal(child.stderr(), `done ${child.session.pid}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(child.exits(), 1);
    });

    test('kills a child that does not end by itself, and later writes are dropped', async () => {
      const child = start(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
      child.session.kill();
      const exit = await child.exited;
      assert.equal(exit.exitCode, undefined);
      assert.equal(exit.signal, 'SIGTERM');
      child.session.write('too late\n');
    });

    test('reports a missing executable as a spawn error, once', async () => {
      const child = start('/nonexistent/WindowsPowerShell/v1.0/powershell.exe', ['-NoProfile']);
      child.session.write('{}\n');
      const exit = await child.exited;
      assert.equal(exit.spawnError, 'ENOENT');
      assert.equal(child.session.pid, undefined);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(child.exits(), 1);
    });
  });
}

test('execaRunner: a process that exits leaving a background one holding its streams is reported ended, within the grace', async () => {
  // The "interpreter" starts a process that inherits its stdout and stderr and runs on, prints its id, and exits 3.
  const script = "const c = require('node:child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'inherit' }); console.log('background ' + c.pid); c.unref(); process.exitCode = 3;";
  let output = '';
  const started = Date.now();
  let session: ReturnType<typeof execaRunner.spawnSession> | undefined;
  const exit = await new Promise<SessionExit>((resolve) => {
    session = execaRunner.spawnSession(process.execPath, ['-e', script], { stdout: (c) => void (output += Buffer.from(c).toString()), stderr: () => undefined, exit: resolve });
    session.end();
  });
  const background = Number(/background (\d+)/.exec(output)?.[1]);
  try {
    assert.equal(exit.exitCode, 3);
    assert.equal(session!.exited, true);
    assert.ok(Date.now() - started < OUTPUT_GRACE_MS + 3_000, `reported after ${Date.now() - started} ms`);
    assert.ok(Number.isInteger(background) && background > 0, output);
  } finally {
    if (Number.isInteger(background)) process.kill(background, 'SIGKILL');
  }
});
