import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AGENT_RUNTIME_FLAGS, AGENT_START_FLAGS, bundle } from '../../build/bundle.ts';
import { CODE_CACHE_GLOBAL, CODE_CACHE_MAGIC, loaderSourceSha256, loaderStartFlags, programFileOf, programMismatch, programStamp, readCache, wrapInLoader } from '../../build/code-cache-loader.ts';
import { provisionOnce as provisionWith, tamper } from '../../build/code-cache-check.ts';
import { preloadFor, type TransportKeyStart } from '../../build/loader-command-line.ts';
import { MAGIC, encodeCodeCache } from '../../src/code-cache.ts';
import { ARG_OPTIONS, loadConfig } from '../../src/config.ts';
import { LOADER_KEY_GLOBAL, MIN_PROCESSORS_FOR_EARLY_KEY, TRANSPORT_KEY_OPTIONS } from '../../src/crypto/transport-key.ts';
import { FabricSimulator } from '../../src/simulator/index.ts';
import { runBounded } from '../../src/cli/code-cache-warmup.ts';
import { installTemplates } from '../helpers/install-templates.ts';

const run = promisify(execFile);
const SHA = 'a'.repeat(64);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

test('the loader and the program agree on the cache format and the global they share', () => {
  assert.equal(MAGIC, CODE_CACHE_MAGIC);
  assert.ok(readFileSync(new URL('../../src/code-cache.ts', import.meta.url), 'utf8').includes(`Symbol.for('${CODE_CACHE_GLOBAL}')`));
});

test('the loader names its start flags, loads its built-ins, then sets the flags V8 hashes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'winprov-loader-flags-'));
  try {
    // The program's own text has a line like the loader's: it is in the program file, not in the loader.
    const program = 'const state = globalThis[Symbol.for("winprov.codeCache")]; const t = `\n  const START_FLAGS = ["--bogus"];\n`; process.stdout.write(JSON.stringify({ flags: state.startFlags, tag: require("node:v8").cachedDataVersionTag(), dgram: process.moduleLoadList.includes("NativeModule dgram"), t }));';
    const wrapped = wrapInLoader(program, { startFlags: ['--single-threaded-gc'], runtimeFlags: ['--no-opt'], preload: ['node:dgram'] });
    assert.ok(!wrapped.loader.includes('--bogus') && wrapped.program.includes('--bogus'));
    assert.deepEqual(loaderStartFlags(wrapped.loader), ['--single-threaded-gc']);
    assert.deepEqual(loaderStartFlags('no loader here'), []);
    assert.equal(loaderSourceSha256(wrapped.loader), wrapped.sourceSha256);
    const file = join(dir, 'loader.cjs');
    writeFileSync(file, wrapped.loader);
    writeFileSync(programFileOf(file), wrapped.program, 'latin1');
    const run = async (flags: string[] = []) => JSON.parse((await promisify(execFile)(process.execPath, [...flags, file], { env: { ...process.env, WINPROV_CODE_CACHE: 'off' } })).stdout) as { flags: string[]; tag: number; dgram: boolean };
    const bare = await run();
    assert.deepEqual(bare.flags, ['--single-threaded-gc'], 'the program sees its build\'s start flags (this-program.ts passes them on)');
    assert.equal(bare.dgram, true, 'the loader loaded its PRELOAD list (test/build/preload.test.ts checks that it did so before --no-opt)');
    // V8's cache tag hashes its flags: the loader changed them (the warm run's cache is made the same way),
    // and the start flag changed nothing V8 hashes.
    const plainTag = Number(execFileSync(process.execPath, ['-p', 'require("node:v8").cachedDataVersionTag()'], { encoding: 'utf8' }));
    assert.notEqual(bare.tag, plainTag);
    assert.equal((await run(['--single-threaded-gc'])).tag, bare.tag);
    assert.equal((await run(['--no-opt'])).dgram, false, 'with --no-opt already set there is nothing to load early for');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the loader starts the transport key for a provision run, as config.ts reads the command line, and only with the processors asked for', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'winprov-loader-key-'));
  try {
    const program = `const key = globalThis[Symbol.for(${JSON.stringify(LOADER_KEY_GLOBAL)})];
      if (key === undefined) process.stdout.write('none');
      else key.then((k) => process.stdout.write(String(require('node:crypto').createPrivateKey(k.privateKey).asymmetricKeyDetails.modulusLength)));`;
    const loaderFor = (minProcessors: number): string => {
      const settings: TransportKeyStart = { keyOptions: TRANSPORT_KEY_OPTIONS, minProcessors, global: LOADER_KEY_GLOBAL };
      const wrapped = wrapInLoader(program, { argOptions: ARG_OPTIONS, transportKey: settings });
      const file = join(dir, `loader-${minProcessors}.cjs`);
      writeFileSync(file, wrapped.loader);
      writeFileSync(programFileOf(file), wrapped.program, 'latin1');
      return file;
    };
    const any = loaderFor(1);
    const started = async (file: string, argv: string[]) => (await run(process.execPath, [file, ...argv], { env: { ...process.env, WINPROV_CODE_CACHE: 'off' } })).stdout;
    const lines: string[][] = [[], ['provision'], ['--platform', 'sandbox', 'provision'], ['-v', '--deadline', '5m'], ['--version', 'provision'],
      ['status'], ['--help'], ['provision', '--help'], ['--version'], ['-q', 'collect-logs'], ['simulate', '--port', '8080']];
    for (const argv of lines) {
      const isProvision = loadConfig({ argv, env: {} }).command === 'provision';
      assert.equal(await started(any, argv), isProvision ? '2048' : 'none', argv.join(' ') || '(no arguments)');
    }
    // The processors a machine has: none asks for a million.
    assert.equal(await started(loaderFor(1_000_000), ['provision']), 'none');
    assert.equal(MIN_PROCESSORS_FOR_EARLY_KEY, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the loader loads the built-ins of the platform the command line names, and every platform\'s when it names none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'winprov-loader-platform-'));
  try {
    const program = 'process.stdout.write(JSON.stringify(["dgram", "child_process"].filter((name) => process.moduleLoadList.includes("NativeModule " + name))));';
    const wrapped = wrapInLoader(program, { runtimeFlags: ['--no-opt'], argOptions: ARG_OPTIONS, preload: { common: ['node:dgram'], platforms: { windows: ['node:child_process'], sandbox: [] } } });
    const file = join(dir, 'loader.cjs');
    writeFileSync(file, wrapped.loader);
    writeFileSync(programFileOf(file), wrapped.program, 'latin1');
    const loaded = async (argv: string[]) => JSON.parse((await run(process.execPath, [file, ...argv], { env: { ...process.env, WINPROV_CODE_CACHE: 'off' } })).stdout) as string[];
    assert.deepEqual(await loaded(['provision', '--platform', 'sandbox']), ['dgram']);
    assert.deepEqual(await loaded(['--platform=sandbox', 'status']), ['dgram']);
    assert.deepEqual(await loaded(['provision', '--platform', 'windows']), ['dgram', 'child_process']);
    // Named by the configuration file or the environment, or "auto": known only to the program.
    assert.deepEqual(await loaded(['provision']), ['dgram', 'child_process']);
    assert.deepEqual(await loaded(['provision', '--platform', 'auto']), ['dgram', 'child_process']);
    // A command line config.ts will refuse loads every platform's, and the program says what is wrong.
    assert.deepEqual(await loaded(['provision', '--platform']), ['dgram', 'child_process']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('preloadFor: every run\'s built-ins once, then the named platform\'s, or all of them', () => {
  const lists = { common: ['node:a', 'node:b'], platforms: { windows: ['node:c', 'node:a'], sandbox: ['node:d'] } };
  const line = (values: Record<string, unknown>) => ({ values, positionals: ['provision'] });
  assert.deepEqual(preloadFor(lists, line({ platform: 'sandbox' })), ['node:a', 'node:b', 'node:d']);
  assert.deepEqual(preloadFor(lists, line({ platform: 'windows' })), ['node:a', 'node:b', 'node:c']);
  // config.ts takes the platform in any case.
  assert.deepEqual(preloadFor(lists, line({ platform: 'Sandbox' })), ['node:a', 'node:b', 'node:d']);
  assert.deepEqual(preloadFor(lists, line({})), ['node:a', 'node:b', 'node:c', 'node:d']);
  assert.deepEqual(preloadFor(lists, line({ platform: 'toString' })), ['node:a', 'node:b', 'node:c', 'node:d']);
  assert.deepEqual(preloadFor(lists, line({ platform: true })), ['node:a', 'node:b', 'node:c', 'node:d']);
  assert.deepEqual(preloadFor(lists, undefined), ['node:a', 'node:b', 'node:c', 'node:d']);
});

test('the agent\'s start flags leave V8\'s code cache hash alone, so Node\'s built-ins keep their cache', () => {
  const tag = (flags: readonly string[]) => execFileSync(process.execPath, [...flags, '-p', 'require("node:v8").cachedDataVersionTag()'], { encoding: 'utf8' }).trim();
  const plain = tag([]);
  assert.equal(tag(AGENT_START_FLAGS), plain, `one of ${AGENT_START_FLAGS.join(' ')} is hashed: every run would compile Node's built-ins from source`);
  // The check can fail: a flag V8 hashes changes the tag (so the loader sets these after its built-ins).
  for (const flag of [...AGENT_RUNTIME_FLAGS, '--single-threaded']) assert.notEqual(tag([flag]), plain, flag);
});

test('a cache is used only for the program text, Node and architecture it names, and only when whole', () => {
  const data = Buffer.from('v8 data');
  const state = { status: '', detail: '' };
  assert.deepEqual(readCache(encodeCodeCache(data, SHA), SHA, state, sha256), data);
  const refused = (file: Buffer, why: RegExp) => {
    const s = { status: '', detail: '' };
    assert.equal(readCache(file, SHA, s, sha256), undefined);
    assert.equal(s.status, 'mismatch');
    assert.match(s.detail, why);
  };
  refused(encodeCodeCache(data, 'b'.repeat(64)), /another build/);
  refused(encodeCodeCache(data, SHA).subarray(0, -1), /truncated/);
  const flipped = encodeCodeCache(data, SHA);
  flipped[flipped.length - 1]! ^= 1;
  refused(flipped, /checksum/);
  refused(Buffer.from('MZ\x90\x00 not a cache'), /not a winprov code cache/);
  // Empty is the MSI's placeholder (build/msi/winprov.wxs.in): no cache yet.
  const empty = { status: '', detail: '' };
  assert.equal(readCache(Buffer.alloc(0), SHA, empty, sha256), undefined);
  assert.deepEqual(empty, { status: 'absent', detail: 'empty' });
  const other = encodeCodeCache(data, SHA).toString('latin1').replace(`"node":"${process.version}"`, '"node":"v1.0.0"');
  refused(Buffer.from(other, 'latin1'), /made by node v1\.0\.0/);
});

test('a program file is its loader\'s only when both its stamps name the build and its length is the build\'s', () => {
  const a = wrapInLoader('process.stdout.write("a");');
  const b = wrapInLoader('process.stdout.write("b");');
  assert.equal(a.program.length, b.program.length, 'two builds of one length: V8 alone would take either text for the other\'s cache');
  const mismatch = (text: string) => programMismatch(text, a.sourceSha256, a.program.length);
  assert.equal(mismatch(a.program), '');
  assert.ok(a.program.startsWith(programStamp(a.sourceSha256)) && a.program.endsWith(`${programStamp(a.sourceSha256)}\n`));
  assert.match(mismatch(b.program), /^its stamp names another build \(/);
  assert.match(mismatch(a.program.slice(0, -10)), /does not end with its stamp/);
  assert.match(mismatch(a.program.slice(0, 50)), /does not start with a winprov program stamp/);
  assert.match(mismatch(''), /does not start with a winprov program stamp/);
  // Two builds mixed: this build's start, the other's end.
  const half = Math.floor(a.program.length / 2);
  assert.match(mismatch(a.program.slice(0, half) + b.program.slice(half)), /does not end with its stamp/);
  // Both ends of this build around more (or less) text.
  assert.match(mismatch(a.program.replace('write(', 'write( ')), /is \d+ bytes, this build's is \d+/);
});

test('a program that is not ASCII stops the build (the loader reads it as latin1)', () => {
  assert.throws(() => wrapInLoader('const s = "caf\u00e9";'), /the program is not ASCII: U\+00E9 at offset 14 .*esbuild must write ASCII/);
  assert.doesNotThrow(() => wrapInLoader('const s = "caf\\u00e9";'));
});

// The built agent, a cache made by its warm run, and runs with that cache intact, corrupt and refused.
let dir: string;
let agent: string;
let simulator: FabricSimulator;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'winprov-cache-'));
  agent = join(dir, 'winprov.cjs');
  await bundle({ outfile: agent, commit: 'cache' });
  simulator = new FabricSimulator({ scenario: { certificateCount: 1 } });
  await simulator.start();
});

after(async () => {
  await simulator?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const provisionOnce = (env: Record<string, string> = {}) => provisionWith({ command: process.execPath, args: [agent] }, simulator, dir, env);

test('a missing, used, corrupt or refused cache changes nothing but speed: every run reaches Ready', async () => {
  const cache = `${agent}.codecache`;
  assert.deepEqual(await provisionOnce(), { code: 0, cacheLine: `code cache: none at ${cache} (prepare-image makes it)` });

  // What prepare-image's warm run does (src/cli/code-cache-warmup.ts).
  assert.equal((await provisionOnce({ WINPROV_CODE_CACHE_WARM: '1' })).code, 0);
  assert.ok(existsSync(cache));
  const good = readFileSync(cache);
  assert.deepEqual(await provisionOnce(), { code: 0, cacheLine: `code cache: used ${cache}` });

  // Bytes changed on disk: our checksum catches them before V8 sees them (V8 trusts cache bytes).
  writeFileSync(cache, tamper(good, (data) => data.fill(0x5a, 1000, 3000), false));
  assert.deepEqual(await provisionOnce(), { code: 0, cacheLine: `code cache: ${cache} not used, mismatch: its checksum does not match` });

  // Data V8 itself refuses (its header names another V8, other flags or another source).
  writeFileSync(cache, tamper(good, (data) => data.fill(0xff, 0, 64), true));
  assert.match((await provisionOnce()).cacheLine, /not used, rejected: V8 rejected it/);

  writeFileSync(cache, good.subarray(0, good.length - 100));
  assert.match((await provisionOnce()).cacheLine, /not used, mismatch: truncated/);

  // Not a regular file (a FIFO would block the read forever), or far larger than a cache: not read at all.
  const odd = mkdtempSync(join(dir, 'odd-'));
  const fifo = join(odd, 'fifo.codecache');
  execFileSync('mkfifo', [fifo]);
  for (const path of [odd, fifo]) {
    assert.deepEqual(await provisionOnce({ WINPROV_CODE_CACHE: path }), { code: 0, cacheLine: `code cache: ${path} not used, unreadable: not a regular file` });
  }
  const huge = join(odd, 'huge.codecache');
  writeFileSync(huge, '');
  truncateSync(huge, 65 * 1024 * 1024);
  assert.deepEqual(await provisionOnce({ WINPROV_CODE_CACHE: huge }), { code: 0, cacheLine: `code cache: ${huge} not used, unreadable: larger than 64 MiB` });

  writeFileSync(cache, good);
  assert.deepEqual(await provisionOnce({ WINPROV_CODE_CACHE: 'off' }), { code: 0, cacheLine: 'code cache: off (WINPROV_CODE_CACHE=off)' });
  const elsewhere = join(dir, 'elsewhere.codecache');
  cpSync(cache, elsewhere);
  assert.deepEqual(await provisionOnce({ WINPROV_CODE_CACHE: elsewhere }), { code: 0, cacheLine: `code cache: used ${elsewhere}` });
});

test('the bundle is a small loader and its program file, and runs from any folder with both', async () => {
  assert.deepEqual(readdirSync(dir).filter((name) => name.startsWith('winprov.cjs') && !name.endsWith('.codecache')).sort(), ['winprov.cjs', 'winprov.cjs.program']);
  const loader = readFileSync(agent, 'latin1');
  const program = readFileSync(programFileOf(agent), 'latin1');
  assert.ok(loader.length < 20_000, `the loader is ${loader.length} bytes: the program's text is back in it`);
  assert.ok(program.length > 1_000_000 && program.includes('WINPROV_CODE_CACHE_WARM'));
  assert.equal(programMismatch(program, loaderSourceSha256(loader)!, program.length), '');
  // Another folder, another name: the program file goes with the loader's name.
  const moved = join(mkdtempSync(join(dir, 'moved-')), 'renamed.cjs');
  cpSync(agent, moved);
  cpSync(programFileOf(agent), programFileOf(moved));
  const { stdout } = await run(process.execPath, [moved, '--version']);
  assert.match(stdout, /^winprov \S+ \(node v\d+\.\d+\.\d+, commit cache\)\n$/);
});

test('the loader refuses a missing program file, one of another build and a cut one, with its cache beside it', async () => {
  // Another build of exactly the same length (only its commit differs): V8 checks a cache against the
  // source's length only, so without the loader's own check this cache would be trusted for that text.
  const other = join(dir, 'other', 'winprov.cjs');
  await bundle({ outfile: other, commit: 'other' });
  assert.equal(readFileSync(programFileOf(other)).length, readFileSync(programFileOf(agent)).length);
  const cache = `${agent}.codecache`;
  if (!existsSync(cache)) assert.equal((await provisionOnce({ WINPROV_CODE_CACHE_WARM: '1' })).code, 0);

  const place = join(mkdtempSync(join(dir, 'mixed-')), 'winprov.cjs');
  cpSync(agent, place);
  cpSync(cache, `${place}.codecache`);
  const refused = async (what: string, why: RegExp, env: NodeJS.ProcessEnv = process.env) => {
    const result = await run(process.execPath, [place, '--version'], { env }).then(() => undefined, (err: { code: number; stdout: string; stderr: string }) => err);
    assert.ok(result !== undefined, `${what}: the loader ran the program`);
    assert.equal(result.code, 1, `${what}: ${result.stderr}`);
    assert.equal(result.stdout, '', what);
    assert.match(result.stderr, why, what);
    assert.match(result.stderr, /rebuild with node build\/bundle\.ts/, what);
    assert.doesNotMatch(result.stderr, /\n\s+at /, `${what}: one line, no stack trace`);
  };
  const escaped = (path: string) => path.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await refused('no program file', new RegExp(`^winprov: ${escaped(place)} cannot read its program, ${escaped(programFileOf(place))} \\(ENOENT\\)`));
  cpSync(programFileOf(other), programFileOf(place));
  await refused('another build\'s program', new RegExp(`^winprov: ${escaped(programFileOf(place))} is not the program of ${escaped(place)}: its stamp names another build`));
  const good = readFileSync(programFileOf(agent));
  writeFileSync(programFileOf(place), good.subarray(0, good.length - 4096));
  await refused('a cut program file', /is not the program of .*: it does not end with its stamp/);
  const half = Math.floor(good.length / 2);
  writeFileSync(programFileOf(place), Buffer.concat([good.subarray(0, half), readFileSync(programFileOf(other)).subarray(half)]));
  await refused('two builds mixed', /is not the program of .*: it does not end with its stamp/);
  // Damaged in the middle, same length and stamps: compiled without a cache, it does not compile.
  const damaged = Buffer.from(good);
  damaged[damaged.indexOf('function(', half) + 8] = 0x29;
  writeFileSync(programFileOf(place), damaged);
  await refused('a damaged program', /^winprov: .* does not compile \(Unexpected token/, { ...process.env, WINPROV_CODE_CACHE: 'off' });
  // And the same folder with this build's program provisions, with the cache.
  cpSync(programFileOf(agent), programFileOf(place));
  assert.deepEqual(await provisionWith({ command: process.execPath, args: [place] }, simulator, dir, {}), { code: 0, cacheLine: `code cache: used ${place}.codecache` });
});

test('prepare-image writes the cache beside the executable after a warm run that leaves nothing behind', async () => {
  const sandbox = join(dir, 'image');
  await installTemplates(join(sandbox, 'ProgramFiles', 'winprov'));
  const scratch = mkdtempSync(join(dir, 'tmp-'));
  const cache = join(dir, 'image.codecache');
  const env = { ...process.env, TMPDIR: scratch, TMP: scratch, TEMP: scratch, WINPROV_CODE_CACHE: cache };
  const args = [agent, 'prepare-image', '--platform', 'sandbox', '--sandbox', sandbox, '--force'];

  const dry = await run(process.execPath, [...args, '--dry-run'], { env });
  assert.match(dry.stdout, new RegExp(`^would write the code cache for this executable at ${cache.replaceAll('.', '\\.')} \\(after a warm run`, 'm'));
  assert.equal(existsSync(cache), false);

  const real = await run(process.execPath, args, { env });
  assert.match(real.stdout, /^write the code cache for this executable at .* \(\d+ KiB\)$/m);
  assert.equal(real.stderr, '');
  assert.ok(existsSync(cache));
  assert.deepEqual(readdirSync(scratch), [], 'the warm run removed its folder');
});

test('a warm run that does not end is stopped and said, not waited for', async () => {
  const started = Date.now();
  await assert.rejects(runBounded(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], process.env, 300), /the warm run did not end within 0\.3 s and was stopped/);
  assert.ok(Date.now() - started < 5_000);
  assert.deepEqual(await runBounded(process.execPath, ['-e', 'console.log("done"); process.exitCode = 3'], process.env, 10_000), { code: 3, output: 'done\n' });
});
