import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { azureDataDirectory, driveRoot, listAgentArtifacts, removeAgentArtifacts } from '../../../src/platform/windows/artifacts.ts';
import { WindowsPlatform } from '../../../src/platform/windows/windows-platform.ts';
import { FakeRunner } from './fake-runner.ts';

/** A temporary folder standing in for C:\ with ProgramData and the system drive's root inside. */
async function machine(t: TestContext) {
  const root = await mkdtemp(join(tmpdir(), 'winprov-artifacts-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const programData = join(root, 'ProgramData');
  await mkdir(programData);
  return { root, programData, stateDirectory: join(programData, 'winprov'), systemDrive: root };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function provisioned(stateDirectory: string, azureData: string): Promise<void> {
  await mkdir(stateDirectory, { recursive: true });
  for (const name of ['state.json', 'provisioned.json', 'ovf-env.xml', 'winprov.log', 'winprov.log.1', 'setupcomplete.log']) await writeFile(join(stateDirectory, name), name);
  await mkdir(azureData, { recursive: true });
  await writeFile(join(azureData, 'CustomData.bin'), 'custom');
}

test('a drive letter means its root, so AzureData is C:\\AzureData and not C:AzureData', () => {
  assert.equal(driveRoot('C:'), 'C:\\');
  assert.equal(driveRoot('C:\\'), 'C:\\');
  assert.equal(driveRoot('/tmp/drive'), '/tmp/drive');
  assert.equal(azureDataDirectory('/tmp/drive'), join('/tmp/drive', 'AzureData'));
});

test('a clean machine has no artifacts, and removing them changes nothing', async (t) => {
  const m = await machine(t);
  assert.deepEqual(await listAgentArtifacts(m), { ours: [], others: [] });
  assert.deepEqual(await removeAgentArtifacts(m), { ours: [], others: [] });
  assert.deepEqual(await readdir(m.root), ['ProgramData']);
});

test('winprov\'s files in the state folder, custom data and an AzureData folder holding only it are listed, then removed; the state folder stays', async (t) => {
  const m = await machine(t);
  const azureData = join(m.root, 'AzureData');
  await provisioned(m.stateDirectory, azureData);
  const expected = [
    ...['ovf-env.xml', 'provisioned.json', 'setupcomplete.log', 'state.json', 'winprov.log', 'winprov.log.1'].map((name) => join(m.stateDirectory, name)),
    join(azureData, 'CustomData.bin'),
    azureData,
  ];
  assert.deepEqual(await listAgentArtifacts(m), { ours: expected, others: [] });
  assert.ok(await exists(join(m.stateDirectory, 'state.json')), 'listing removes nothing');
  assert.deepEqual(await removeAgentArtifacts(m), { ours: expected, others: [] });
  for (const path of expected) assert.equal(await exists(path), false, path);
  assert.deepEqual(await readdir(m.stateDirectory), [], 'the empty folder is prepare-image\'s to remove, at its end');
  assert.deepEqual(await listAgentArtifacts(m), { ours: [], others: [] });
});

test('an AzureData folder that holds other files keeps them and stays; a leftover CustomData.bin.tmp goes', async (t) => {
  const m = await machine(t);
  const azureData = join(m.root, 'AzureData');
  await mkdir(azureData);
  await writeFile(join(azureData, 'CustomData.bin.tmp'), 'half');
  await writeFile(join(azureData, 'notes.txt'), 'not ours');
  assert.deepEqual((await listAgentArtifacts(m)).ours, [join(azureData, 'CustomData.bin.tmp')]);
  await removeAgentArtifacts(m);
  assert.deepEqual(await readdir(azureData), ['notes.txt']);
});

test('only winprov\'s names go: every file it writes there, its first-boot folder and temporary files; the image builder\'s files and folders stay', async (t) => {
  const m = await machine(t);
  const ours = [
    'state.json', 'provisioned.json', 'ovf-env.xml', 'image-baseline.json', 'first-boot.json', 'setupcomplete.log',
    'winprov.log', 'winprov.log.1', 'winprov.log.3', 'winprov.lock', 'winprov.lock.0b6f7a52-1d2e-4c3b-9a8f-0123456789ab.new',
    'winprov.lock.takeover-5f1c2e3d-aaaa-bbbb-cccc-0123456789ab', 'winprov.lock.takeover-x.takeover-y', 'winprov.lock.takeover-x.0b6f7a52-1d2e-4c3b-9a8f-0123456789ab.new',
    'first-boot-customData.log', 'first-boot-customData.log.1', 'first-boot-userData.log', 'state.json.0123456789ab.tmp', 'State.JSON.bak.0123456789ab.tmp',
  ];
  const theirs = ['builder-notes.txt', 'state.json.bak', 'winprov.log.old', 'winprov.lock.txt', 'first-boot.json.orig', 'tools'];
  await mkdir(join(m.stateDirectory, 'first-boot'), { recursive: true });
  await writeFile(join(m.stateDirectory, 'first-boot', 'customData.ps1'), 'x');
  await mkdir(join(m.stateDirectory, 'tools'));
  await writeFile(join(m.stateDirectory, 'tools', 'x.log'), 'x');
  for (const name of [...ours, ...theirs.filter((n) => n !== 'tools')]) await writeFile(join(m.stateDirectory, name), name);
  const found = await removeAgentArtifacts(m);
  assert.deepEqual(found.ours, [...ours, 'first-boot'].sort().map((name) => join(m.stateDirectory, name)));
  assert.deepEqual(found.others, [...theirs].sort().map((name) => join(m.stateDirectory, name)));
  assert.deepEqual((await readdir(m.stateDirectory)).sort(), [...theirs].sort());
  assert.deepEqual(await readdir(join(m.stateDirectory, 'tools')), ['x.log']);
});

test('what prepare-image still needs (its run lock, the baseline) is neither listed nor removed', async (t) => {
  const m = await machine(t);
  await mkdir(m.stateDirectory);
  for (const name of ['state.json', 'winprov.lock', 'image-baseline.json']) await writeFile(join(m.stateDirectory, name), name);
  assert.deepEqual(await listAgentArtifacts(m, ['winprov.lock', 'IMAGE-BASELINE.json']), { ours: [join(m.stateDirectory, 'state.json')], others: [] });
  await removeAgentArtifacts(m, ['winprov.lock', 'image-baseline.json']);
  assert.deepEqual((await readdir(m.stateDirectory)).sort(), ['image-baseline.json', 'winprov.lock']);
});

test('WindowsPlatform lists and removes them in Node, from its constructor paths, without starting PowerShell', async (t) => {
  const m = await machine(t);
  const azureData = join(m.root, 'AzureData');
  await provisioned(m.stateDirectory, azureData);
  const runner = new FakeRunner(() => ({ error: { message: 'no request expected' } }));
  const platform = new WindowsPlatform({ runner, programData: m.programData, systemDrive: m.systemDrive });
  const listed = await platform.listAgentArtifacts();
  assert.ok(listed.ours.includes(join(m.stateDirectory, 'state.json')) && listed.ours.includes(join(azureData, 'CustomData.bin')));
  assert.deepEqual(await platform.removeAgentArtifacts(), listed);
  assert.deepEqual(await platform.listAgentArtifacts(), { ours: [], others: [] });
  await platform.close();
  assert.equal(runner.spawns.length, 0);
});
