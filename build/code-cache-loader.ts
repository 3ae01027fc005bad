import { createHash } from 'node:crypto';
import { commandOf } from '../src/config.ts';
import { preloadFor, readCommandLine, startTransportKey, type ArgOptions, type PreloadLists, type TransportKeyStart } from './loader-command-line.ts';

/**
 * The shipped bundle is a small loader and the program's text beside it: the loader reads the text and
 * compiles it with node:vm's Script, so that V8's code cache for it can be handed in (`cachedData`) and
 * produced (`createCachedData()`, Node docs "vm: script.createCachedData()"). This is the one mechanism
 * that serves both winprov.exe and the plain bundle:
 * - a SEA's own `useCodeCache` is made when the blob is built, by the build machine's node, and a cache
 *   only works in the binary and on the platform that made it (Linux here, Windows at boot);
 * - `module.enableCompileCache()` / NODE_COMPILE_CACHE cover files the CommonJS loader reads, never a
 *   SEA's main script, and would have to be switched on before the bundle itself is read.
 * The cache is made at image time by `prepare-image` (src/code-cache.ts) in the exact executable, and is
 * used only when it names this program text (its SHA-256, stamped here at build time, so nothing is
 * hashed at boot but the cache itself), this Node and this architecture, and when its own checksum holds:
 * V8 checks only its version, its flags and the source's length, and trusts the bytes.
 * Anything else compiles the program as if there were no cache; the program logs why (debug).
 *
 * The program is not a string literal in the loader: V8 scans every script it compiles, a 1.4 MB
 * literal (or comment) included, about 7-8 ms of every run. Text read at run time and compiled with an
 * accepted cache is never scanned (V8 compares its length only). The same is why the program file must
 * be checked against the loader without hashing it: see programMismatch.
 */

/** The name the program and its loader share the loader's findings under (src/code-cache.ts reads it). */
export const CODE_CACHE_GLOBAL = 'winprov.codeCache';
/** The first line of a cache file; the second is its JSON header, then the V8 data. */
export const CODE_CACHE_MAGIC = 'winprov-code-cache 1';
/** The program's key among a single executable's assets (build/sea.ts; Node docs "Single executable applications: Assets"). */
export const PROGRAM_ASSET = 'winprov-program';

/** What follows the loader's file name in the names of its program file and its code cache (the loader text uses them too). */
const PROGRAM_SUFFIX = '.program';
const CODE_CACHE_SUFFIX = '.codecache';

/**
 * The program file beside a loader: `<loader's file name>.program`, found the way its code cache
 * (`.codecache`) is, so two builds can sit in one folder under two names. Not `.js`: alone it is a
 * function expression that does nothing when run, and nothing (node, a test glob, an editor) should take
 * it for a script.
 */
export function programFileOf(loader: string): string {
  return `${loader}${PROGRAM_SUFFIX}`;
}

/** The code cache the loader uses by default: `<loader's file name>.codecache` beside it (WINPROV_CODE_CACHE names another). */
export function codeCacheFileOf(loader: string): string {
  return `${loader}${CODE_CACHE_SUFFIX}`;
}

/** The comment a program file starts and ends with, naming the SHA-256 of the program between them. */
export function programStamp(sourceSha256: string): string {
  return `/*winprov-program ${sourceSha256}*/`;
}

/**
 * The CommonJS wrapper's parameters: the program runs as it would as the main module, with the loader's
 * exports, require (a SEA's require loads built-ins only, as before), module, __filename and __dirname.
 */
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) {';
const WRAPPER_TAIL = '\n})';

/**
 * The start-up flags a bundle's loader names (its `const START_FLAGS = [...]` line; the program's text is
 * in a file of its own, so the loader's line is the only one): node is started with them to run the
 * bundle as winprov.exe runs (the benchmark and the warm run do), since they only take effect at start-up.
 */
export function loaderStartFlags(bundleText: string): string[] {
  // Loaders built before the flags were split named them V8_FLAGS: bench/compare.ts still runs those as built.
  const found = /\n  const (?:START|V8)_FLAGS = (\[[^\n]*\]);\n/.exec(bundleText);
  return found === null ? [] : (JSON.parse(found[1]!) as string[]);
}

/** The SHA-256 of the program a loader belongs to (its `const SOURCE_SHA256` line), which its code cache must name. */
export function loaderSourceSha256(bundleText: string): string | undefined {
  return /\n  const SOURCE_SHA256 = "([0-9a-f]{64})";\n/.exec(bundleText)?.[1];
}

/** How the loader starts the program: the flags of every run and the built-ins it loads before V8's flags change. */
export interface LoaderOptions {
  /** Options of every run that only work at start-up (a SEA's execArgv); none may be a flag V8 hashes into a cache. */
  startFlags?: readonly string[];
  /** V8 flags the loader sets at run time (v8.setFlagsFromString) unless node was started with them. */
  runtimeFlags?: readonly string[];
  /**
   * Node built-ins to load first, from Node's own code cache, while V8's flags are still the defaults:
   * a list every run loads, or every run's and each platform's (preloadFor picks by --platform).
   */
  preload?: readonly string[] | PreloadLists;
  /** The command line's options (src/config.ts ARG_OPTIONS): needed to pick a platform's built-ins or to start the key. */
  argOptions?: ArgOptions;
  /** A provision run's transport key, started before anything else loads (startTransportKey); absent: never. */
  transportKey?: TransportKeyStart;
}

/** The two texts of a bundle: the loader (the file node or the SEA runs) and the program file it reads. */
export interface WrappedProgram {
  loader: string;
  program: string;
  /** The SHA-256 of the wrapped program between its stamps: what its code cache must name. */
  sourceSha256: string;
}

/**
 * The loader around a bundled program and the program file it reads; `program` is esbuild's CommonJS
 * output, which must be ASCII (esbuild's default charset escapes everything else): the loader reads it
 * as latin1, one byte one character, the cheapest decoding there is and the one V8 keeps as a one-byte
 * string.
 *
 * V8 stamps a hash of its flags into every code cache and refuses a cache made under other flags (V8
 * src/flags/flags.cc, ComputeFlagListHash): Node's embedded cache of its own modules too, which is made
 * with the default flags. So a flag V8 hashes (--no-opt) is set only after the built-ins the run needs
 * are loaded from that cache; set before, Node compiled them all from source, about 30 ms of every run.
 * Flags V8 leaves out of the hash (the background-thread ones) are start-up flags.
 */
export function wrapInLoader(program: string, options: LoaderOptions = {}): WrappedProgram {
  const nonAscii = program.search(/[^\x00-\x7f]/);
  if (nonAscii >= 0) {
    const code = program.codePointAt(nonAscii)!.toString(16).toUpperCase().padStart(4, '0');
    throw new Error(`the program is not ASCII: U+${code} at offset ${nonAscii} (near ${JSON.stringify(program.slice(Math.max(0, nonAscii - 40), nonAscii + 10))}); the loader reads it as latin1, so esbuild must write ASCII (its default charset)`);
  }
  const startFlags = options.startFlags ?? [];
  const runtimeFlags = options.runtimeFlags ?? [];
  const preload: PreloadLists = Array.isArray(options.preload) ? { common: options.preload, platforms: {} } : (options.preload as PreloadLists | undefined) ?? { common: [], platforms: {} };
  if (options.argOptions === undefined && (options.transportKey !== undefined || Object.keys(preload.platforms).length > 0)) throw new Error('the loader needs argOptions to read the command line (a transport key or platform built-ins)');
  const source = `${WRAPPER_HEAD}${program}${WRAPPER_TAIL}`;
  const sha256 = createHash('sha256').update(source).digest('hex');
  // The head stamp shares the wrapper's line, so the program's line numbers are the bundle's.
  const text = `${programStamp(sha256)}${source}\n${programStamp(sha256)}\n`;
  const loader = `"use strict";
// winprov's loader: see build/code-cache-loader.ts. The program is the file named as this one plus
// ${JSON.stringify(PROGRAM_SUFFIX)}, beside it (in a single executable, the asset ${JSON.stringify(PROGRAM_ASSET)}).
(function () {
  const SOURCE_SHA256 = ${JSON.stringify(sha256)};
  const SOURCE_LENGTH = ${text.length};
  const PROGRAM_ASSET = ${JSON.stringify(PROGRAM_ASSET)};
  const vm = require("node:vm");
  const path = require("node:path");
  // A SEA gets START_FLAGS from its execArgv, before V8 starts (build/sea.ts); node running the bundle,
  // from its command line. RUNTIME_FLAGS are set here, after PRELOAD: V8 hashes them into a code cache,
  // Node's embedded one of its built-ins included (build/code-cache-loader.ts says why).
  const START_FLAGS = ${JSON.stringify(startFlags)};
  const RUNTIME_FLAGS = ${JSON.stringify(runtimeFlags)};
  const PRELOAD = ${JSON.stringify(preload)};
  const ARG_OPTIONS = ${JSON.stringify(options.argOptions ?? null)};
  const COMMAND_LINE = ARG_OPTIONS === null ? undefined : ${readCommandLine.name}(ARG_OPTIONS, process.argv.slice(2), require("node:util"));
  // A provision run's transport key (src/crypto/transport-key.ts) starts before the built-ins and the
  // program load: the run's costliest local work, on the thread pool, while nothing else wants the
  // second processor (the fabric has not been asked anything yet).
  const TRANSPORT_KEY = ${JSON.stringify(options.transportKey ?? null)};
  if (TRANSPORT_KEY !== null) ${startTransportKey.name}(TRANSPORT_KEY, COMMAND_LINE, require("node:os"), require("node:crypto"));
  // The program's text, ASCII read as latin1: in a SEA an asset of the executable (getRawAsset is a view
  // of it, not a copy), else the file beside this one. One from another build must never run with this
  // loader's cache (V8 would trust the cache for any text of the same length), so its stamps must name
  // this build at both ends.
  const sea = require("node:sea");
  const inSea = sea.isSea();
  const programAt = inSea ? "the asset " + JSON.stringify(PROGRAM_ASSET) + " of " + process.execPath : path.join(__dirname, path.basename(__filename) + ${JSON.stringify(PROGRAM_SUFFIX)});
  // A broken installation is said in one line with exit code 1 (unhandled), never a stack trace.
  const refuse = (why) => {
    process.stderr.write("winprov: " + why + "; rebuild with node build/bundle.ts, which writes both (or reinstall winprov)\\n");
    process.exit(1);
  };
  let SOURCE;
  try {
    SOURCE = inSea ? Buffer.from(sea.getRawAsset(PROGRAM_ASSET)).toString("latin1") : require("node:fs").readFileSync(programAt, "latin1");
  } catch (err) {
    refuse(__filename + " cannot read its program, " + programAt + " (" + (err && err.code ? err.code : String(err && err.message)) + ")");
  }
  const mismatch = ${programMismatch.name}(SOURCE, SOURCE_SHA256, SOURCE_LENGTH);
  if (mismatch !== "") refuse(programAt + " is not the program of " + __filename + ": " + mismatch);
  const missing = RUNTIME_FLAGS.filter((flag) => !process.execArgv.includes(flag));
  if (missing.length > 0) {
    for (const name of ${preloadFor.name}(PRELOAD, COMMAND_LINE)) require(name);
    require("node:v8").setFlagsFromString(missing.join(" "));
  }
  const state = { sourceSha256: SOURCE_SHA256, path: undefined, status: "off", detail: "", script: undefined, startFlags: START_FLAGS };
  const setting = process.env.WINPROV_CODE_CACHE;
  let cachedData;
  if (setting !== "off") {
    // Beside the executable (a SEA's __filename is the executable) or the bundle: the cache belongs to it.
    state.path = setting ? path.resolve(setting) : path.join(path.dirname(__filename), path.basename(__filename) + ${JSON.stringify(CODE_CACHE_SUFFIX)});
    try {
      const fs = require("node:fs");
      // A regular file of a sane size only (a real cache is about 1 MB): a FIFO named by
      // WINPROV_CODE_CACHE would block the read forever, a huge file would fill memory at every boot.
      const info = fs.statSync(state.path);
      if (!info.isFile() || info.size > 64 * 1024 * 1024) {
        state.status = "unreadable";
        state.detail = info.isFile() ? "larger than 64 MiB" : "not a regular file";
      } else {
        const sha256 = (data) => require("node:crypto").hash("sha256", data, "hex");
        cachedData = ${readCache.name}(fs.readFileSync(state.path), SOURCE_SHA256, state, sha256);
      }
    } catch (err) {
      state.status = err && err.code === "ENOENT" ? "absent" : "unreadable";
      state.detail = err && err.code ? err.code : "read failed";
    }
  }
  // Stack traces name the file the program's lines are in.
  const filename = inSea ? __filename : programAt;
  // A program that does not compile (a damaged file of the right length and stamps) is a broken
  // installation, said in one line like the others.
  const compile = (options) => {
    try {
      return new vm.Script(SOURCE, options);
    } catch (err) {
      return refuse(programAt + " does not compile (" + String(err && err.message).slice(0, 200) + ")");
    }
  };
  let script;
  try {
    script = new vm.Script(SOURCE, { filename, cachedData });
  } catch (err) {
    // V8 refuses bad data by setting cachedDataRejected, not by throwing; anything thrown with a cache
    // is retried without one.
    if (cachedData === undefined) script = compile({ filename });
    else {
      state.status = "rejected";
      state.detail = "compiling with it threw";
      cachedData = undefined;
      script = compile({ filename });
    }
  }
  if (cachedData !== undefined) {
    state.status = script.cachedDataRejected ? "rejected" : "used";
    if (script.cachedDataRejected) state.detail = "V8 rejected it (another V8, other flags or another program)";
  }
  state.script = script;
  Object.defineProperty(globalThis, Symbol.for(${JSON.stringify(CODE_CACHE_GLOBAL)}), { value: state });
  script.runInThisContext()(exports, require, module, __filename, __dirname);

  ${programMismatch.toString()}

  ${programStamp.toString()}

  ${readCache.toString()}

  ${readCommandLine.toString()}

  ${preloadFor.toString()}

  ${startTransportKey.toString()}

  ${commandOf.toString()}
})();
`;
  return { loader, program: text, sourceSha256: sha256 };
}

/**
 * Why a program's text is not the one the loader was built with, or "" when it is. Checked without
 * hashing 1.4 MB at every boot: the text must be this build's length and start and end with the stamp
 * naming this build's SHA-256 (programStamp), so a program file of another build, a partial copy or the
 * two halves of two builds are refused before V8 sees them. Pasted into the loader like readCache, with programStamp.
 */
export function programMismatch(program: string, sourceSha256: string, length: number): string {
  const stamp = programStamp(sourceSha256);
  const head = /^\/\*winprov-program ([0-9a-f]{64})\*\//.exec(program.slice(0, 100));
  if (head === null) return 'it does not start with a winprov program stamp';
  if (head[1] !== sourceSha256) return `its stamp names another build (${String(head[1]).slice(0, 12)}..., this loader's is ${sourceSha256.slice(0, 12)}...)`;
  if (!program.endsWith('\n' + stamp + '\n')) return 'it does not end with its stamp (cut short, or two builds mixed)';
  if (program.length !== length) return `it is ${program.length} bytes, this build's is ${length}`;
  return '';
}

/**
 * Parses a cache file and returns its V8 data, or undefined with state.status/detail saying why not.
 * Pasted into the loader by its source text, which Node's type stripping leaves as JavaScript (types
 * become blanks, Node docs "Type stripping"): so no TypeScript-only syntax and nothing from outside.
 */
export function readCache(file: Buffer, sourceSha256: string, state: { status: string; detail: string }, sha256: (data: Buffer) => string): Buffer | undefined {
  // The MSI installs an empty file of this name, so that uninstalling removes the cache prepare-image
  // writes over it (build/msi/winprov.wxs.in): no cache yet, not a broken one.
  if (file.length === 0) {
    state.status = 'absent';
    state.detail = 'empty';
    return undefined;
  }
  const first = file.indexOf(10);
  const second = first < 0 ? -1 : file.indexOf(10, first + 1);
  let header: Record<string, unknown> | undefined;
  try {
    header = second < 0 || file.toString('latin1', 0, first) !== 'winprov-code-cache 1' /* CODE_CACHE_MAGIC */ ? undefined : JSON.parse(file.toString('utf8', first + 1, second));
  } catch {
    header = undefined;
  }
  const data = second < 0 ? Buffer.alloc(0) : file.subarray(second + 1);
  let why = '';
  if (header === undefined || typeof header !== 'object' || header === null) why = 'not a winprov code cache';
  else if (header['sourceSha256'] !== sourceSha256) why = 'made for another build of winprov';
  else if (header['node'] !== process.version || header['arch'] !== process.arch || header['platform'] !== process.platform) why = `made by node ${String(header['node'])} ${String(header['platform'])}-${String(header['arch'])}`;
  else if (header['bytes'] !== data.length) why = 'truncated';
  else if (header['dataSha256'] !== sha256(data)) why = 'its checksum does not match';
  if (why !== '') {
    state.status = 'mismatch';
    state.detail = why;
    return undefined;
  }
  return data;
}
