import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundle } from '../../build/bundle.ts';
import { provisionOnce } from '../../build/code-cache-check.ts';
import { FabricSimulator } from '../../src/simulator/index.ts';

// The loader loads the built-ins a provision run needs before it sets --no-opt, which V8 hashes: one
// loaded after it is compiled from source instead of from Node's code cache (build/code-cache-loader.ts).
// A built-in that a new module of the provision path brings, and that build/module-graph.ts does not
// find, would cost every run its compile time without failing anything else; this run finds it.
test('every Node built-in a provision run loads is one the loader loads before it changes V8\'s flags', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'winprov-preload-'));
  const simulator = new FabricSimulator({ scenario: { certificateCount: 1, provisionGuestAgent: true } });
  try {
    const agent = join(dir, 'winprov.cjs');
    await bundle({ outfile: agent, commit: 'preload' });
    const preload = JSON.parse(/\n  const PRELOAD = (\{[^\n]*\});\n/.exec(readFileSync(agent, 'latin1'))![1]!) as { common: string[]; platforms: Record<string, string[]> };
    assert.ok(preload.common.includes('node:net') && preload.common.includes('node:crypto'), preload.common.join(' '));
    assert.deepEqual(Object.keys(preload.platforms).sort(), ['sandbox', 'windows']);
    // Loaded before the loader: notes where Node's module list stands when the loader changes V8's flags,
    // and at exit writes the public built-ins loaded after that (moduleLoadList names them "NativeModule x").
    const recorder = join(dir, 'record-builtins.cjs');
    const record = join(dir, 'builtins.json');
    writeFileSync(recorder, `
const v8 = require('node:v8');
const set = v8.setFlagsFromString;
let at;
v8.setFlagsFromString = (flags) => { at ??= process.moduleLoadList.length; return set(flags); };
process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(at === undefined ? null : process.moduleLoadList.slice(at))));
`);
    await simulator.start();
    const outcome = await provisionOnce({ command: process.execPath, args: ['--require', recorder, agent] }, simulator, dir, { WINPROV_CODE_CACHE: 'off' });
    assert.equal(outcome.code, 0);
    const after = JSON.parse(readFileSync(record, 'utf8')) as string[] | null;
    assert.ok(after !== null, 'the loader set its run-time flags');
    // Node's own internals that load lazily (internal/...) cannot be named to the loader; every public one can.
    const late = after.filter((entry) => entry.startsWith('NativeModule ') && !entry.startsWith('NativeModule internal/')).map((entry) => `node:${entry.slice('NativeModule '.length)}`);
    assert.deepEqual(late, [], `built-ins the run loaded after --no-opt, compiled from source: add them to the provision path's modules (build/module-graph.ts)`);
  } finally {
    await simulator.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});

