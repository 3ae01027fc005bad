import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { checkExecutableLocation } from '../../src/cli/image-inputs.ts';
import { WINPROV_EXE } from '../../src/platform/windows/setup-complete.ts';
import { clearOnlySetupComplete } from '../../src/platform/windows/setup-complete.ts';
import { firstBootOnlySetupComplete } from '../../src/first-boot/image-setting.ts';
import { WindowsPlatform } from '../../src/platform/windows/windows-platform.ts';
import { FakeRunner } from '../platform/windows/fake-runner.ts';

test('winprov.exe where the templates start it passes, compared as Windows compares paths', () => {
  for (const [running, programFiles] of [
    ['C:\\Program Files\\winprov\\winprov.exe', 'C:\\Program Files'],
    ['c:\\PROGRAM FILES\\WinProv\\WINPROV.EXE', 'C:\\Program Files\\'],
    ['D:\\Apps\\winprov\\winprov.exe', 'D:\\Apps'],
  ]) assert.doesNotThrow(() => checkExecutableLocation({ running: running!, programFiles: programFiles! }), running);
});

test('winprov.exe installed elsewhere (the MSI\'s INSTALLDIR) is refused, naming both paths', () => {
  assert.throws(() => checkExecutableLocation({ running: 'D:\\Tools\\winprov\\winprov.exe', programFiles: 'C:\\Program Files' }), (err: Error & { code?: string; exitCode?: number }) => {
    assert.equal(err.code, 'PLATFORM_COMMAND_FAILED');
    assert.equal(err.exitCode, 5);
    assert.match(err.message, /this winprov runs from D:\\Tools\\winprov\\winprov\.exe, but the answer file and SetupComplete\.cmd start %ProgramFiles%\\winprov\\winprov\.exe \(C:\\Program Files\\winprov\\winprov\.exe\): no VM made from this image would run winprov/);
    return true;
  });
});

test('the path checked is the one every template and SetupComplete.cmd names', async () => {
  for (const name of ['unattend.xml', 'unattend-deferred.xml', 'SetupComplete.cmd']) {
    assert.ok((await readFile(new URL(`../../unattend/${name}`, import.meta.url), 'utf8')).includes(`"${WINPROV_EXE}"`), name);
  }
  for (const script of [clearOnlySetupComplete(), firstBootOnlySetupComplete()]) assert.ok(script.includes(`"${WINPROV_EXE}"`));
});

test('the Windows platform reports the running executable and %ProgramFiles% it was given', async () => {
  const runner = new FakeRunner(() => ({ error: { message: 'no request expected' } }));
  const platform = new WindowsPlatform({ runner, installDirectory: 'D:\\Tools\\winprov', executable: 'D:\\Tools\\winprov\\winprov.exe', programFiles: 'C:\\Program Files' });
  assert.deepEqual(await platform.readExecutableLocation(), { running: 'D:\\Tools\\winprov\\winprov.exe', programFiles: 'C:\\Program Files' });
  await platform.close();
  assert.equal(runner.spawns.length, 0);
});
