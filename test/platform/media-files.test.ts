import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaNotFoundError, OvfError } from '../../src/errors.ts';
import { readMediaFiles } from '../../src/platform/media-files.ts';

async function media(files: Record<string, Buffer | string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'winprov-media-'));
  for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
  return dir;
}

test('ovf-env.xml and CustomData.bin are read as secrets; custom data is optional', async () => {
  const dir = await media({ 'ovf-env.xml': '<Environment/>', 'CustomData.bin': Buffer.from([0, 1, 2]) });
  const bare = await media({ 'ovf-env.xml': '<E/>' });
  try {
    const found = await readMediaFiles(dir, 'D:\\');
    assert.equal(found.location, 'D:\\');
    assert.equal(Buffer.from(found.ovfEnv.reveal()).toString(), '<Environment/>');
    assert.equal(String(found.ovfEnv), '[redacted]');
    assert.deepEqual([...found.customData!.reveal()], [0, 1, 2]);
    assert.equal((await readMediaFiles(bare, 'E:\\')).customData, undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(bare, { recursive: true, force: true });
  }
});

test('no ovf-env.xml is MEDIA_NOT_FOUND naming the location; files over the caps are refused, at one byte over', async () => {
  const empty = await media({});
  const exact = await media({ 'ovf-env.xml': Buffer.alloc(1024 * 1024, 0x20) });
  const over = await media({ 'ovf-env.xml': Buffer.alloc(1024 * 1024 + 1, 0x20) });
  const bigData = await media({ 'ovf-env.xml': '<E/>', 'CustomData.bin': Buffer.alloc(256 * 1024 + 1) });
  try {
    await assert.rejects(readMediaFiles(empty, 'D:\\'), (err) => err instanceof MediaNotFoundError && /at D:\\ has no ovf-env\.xml/.test(err.message));
    assert.equal((await readMediaFiles(exact, 'D:\\')).ovfEnv.reveal().length, 1024 * 1024, 'exactly at the cap is read');
    await assert.rejects(readMediaFiles(over, 'D:\\'), (err) => err instanceof OvfError && /larger than 1048576 bytes/.test(err.message));
    await assert.rejects(readMediaFiles(bigData, 'D:\\'), (err) => err instanceof MediaNotFoundError && /CustomData\.bin .* larger than 262144 bytes/.test(err.message));
  } finally {
    for (const dir of [empty, exact, over, bigData]) await rm(dir, { recursive: true, force: true });
  }
});

test('both files are read at once, but ovf-env.xml\'s fault is the one reported; a file that cannot be read is named', async () => {
  const bigDataNoOvf = await media({ 'CustomData.bin': Buffer.alloc(256 * 1024 + 1) });
  const folderOvf = await media({});
  await mkdir(join(folderOvf, 'ovf-env.xml'));
  const folderData = await media({ 'ovf-env.xml': '<E/>' });
  await mkdir(join(folderData, 'CustomData.bin'));
  try {
    await assert.rejects(readMediaFiles(bigDataNoOvf, 'D:\\'), (err) => err instanceof MediaNotFoundError && /has no ovf-env\.xml/.test(err.message));
    await assert.rejects(readMediaFiles(folderOvf, 'D:\\'), (err) => err instanceof MediaNotFoundError && /ovf-env\.xml on the provisioning media at D:\\ cannot be read \(EISDIR\)/.test(err.message));
    await assert.rejects(readMediaFiles(folderData, 'D:\\'), (err) => err instanceof MediaNotFoundError && /CustomData\.bin on the provisioning media at D:\\ cannot be read \(EISDIR\)/.test(err.message));
  } finally {
    for (const dir of [bigDataNoOvf, folderOvf, folderData]) await rm(dir, { recursive: true, force: true });
  }
});

test('a FIFO on the media is refused by name at once, and leaves no read behind (the process could not exit)', { skip: process.platform === 'win32' && 'needs a FIFO' }, async () => {
  for (const name of ['ovf-env.xml', 'CustomData.bin']) {
    const dir = await media({ 'ovf-env.xml': '<Environment/>' });
    const fifo = join(dir, name);
    await rm(fifo, { force: true });
    execFileSync('mkfifo', [fifo]);
    try {
      const verdict = await Promise.race([
        readMediaFiles(dir, 'D:\\').then(() => 'read', (err: unknown) => err),
        new Promise((resolve) => setTimeout(resolve, 2_000, 'still waiting')),
      ]);
      assert.ok(verdict instanceof MediaNotFoundError, String(verdict));
      assert.match(verdict.message, new RegExp(`${name.replace('.', '\\.')} on the provisioning media at D:\\\\ cannot be read \\(not a regular file\\)`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  // Had a read been left blocked on a FIFO, this test's process would never exit: node --test would time out.
});
