import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wrapInLoader } from '../../build/code-cache-loader.ts';
import { cacheFileOf, cacheFits, describeCacheUse } from '../../bench/code-cache.ts';
import { readPreloadFile } from '../../bench/agent-run.ts';
import { encodeCodeCache } from '../../src/code-cache.ts';

test('a cache fits a bundle only when it names that build of the program and is whole', () => {
  const dir = mkdtempSync(join(tmpdir(), 'winprov-bench-cache-'));
  try {
    const bundle = join(dir, 'winprov.cjs');
    const { loader, sourceSha256: sha } = wrapInLoader('process.exitCode = 0;');
    writeFileSync(bundle, loader);
    assert.equal(cacheFits(bundle), false, 'no cache yet');
    writeFileSync(cacheFileOf(bundle), encodeCodeCache(Buffer.from('v8 data'), sha));
    assert.equal(cacheFits(bundle), true);
    writeFileSync(cacheFileOf(bundle), encodeCodeCache(Buffer.from('v8 data'), 'b'.repeat(64)));
    assert.equal(cacheFits(bundle), false, 'made for another build');
    writeFileSync(cacheFileOf(bundle), encodeCodeCache(Buffer.from('v8 data'), sha).subarray(0, -2));
    assert.equal(cacheFits(bundle), false, 'truncated');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the report says how many runs used the cache, and which did not', () => {
  assert.equal(describeCacheUse(['used', 'used']), 'used in 2 of 2 runs');
  assert.equal(describeCacheUse(['used', 'mismatch', 'used']), 'used in 2 of 3 runs, mismatch in 1 of 3 runs');
});

test('the preload file gives the peak RSS in MB and the code cache status', () => {
  assert.deepEqual(readPreloadFile('68000 used\n'), { peakRssMb: 69.632, codeCache: 'used' });
  assert.deepEqual(readPreloadFile('68000'), { peakRssMb: 69.632, codeCache: 'none' });
  assert.throws(() => readPreloadFile('used'), /not a peak RSS/);
});
