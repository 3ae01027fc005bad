import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installAnswerFile } from '../../../src/platform/windows/unattend-install.ts';
import { WindowsPlatform } from '../../../src/platform/windows/windows-platform.ts';
import { FakeRunner } from './fake-runner.ts';

const OURS = '<unattend xmlns="urn:schemas-microsoft-com:unattend"><!-- winprov --></unattend>\r\n';
const OTHER_MODE = '<unattend xmlns="urn:schemas-microsoft-com:unattend"><!-- winprov, deferred --></unattend>\r\n';

async function folder(t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'winprov-unattend-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

test('no answer file, or winprov\'s of either mode: written without a backup', async (t) => {
  const dir = await folder(t);
  const path = join(dir, 'unattend.xml');
  assert.deepEqual(await installAnswerFile(path, OURS, [OTHER_MODE]), { path, backup: undefined });
  await writeFile(path, OTHER_MODE);
  assert.deepEqual(await installAnswerFile(path, OURS, [OTHER_MODE]), { path, backup: undefined });
  assert.equal(await readFile(path, 'utf8'), OURS);
  assert.deepEqual(await readdir(dir), ['unattend.xml']);
});

test('another answer file is kept byte for byte before it is replaced; a dry run only names the backup', async (t) => {
  const dir = await folder(t);
  const path = join(dir, 'unattend.xml');
  const theirs = Buffer.from('\ufeff<unattend xmlns="urn:schemas-microsoft-com:unattend"><!-- the image builder\'s --></unattend>', 'utf8');
  await writeFile(path, theirs);
  const planned = await installAnswerFile(path, OURS, [OTHER_MODE], true);
  assert.equal(planned.backup?.path, `${path}.winprov-backup`);
  assert.deepEqual(await readdir(dir), ['unattend.xml'], 'the dry run wrote nothing');
  assert.deepEqual(await readFile(path), theirs);
  const done = await installAnswerFile(path, OURS, [OTHER_MODE]);
  assert.deepEqual(done.backup, planned.backup);
  assert.deepEqual(await readFile(`${path}.winprov-backup`), theirs);
  assert.equal(await readFile(path, 'utf8'), OURS);
});

test('WindowsPlatform installs it under its system root in Node, without starting PowerShell', async (t) => {
  const systemRoot = await folder(t);
  await mkdir(join(systemRoot, 'Panther', 'Unattend'), { recursive: true });
  await writeFile(join(systemRoot, 'Panther', 'Unattend', 'unattend.xml'), 'not winprov\'s');
  const runner = new FakeRunner(() => ({ error: { message: 'no request expected' } }));
  const platform = new WindowsPlatform({ runner, systemRoot });
  const result = await platform.installUnattend(OURS, { replaceable: [OTHER_MODE] });
  assert.equal(result.path, join(systemRoot, 'Panther', 'Unattend', 'unattend.xml'));
  assert.equal(result.backup?.text, 'not winprov\'s');
  await platform.close();
  assert.equal(runner.spawns.length, 0);
});
