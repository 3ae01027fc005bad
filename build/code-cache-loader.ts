import { createHash } from 'node:crypto';

/**
 * The shipped bundle is a small loader around the program: the program's text is one string literal,
 * compiled with node:vm's Script, so that V8's code cache for it can be handed in (`cachedData`) and
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
 */

/** The name the program and its loader share the loader's findings under (src/code-cache.ts reads it). */
export const CODE_CACHE_GLOBAL = 'winprov.codeCache';
/** The first line of a cache file; the second is its JSON header, then the V8 data. */
export const CODE_CACHE_MAGIC = 'winprov-code-cache 1';

/**
 * The CommonJS wrapper's parameters: the program runs as it would as the main module, with the loader's
 * exports, require (a SEA's require loads built-ins only, as before), module, __filename and __dirname.
 */
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) {';
const WRAPPER_TAIL = '\n})';

/**
 * The start-up flags a bundle's loader names (its `const START_FLAGS = [...]` line; the program's own text
 * is a JSON string, where a line break is always escaped, so only the loader's line matches): node is
 * started with them to run the bundle as winprov.exe runs (the benchmark and the warm run do), since they
 * only take effect at start-up.
 */
export function loaderStartFlags(bundleText: string): string[] {
  const found = /\n  const START_FLAGS = (\[[^\n]*\]);\n/.exec(bundleText);
  return found === null ? [] : (JSON.parse(found[1]!) as string[]);
}

/** How the loader starts the program: the flags of every run and the built-ins it loads before V8's flags change. */
export interface LoaderOptions {
  /** Options of every run that only work at start-up (a SEA's execArgv); none may be a flag V8 hashes into a cache. */
  startFlags?: readonly string[];
  /** V8 flags the loader sets at run time (v8.setFlagsFromString) unless node was started with them. */
  runtimeFlags?: readonly string[];
  /** Node built-ins to load first, from Node's own code cache, while V8's flags are still the defaults. */
  preload?: readonly string[];
}

/**
 * The loader around a bundled program; `program` is esbuild's CommonJS output.
 *
 * V8 stamps a hash of its flags into every code cache and refuses a cache made under other flags (V8
 * src/flags/flags.cc, ComputeFlagListHash): Node's embedded cache of its own modules too, which is made
 * with the default flags. So a flag V8 hashes (--no-opt) is set only after the built-ins the run needs
 * are loaded from that cache; set before, Node compiled them all from source, about 30 ms of every run.
 * Flags V8 leaves out of the hash (the background-thread ones) are start-up flags.
 */
export function wrapInLoader(program: string, options: LoaderOptions = {}): string {
  const startFlags = options.startFlags ?? [];
  const runtimeFlags = options.runtimeFlags ?? [];
  const preload = options.preload ?? [];
  const source = `${WRAPPER_HEAD}${program}${WRAPPER_TAIL}`;
  const sha256 = createHash('sha256').update(source).digest('hex');
  // esbuild writes ASCII (its default charset), so JSON.stringify leaves a one-byte string: no more
  // memory than the program's own text.
  return `"use strict";
// winprov's loader: see build/code-cache-loader.ts.
(function () {
  const SOURCE = ${JSON.stringify(source)};
  const SOURCE_SHA256 = ${JSON.stringify(sha256)};
  const vm = require("node:vm");
  // A SEA gets START_FLAGS from its execArgv, before V8 starts (build/sea.ts); node running the bundle,
  // from its command line. RUNTIME_FLAGS are set here, after PRELOAD: V8 hashes them into a code cache,
  // Node's embedded one of its built-ins included (build/code-cache-loader.ts says why).
  const START_FLAGS = ${JSON.stringify(startFlags)};
  const RUNTIME_FLAGS = ${JSON.stringify(runtimeFlags)};
  const PRELOAD = ${JSON.stringify(preload)};
  const missing = RUNTIME_FLAGS.filter((flag) => !process.execArgv.includes(flag));
  if (missing.length > 0) {
    for (const name of PRELOAD) require(name);
    require("node:v8").setFlagsFromString(missing.join(" "));
  }
  const state = { sourceSha256: SOURCE_SHA256, path: undefined, status: "off", detail: "", script: undefined, startFlags: START_FLAGS };
  const setting = process.env.WINPROV_CODE_CACHE;
  let cachedData;
  if (setting !== "off") {
    const path = require("node:path");
    // Beside the executable (a SEA's __filename is the executable) or the bundle: the cache belongs to it.
    state.path = setting ? path.resolve(setting) : path.join(path.dirname(__filename), path.basename(__filename) + ".codecache");
    try {
      const sha256 = (data) => require("node:crypto").createHash("sha256").update(data).digest("hex");
      cachedData = ${readCache.name}(require("node:fs").readFileSync(state.path), SOURCE_SHA256, state, sha256);
    } catch (err) {
      state.status = err && err.code === "ENOENT" ? "absent" : "unreadable";
      state.detail = err && err.code ? err.code : "read failed";
    }
  }
  let script;
  try {
    script = new vm.Script(SOURCE, { filename: __filename, cachedData });
  } catch (err) {
    // V8 refuses bad data by setting cachedDataRejected, not by throwing; anything thrown with a cache
    // is retried without one, and a program that does not compile fails as it always would.
    if (cachedData === undefined) throw err;
    state.status = "rejected";
    state.detail = "compiling with it threw";
    cachedData = undefined;
    script = new vm.Script(SOURCE, { filename: __filename });
  }
  if (cachedData !== undefined) {
    state.status = script.cachedDataRejected ? "rejected" : "used";
    if (script.cachedDataRejected) state.detail = "V8 rejected it (another V8, other flags or another program)";
  }
  state.script = script;
  Object.defineProperty(globalThis, Symbol.for(${JSON.stringify(CODE_CACHE_GLOBAL)}), { value: state });
  script.runInThisContext()(exports, require, module, __filename, __dirname);

  ${readCache.toString()}
})();
`;
}

/**
 * Parses a cache file and returns its V8 data, or undefined with state.status/detail saying why not.
 * Pasted into the loader by its source text, which Node's type stripping leaves as JavaScript (types
 * become blanks, Node docs "Type stripping"): so no TypeScript-only syntax and nothing from outside.
 */
export function readCache(file: Buffer, sourceSha256: string, state: { status: string; detail: string }, sha256: (data: Buffer) => string): Buffer | undefined {
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
