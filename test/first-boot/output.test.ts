import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { OutputCapture } from '../../src/first-boot/output.ts';
import { publishScript } from '../../src/first-boot/publish.ts';
import { formatFirstBootStatus } from '../../src/first-boot/status.ts';
import type { FirstBootContext } from '../../src/first-boot/run.ts';
import type { FirstBootRecord } from '../../src/first-boot/record.ts';

/** Pushes the output in chunks ending at the given offsets; returns the file's text and the tail. */
async function captured(script: string, output: string, cuts: number[]): Promise<{ log: string; tail: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'winprov-output-'));
  try {
    const capture = new OutputCapture(join(dir, 'out.log'), script);
    await capture.open('header');
    const bytes = Buffer.from(output);
    let from = 0;
    for (const cut of [...cuts, bytes.length]) {
      capture.push(bytes.subarray(from, cut));
      from = cut;
    }
    await capture.close('footer');
    return { log: await readFile(join(dir, 'out.log'), 'utf8'), tail: capture.tail() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Everything publishScript and status make of a tail: log lines, the event, the KVP value. */
async function published(tail: string[]): Promise<string> {
  const out: string[] = [];
  const record: FirstBootRecord = { version: 1, vmId: 'vm', scripts: [{ source: 'customData', outcome: 'failed', exitCode: 1, tail }] };
  const write = (line: string): void => void out.push(line);
  const ctx = {
    log: { debug: write, info: write, warn: write, error: write },
    platform: {
      recordEvent: async (e: { message: string }) => write(e.message),
      writeKvpValue: async (_name: string, value: string) => write(value),
    },
  } as unknown as FirstBootContext;
  await publishScript(ctx, record, record.scripts[0]!);
  return [...out, ...formatFirstBootStatus({ mode: 'customData', scripts: record.scripts })].join('\n');
}

/** A piece of 16 characters or more of the secret in the text, if any. */
function leak(text: string, secret: string): string | undefined {
  const pieces = new Set<string>();
  for (let i = 0; i + 16 <= secret.length; i++) pieces.add(secret.slice(i, i + 16));
  for (let i = 0; i + 16 <= text.length; i++) if (pieces.has(text.slice(i, i + 16))) return text.slice(i, i + 16);
  return undefined;
}

/** 26,660 characters of base64 that repeat nowhere (an embedded PFX). */
const PFX = Array.from({ length: 620 }, (_, i) => createHash('sha256').update(`pfx ${i}`).digest('base64').slice(0, 43)).join('');

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

test('a long script line echoed back is masked whatever the read boundaries', async () => {
  const script = `#ps1\r\n$pfx = '${PFX}'\r\nGet-Content $PSCommandPath\r\n`;
  // The interpreter prints the script back (Get-Content); the secret line starts at `line`.
  const line = Buffer.byteLength('#ps1\r\n');
  const splits = [[1], [5], [15], [16], [16384], [16385], [16390], [20000], [line + 26660], [5, 16385], [15, 16384, 16385], [line + 16385, line + 26000]];
  splits.push(Array.from({ length: 40 }, (_, i) => (i + 1) * 997), Array.from({ length: 8 }, (_, i) => (i + 1) * 4096));
  for (const cuts of splits) {
    const { log, tail } = await captured(script, script, cuts.map((c) => (c < line ? line + c : c)));
    for (const [where, text] of [['log', log], ['tail', tail.join('\n')], ['publish', await published(tail)]] as const) {
      assert.equal(leak(text, PFX), undefined, `${where} holds the secret (reads ending at ${cuts.join(', ')})`);
    }
    assert.match(log, /^header\n#ps1\n\[redacted\]\n/, `reads ending at ${cuts.join(', ')}`);
  }
});

test('a script line echoed inside a line with no end for 70K characters is masked across the pieces it is written in', async () => {
  const script = `#ps1\n$pfx = '${PFX}'\n`;
  const echoed = `$pfx = '${PFX}'`;
  const output = `${'x'.repeat(30_000)}${echoed}${'y'.repeat(14_000)}${echoed}${'z'.repeat(300)}\n`;
  const at = 30_000 + 8;
  const small = Array.from({ length: 71 }, (_, i) => (i + 1) * 997);
  for (const cuts of [[at + 5], [at + 16384], [16384, at + 16385], [at + 5, at + 16385, 60_000, 66_000], small]) {
    const { log, tail } = await captured(script, output, cuts);
    for (const [where, text] of [['log', log], ['tail', tail.join('\n')], ['publish', await published(tail)]] as const) {
      assert.equal(leak(text, PFX), undefined, `${where} holds the secret (reads ending at ${cuts.slice(0, 3).join(', ')} ...)`);
    }
    const body = log.split('\n').slice(1, -2);
    if (cuts.length > 3) assert.ok(body.length > 1, 'written in pieces');
    assert.ok(body.every((l) => l.length <= 64 * 1024), 'pieces are bounded');
    assert.equal(body.join('').replaceAll('[redacted]', ''), `${'x'.repeat(30_000)}${'y'.repeat(14_000)}${'z'.repeat(300)}`, 'the rest is kept');
  }
});

test('a script line longer than what is held back: the pieces of a line with no end are masked whole', async () => {
  const long = `$blob = '${'Q'.repeat(70_000)}'`;
  const { log } = await captured(`#ps1\n${long}\n`, `${'x'.repeat(300_000)}\nafter\n`, [1, 2, 3, 4].map((i) => i * 65_536));
  const body = log.split('\n').slice(1, -3);
  assert.ok(body.length > 1 && body.every((l) => l === '[redacted]'), body.map((l) => l.slice(0, 20)).join(' '));
  assert.match(log, /\nafter\nfooter\n$/);
});

test('a script of thousands of lines printed back: each is masked, whatever it shares with the others, and the rest is kept', async () => {
  const lines = Array.from({ length: 3000 }, (_, i) => `Write-Output 'line ${i} of the installer'`);
  const script = ['#ps1', ...lines, 'exit 0'].join('\r\n');
  const output = `${script}\r\nline 7 of the installer\r\nWrite-Output 'line 3000 of the installer'\r\n${lines[2999]}${lines[0]}tail\r\n`;
  const { log } = await captured(script, output, [4096, 65_536]);
  const written = log.split('\n').slice(1, -2);
  assert.deepEqual(written.slice(0, 3), ['#ps1', '[redacted]', '[redacted]']);
  assert.equal(written.filter((l) => l === '[redacted]').length, 3000);
  assert.deepEqual(written.slice(-4), ['exit 0', 'line 7 of the installer', "Write-Output 'line 3000 of the installer'", '[redacted]tail']);
});

const KEY = ['-----BEGIN RSA PRIVATE KEY-----', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7', 'q3Yk9l0CAwEAAQKCAQEAoRXPjWcW2y0Fh6b4Z', '-----END RSA PRIVATE KEY-----'];
const KEY_SCRIPT = '#ps1\n$k = New-Key\nWrite-Output $k\n';

test('a private key printed line by line is masked from its BEGIN line through its END line, whatever the reads', async () => {
  const output = ['before', ...KEY, 'after', ''].join('\r\n');
  for (let cut = 1; cut < output.length; cut += 3) {
    const { log, tail } = await captured(KEY_SCRIPT, output, [cut]);
    assert.deepEqual(log.split('\n').slice(1, -2), ['before', '[redacted]', '[redacted]', '[redacted]', '[redacted]', 'after'], `read ending at ${cut}`);
    assert.deepEqual(tail, ['before', '[redacted]', '[redacted]', '[redacted]', '[redacted]', 'after']);
    assert.doesNotMatch(await published(tail), /MIIE|q3Yk/);
  }
});

test('an OpenPGP private key block is masked from its BEGIN line through its END line', async () => {
  const pgp = ['-----BEGIN PGP PRIVATE KEY BLOCK-----', '', 'lQdGBGVzZWNyZXQtcGdwLWtleS1saW5lLW9uZQ', '=AbCd', '-----END PGP PRIVATE KEY BLOCK-----'];
  const { log } = await captured(KEY_SCRIPT, ['before', ...pgp, 'after', ''].join('\n'), []);
  assert.deepEqual(log.split('\n').slice(1, -2), ['before', '[redacted]', '[redacted]', '[redacted]', '[redacted]', '[redacted]', 'after']);
});

test('a private key with no END line masks everything to the end of the output', async () => {
  const { log } = await captured(KEY_SCRIPT, ['before', 'key: -----BEGIN PRIVATE KEY-----', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'more', 'last without end'].join('\n'), []);
  assert.deepEqual(log.split('\n'), ['header', 'before', '[redacted]', '[redacted]', '[redacted]', '[redacted]', 'footer', '']);
});

test('a private key in a line with no end: the cut into pieces never splits its BEGIN line', async () => {
  // The first read ends 10 characters into the marker, past the 16K at which a piece is cut.
  const begin = 16_400;
  const output = `${'x'.repeat(begin)}${KEY[0]}${KEY[1]!.repeat(400)}\r\n${KEY.slice(2).join('\r\n')}\r\nafter\r\n`;
  for (const cuts of [[begin + 10 + 14], [begin + 5 + 14, begin + 40_000]]) {
    const { log, tail } = await captured(KEY_SCRIPT, output, cuts);
    assert.doesNotMatch(log, /MIIE|q3Yk/, `reads ending at ${cuts.join(', ')}`);
    assert.doesNotMatch(await published(tail), /MIIE|q3Yk/);
    assert.equal(log.split('\n').slice(1, -2).join('').replaceAll('[redacted]', ''), `${'x'.repeat(begin)}after`);
  }
});

test('an ovf-env password or custom data element spanning lines or pieces is masked up to its next tag', async () => {
  const output = [
    '<wa:AdminPassword>',
    '  Secr3t-Value-1',
    '</wa:AdminPassword><CustomData>c2VjcmV0',
    'LXZhbHVlLTI=</CustomData> kept',
    `${'y'.repeat(16_390)}<UserPassword>Secr3t-Value-3</UserPassword>`,
    '',
  ].join('\r\n');
  for (const cuts of [[], [3], [30], [70], [111 + 16_410], [111 + 16_425]]) {
    const { log, tail } = await captured('#ps1\nWrite-Output $ovf\n', output, cuts);
    assert.doesNotMatch(log, /Secr3t|c2Vj|LXZh/, `reads ending at ${cuts.join(', ')}`);
    assert.match(log, /\[redacted\]<\/CustomData> kept/);
    assert.doesNotMatch(await published(tail), /Secr3t|c2Vj|LXZh/);
  }
});

test('control, bidirectional and line-separator characters are escaped in the tail; the file keeps what the script wrote', async () => {
  const output = '\x1b[2J\x1b[1A\x1b[Kfake: succeeded\r\n50%\r100%\tdone\r\nleft\u202eright \u2066x\u2069 \u200e\u200f a\u2028b\u2029c \u0085 \u009b2J\r\n';
  const { log, tail } = await captured('#cmd\necho progress\n', output, [7]);
  assert.deepEqual(tail, [
    '\\u001b[2J\\u001b[1A\\u001b[Kfake: succeeded',
    '50%\\u000d100%\\u0009done',
    'left\\u202eright \\u2066x\\u2069 \\u200e\\u200f a\\u2028b\\u2029c \\u0085 \\u009b2J',
  ]);
  assert.equal(log, `header\n${output.replaceAll('\r\n', '\n')}footer\n`);
});

test('a tail with control characters (a record written before tails were escaped) is escaped by publish and status', async () => {
  const text = await published(['\x1b]0;owned\x07\x1b[1A\x1b[Kfake: succeeded', 'a\u202eb\u0085c']);
  assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/);
  assert.match(text, /\\u001b\]0;owned\\u0007\\u001b\[1A/);
  assert.match(text, /\| a\\u202eb\\u0085c/);
});
