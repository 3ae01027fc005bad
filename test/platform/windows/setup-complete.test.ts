import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlatformRejectedError } from '../../../src/errors.ts';
import { arrangeAnswerFileClearing, clearOnlySetupComplete, describeBackup, installSetupComplete, setupScriptsDirectory, toBatchText } from '../../../src/platform/windows/setup-complete.ts';
import { WindowsPlatform } from '../../../src/platform/windows/windows-platform.ts';
import { FakeRunner } from './fake-runner.ts';

const SHIPPED = new URL('../../../unattend/SetupComplete.cmd', import.meta.url);
const SCRIPT = '@echo off\nrem winprov, deferred-Ready mode\n"%ProgramFiles%\\winprov\\winprov.exe" provision\nexit /b 0\n';

async function systemRoot(t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'winprov-windows-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

test('the script becomes ASCII with CRLF line ends, no BOM, and a final line end', () => {
  assert.equal(toBatchText('\ufeff@echo off\nrem a\r\nexit /b 0').toString('latin1'), '@echo off\r\nrem a\r\nexit /b 0\r\n');
  assert.equal(toBatchText('a\r\rb\r\n').toString('latin1'), 'a\r\n\r\nb\r\n');
});

test('a script with characters outside ASCII is refused, naming the character and line', () => {
  assert.throws(() => toBatchText('@echo off\nrem café\n'), (err: unknown) => err instanceof PlatformRejectedError && /U\+00E9 on line 2/.test(err.message));
  assert.throws(() => toBatchText('echo \u0007'), /U\+0007 on line 1/);
});

test('the shipped SetupComplete.cmd passes unchanged', async () => {
  const shipped = await readFile(SHIPPED);
  assert.ok(toBatchText(shipped.toString('utf8')).equals(shipped));
});

test('the folder is created and the script written there; a second install changes nothing', async (t) => {
  const root = await systemRoot(t);
  const first = await installSetupComplete(root, SCRIPT);
  const path = join(root, 'Setup', 'Scripts', 'SetupComplete.cmd');
  assert.deepEqual(first, { path, outcome: 'written', backup: undefined, replaced: undefined });
  assert.equal(await readFile(path, 'latin1'), SCRIPT.replaceAll('\n', '\r\n'));
  assert.deepEqual(await installSetupComplete(root, SCRIPT), { path, outcome: 'unchanged', backup: undefined, replaced: undefined });
  assert.deepEqual(await readdir(setupScriptsDirectory(root)), ['SetupComplete.cmd'], 'no temporary file, no backup');
});

test('a winprov script of another version, or edited by the image builder, is kept as a backup too, and said to be winprov\'s', async (t) => {
  const root = await systemRoot(t);
  await mkdir(setupScriptsDirectory(root), { recursive: true });
  const edited = '@echo off\r\nREM winprov, deferred-Ready mode (0.0.9)\r\ncall C:\\build\\mine.cmd\r\nwinprov.exe provision\r\n';
  await writeFile(join(setupScriptsDirectory(root), 'SetupComplete.cmd'), edited);
  const result = await installSetupComplete(root, SCRIPT);
  assert.equal(result.replaced, 'winprov');
  assert.equal(await readFile(result.backup!, 'latin1'), edited);
  assert.match(describeBackup(result), /was winprov's of another version, or edited: it is kept as .*SetupComplete\.cmd\.winprov-backup; carry any edit/);
});

test('a SetupComplete.cmd that is not winprov\'s is kept as a backup; a different one later gets the next name', async (t) => {
  const root = await systemRoot(t);
  const folder = setupScriptsDirectory(root);
  const path = join(folder, 'SetupComplete.cmd');
  await mkdir(folder, { recursive: true });
  // Theirs has remarks, and even runs winprov, but not under winprov's header line.
  const theirs = '@echo off\r\nrem finish the image build, then provision\r\ncscript //b C:\\build\\finish.vbs\r\n"%ProgramFiles%\\winprov\\winprov.exe" provision\r\n';
  await writeFile(path, theirs);

  const result = await installSetupComplete(root, SCRIPT);
  assert.equal(result.outcome, 'written');
  assert.equal(result.backup, `${path}.winprov-backup`);
  assert.equal(await readFile(result.backup, 'latin1'), theirs);
  assert.equal(await readFile(path, 'latin1'), SCRIPT.replaceAll('\n', '\r\n'));

  // The image builder puts their own script back and runs prepare-image again: the same backup is reused.
  await writeFile(path, theirs);
  assert.equal((await installSetupComplete(root, SCRIPT)).backup, `${path}.winprov-backup`);

  // A different foreign script: the first backup is kept, the new one gets ".2".
  const other = '@echo off\r\nshutdown /r /t 0\r\n';
  await writeFile(path, other);
  assert.equal((await installSetupComplete(root, SCRIPT)).backup, `${path}.winprov-backup.2`);
  assert.equal(await readFile(`${path}.winprov-backup`, 'latin1'), theirs);
  assert.equal(await readFile(`${path}.winprov-backup.2`, 'latin1'), other);
  assert.deepEqual((await readdir(folder)).sort(), ['SetupComplete.cmd', 'SetupComplete.cmd.winprov-backup', 'SetupComplete.cmd.winprov-backup.2']);
});

test('the answer-file clearing: winprov\'s script written whole when there is none; one that is there is never changed', async (t) => {
  const root = await systemRoot(t);
  const path = join(setupScriptsDirectory(root), 'SetupComplete.cmd');
  assert.deepEqual(await arrangeAnswerFileClearing(root), { path, outcome: 'installed' });
  const written = await readFile(path, 'latin1');
  assert.equal(written, toBatchText(clearOnlySetupComplete()).toString('latin1'));
  assert.match(written, /^rem winprov/m);
  assert.deepEqual(await readdir(setupScriptsDirectory(root)), ['SetupComplete.cmd'], 'no temporary file left');
  assert.deepEqual(await arrangeAnswerFileClearing(root), { path, outcome: 'present' });

  // The image's own (or an older winprov's without the call): left as it is.
  const theirs = '@echo off\r\ncall C:\\build\\finish.cmd\r\n';
  await writeFile(path, theirs);
  assert.deepEqual(await arrangeAnswerFileClearing(root), { path, outcome: 'other' });
  assert.equal(await readFile(path, 'latin1'), theirs);
  // One that makes the call among its own lines counts as present: quoted or not, after call, in a block.
  for (const call of ['"C:\\Program Files\\winprov\\winprov.exe" clear-answer-file', '  call "%ProgramFiles%\\winprov\\winprov.exe" clear-answer-file >nul', 'if exist x ( C:\\winprov\\winprov.exe clear-answer-file )']) {
    await writeFile(path, `${theirs}${call}\r\n`);
    assert.equal((await arrangeAnswerFileClearing(root)).outcome, 'present', call);
  }
  // Only a remark about it is not the call.
  for (const remark of ['rem "%ProgramFiles%\\winprov\\winprov.exe" clear-answer-file', ':: winprov.exe clear-answer-file', '@REM winprov.exe clear-answer-file',
    '>>log echo starting "%ProgramFiles%\\winprov\\winprov.exe" clear-answer-file', '"%ProgramFiles%\\winprov\\winprov.exe" clear-answer-file --dry-run']) {
    await writeFile(path, `${theirs}${remark}\r\n`);
    assert.equal((await arrangeAnswerFileClearing(root)).outcome, 'other', remark);
  }
});

test('the answer-file clearing ends: a name taken by something that reads as nothing (a dangling link) is "other"; a killed run\'s temporary file goes', async (t) => {
  const root = await systemRoot(t);
  const folder = setupScriptsDirectory(root);
  await mkdir(folder, { recursive: true });
  await symlink(join(root, 'nowhere'), join(folder, 'SetupComplete.cmd'));
  const leftover = join(folder, 'SetupComplete.cmd.0123456789ab.tmp');
  await writeFile(leftover, 'half');
  assert.deepEqual(await arrangeAnswerFileClearing(root), { path: join(folder, 'SetupComplete.cmd'), outcome: 'other' });
  assert.deepEqual((await readdir(folder)).sort(), ['SetupComplete.cmd'], 'the leftover and this run\'s temporary file are gone');
});

test('prepare-image replaces the clearing-only script a provisioning run wrote without a backup: every winprov script makes its call', async (t) => {
  const root = await systemRoot(t);
  await arrangeAnswerFileClearing(root);
  const result = await installSetupComplete(root, await readFile(SHIPPED, 'latin1'));
  assert.deepEqual({ ...result, path: undefined }, { path: undefined, outcome: 'written', backup: undefined, replaced: undefined });
  assert.deepEqual(await readdir(setupScriptsDirectory(root)), ['SetupComplete.cmd']);
});

test('WindowsPlatform writes under its systemRoot, returns the path and warns about a backup, without PowerShell', async (t) => {
  const root = await systemRoot(t);
  const folder = setupScriptsDirectory(root);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'SetupComplete.cmd'), '@echo off\r\necho theirs\r\n');
  const logged: string[] = [];
  const runner = new FakeRunner(() => ({ error: { message: 'no request expected' } }));
  const platform = new WindowsPlatform({ runner, systemRoot: root, log: (level, message) => logged.push(`${level}: ${message}`) });
  assert.equal(await platform.installSetupComplete(SCRIPT), join(folder, 'SetupComplete.cmd'));
  await platform.close();
  assert.equal(runner.spawns.length, 0);
  const warning = logged.find((line) => line.startsWith('warn: '));
  assert.ok(warning?.includes('SetupComplete.cmd.winprov-backup'), String(warning));
  assert.match(warning!, /no longer run/);
});
