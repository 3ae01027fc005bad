import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { withImage } from '../helpers/image.ts';
import { FIRST_BOOT_RESUME_TASK } from '../../src/platform/first-boot-types.ts';
import { snapshotTree } from '../helpers/tree.ts';
import { LOCK_FILE, type LockHolder } from '../../src/run-lock.ts';
import { LOG_FILE } from '../../src/platform/state-names.ts';
import { EXIT_CODES } from '../../src/errors.ts';
import { bootTime, processStartToken } from '../../src/util/process-identity.ts';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

const IMAGE_ANSWER_FILE = '<?xml version="1.0" encoding="utf-8"?>\n<unattend xmlns="urn:schemas-microsoft-com:unattend"><!-- the image builder\'s own --></unattend>\n';
const IMAGE_SETUP_COMPLETE = '@echo off\r\nrem the image builder\'s own\r\necho hello>C:\\hello.txt\r\n';

test('remove-from-image undoes prepare-image: winprov\'s files go and the image\'s own come back, byte for byte', async () => {
  await withImage({}, async ({ fx, cli, answerFile, setupComplete }) => {
    await mkdir(join(answerFile, '..'), { recursive: true });
    await mkdir(join(setupComplete, '..'), { recursive: true });
    await writeFile(answerFile, IMAGE_ANSWER_FILE);
    await writeFile(setupComplete, IMAGE_SETUP_COMPLETE);
    const prepared = await cli('prepare-image', '--defer-ready');
    assert.equal(prepared.code, 0, prepared.out + prepared.err);
    assert.match(await readFile(answerFile, 'utf8'), /winprov\.exe/);
    assert.match(await readFile(setupComplete, 'latin1'), /^@echo off\r\nrem winprov/);

    // A first-boot startup task left registered would start the missing winprov.exe at every start.
    await fx.editMachine((m) => void (m.scheduledTasks = [{ name: FIRST_BOOT_RESUME_TASK, command: 'winprov.exe first-boot-script', trigger: 'AtStartup', user: 'SYSTEM' }]));
    const { code, out } = await cli('remove-from-image');
    assert.equal(code, 0, out);
    assert.equal(await readFile(answerFile, 'utf8'), IMAGE_ANSWER_FILE);
    assert.ok(out.split('\n').includes(`remove the first-boot script's startup task ${FIRST_BOOT_RESUME_TASK}`), out);
    assert.deepEqual((await fx.machine()).scheduledTasks, []);
    assert.equal(await readFile(setupComplete, 'latin1'), IMAGE_SETUP_COMPLETE);
    assert.deepEqual((await readdir(join(answerFile, '..'))).sort(), ['unattend.xml'], 'the backup went back in its place');
    assert.deepEqual((await readdir(join(setupComplete, '..'))).sort(), ['SetupComplete.cmd']);
    assert.ok(out.split('\n').includes(`remove winprov's answer file ${answerFile}`), out);
    assert.ok(out.split('\n').includes(`put back the image's own answer file from ${answerFile}.winprov-backup`), out);
    assert.ok(out.split('\n').includes(`remove winprov's SetupComplete.cmd ${setupComplete}`), out);
    assert.match(out, /guest agent services keep their start mode/);
    assert.ok((await fx.machine()).changes.some((c) => c.verb === 'removeImageSetup'), 'the sandbox records the change');

    // Run again, it finds nothing of winprov's and changes nothing.
    const again = await cli('remove-from-image');
    assert.equal(again.code, 0);
    assert.ok(again.out.split('\n').includes(`leave the answer file at ${answerFile}: it does not start winprov`), again.out);
    assert.equal(await readFile(answerFile, 'utf8'), IMAGE_ANSWER_FILE);
  });
});

test('remove-from-image --dry-run says what it would do and changes nothing', async () => {
  await withImage({}, async ({ fx, cli, answerFile, setupComplete }) => {
    assert.equal((await cli('prepare-image', '--defer-ready')).code, 0);
    const tree = await snapshotTree(fx.sandboxRoot);
    const { code, out } = await cli('remove-from-image', '--dry-run');
    assert.equal(code, 0, out);
    assert.ok(out.split('\n').includes(`would remove winprov's answer file ${answerFile}`), out);
    assert.ok(out.split('\n').includes(`would remove winprov's SetupComplete.cmd ${setupComplete}`), out);
    assert.ok(out.split('\n').includes(`would remove the first-boot script's startup task ${FIRST_BOOT_RESUME_TASK} if it is registered`), out);
    assert.deepEqual(await snapshotTree(fx.sandboxRoot), tree, 'not a byte changed');
  });
});

test('an edited winprov answer file is kept under another name; one that does not start winprov is left alone', async () => {
  await withImage({}, async ({ cli, answerFile, setupComplete }) => {
    assert.equal((await cli('prepare-image')).code, 0);
    const edited = (await readFile(answerFile, 'utf8')).replace('</unattend>', '<!-- edited by the image builder --></unattend>');
    await writeFile(answerFile, edited);
    const { code, out } = await cli('remove-from-image');
    assert.equal(code, 0, out);
    assert.equal(await exists(answerFile), false, 'Setup no longer finds it');
    assert.equal(await readFile(`${answerFile}.winprov-removed`, 'utf8'), edited, 'the edits are kept');
    assert.match(out, /move the answer file .* to .*unattend\.xml\.winprov-removed: it starts winprov\.exe/);
    assert.ok(out.split('\n').includes(`no SetupComplete.cmd at ${setupComplete}`), out);

    await writeFile(answerFile, IMAGE_ANSWER_FILE);
    const foreign = await cli('remove-from-image');
    assert.equal(foreign.code, 0);
    assert.equal(await readFile(answerFile, 'utf8'), IMAGE_ANSWER_FILE);
    assert.doesNotMatch(foreign.out, /guest agent/, 'nothing was taken out');
  });
});

test('with several backups none is put back, and each is named', async () => {
  await withImage({}, async ({ cli, answerFile, setupComplete }) => {
    await mkdir(join(answerFile, '..'), { recursive: true });
    await writeFile(answerFile, IMAGE_ANSWER_FILE);
    assert.equal((await cli('prepare-image')).code, 0);
    // A second answer file of the builder's, replaced by a second prepare-image: two different backups.
    await writeFile(answerFile, IMAGE_ANSWER_FILE.replace('own', 'second'));
    assert.equal((await cli('prepare-image')).code, 0);
    const { code, out } = await cli('remove-from-image');
    assert.equal(code, 0, out);
    assert.equal(await exists(answerFile), false);
    assert.ok(out.split('\n').includes(`keep ${answerFile}.winprov-backup, ${answerFile}.winprov-backup.2: prepare-image's backups, not put back (winprov's own, or more than one of the image's); put the one the image needs back at ${answerFile} yourself`), out);
  });
});

test('remove-from-image refuses with RUN_LOCKED while another run holds the lock, and changes nothing', { skip: process.platform !== 'linux' }, async () => {
  await withImage({}, async ({ fx, cli, answerFile, setupComplete }) => {
    assert.equal((await fx.run()).outcome, 'ready');
    const template = await readFile(join(fx.platform.installDirectory, 'unattend.xml'));
    await mkdir(join(answerFile, '..'), { recursive: true });
    await writeFile(answerFile, template);
    // A live holder: this very process, with its real start time.
    const live: LockHolder = { version: 1, pid: process.pid, processStart: (await processStartToken(process.pid))!, bootTime: bootTime(), command: 'provision', acquiredAt: new Date().toISOString(), nonce: 'live' };
    await writeFile(join(fx.platform.stateDirectory, LOCK_FILE), JSON.stringify(live));
    const locked = await runCli(['remove-from-image', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot], { WINPROV_LOCK_WAIT: '200ms' });
    assert.equal(locked.code, EXIT_CODES.locked, locked.err);
    assert.deepEqual(await readFile(answerFile), template, 'not removed');

    await rm(join(fx.platform.stateDirectory, LOCK_FILE));
    const { code, out } = await cli('remove-from-image');
    assert.equal(code, 0, out);
    assert.equal(await exists(answerFile), false);
    const log = await readFile(join(fx.platform.stateDirectory, LOG_FILE), 'utf8');
    assert.match(log, /remove-from-image: remove winprov's answer file/, 'the run is in winprov\'s log');
  });
});

test('with no file of winprov\'s there, a backup is named and left where it is', async () => {
  await withImage({}, async ({ cli, answerFile }) => {
    await mkdir(join(answerFile, '..'), { recursive: true });
    await writeFile(answerFile, IMAGE_ANSWER_FILE);
    assert.equal((await cli('prepare-image')).code, 0);
    await rm(answerFile);
    const { code, out } = await cli('remove-from-image');
    assert.equal(code, 0, out);
    assert.ok(out.split('\n').includes(`no answer file at ${answerFile}`), out);
    assert.ok(out.split('\n').includes(`keep ${answerFile}.winprov-backup: prepare-image's backups, not put back (no file of winprov's is there to give way); put the one the image needs back at ${answerFile} yourself`), out);
    assert.equal(await exists(answerFile), false, 'nothing was put where the builder removed the file');
    assert.equal(await readFile(`${answerFile}.winprov-backup`, 'utf8'), IMAGE_ANSWER_FILE);
  });
});
