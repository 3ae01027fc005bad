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
  const config = loadConfig({ ...base, argv: [], env: { SystemRoot: 'D:\\Win', SystemDrive: 'D:', ProgramData: 'D:\\PD' } });
  assert.deepEqual(config.windows, { systemRoot: 'D:\\Win', systemDrive: 'D:', programData: 'D:\\PD' });
});
