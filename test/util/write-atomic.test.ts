import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/util/files.ts';

test('writeFileAtomic creates a missing folder, replaces the file whole, and leaves no temporary file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'winprov-atomic-'));
  try {
    const target = join(dir, 'a', 'b', 'state.json');
    await writeFileAtomic(target, 'first');
    await writeFileAtomic(target, 'second');
    assert.equal(await readFile(target, 'utf8'), 'second');
    assert.deepEqual(await readdir(join(dir, 'a', 'b')), ['state.json']);
    if (process.platform !== 'win32') assert.equal((await stat(target)).mode & 0o777, 0o600);
    // A folder that cannot be made is an error, not a silent loss.
    await assert.rejects(writeFileAtomic(join(target, 'inside-a-file.json'), 'x'), { code: 'ENOTDIR' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
