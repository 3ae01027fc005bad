import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseImageState, readImageState, stateFilePath } from '../../../src/platform/windows/setup-state.ts';

const utf16 = (text: string): Buffer => Buffer.from(`\ufeff${text}`, 'utf16le');

test('ImageState is read from the [State] section, in the encodings Windows writes INI files in', () => {
  assert.equal(parseImageState(Buffer.from('[State]\r\nImageState=IMAGE_STATE_COMPLETE\r\n')), 'IMAGE_STATE_COMPLETE');
  assert.equal(parseImageState(utf16('[State]\r\nImageState=IMAGE_STATE_UNDEPLOYABLE\r\n')), 'IMAGE_STATE_UNDEPLOYABLE');
  assert.equal(parseImageState(Buffer.from('\ufeff[State]\nImageState=IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE', 'utf8')), 'IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE');
  assert.equal(parseImageState(Buffer.from('; written by Setup\r\n[Other]\r\nImageState=IMAGE_STATE_COMPLETE\r\n[ state ]\r\n  imagestate = IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE  \r\n')), 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE');
});

test('no section, no value, or a value that is not a Setup state: unknown, never a guess', () => {
  for (const text of ['', 'ImageState=IMAGE_STATE_COMPLETE\r\n', '[State]\r\n', '[State]\r\nImageState=complete\r\n', '[State]\r\nImageState=IMAGE_STATE_COMPLETE; and more\r\n', '[State]\r\nImageState=\u001b[2JIMAGE_STATE_COMPLETE\r\n']) {
    assert.equal(parseImageState(Buffer.from(text)), undefined, JSON.stringify(text));
  }
  assert.equal(parseImageState(Buffer.from([0xff, 0xfe, 0x00])), undefined);
});

test('the file: missing, a folder, a FIFO or over 64 KiB is unknown, and the read never blocks', async () => {
  const root = await mkdtemp(join(tmpdir(), 'winprov-state-'));
  try {
    assert.equal(await readImageState(root), undefined);
    await mkdir(join(root, 'Setup', 'State'), { recursive: true });
    await writeFile(stateFilePath(root), `[State]\r\nImageState=IMAGE_STATE_COMPLETE\r\n;${' '.repeat(64 * 1024)}\r\n`);
    assert.equal(await readImageState(root), undefined);
    await writeFile(stateFilePath(root), '[State]\r\nImageState=IMAGE_STATE_COMPLETE\r\n');
    assert.equal(await readImageState(root), 'IMAGE_STATE_COMPLETE');
    await rm(stateFilePath(root));
    await mkdir(stateFilePath(root));
    assert.equal(await readImageState(root), undefined);
    if (process.platform !== 'win32') {
      await rm(stateFilePath(root), { recursive: true });
      execFileSync('mkfifo', [stateFilePath(root)]);
      assert.equal(await readImageState(root), undefined);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
