import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { PlatformTimeoutError } from '../../../src/errors.ts';
import { processRunner } from '../../../src/platform/windows/exec.ts';
import { PowerShellSession } from '../../../src/platform/windows/session.ts';
import { WindowsPlatform } from '../../../src/platform/windows/windows-platform.ts';

/**
 * Every PowerShell request is bounded by the run's deadline: its timeout is min(its own, the time left),
 * so a verb with a long timeout of its own (enableDhcp waits for an address, readDiagnostics 2 minutes)
 * never holds the run past its deadline, and it ends in PLATFORM_TIMEOUT naming the verb.
 */

const HOST = fileURLToPath(new URL('../../fixtures/windows/fake-host.mjs', import.meta.url));

function session(requestTimeoutMs: number): PowerShellSession {
  return new PowerShellSession({
    file: process.execPath,
    args: [HOST],
    library: [{ name: 'host.ps1', text: '# static' }],
    runner: processRunner,
    log: () => undefined,
    requestTimeoutMs,
    closeTimeoutMs: 2_000,
  });
}

test('a request whose own timeout is longer than the time left ends at the run deadline with PLATFORM_TIMEOUT', async () => {
  const s = session(60_000);
  try {
    assert.deepEqual(await s.request('echo', { before: 'deadline' }), { before: 'deadline' });
    const deadline = Date.now() + 400;
    s.setDeadline(deadline);
    const started = performance.now();
    const err = await s.request('hang', {}, { timeoutMs: 120_000 }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    assert.ok(err instanceof PlatformTimeoutError, String(err));
    assert.equal(err.code, 'PLATFORM_TIMEOUT');
    assert.match(err.reason, new RegExp(`^hang did not finish before the run deadline ${new Date(deadline).toISOString()}`));
    assert.ok(elapsed < 1_500, `ended after ${Math.round(elapsed)} ms`);
    // After the deadline nothing more is sent; a later deadline (the grace period) lets requests run again.
    await assert.rejects(s.request('echo', {}), PlatformTimeoutError);
    s.setDeadline(Date.now() + 5_000);
    assert.deepEqual(await s.request('echo', { during: 'grace' }), { during: 'grace' });
  } finally {
    await s.close();
  }
});

test('a request sent again after PowerShell died is still bounded by the run deadline', async () => {
  const s = session(60_000);
  try {
    assert.deepEqual(await s.request('echo', { before: 'deadline' }), { before: 'deadline' });
    const deadline = Date.now() + 1_000;
    s.setDeadline(deadline);
    const started = performance.now();
    // The first PowerShell dies 700 ms in; the one started to send it again would take as long.
    const err = await s.request('crashLater', { ms: 700 }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    assert.ok(err instanceof PlatformTimeoutError, String(err));
    assert.match(err.reason, /^crashLater did not finish before the run deadline/);
    assert.ok(elapsed < 1_500, `ended after ${Math.round(elapsed)} ms`);
  } finally {
    await s.close();
  }
});

test('a request that times out on its own timeout, well before the deadline, keeps its own error', async () => {
  const s = session(200);
  try {
    s.setDeadline(Date.now() + 60_000);
    const err = await s.request('hang', {}).catch((e: unknown) => e);
    assert.ok(!(err instanceof PlatformTimeoutError));
    assert.match(String((err as Error).message), /did not answer within 200 ms/);
  } finally {
    await s.close();
  }
});

test('the Windows platform passes the run deadline to its PowerShell session: a hung media read ends in PLATFORM_TIMEOUT', async () => {
  const platform = new WindowsPlatform({
    powershell: process.execPath,
    // A PowerShell that never answers, as a hung drive would leave Get-Volume or a file read.
    runner: { spawnSession: (_file, _args, events) => processRunner.spawnSession(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], events) },
    requestTimeoutMs: 60_000,
  });
  try {
    platform.setDeadline(Date.now() + 500);
    const started = performance.now();
    const err = await platform.readProvisioningMedia().catch((e: unknown) => e);
    assert.ok(err instanceof PlatformTimeoutError, String(err));
    assert.match(err.reason, /^readProvisioningMedia did not finish before the run deadline/);
    assert.ok(performance.now() - started < 2_000);
  } finally {
    await platform.close();
  }
});
