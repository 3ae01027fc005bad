import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCRIPTS_DIR, SCRIPTS_MODULE, bundle } from '../../build/bundle.ts';
import { programFileOf } from '../../build/code-cache-loader.ts';
import { readPackage, versionLineProblem } from '../../build/project.ts';

const LOADER = fileURLToPath(new URL('../fixtures/build/loader/', import.meta.url));
const FIXTURE_SCRIPTS = { module: join(LOADER, 'scripts.ts'), scriptsDir: join(LOADER, 'scripts') };

/** A temporary folder for one test's bundle, removed afterwards. */
async function inTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'winprov-bundle-'));
  try {
    return await work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the agent bundles into a loader and its program file that print its version, the pinned Node and the stamped commit', async () => {
  await inTempDir(async (dir) => {
    const outfile = join(dir, 'winprov.cjs');
    const result = await bundle({ outfile, commit: 'c0ffee1' });
    assert.equal(result.bytes, readFileSync(outfile).byteLength);
    assert.equal(result.programFile, programFileOf(outfile));
    assert.equal(result.programBytes, readFileSync(result.programFile).byteLength);
    assert.deepEqual(readdirSync(dir).sort(), ['winprov.cjs', 'winprov.cjs.program']);
    const output = execFileSync(process.execPath, [outfile, '--version'], { cwd: dir, encoding: 'utf8' });
    const { version, nodeVersion } = readPackage();
    assert.equal(versionLineProblem(output, { version, nodeVersion, commit: 'c0ffee1' }), undefined);
    // runMain ran once: a second run would print the line twice.
    assert.equal(output.split('\n').filter(Boolean).length, 1);
  });
});

test('the bundled PowerShell loader returns the same text for every script as the source loader', { skip: !existsSync(SCRIPTS_MODULE) && 'no src/platform/windows/scripts.ts yet' }, async () => {
  await inTempDir(async (dir) => {
    const names = readdirSync(SCRIPTS_DIR).filter((name) => name.endsWith('.ps1'));
    const entry = join(dir, 'probe.ts');
    writeFileSync(entry, `import { loadScript } from ${JSON.stringify(SCRIPTS_MODULE)};\nprocess.stdout.write(JSON.stringify(${JSON.stringify(names)}.map((n) => loadScript(n))));\n`);
    await bundle({ entry, outfile: join(dir, 'probe.cjs'), commit: 'probe' });
    const bundled = JSON.parse(execFileSync(process.execPath, [join(dir, 'probe.cjs')], { cwd: dir, encoding: 'utf8' })) as string[];
    const { loadScript } = (await import(SCRIPTS_MODULE)) as { loadScript: (name: string) => string };
    assert.ok(names.length > 0);
    assert.deepEqual(bundled, names.map((name) => loadScript(name)));
  });
});

test('an import() whose path is only known at run time stops the build', async () => {
  await inTempDir(async (dir) => {
    const entry = join(dir, 'entry.ts');
    writeFileSync(entry, "const name = ['./cli/demo', 'ts'].join('.');\nvoid import(name);\n");
    await assert.rejects(bundle({ entry, outfile: join(dir, 'out.cjs'), commit: 'x', scripts: FIXTURE_SCRIPTS }), /will not be bundled/);
    assert.deepEqual(readdirSync(dir), ['entry.ts'], 'neither the loader nor the program was written');
  });
});

test('a module that finds files beside itself through import.meta.url stops the build', async () => {
  await inTempDir(async (dir) => {
    const entry = join(dir, 'entry.ts');
    writeFileSync(entry, "import { readFileSync } from 'node:fs';\nconsole.log(readFileSync(new URL('./template.xml', import.meta.url), 'utf8'));\n");
    await assert.rejects(bundle({ entry, outfile: join(dir, 'out.cjs'), commit: 'x', scripts: FIXTURE_SCRIPTS }), /entry\.ts uses import\.meta to find files/);
    assert.equal(existsSync(join(dir, 'out.cjs')), false);
  });
});
