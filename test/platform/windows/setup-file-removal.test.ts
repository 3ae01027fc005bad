import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeImageSetup, takeOutSetupFile, type SetupFileRules } from '../../../src/platform/windows/setup-file-removal.ts';

/** Files that mention "winprov" are winprov's; "winprov v1" is this winprov's, unedited. */
const RULES: SetupFileRules = {
  verb: 'removeImageSetup',
  isWinprovs: (bytes) => bytes.toString().includes('winprov'),
  isUnedited: (bytes) => bytes.toString() === 'winprov v1',
};

async function inFolder(work: (dir: string, file: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'winprov-removal-'));
  try {
    await work(dir, join(dir, 'unattend.xml'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a single backup that is winprov\'s own is not put back: it would start winprov again', async () => {
  await inFolder(async (dir, file) => {
    await writeFile(file, 'winprov v1');
    await writeFile(`${file}.winprov-backup`, 'winprov v0, edited');
    const result = await takeOutSetupFile(file, RULES);
    assert.equal(result.outcome, 'removed');
    assert.equal(result.restored, undefined);
    assert.deepEqual(result.backupsLeft, [`${file}.winprov-backup`]);
    assert.deepEqual(await readdir(dir), ['unattend.xml.winprov-backup']);
  });
});

test('an edited file is kept under a name no earlier copy holds, and an identical earlier copy is reused', async () => {
  await inFolder(async (dir, file) => {
    await writeFile(`${file}.winprov-removed`, 'winprov, edited once');
    await writeFile(file, 'winprov, edited twice');
    const result = await takeOutSetupFile(file, RULES);
    assert.equal(result.outcome, 'moved');
    assert.equal(result.movedTo, `${file}.winprov-removed.2`);
    assert.equal(await readFile(`${file}.winprov-removed`, 'utf8'), 'winprov, edited once', 'never overwritten');
    assert.equal(await readFile(`${file}.winprov-removed.2`, 'utf8'), 'winprov, edited twice');

    await writeFile(file, 'winprov, edited once');
    assert.equal((await takeOutSetupFile(file, RULES)).movedTo, `${file}.winprov-removed`);
    assert.deepEqual((await readdir(dir)).sort(), ['unattend.xml.winprov-removed', 'unattend.xml.winprov-removed.2']);
  });
});

test('a dry run names what it would do and changes nothing; a file not winprov\'s is never touched', async () => {
  await inFolder(async (dir, file) => {
    await writeFile(file, 'winprov, edited');
    await writeFile(`${file}.winprov-backup`, 'the image\'s own');
    const result = await takeOutSetupFile(file, { ...RULES, dryRun: true });
    assert.deepEqual(result, { path: file, outcome: 'moved', movedTo: `${file}.winprov-removed`, restored: `${file}.winprov-backup`, backupsLeft: [] });
    assert.deepEqual((await readdir(dir)).sort(), ['unattend.xml', 'unattend.xml.winprov-backup']);
    assert.equal(await readFile(file, 'utf8'), 'winprov, edited');

    await writeFile(file, 'the image builder\'s');
    assert.equal((await takeOutSetupFile(file, RULES)).outcome, 'foreign');
    assert.equal(await readFile(file, 'utf8'), 'the image builder\'s');
    assert.equal(await readFile(`${file}.winprov-backup`, 'utf8'), 'the image\'s own', 'its backup stays too');
  });
});

test('winprov\'s own backups are no candidates: the one backup that is the image\'s goes back, winprov\'s stays named', async () => {
  await inFolder(async (dir, file) => {
    await writeFile(file, 'winprov v1');
    await writeFile(`${file}.winprov-backup`, 'the image\'s own');
    await writeFile(`${file}.winprov-backup.2`, 'winprov, merged by a provisioning run');
    const result = await takeOutSetupFile(file, RULES);
    assert.equal(result.restored, `${file}.winprov-backup`);
    assert.deepEqual(result.backupsLeft, [`${file}.winprov-backup.2`]);
    assert.equal(await readFile(file, 'utf8'), 'the image\'s own');
    assert.deepEqual((await readdir(dir)).sort(), ['unattend.xml', 'unattend.xml.winprov-backup.2']);
  });
});

test('an answer file saved as UTF-16 that starts winprov.exe is winprov\'s too (either byte order)', async () => {
  await inFolder(async (dir) => {
    const answerFile = join(dir, 'unattend.xml');
    const setupComplete = join(dir, 'SetupComplete.cmd');
    const xml = '<unattend><Path>"%ProgramFiles%\\winprov\\winprov.exe" provision</Path></unattend>';
    const littleEndian = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
    const bigEndian = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(xml, 'utf16le').swap16()]);
    for (const bytes of [littleEndian, bigEndian]) {
      await writeFile(answerFile, bytes);
      const result = await removeImageSetup({ answerFile, setupComplete }, { answerFiles: [xml], setupCompleteScripts: [] });
      assert.equal(result.answerFile.outcome, 'moved', 'not one of the templates byte for byte, but it starts winprov');
      assert.deepEqual(await readFile(result.answerFile.movedTo!), bytes);
      await rm(result.answerFile.movedTo!);
    }
    await writeFile(answerFile, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<unattend/>', 'utf16le')]));
    assert.equal((await removeImageSetup({ answerFile, setupComplete }, { answerFiles: [], setupCompleteScripts: [] })).answerFile.outcome, 'foreign');
  });
});
