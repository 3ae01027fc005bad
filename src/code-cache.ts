import { randomBytes, createHash } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Script } from 'node:vm';

/**
 * The program's side of the V8 code cache (the loader is build/code-cache-loader.ts; the reasons for the
 * mechanism are there). The loader compiles the program, with the cache when one fits, and leaves what it
 * found under a global symbol; from source (tests, `node src/main.ts`) there is no loader and no cache.
 * A cache is written only by `prepare-image`, on the build VM, by the executable that will run at boot:
 * V8's data fits only the binary and platform that made it.
 */

/** What the loader found; `script` is the program's compiled Script, whose cache can be produced. */
export interface CodeCacheState {
  sourceSha256: string;
  /** The cache file's path; undefined when WINPROV_CODE_CACHE=off. */
  path: string | undefined;
  status: 'off' | 'absent' | 'unreadable' | 'mismatch' | 'rejected' | 'used';
  detail: string;
  script: Script | undefined;
  /** The start-up flags every run of this build has (winprov.exe's execArgv); node is started with them. */
  startFlags?: readonly string[];
}

/** Must match CODE_CACHE_GLOBAL and CODE_CACHE_MAGIC in build/code-cache-loader.ts (test/build checks both). */
const GLOBAL = Symbol.for('winprov.codeCache');
export const MAGIC = 'winprov-code-cache 1';

/** Set for prepare-image's warm run: provision writes the cache of what it compiled as it exits (cli/code-cache-warmup.ts). */
export const WARM_RUN_ENV = 'WINPROV_CODE_CACHE_WARM';

/** The loader's findings, or undefined when winprov runs from source. */
export function codeCacheState(): CodeCacheState | undefined {
  return (globalThis as Record<symbol, CodeCacheState | undefined>)[GLOBAL];
}

/** One line for the debug log: whether this run's code came from the cache, and if not, why. */
export function describeCodeCache(state: CodeCacheState | undefined = codeCacheState()): string {
  if (state === undefined) return 'code cache: none (running from source)';
  switch (state.status) {
    case 'used':
      return `code cache: used ${state.path}`;
    case 'off':
      return 'code cache: off (WINPROV_CODE_CACHE=off)';
    case 'absent':
      return `code cache: none at ${state.path} (prepare-image makes it)`;
    default:
      // A cache that does not fit costs only the compile it would have saved.
      return `code cache: ${state.path} not used, ${state.status}: ${state.detail}`;
  }
}

/** The cache file: the magic line, a JSON header naming what it fits, then V8's data. */
export function encodeCodeCache(data: Buffer, sourceSha256: string): Buffer {
  const header = {
    sourceSha256,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    bytes: data.length,
    dataSha256: createHash('sha256').update(data).digest('hex'),
  };
  return Buffer.concat([Buffer.from(`${MAGIC}\n${JSON.stringify(header)}\n`), data]);
}

/**
 * Writes the cache of the program as this process compiled it: after a warm run, V8's data holds the
 * functions that run compiled too, not only the top level (Node docs, script.createCachedData()). The
 * file is replaced in one rename, so a run at the same moment reads the old cache or the new one.
 */
export function writeCodeCache(state: CodeCacheState): { path: string; bytes: number } {
  if (state.script === undefined || state.path === undefined) throw new Error('no code cache can be written: winprov runs from source or WINPROV_CODE_CACHE=off');
  const file = encodeCodeCache(state.script.createCachedData(), state.sourceSha256);
  const temporary = `${state.path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, file);
    renameSync(temporary, state.path);
  } finally {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // Only left after a failed write or rename, whose error is the one to report.
    }
  }
  return { path: state.path, bytes: file.length };
}
