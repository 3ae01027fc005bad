import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config.ts';
import { ConfigError, UsageError } from '../src/errors.ts';

const base = { env: {}, readFile: () => { throw Object.assign(new Error('absent'), { code: 'ENOENT' }); } };

test('defaults: provision, auto platform, 20 minute deadline, DHCP repaired', () => {
  const config = loadConfig({ ...base, argv: [] });
  assert.equal(config.command, 'provision');
  assert.equal(config.platform, 'auto');
  assert.equal(config.deadlineMs, 20 * 60_000);
  assert.equal(config.repairDhcp, true);
  assert.equal(config.fallbackAddress, '168.63.129.16');
  assert.ok(Object.isFrozen(config));
});

test('argv beats the environment, which beats the config file', () => {
  const readFile = () => JSON.stringify({ deadline: '5m', platform: 'sandbox', sandbox: '/tmp/from-file', serial: 'COM1' });
  const env = { WINPROV_DEADLINE: '7m', WINPROV_PLATFORM: 'windows' };
  const config = loadConfig({ argv: ['--deadline', '90s'], env, readFile, executableDir: '/opt/winprov' });
  assert.equal(config.deadlineMs, 90_000);
  assert.equal(config.platform, 'windows');
  assert.equal(config.sandboxRoot, '/tmp/from-file');
  assert.equal(config.serial, 'COM1');
  assert.deepEqual(config.sources, ['defaults', '/opt/winprov/winprov.json', 'environment', 'command line']);
});

test('an unknown key in winprov.json is an error that names it', () => {
  const readFile = () => JSON.stringify({ deadlin: '5m' });
  assert.throws(() => loadConfig({ argv: [], env: {}, readFile, executableDir: '/x' }), (err: unknown) => err instanceof ConfigError && /deadlin/.test(err.message));
});

test('an unknown option, an unknown command and a bad value are usage or configuration errors', () => {
  assert.throws(() => loadConfig({ ...base, argv: ['--bogus'] }), UsageError);
  assert.throws(() => loadConfig({ ...base, argv: ['frobnicate'] }), (err: unknown) => err instanceof UsageError && /frobnicate/.test(err.message));
  assert.throws(() => loadConfig({ ...base, argv: ['--deadline', 'soon'] }), (err: unknown) => err instanceof ConfigError && /deadline/.test(err.message));
  assert.throws(() => loadConfig({ ...base, argv: ['--fabric', 'https://x/y'] }), (err: unknown) => err instanceof ConfigError && /fabric/.test(err.message));
  assert.throws(() => loadConfig({ ...base, argv: ['--platform', 'linux'] }), ConfigError);
  assert.throws(() => loadConfig({ ...base, argv: ['-v', '-q'] }), (err: unknown) => err instanceof UsageError && /--verbose and --quiet/.test(err.message));
});

test('the fallback address must be a host\'s IPv4 address, refused at once as discovery would refuse it after DHCP', () => {
  for (const [address, why] of [['010.0.0.1', /dotted-quad/], ['0.0.0.0', /this network/], ['255.255.255.255', /broadcast/], ['224.0.0.9', /multicast/], ['10.0.0', /dotted-quad/]] as const) {
    assert.throws(() => loadConfig({ ...base, argv: ['--fallback-address', address] }), (err: unknown) => err instanceof ConfigError && /fallbackAddress/.test(err.message) && why.test(err.message), address);
  }
  assert.equal(loadConfig({ ...base, argv: ['--fallback-address', '10.1.2.3'] }).fallbackAddress, '10.1.2.3');
});

test('durations accept seconds, minutes, hours and milliseconds', () => {
  for (const [text, ms] of [['45', 45_000], ['45s', 45_000], ['2m', 120_000], ['1h', 3_600_000], ['1500ms', 1_500]] as const) {
    assert.equal(loadConfig({ ...base, argv: ['--deadline', text] }).deadlineMs, ms, text);
  }
});

test('--no-repair-dhcp, --defer-ready and the fabric URL are normalized', () => {
  const config = loadConfig({ ...base, argv: ['provision', '--no-repair-dhcp', '--defer-ready', '--fabric', 'http://127.0.0.1:8080/'] });
  assert.equal(config.repairDhcp, false);
  assert.equal(config.phase, 'apply');
  assert.equal(config.fabricUrl, 'http://127.0.0.1:8080');
});

test('Windows folders come from the process environment', () => {
  const config = loadConfig({ ...base, argv: [], env: { SystemRoot: 'D:\\Win', SystemDrive: 'D:', ProgramData: 'D:\\PD', ProgramFiles: 'D:\\Apps' } });
  assert.deepEqual(config.windows, { systemRoot: 'D:\\Win', systemDrive: 'D:', programData: 'D:\\PD', programFiles: 'D:\\Apps' });
  assert.equal(loadConfig({ ...base, argv: [], env: {} }).windows.programFiles, 'C:\\Program Files');
});

test('an option the command does not read is a usage error naming the commands that read it, never ignored', () => {
  assert.throws(() => loadConfig({ ...base, argv: ['provision', '--dry-run'] }), (err: unknown) => err instanceof UsageError && /--dry-run does not apply to provision \(it is an option of prepare-image, clear-answer-file, remove-from-image\)/.test(err.reason));
  assert.throws(() => loadConfig({ ...base, argv: ['--check'] }), /--check does not apply to provision/);
  assert.throws(() => loadConfig({ ...base, argv: ['status', '--serial', 'COM1'] }), /--serial does not apply to status/);
  assert.throws(() => loadConfig({ ...base, argv: ['demo', '--fabric', 'http://127.0.0.1:1'] }), /--fabric does not apply to demo/);
  assert.throws(() => loadConfig({ ...base, argv: ['prepare-image', '--record-baseline', '--remote-access-only'] }), /two runs: give one of them/);
  assert.throws(() => loadConfig({ ...base, argv: ['prepare-image', '--build-listener', 'https'] }), /give it with --record-baseline/);
  assert.throws(() => loadConfig({ ...base, argv: ['status', '--json', '--timeline'] }), /with --json, give one of them/);
  // The ones each command reads still pass.
  assert.equal(loadConfig({ ...base, argv: ['prepare-image', '--dry-run'] }).dryRun, true);
  assert.equal(loadConfig({ ...base, argv: ['clear-answer-file', '--dry-run'] }).dryRun, true);
  assert.equal(loadConfig({ ...base, argv: ['remove-from-image', '--dry-run'] }).dryRun, true);
  assert.throws(() => loadConfig({ ...base, argv: ['remove-from-image', '--force'] }), /--force does not apply to remove-from-image/);
  assert.equal(loadConfig({ ...base, argv: ['provision', '--serial', 'COM1', '-v'] }).serial, 'COM1');
});

test('help and the version answer whatever the settings say', () => {
  const broken = () => '{ not json';
  assert.equal(loadConfig({ argv: ['--help'], env: { WINPROV_DEADLINE: 'abc' }, readFile: broken, executableDir: '/opt/winprov' }).command, 'help');
  assert.equal(loadConfig({ argv: ['--version'], env: { WINPROV_DEADLINE: 'abc' }, readFile: broken, executableDir: '/opt/winprov' }).command, 'version');
  assert.throws(() => loadConfig({ argv: ['status'], env: {}, readFile: broken, executableDir: '/opt/winprov' }), /is not valid JSON/);
});

test('winprov.json with a byte-order mark is read; UTF-16 is named; a FIFO, a device or a huge file is never read', async () => {
  assert.equal(loadConfig({ argv: [], env: {}, readFile: () => '\ufeff{"deadline":"5m"}', executableDir: '/opt/winprov' }).deadlineMs, 300_000);
  const utf16 = Buffer.from('\ufeff{"deadline":"5m"}', 'utf16le').toString('utf8');
  assert.throws(() => loadConfig({ argv: [], env: {}, readFile: () => utf16, executableDir: '/opt/winprov' }), /is UTF-16; save it as UTF-8/);
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { execFileSync } = await import('node:child_process');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'winprov-config-'));
  try {
    const fifo = join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    assert.throws(() => loadConfig({ argv: ['status', '--config', fifo], env: {} }), /cannot read .*fifo\.json: not a regular file/);
    assert.throws(() => loadConfig({ argv: ['status', '--config', '/dev/zero'], env: {} }), /cannot read \/dev\/zero: not a regular file/);
    const huge = join(dir, 'huge.json');
    await writeFile(huge, `{"deadline":"5m"${' '.repeat(70_000)}}`);
    assert.throws(() => loadConfig({ argv: ['status', '--config', huge], env: {} }), /cannot read .*huge\.json: 70017 bytes, over 65536/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a fabric or IMDS URL whose host the URL parser would read differently is refused, with port 0 and credentials', () => {
  assert.throws(() => loadConfig({ ...base, argv: ['--fabric', 'http://010.0.0.1'] }), /"010\.0\.0\.1" is read as 8\.0\.0\.1/);
  assert.throws(() => loadConfig({ ...base, argv: ['--fabric', 'http://127.1:80'] }), /"127\.1" is read as 127\.0\.0\.1/);
  assert.throws(() => loadConfig({ ...base, argv: ['--fabric', 'http://127.0.0.1:0'] }), /must name a port from 1 to 65535/);
  assert.throws(() => loadConfig({ ...base, argv: ['--fabric', 'http://:secret@127.0.0.1:8080'] }), /must be a plain http:\/\/host\[:port\] URL/);
  assert.equal(loadConfig({ ...base, argv: ['--fabric', 'http://[::1]:8080/'] }).fabricUrl, 'http://[::1]:8080');
  assert.throws(() => loadConfig({ argv: ['status'], env: {}, readFile: () => '{"imdsAddress":"http://0251.0376.0251.0376"}', executableDir: '/opt/winprov' }), /imdsAddress: must give its host as it is meant/);
});

test('an empty sandbox folder is refused, not taken as the current folder', () => {
  assert.throws(() => loadConfig({ ...base, argv: ['status', '--platform', 'sandbox', '--sandbox', ''] }), /configuration sandbox: must name a folder/);
  assert.equal(loadConfig({ ...base, argv: ['status', '--platform', 'sandbox', '--sandbox', 'vm'] }).sandboxRoot, `${process.cwd()}/vm`);
});
