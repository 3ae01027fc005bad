import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundle } from '../../build/bundle.ts';
import { ROOT } from '../../build/project.ts';
import { NOT_ON_PROVISION_PATH, PLATFORM_PATHS, PROVISION_PATH, importChain, provisionBuiltins, staticClosure, unwanted } from '../../build/module-graph.ts';

test('provision evaluates neither node-forge nor fflate nor execa nor the simulator until it needs them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'winprov-graph-'));
  try {
    const { metafile } = await bundle({ outfile: join(dir, 'winprov.cjs'), commit: 'graph' });
    for (const start of [...PROVISION_PATH, ...PLATFORM_PATHS.windows, ...PLATFORM_PATHS.sandbox]) {
      assert.ok(start in metafile.inputs, `${start} is in the bundle`);
      assert.deepEqual(unwanted(staticClosure(metafile, start), NOT_ON_PROVISION_PATH), [], `from ${start}`);
    }
    // ... while the certificate step and collect-logs do bring them, so the check above looks at real paths.
    assert.ok(staticClosure(metafile, 'src/crypto/certificate-file.ts').has('build/forge-subset.cjs'));
    assert.ok([...staticClosure(metafile, 'src/cli/collect-logs.ts').keys()].some((m) => m.includes('node_modules/fflate/')));
    assert.ok([...staticClosure(metafile, 'src/platform/windows/execa-runner.ts').keys()].some((m) => m.includes('node_modules/execa/')));
    // The loader loads these before it sets --no-opt (build/code-cache-loader.ts): the ones the run needs
    // (the fabric's HTTP, the key, the DHCP check, the PowerShell session), and none only other commands use.
    const { common, platforms } = provisionBuiltins(metafile);
    for (const name of ['node:net', 'node:crypto', 'node:dgram', 'node:fs/promises']) assert.ok(common.includes(name), name);
    // The PowerShell session is a child process; the sandbox starts none in a provision run.
    assert.deepEqual(platforms.windows, ['node:child_process']);
    assert.deepEqual(platforms.sandbox, []);
    const builtins = [...common, ...platforms.windows, ...platforms.sandbox];
    assert.ok(builtins.every((name) => name.startsWith('node:')), builtins.join(' '));
    assert.ok(!builtins.includes('node:zlib') && !builtins.includes('node:https') && !builtins.includes('node:http') && !builtins.includes('node:perf_hooks'), builtins.join(' '));
    // The certificate step carries forge's subset only: not its index, TLS or SSH (the simulator keeps them).
    assert.deepEqual(unwanted(staticClosure(metafile, 'src/crypto/certificate-file.ts'), /node-forge\/lib\/(index|tls|ssh|ed25519)\.js$/), []);
    // Node loads perf_hooks on the first use of the global \`performance\`, which no import names: on the
    // provision path that would come after the loader changed V8's flags, compiled from source
    // (src/util/monotonic.ts). Every module a provision run evaluates, the certificate step's included.
    const provisionModules = new Set([...PROVISION_PATH, ...PLATFORM_PATHS.windows, ...PLATFORM_PATHS.sandbox, 'src/crypto/certificate-file.ts', 'src/crypto/pkcs12.ts']
      .flatMap((start) => [...staticClosure(metafile, start).keys()]));
    // Plugin modules ("namespace:path") are generated text, not files.
    const usesPerformance = [...provisionModules].filter((module) => !module.includes(':')).filter((module) => /(^|[^.\w])performance\s*\./.test(readFileSync(join(ROOT, module), 'utf8')));
    assert.deepEqual(usesPerformance, []);
    // The check can fail: the simulator, which provision never evaluates, does use it.
    assert.ok(/(^|[^.\w])performance\s*\./.test(readFileSync(join(ROOT, 'src/simulator/server.ts'), 'utf8')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('importChain names the modules that bring one in', () => {
  const closure = new Map([['a', ''], ['b', 'a'], ['c', 'b']]);
  assert.equal(importChain(closure, 'c'), 'a -> b -> c');
  assert.deepEqual(unwanted(closure, /^c$/), ['a -> b -> c']);
});
