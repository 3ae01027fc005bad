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
  assert.deepEqual(await listAgentArtifacts(m), []);
  assert.deepEqual(await removeAgentArtifacts(m), []);
  assert.deepEqual(await readdir(m.root), ['ProgramData']);
});

test('the state folder entries, the folder, custom data and an AzureData folder holding only it are listed, then removed', async (t) => {
  const m = await machine(t);
  const azureData = join(m.root, 'AzureData');
  await provisioned(m.stateDirectory, azureData);
  const expected = [
    ...['ovf-env.xml', 'provisioned.json', 'setupcomplete.log', 'state.json', 'winprov.log', 'winprov.log.1'].map((name) => join(m.stateDirectory, name)),
    m.stateDirectory,
    join(azureData, 'CustomData.bin'),
    azureData,
  ];
  assert.deepEqual(await listAgentArtifacts(m), expected);
  assert.ok(await exists(m.stateDirectory), 'listing removes nothing');
  assert.deepEqual(await removeAgentArtifacts(m), expected);
  for (const path of expected) assert.equal(await exists(path), false, path);
  assert.deepEqual(await readdir(m.programData), [], 'ProgramData itself stays');
  assert.deepEqual(await listAgentArtifacts(m), []);
});

test('an AzureData folder that holds other files keeps them and stays; a leftover CustomData.bin.tmp goes', async (t) => {
  const m = await machine(t);
  const azureData = join(m.root, 'AzureData');
  await mkdir(azureData);
  await writeFile(join(azureData, 'CustomData.bin.tmp'), 'half');
  await writeFile(join(azureData, 'notes.txt'), 'not ours');
  assert.deepEqual(await listAgentArtifacts(m), [join(azureData, 'CustomData.bin.tmp')]);
  await removeAgentArtifacts(m);
  assert.deepEqual(await readdir(azureData), ['notes.txt']);
});

test('a state folder with subfolders and temporary files is removed whole', async (t) => {
  const m = await machine(t);
  await mkdir(join(m.stateDirectory, 'old'), { recursive: true });
  await writeFile(join(m.stateDirectory, 'old', 'x.log'), 'x');
  await writeFile(join(m.stateDirectory, 'state.json.1a2b3c.tmp'), '{');
  assert.deepEqual(await removeAgentArtifacts(m), [join(m.stateDirectory, 'old'), join(m.stateDirectory, 'state.json.1a2b3c.tmp'), m.stateDirectory]);
  assert.equal(await exists(m.stateDirectory), false);
});

test('WindowsPlatform lists and removes them in Node, from its constructor paths, without starting PowerShell', async (t) => {
  const m = await machine(t);
  const azureData = join(m.root, 'AzureData');
  await provisioned(m.stateDirectory, azureData);
  const runner = new FakeRunner(() => ({ error: { message: 'no request expected' } }));
  const platform = new WindowsPlatform({ runner, programData: m.programData, systemDrive: m.systemDrive });
  const listed = await platform.listAgentArtifacts();
  assert.ok(listed.includes(m.stateDirectory) && listed.includes(join(azureData, 'CustomData.bin')));
  assert.deepEqual(await platform.removeAgentArtifacts(), listed);
  assert.deepEqual(await platform.listAgentArtifacts(), []);
  await platform.close();
  assert.equal(runner.spawns.length, 0);
});
