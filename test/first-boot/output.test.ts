import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputCapture } from '../../src/first-boot/output.ts';

test('output is written in order, the script\'s own lines masked, with the header and footer', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'winprov-output-'));
  try {
    const capture = new OutputCapture(join(dir, 'out.log'), 'echo secret-token-1234\n');
    await capture.open('header');
    for (let i = 0; i < 1000; i++) capture.push(Buffer.from(`line ${i}\n`));
    capture.push(Buffer.from('echo secret-token-1234\nlast without end'));
    await capture.close('footer');
    const lines = (await readFile(join(dir, 'out.log'), 'utf8')).split('\n');
    assert.deepEqual(lines.slice(0, 3), ['header', 'line 0', 'line 1']);
    assert.deepEqual(lines.slice(-5), ['line 999', '[redacted]', 'last without end', 'footer', '']);
    assert.equal(lines.length, 1005);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a script printing faster than the file takes it: the waiting output is bounded, the drop is said, close() is prompt', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'winprov-output-'));
  try {
    const capture = new OutputCapture(join(dir, 'out.log'), '');
    await capture.open('header');
    // 8 MB in one turn of the event loop: nothing can be written meanwhile.
    const chunk = Buffer.from(`${'y'.repeat(99)}\n`.repeat(10 * 1024));
    const before = process.memoryUsage().arrayBuffers + process.memoryUsage().heapUsed;
    for (let i = 0; i < 8; i++) capture.push(chunk);
    const grew = process.memoryUsage().arrayBuffers + process.memoryUsage().heapUsed - before;
    const started = Date.now();
    await capture.close('footer');
    assert.ok(Date.now() - started < 5_000, `close() took ${Date.now() - started} ms`);
    assert.ok(grew < 64 * 1024 * 1024, `memory grew by ${Math.round(grew / 1e6)} MB`);
    const text = await readFile(join(dir, 'out.log'), 'utf8');
    assert.match(text, /\[winprov: \d+ lines of output dropped here: the script printed faster than they could be written\]\nfooter\n$/);
    assert.ok(text.length <= 1024 * 1024 + 64 * 1024, `${text.length} bytes`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
