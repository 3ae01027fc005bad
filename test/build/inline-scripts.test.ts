import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from '../../build/bundle.ts';
import { inlinedFileSystem } from '../../build/inline-scripts.ts';

const LOADER = fileURLToPath(new URL('../fixtures/build/loader/', import.meta.url));

let fixture: Promise<{ output: Record<string, unknown>; text: string }> | undefined;

/** The fixture loader's entry, bundled into a temporary folder (no scripts/ beside it) and run there; once per file. */
function runBundledFixture(): Promise<{ output: Record<string, unknown>; text: string }> {
  fixture ??= bundleAndRunFixture();
  return fixture;
}

async function bundleAndRunFixture(): Promise<{ output: Record<string, unknown>; text: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'winprov-inline-'));
  try {
    const outfile = join(dir, 'fixture.cjs');
    const { programFile } = await bundle({ entry: join(LOADER, 'entry.ts'), outfile, commit: 'fixture', scripts: { module: join(LOADER, 'scripts.ts'), scriptsDir: join(LOADER, 'scripts') } });
    // The program's text (the loader beside it holds none of it).
    const text = readFileSync(programFile, 'utf8');
    return { output: JSON.parse(execFileSync(process.execPath, [outfile], { cwd: dir, encoding: 'utf8' })) as Record<string, unknown>, text };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the bundled loader answers exactly as the source loader does, with no script files beside it', async () => {
  const source = JSON.parse(execFileSync(process.execPath, [join(LOADER, 'entry.ts')], { encoding: 'utf8' })) as Record<string, unknown>;
  const { output } = await runBundledFixture();
  // Everything but the one deliberate difference: a file that is not a .ps1 is not in the bundle.
  assert.deepEqual({ ...output, notAScript: undefined }, { ...source, notAScript: undefined });
  // And the source answers are the files themselves: BOM stripped by the loader's own code, CRLF and UTF-8 kept.
  const texts = output['texts'] as Record<string, string>;
  assert.equal(texts['alpha.ps1'], "Write-Output 'alpha'\r\nexit 0\r\n");
  assert.equal(texts['bom.ps1'], readFileSync(join(LOADER, 'scripts/bom.ps1'), 'utf8').slice(1));
  assert.match(texts['unicode.ps1']!, /Grüße — ✓/);
  assert.equal((output['bytes'] as Record<string, string>)['bom.ps1'], readFileSync(join(LOADER, 'scripts/bom.ps1')).toString('base64'));
});

test('the loader module keeps its other exports and its own name check in the bundle', async () => {
  const { output } = await runBundledFixture();
  assert.equal(output['first'], 'alpha.ps1');
  assert.equal(output['badName'], 'RangeError');
});

test('a script that is not in the folder fails as a missing file, and only .ps1 files are inlined', async () => {
  const { output, text } = await runBundledFixture();
  assert.equal(output['missingScript'], 'Error ENOENT');
  assert.equal(output['notAScript'], 'Error ENOENT');
  assert.ok(readFileSync(join(LOADER, 'scripts/notes.txt')).byteLength > 0, 'the source folder does have notes.txt');
  assert.doesNotMatch(text, /the bundle leaves it out/);
  assert.match(text, /Write-Output 'alpha'/);
});

test('the replacement file system serves every .ps1 of the folder and nothing else', () => {
  const source = inlinedFileSystem(join(LOADER, 'scripts.ts'), join(LOADER, 'scripts'));
  assert.match(source, /"alpha\.ps1":/);
  assert.match(source, /"bom\.ps1":/);
  assert.match(source, /"unicode\.ps1":/);
  assert.doesNotMatch(source, /notes\.txt/);
  assert.match(source, /export function readFileSync\(/);
});

test('a folder without scripts, or a script that is not UTF-8, stops the build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'winprov-inline-'));
  try {
    mkdirSync(join(dir, 'scripts'));
    assert.throws(() => inlinedFileSystem(join(dir, 'scripts.ts'), join(dir, 'scripts')), /holds no \.ps1 files/);
    writeFileSync(join(dir, 'scripts', 'latin1.ps1'), Buffer.from([0x23, 0x20, 0xe9, 0x0a]));
    assert.throws(() => inlinedFileSystem(join(dir, 'scripts.ts'), join(dir, 'scripts')), /latin1\.ps1 is not valid UTF-8/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A throw-away loader module (with one script and an entry that uses it) in a temporary folder. */
async function bundleLoader(source: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'winprov-inline-'));
  try {
    mkdirSync(join(dir, 'scripts'));
    writeFileSync(join(dir, 'scripts', 'one.ps1'), 'Write-Output 1\n');
    writeFileSync(join(dir, 'scripts.ts'), source);
    writeFileSync(join(dir, 'entry.ts'), "import { loadScript } from './scripts.ts';\nconsole.log(loadScript('one.ps1'));\n");
    await bundle({ entry: join(dir, 'entry.ts'), outfile: join(dir, 'out.cjs'), commit: 'x', scripts: { module: join(dir, 'scripts.ts'), scriptsDir: join(dir, 'scripts') } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a loader that reads through node:fs/promises, or not through node:fs at all, stops the build', async () => {
  await assert.rejects(
    bundleLoader("import { readFile } from 'node:fs/promises';\nexport const loadScript = (name: string) => readFile(new URL('./scripts/' + name, import.meta.url), 'utf8');\n"),
    /imports "node:fs\/promises"; it must read its scripts with readFileSync from node:fs/,
  );
  await assert.rejects(
    bundleLoader("const fs = process.getBuiltinModule('node:fs');\nexport const loadScript = (name: string) => fs.readFileSync(new URL('./scripts/' + name, import.meta.url), 'utf8');\n"),
    /scripts\.ts is bundled but does not read its scripts with readFileSync from node:fs, so none were inlined/,
  );
  await assert.rejects(
    bundleLoader("import { readFileSync, readdirSync } from 'node:fs';\nexport const loadScript = (name: string) => readdirSync('.').length + readFileSync(new URL('./scripts/' + name, import.meta.url), 'utf8');\n"),
    /No matching export .* for import "readdirSync"/,
  );
});
