import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { provisioningFixture, type ProvisioningFixture } from '../helpers/provisioning.ts';
import { runCli } from '../helpers/cli.ts';
import { installTemplates } from '../helpers/install-templates.ts';
import { snapshotTree } from '../helpers/tree.ts';
import { LOCK_FILE, type LockHolder } from '../../src/run-lock.ts';
import { LOG_FILE } from '../../src/platform/state-names.ts';
import { EXIT_CODES } from '../../src/errors.ts';
import { bootTime, processStartToken } from '../../src/util/process-identity.ts';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** A sandbox with winprov's templates installed, and the paths of the two files of Setup's. */
async function withImage(work: (fx: ProvisioningFixture, cli: (...args: string[]) => ReturnType<typeof runCli>, files: { answerFile: string; setupComplete: string }) => Promise<void>): Promise<void> {
  const fx = await provisioningFixture();
  try {
    await installTemplates(fx.platform.installDirectory);
    const cli = (...args: string[]) => runCli([...args, '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    await work(fx, cli, {
      answerFile: join(fx.sandboxRoot, 'Windows', 'Panther', 'Unattend', 'unattend.xml'),
      setupComplete: join(fx.sandboxRoot, 'Windows', 'Setup', 'Scripts', 'SetupComplete.cmd'),
    });
  } finally {
    await fx.close();
  }
}

const IMAGE_ANSWER_FILE = '<?xml version="1.0" encoding="utf-8"?>\n<unattend xmlns="urn:schemas-microsoft-com:unattend"><!-- the image builder\'s own --></unattend>\n';
const IMAGE_SETUP_COMPLETE = '@echo off\r\nrem the image builder\'s own\r\necho hello>C:\\hello.txt\r\n';

test('remove-from-image undoes prepare-image: winprov\'s files go and the image\'s own come back, byte for byte', async () => {
  await withImage(async (fx, cli, files) => {
    await mkdir(join(files.answerFile, '..'), { recursive: true });
    await mkdir(join(files.setupComplete, '..'), { recursive: true });
    await writeFile(files.answerFile, IMAGE_ANSWER_FILE);
    await writeFile(files.setupComplete, IMAGE_SETUP_COMPLETE);
    const prepared = await cli('prepare-image', '--defer-ready');
    assert.equal(prepared.code, 0, prepared.out + prepared.err);
    assert.match(await readFile(files.answerFile, 'utf8'), /winprov\.exe/);
    assert.match(await readFile(files.setupComplete, 'latin1'), /^@echo off\r\nrem winprov/);

    const { code, out } = await cli('remove-from-image');
    assert.equal(code, 0, out);
    assert.equal(await readFile(files.answerFile, 'utf8'), IMAGE_ANSWER_FILE);
    assert.equal(await readFile(files.setupComplete, 'latin1'), IMAGE_SETUP_COMPLETE);
    assert.deepEqual((await readdir(join(files.answerFile, '..'))).sort(), ['unattend.xml'], 'the backup went back in its place');
    assert.deepEqual((await readdir(join(files.setupComplete, '..'))).sort(), ['SetupComplete.cmd']);
    assert.ok(out.split('\n').includes(`remove winprov's answer file ${files.answerFile}`), out);
    assert.ok(out.split('\n').includes(`put back the image's own answer file from ${files.answerFile}.winprov-backup`), out);
    assert.ok(out.split('\n').includes(`remove winprov's SetupComplete.cmd ${files.setupComplete}`), out);
    assert.match(out, /guest agent services keep their start mode/);
    assert.ok((await fx.machine()).changes.some((c) => c.verb === 'removeImageSetup'), 'the sandbox records the change');

    // Run again, it finds nothing of winprov's and changes nothing.
    const again = await cli('remove-from-image');
    assert.equal(again.code, 0);
    assert.ok(again.out.split('\n').includes(`leave the answer file at ${files.answerFile}: it does not start winprov`), again.out);
    assert.equal(await readFile(files.answerFile, 'utf8'), IMAGE_ANSWER_FILE);
  });
});

test('remove-from-image --dry-run says what it would do and changes nothing', async () => {
  await withImage(async (fx, cli, files) => {
    assert.equal((await cli('prepare-image', '--defer-ready')).code, 0);
    const tree = await snapshotTree(fx.sandboxRoot);
    const { code, out } = await cli('remove-from-image', '--dry-run');
    assert.equal(code, 0, out);
    assert.ok(out.split('\n').includes(`would remove winprov's answer file ${files.answerFile}`), out);
    assert.ok(out.split('\n').includes(`would remove winprov's SetupComplete.cmd ${files.setupComplete}`), out);
    assert.deepEqual(await snapshotTree(fx.sandboxRoot), tree, 'not a byte changed');
  });
});

test('an edited winprov answer file is kept under another name; one that does not start winprov is left alone', async () => {
  await withImage(async (_fx, cli, files) => {
    assert.equal((await cli('prepare-image')).code, 0);
    const edited = (await readFile(files.answerFile, 'utf8')).replace('</unattend>', '<!-- edited by the image builder --></unattend>');
    await writeFile(files.answerFile, edited);
    const { code, out } = await cli('remove-from-image');
    assert.equal(code, 0, out);
    assert.equal(await exists(files.answerFile), false, 'Setup no longer finds it');
    assert.equal(await readFile(`${files.answerFile}.winprov-removed`, 'utf8'), edited, 'the edits are kept');
    assert.match(out, /move the answer file .* to .*unattend\.xml\.winprov-removed: it starts winprov\.exe/);
    assert.ok(out.split('\n').includes(`no SetupComplete.cmd at ${files.setupComplete}`), out);

    await writeFile(files.answerFile, IMAGE_ANSWER_FILE);
    const foreign = await cli('remove-from-image');
    assert.equal(foreign.code, 0);
    assert.equal(await readFile(files.answerFile, 'utf8'), IMAGE_ANSWER_FILE);
    assert.doesNotMatch(foreign.out, /guest agent/, 'nothing was taken out');
  });
});

test('with several backups none is put back, and each is named', async () => {
  await withImage(async (_fx, cli, files) => {
    await mkdir(join(files.answerFile, '..'), { recursive: true });
    await writeFile(files.answerFile, IMAGE_ANSWER_FILE);
    assert.equal((await cli('prepare-image')).code, 0);
    // A second answer file of the builder's, replaced by a second prepare-image: two different backups.
    await writeFile(files.answerFile, IMAGE_ANSWER_FILE.replace('own', 'second'));
    assert.equal((await cli('prepare-image')).code, 0);
    const { code, out } = await cli('remove-from-image');
    assert.equal(code, 0, out);
    assert.equal(await exists(files.answerFile), false);
    assert.ok(out.split('\n').includes(`keep ${files.answerFile}.winprov-backup, ${files.answerFile}.winprov-backup.2 (which one was in place before prepare-image cannot be told): put the image's own back at ${files.answerFile} yourself if it needs one`), out);
  });
});

test('remove-from-image refuses with RUN_LOCKED while another run holds the lock, and changes nothing', { skip: process.platform !== 'linux' }, async () => {
  await withImage(async (fx, cli, files) => {
    assert.equal((await fx.run()).outcome, 'ready');
    const template = await readFile(join(fx.platform.installDirectory, 'unattend.xml'));
    await mkdir(join(files.answerFile, '..'), { recursive: true });
    await writeFile(files.answerFile, template);
    // A live holder: this very process, with its real start time.
    const live: LockHolder = { version: 1, pid: process.pid, processStart: (await processStartToken(process.pid))!, bootTime: bootTime(), command: 'provision', acquiredAt: new Date().toISOString(), nonce: 'live' };
    await writeFile(join(fx.platform.stateDirectory, LOCK_FILE), JSON.stringify(live));
    const locked = await runCli(['remove-from-image', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot], { WINPROV_LOCK_WAIT: '200ms' });
    assert.equal(locked.code, EXIT_CODES.locked, locked.err);
    assert.deepEqual(await readFile(files.answerFile), template, 'not removed');

    await rm(join(fx.platform.stateDirectory, LOCK_FILE));
    const { code, out } = await cli('remove-from-image');
    assert.equal(code, 0, out);
    assert.equal(await exists(files.answerFile), false);
    const log = await readFile(join(fx.platform.stateDirectory, LOG_FILE), 'utf8');
    assert.match(log, /remove-from-image: remove winprov's answer file/, 'the run is in winprov\'s log');
  });
});
