import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { runCli } from '../helpers/cli.ts';
import { createPlatform } from '../../src/platform/index.ts';
import { silentLog } from '../../src/util/log.ts';
import { UnsupportedPlatformError, UsageError } from '../../src/errors.ts';

test('--version prints winprov, node and commit; --help lists the commands and exit codes', async () => {
  const version = await runCli(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.out, /^winprov \d+\.\d+\.\d+ \(node v24\.\d+\.\d+, commit \S+\)\n$/);
  const help = await runCli(['--help']);
  assert.match(help.out, /prepare-image/);
  assert.match(help.out, /Exit codes: 0 success/);
});

test('provision on a non-Windows host refuses with a clear message unless the sandbox is named', async () => {
  const { code, err } = await runCli(['provision']);
  assert.equal(code, 2);
  assert.match(err, /winprov provisions Windows; this is linux\. Use --platform sandbox --sandbox DIR/);
  await assert.rejects(createPlatform({ platform: 'windows', sandboxRoot: undefined, windows: { systemRoot: 'C:\\Windows', systemDrive: 'C:', programData: 'C:\\ProgramData', programFiles: 'C:\\Program Files' } }, silentLog(), 'linux'), UnsupportedPlatformError);
  await assert.rejects(createPlatform({ platform: 'sandbox', sandboxRoot: undefined, windows: { systemRoot: '', systemDrive: '', programData: '', programFiles: '' } }, silentLog(), 'linux'), UsageError);
});

test('auto means windows on Windows', async () => {
  const platform = await createPlatform({ platform: 'auto', sandboxRoot: undefined, windows: { systemRoot: 'C:\\Windows', systemDrive: 'C:', programData: '/tmp/winprov-never-created', programFiles: 'C:\\Program Files' } }, silentLog(), 'win32');
  assert.equal(platform.kind, 'windows');
  await platform.close();
});

test('usage errors are one line on stderr with exit code 2, never a stack trace', () => {
  const child = spawnSync(process.execPath, ['src/main.ts', 'provision', '--no-such-option'], { encoding: 'utf8' });
  assert.equal(child.status, 2);
  assert.equal(child.stdout, '');
  assert.match(child.stderr, /^winprov: .*--no-such-option.*\(run "winprov --help"\)\n$/);
  assert.doesNotMatch(child.stderr, /\n\s+at /);
});
