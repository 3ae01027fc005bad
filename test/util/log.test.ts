import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { createLog, redactText } from '../../src/util/log.ts';
import { Secret } from '../../src/util/secret.ts';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'winprov-log-'));
}

test('the file gets JSON lines at every level, the console only from its level', async () => {
  const dir = await tempDir();
  try {
    const lines: string[] = [];
    const log = createLog({ consoleLevel: 'info', write: (l) => void lines.push(l), filePath: join(dir, 'winprov.log') });
    log.debug('quiet detail', { step: 'x' });
    log.info('step done', { durationMs: 5 });
    log.warn('careful');
    const records = (await readFile(join(dir, 'winprov.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => [r.level, r.message]), [['debug', 'quiet detail'], ['info', 'step done'], ['warn', 'careful']]);
    assert.equal(records[1].durationMs, 5);
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} step done\n$/);
    assert.match(lines[1]!, /WARN careful/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the file rotates by size and keeps the configured number of old files', async () => {
  const dir = await tempDir();
  try {
    const log = createLog({ consoleLevel: 'error', write: () => {}, filePath: join(dir, 'winprov.log'), maxFileBytes: 400, maxFiles: 2 });
    for (let i = 0; i < 40; i++) log.info(`line ${i} ${'x'.repeat(40)}`);
    const names = (await readdir(dir)).sort();
    assert.deepEqual(names, ['winprov.log', 'winprov.log.1', 'winprov.log.2']);
    for (const name of names) {
      const size = (await readFile(join(dir, name))).byteLength;
      assert.ok(size <= 400, `${name} is ${size} bytes`);
    }
    const newest = (await readFile(join(dir, 'winprov.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).message);
    assert.match(newest.at(-1)!, /^line 39 /);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a rotation that fails (a generation held by another program) loses no line: they go on into the current file', async () => {
  const dir = await tempDir();
  try {
    // The oldest generation cannot be removed: a folder with a file in it stands where it goes.
    await mkdir(join(dir, 'winprov.log.1', 'held'), { recursive: true });
    const console: string[] = [];
    const log = createLog({ consoleLevel: 'warn', write: (l) => void console.push(l), filePath: join(dir, 'winprov.log'), maxFileBytes: 400, maxFiles: 1 });
    for (let i = 0; i < 40; i++) log.info(`line ${i} ${'x'.repeat(40)}`);
    const messages = (await readFile(join(dir, 'winprov.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).message);
    assert.deepEqual(messages.map((m: string) => Number(m.split(' ')[1])), Array.from({ length: 40 }, (_, i) => i));
    assert.deepEqual(console, [], 'no "cannot be written": the file goes on');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a log appends to the file a previous run left, counts it toward rotation, and moves with attachFile', async () => {
  const dir = await tempDir();
  try {
    const first = join(dir, 'state', 'winprov.log');
    const log = createLog({ consoleLevel: 'error', write: () => {}, filePath: first, maxFileBytes: 300, maxFiles: 1 });
    log.info('the folder is created on the first line');
    await writeFile(first, `${'{"message":"an earlier run"}'.padEnd(250, ' ')}\n`);
    const again = createLog({ consoleLevel: 'error', write: () => {}, filePath: first, maxFileBytes: 300, maxFiles: 1 });
    again.info('a later run');
    // 251 bytes were there: this line does not fit, so the earlier run's file became winprov.log.1.
    assert.match(await readFile(`${first}.1`, 'utf8'), /an earlier run/);
    assert.deepEqual((await readFile(first, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).message), ['a later run']);
    const second = join(dir, 'elsewhere.log');
    again.attachFile(second);
    again.info('after the move');
    assert.deepEqual((await readFile(second, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).message), ['after the move']);
    assert.doesNotMatch(await readFile(first, 'utf8'), /after the move/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('close lets go of the file: later lines reach the console only', async () => {
  const dir = await tempDir();
  try {
    const lines: string[] = [];
    const path = join(dir, 'winprov.log');
    const log = createLog({ consoleLevel: 'info', write: (l) => void lines.push(l), filePath: path });
    log.info('before');
    log.close();
    log.info('after');
    log.close();
    assert.deepEqual((await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).message), ['before']);
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, /after/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the serial mirror gets the human lines with CRLF', async () => {
  const dir = await tempDir();
  try {
    const serial = join(dir, 'com1.txt');
    const log = createLog({ consoleLevel: 'info', write: () => {}, serial });
    log.info('> discover');
    log.debug('not mirrored');
    log.info('< discover ok in 3 ms');
    const text = await readFile(serial, 'utf8');
    assert.match(text, /^\d\d:\d\d:\d\d\.\d{3} > discover\r\n\d\d:\d\d:\d\d\.\d{3} < discover ok in 3 ms\r\n$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a serial mirror that cannot be opened is said once on the console; a COM port name off Windows opens nothing', async () => {
  const dir = await tempDir();
  try {
    const lines: string[] = [];
    const log = createLog({ consoleLevel: 'info', write: (l) => void lines.push(l), serial: join(dir, 'missing', 'com1.txt') });
    log.info('one');
    log.info('two');
    assert.equal(lines.filter((l) => /^WARN serial port .*com1\.txt cannot be opened \(ENOENT\); progress is not mirrored there\n$/.test(l)).length, 1);
    assert.equal(lines.length, 3);
    log.close();
    if (process.platform !== 'win32') {
      const before = await readdir(process.cwd());
      const com: string[] = [];
      createLog({ consoleLevel: 'info', write: (l) => void com.push(l), serial: 'COM1' }).info('x');
      assert.match(com[0]!, /^WARN serial port COM1: COM ports exist on Windows only/);
      assert.deepEqual(await readdir(process.cwd()), before, 'no file named after the port');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('secrets are masked in fields, in text and when wrapped in Secret', async () => {
  const dir = await tempDir();
  try {
    const lines: string[] = [];
    const log = createLog({ consoleLevel: 'debug', write: (l) => void lines.push(l), filePath: join(dir, 'winprov.log') });
    log.info('ovf <wa:AdminPassword>Pl4nted-Secret</wa:AdminPassword> read', { AdminPassword: 'Pl4nted-Secret', wrapped: new Secret('Pl4nted-Secret') });
    const file = await readFile(join(dir, 'winprov.log'), 'utf8');
    assert.doesNotMatch(file + lines.join(''), /Pl4nted-Secret/);
    assert.match(file, /\[redacted\]/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('redactText masks passwords, custom data and private keys in any text', () => {
  const text = '<AdminPassword>a</AdminPassword><CustomData>b64</CustomData>\n-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----';
  const out = redactText(text);
  assert.doesNotMatch(out, />a<|b64|MIIB/);
  // OpenPGP's armor (RFC 4880 6.2) says BLOCK after KEY; the public block beside it is no secret.
  const pgp = '-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQINBGpub\n-----END PGP PUBLIC KEY BLOCK-----\n-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQdGBGsecret\n=AbCd\n-----END PGP PRIVATE KEY BLOCK-----\nafter';
  const masked = redactText(pgp);
  assert.doesNotMatch(masked, /lQdGBGsecret|=AbCd/);
  assert.match(masked, /mQINBGpub/);
  assert.match(masked, /\[redacted\]\nafter$/);
});

test('a FIFO as the serial mirror never blocks: without a reader it is one warning, with one it gets the lines', { skip: process.platform === 'win32' }, async () => {
  const dir = await tempDir();
  try {
    const fifo = join(dir, 'console.fifo');
    execFileSync('mkfifo', [fifo]);
    const lines: string[] = [];
    const alone = createLog({ consoleLevel: 'info', write: (l) => void lines.push(l), serial: fifo });
    alone.info('nobody reads this');
    alone.close();
    assert.match(lines[0]!, /^WARN serial port .*console\.fifo cannot be opened \(ENXIO\); progress is not mirrored there\n$/);
    assert.equal(lines.length, 2);

    // A reader that has the FIFO open for reading (non-blocking, so the test itself never waits).
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const log = createLog({ consoleLevel: 'info', write: () => {}, serial: fifo });
      log.info('mirrored');
      log.close();
      const buffer = Buffer.alloc(256);
      const read = readSync(reader, buffer);
      assert.match(buffer.subarray(0, read).toString(), /^\d\d:\d\d:\d\d\.\d{3} mirrored\r\n$/);
    } finally {
      closeSync(reader);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a log file that cannot be written degrades to the console with one warning', async () => {
  const dir = await tempDir();
  try {
    // The log's folder would have to be inside a regular file: every write fails (ENOTDIR).
    await writeFile(join(dir, 'not-a-folder'), 'x');
    const lines: string[] = [];
    const log = createLog({ consoleLevel: 'info', write: (l) => void lines.push(l), filePath: join(dir, 'not-a-folder', 'winprov.log') });
    log.info('one');
    log.info('two');
    assert.equal(lines.filter((l) => /cannot be written/.test(l)).length, 1);
    assert.ok(lines.some((l) => /two/.test(l)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
