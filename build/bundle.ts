import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve, sep } from 'node:path';
import * as esbuild from 'esbuild';
import { programFileOf, wrapInLoader, type WrappedProgram } from './code-cache-loader.ts';
import { ARG_OPTIONS } from '../src/config.ts';
import { LOADER_KEY_GLOBAL, MIN_PROCESSORS_FOR_EARLY_KEY, TRANSPORT_KEY_OPTIONS } from '../src/crypto/transport-key.ts';
import { inlineScripts, inlinedInputName, type InlineScriptsOptions } from './inline-scripts.ts';
import { provisionBuiltins } from './module-graph.ts';
import { BUNDLE, ROOT, gitCommit, readPackage, versionLineProblem } from './project.ts';
import { describeSize, runTool, timed } from './run.ts';

/** The PowerShell script loader and its folder (see inline-scripts.ts). */
export const SCRIPTS_MODULE = join(ROOT, 'src/platform/windows/scripts.ts');
export const SCRIPTS_DIR = join(ROOT, 'src/platform/windows/scripts');

/**
 * Start-up options of every run of the agent: winprov.exe's execArgv (build/sea.ts); node running the
 * bundle is started with them by the benchmark and the warm run (loaderStartFlags). Every one is either
 * a Node option or a V8 flag that V8 leaves out of the hash it stamps into code caches (V8
 * src/flags/flags.cc, ComputeFlagListHash), so Node's own modules still load from its embedded code
 * cache (test/build/code-cache.test.ts holds them to that). Each measured with bench/compare.ts:
 * - --single-threaded-gc, --no-concurrent-recompilation, --no-concurrent-sparkplug, --v8-pool-size=1:
 *   V8's background work (concurrent marking and sweeping, parallel scavenges, background compiles, each
 *   touching memory of its own) stays on the main thread, and one V8 worker thread is started, not
 *   four. A heap of a few tens of MB is collected on the main thread in the same time; 3.6-5.6 MB less
 *   peak RSS than without (issue 13, the 70 MB target without certificates).
 * Replaced: --single-threaded, which V8 hashes. With it (and --no-opt) on the command line, Node compiled
 * every built-in the run loads from source: 30-35 ms of every run (0 to 10 certificates), for the same
 * peak RSS as the flags above.
 */
export const AGENT_START_FLAGS: readonly string[] = ['--single-threaded-gc', '--no-concurrent-recompilation', '--no-concurrent-sparkplug', '--v8-pool-size=1'];
/**
 * Set by the loader at run time, once the built-ins a provision run loads are loaded (V8 hashes them):
 * - --no-opt: a run is short, and TurboFan's compiles (its code in the node binary paged in, its zones)
 *   cost up to 10 MB of peak RSS for nothing measurable; 7-9 MB less with certificates and no slower.
 *   Maglev stays: --no-maglev cost 55-70 ms on the certificate rows (the DER and PKCS#12 code runs hot).
 * Tried and left out: --max-semi-space-size=1 (1-2 MB less alone, but with single-threaded collection
 * the 50 certificate row became 14-35 ms slower); --lite-mode (9 MB less, but it implies --jitless: the
 * interpreter only); V8's GC flags at run time (V8 aborts: a concurrent marker may already exist).
 */
export const AGENT_RUNTIME_FLAGS: readonly string[] = ['--no-opt'];

/** The part of node-forge the bundle carries in place of its index.js. */
export const FORGE_SUBSET = join(ROOT, 'build/forge-subset.cjs');

/** What to bundle; the defaults build the agent (tests bundle their own fixtures with the same settings). */
export interface BundleOptions {
  entry?: string;
  outfile?: string;
  commit?: string;
  scripts?: InlineScriptsOptions;
}

/** What bundle() wrote: the loader and the program file beside it (build/code-cache-loader.ts). */
export interface BundleResult {
  /** The loader: the file node runs, and a single executable's main script. */
  outfile: string;
  /** The loader's size. */
  bytes: number;
  /** The program's text, read by the loader (programFileOf(outfile)); a SEA carries it as an asset. */
  programFile: string;
  programBytes: number;
  commit: string;
  /** esbuild's metafile: the module graph (build/module-graph.ts reads it). */
  metafile: esbuild.Metafile;
}

/**
 * Bundles src/ into one CommonJS program for Node 24 with the commit stamped in, written as two files:
 * the code cache's loader (outfile) and the program's text beside it (programFileOf(outfile)), which a
 * single executable carries as an asset. The program is checked before anything is written: every import
 * left in it must be a Node built-in (a SEA can load nothing else), no source module may locate files
 * through import.meta.url (there are no files beside the executable), and it must be ASCII.
 */
export async function bundle(options: BundleOptions = {}): Promise<BundleResult> {
  const outfile = options.outfile ?? BUNDLE;
  const commit = options.commit ?? gitCommit();
  const scripts = options.scripts ?? { module: SCRIPTS_MODULE, scriptsDir: SCRIPTS_DIR };
  const result = await esbuild.build({
    entryPoints: [options.entry ?? join(ROOT, 'build/entry.ts')],
    // Input paths in the metafile and in the bundle's comments are relative to this.
    absWorkingDir: ROOT,
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    legalComments: 'none',
    minifyWhitespace: true,
    // Whitespace and comments only: names stay (error class names need them; keepNames cost about 15 ms),
    // and the program shrinks from 2.0 to 1.4 MB. When the code cache's loader held the program's text
    // as a string literal (twice in memory while it started), measured with bench/compare.ts that cost
    // 4-5 MB of peak RSS unminified; minified, the peak was below the plain unminified bundle's. Full
    // minifying gained no time within the noise.
    write: false,
    metafile: true,
    logLevel: 'silent',
    define: {
      WINPROV_COMMIT: JSON.stringify(commit),
      // build/entry.ts calls runMain(); src/main.ts must not call it a second time.
      'import.meta.main': 'false',
      // Dependencies (tslog) call createRequire(import.meta.url); in CommonJS import.meta is empty, so
      // give them this file's URL. In a SEA, __filename is the executable's path.
      'import.meta.url': '__winprov_bundle_url',
    },
    // "use strict" first: a banner before esbuild's own directive would leave the bundle in sloppy mode.
    banner: { js: '"use strict";var __winprov_bundle_url = require("node:url").pathToFileURL(__filename).href;' },
    // Any other import.meta use would be silently empty in CommonJS, and an import() or require() whose
    // path is computed at run time would look for a file that is not there: make both build errors.
    logOverride: { 'empty-import-meta': 'error', 'unsupported-dynamic-import': 'error', 'unsupported-require-call': 'error' },
    plugins: [inlineScripts(scripts), forgeSubset()],
  }).catch((err: unknown) => {
    const errors = (err as { errors?: esbuild.Message[] }).errors ?? [];
    const lines = errors.map((e) => `  ${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`);
    throw new Error(`esbuild failed:\n${lines.join('\n') || String(err)}`);
  });

  const problems = [...leftoverImports(result.metafile), ...sourceRelativeFiles(result.metafile, scripts.module), ...uninlinedScripts(result.metafile, scripts.module)];
  if (problems.length > 0) throw new Error(`the bundle is not self-contained:\n${problems.map((p) => `  ${p}`).join('\n')}`);

  // The code cache's loader and the program it reads (build/code-cache-loader.ts). Written program first:
  // a build cut short between the two leaves a loader that refuses the new program, never runs it.
  const programFile = programFileOf(outfile);
  const loaderOptions = {
    startFlags: AGENT_START_FLAGS,
    runtimeFlags: AGENT_RUNTIME_FLAGS,
    preload: provisionBuiltins(result.metafile),
    argOptions: ARG_OPTIONS,
    transportKey: { keyOptions: TRANSPORT_KEY_OPTIONS, minProcessors: MIN_PROCESSORS_FOR_EARLY_KEY, global: LOADER_KEY_GLOBAL },
  };
  let wrapped: WrappedProgram;
  try {
    wrapped = wrapInLoader(result.outputFiles[0]!.text, loaderOptions);
  } catch (err) {
    throw new Error(`${programFile}: ${(err as Error).message}`);
  }
  // latin1: the text is ASCII (wrapInLoader checked), one byte per character, as the loader reads it.
  const program = Buffer.from(wrapped.program, 'latin1');
  const loader = Buffer.from(wrapped.loader);
  mkdirSync(join(outfile, '..'), { recursive: true });
  writeFileSync(programFile, program);
  writeFileSync(outfile, loader);
  return { outfile, bytes: loader.byteLength, programFile, programBytes: program.byteLength, commit, metafile: result.metafile };
}

/**
 * `node-forge` itself (not its lib/ files) imported by the agent resolves to build/forge-subset.cjs: only
 * the parts src/crypto uses. The simulator (demo, simulate) builds certificates and keeps all of forge;
 * both share forge's core module, so there is one forge object.
 */
function forgeSubset(): esbuild.Plugin {
  const simulator = join(ROOT, 'src/simulator') + sep;
  return {
    name: 'winprov-forge-subset',
    setup(build) {
      build.onResolve({ filter: /^node-forge$/ }, (args) => (args.importer.startsWith(simulator) ? undefined : { path: FORGE_SUBSET }));
    },
  };
}

/** Imports still in the output that are not Node built-ins (a runtime import() of a .ts file, say). */
function leftoverImports(metafile: esbuild.Metafile): string[] {
  const builtins = new Set(builtinModules);
  const problems: string[] = [];
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      const name = imported.path.replace(/^node:/, '');
      // node:sea, node:test and node:sqlite exist only with their prefix, and builtinModules lists them so.
      if (!builtins.has(imported.path) && !builtins.has(name) && !builtins.has(name.split('/')[0]!)) problems.push(`${imported.kind} of "${imported.path}" is left for run time`);
    }
  }
  return problems;
}

/** Our modules (not dependencies, not the script loader, whose reads are inlined) that locate files beside themselves. */
function sourceRelativeFiles(metafile: esbuild.Metafile, scriptsModule: string): string[] {
  return Object.keys(metafile.inputs)
    // "namespace:path" inputs are generated modules, not files.
    .filter((input) => !input.includes(':') && !input.split('/').includes('node_modules') && join(ROOT, input) !== resolve(scriptsModule))
    .filter((input) => /\bimport\.meta\.(url|dirname|filename|resolve)\b/.test(readFileSync(join(ROOT, input), 'utf8')))
    .map((input) => `${input} uses import.meta to find files; the executable has no files beside it`);
}

/** The script loader is in the bundle but its reads were not inlined (it no longer reads through node:fs). */
function uninlinedScripts(metafile: esbuild.Metafile, scriptsModule: string): string[] {
  const loader = relative(ROOT, resolve(scriptsModule));
  if (!(loader in metafile.inputs) || inlinedInputName(scriptsModule) in metafile.inputs) return [];
  return [`${loader} is bundled but does not read its scripts with readFileSync from node:fs, so none were inlined`];
}

/** Runs a built winprov with --version and fails unless it names this version, the pinned Node and the commit. */
export function smokeVersion(command: string, args: readonly string[], commit: string): string {
  const result = runTool(command, [...args, '--version'], { timeoutMs: 30_000 });
  const { version, nodeVersion } = readPackage();
  const problem = result.status === 0 ? versionLineProblem(result.stdout, { version, nodeVersion, commit }) : `exited with ${result.status}: ${result.stderr.trim()}`;
  if (problem !== undefined) throw new Error(`${relative(ROOT, command) || command} ${args.join(' ')}: ${problem}`);
  return result.stdout.trim();
}

async function main(): Promise<void> {
  console.log('winprov bundle');
  const built = await timed('esbuild -> dist/winprov.cjs', () => bundle());
  const line = await timed('node dist/winprov.cjs --version', () => smokeVersion(process.execPath, [built.outfile], built.commit));
  console.log(`  ${relative(ROOT, built.outfile)} (the loader): ${describeSize(built.bytes)}`);
  console.log(`  ${relative(ROOT, built.programFile)}: ${describeSize(built.programBytes)}`);
  console.log(`  ${line}`);
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(`build failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
