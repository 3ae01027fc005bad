import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renameWithRetry, writeFileAtomic, RENAME_RETRY_BUDGET_MS } from '../../src/util/files.ts';
import { FileBusyError } from '../../src/errors.ts';

function busy(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: operation not permitted, rename`), { code });
}

/** A rename that fails with `code` the first `failures` times, then renames for real. */
function flakyRename(failures: number, code = 'EPERM') {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    rename: async (from: string, to: string) => {
      calls += 1;
      if (calls <= failures) throw busy(code);
      await rename(from, to);
    },
  };
}

test('writeFileAtomic retries a rename that fails with EPERM, EACCES or EBUSY, then succeeds and logs it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'winprov-rename-'));
  try {
    for (const code of ['EPERM', 'EACCES', 'EBUSY']) {
      const flaky = flakyRename(3, code);
      const waits: number[] = [];
      const logged: string[] = [];
      const target = join(dir, `state-${code}.json`);
      await writeFileAtomic(target, '{"ok":true}\n', { rename: flaky.rename, sleep: async (ms) => void waits.push(ms), log: (m) => logged.push(m) });
      assert.equal(await readFile(target, 'utf8'), '{"ok":true}\n');
      assert.equal(flaky.calls, 4);
      assert.deepEqual(waits, [10, 20, 40]);
      assert.equal(logged.length, 1);
      assert.match(logged[0]!, /needed 3 more attempt\(s\)/);
    }
    // No temporary file is left behind.
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.tmp')), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a rename that never succeeds ends in FILE_BUSY after the bound, and the temporary file is removed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'winprov-rename-'));
  try {
    const waits: number[] = [];
    let calls = 0;
    const always = async () => {
      calls += 1;
      throw busy('EBUSY');
    };
    const target = join(dir, 'state.json');
    await assert.rejects(
      writeFileAtomic(target, 'x', { rename: always, sleep: async (ms) => void waits.push(ms) }),
      (err: unknown) => err instanceof FileBusyError && err.code === 'FILE_BUSY' && err.exitCode === 5 && /EBUSY/.test(err.reason) && err.reason.includes(target),
    );
    const total = waits.reduce((a, b) => a + b, 0);
    assert.ok(total <= RENAME_RETRY_BUDGET_MS, `waited ${total} ms`);
    assert.ok(total > RENAME_RETRY_BUDGET_MS - 1_000, `gave up early after ${total} ms`);
    assert.ok(waits.every((ms) => ms <= 1_000), 'each wait is at most 1 s');
    assert.equal(calls, waits.length + 1);
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('other rename errors are not retried', async () => {
  let calls = 0;
  await assert.rejects(
    renameWithRetry('/a', '/b', {
      rename: async () => {
        calls += 1;
        throw busy('ENOENT');
      },
      sleep: async () => assert.fail('no wait for ENOENT'),
    }),
    /ENOENT/,
  );
  assert.equal(calls, 1);
});

test('the bound is in real time too: a short budget gives up on the clock', async () => {
  const started = Date.now();
  await assert.rejects(
    renameWithRetry('/a', '/b', { rename: async () => Promise.reject(busy('EPERM')), budgetMs: 200 }),
    (err: unknown) => err instanceof FileBusyError,
  );
  assert.ok(Date.now() - started < 2_000);
});
