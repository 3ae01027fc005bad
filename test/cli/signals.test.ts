/**
 * Ctrl+C and a stop end every command: `provision` against a fabric that never answers (it would retry
 * until its deadline) exits with the shell's code for the signal within the bound, its lock released.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SandboxPlatform } from '../../src/platform/sandbox/index.ts';
import { MAIN, REPO_ROOT } from '../fault/support.ts';
import { LOCK_FILE } from '../../src/run-lock.ts';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

for (const [signal, expected] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`provision stopped by ${signal} exits ${expected} within 3 s of it, its lock released`, { timeout: 30_000 }, async () => {
    const root = await mkdtemp(join(tmpdir(), 'winprov-signal-'));
    try {
      const sandbox = join(root, 'sandbox');
      await SandboxPlatform.open(sandbox, { create: true });
      const child = spawn(process.execPath, [MAIN, 'provision', '--platform', 'sandbox', '--sandbox', sandbox, '--fabric', `http://127.0.0.1:${await closedPort()}`, '--deadline', '60s'], {
        cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
      child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
      // Once it is retrying the fabric, well inside its 60 s deadline.
      while (!/versions|discover/.test(output)) await new Promise((r) => setTimeout(r, 50));
      const sent = performance.now();
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      const ms = performance.now() - sent;
      assert.equal(code, expected, output);
      assert.ok(ms < 5_000, `took ${Math.round(ms)} ms`);
      assert.ok(!(await readdir(join(sandbox, 'ProgramData', 'winprov'))).includes(LOCK_FILE), 'the lock is released');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
}
