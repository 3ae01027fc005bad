import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provisionOnce } from '../build/code-cache-check.ts';
import { codeCacheFileOf, loaderSourceSha256, loaderStartFlags, readCache } from '../build/code-cache-loader.ts';
import { FabricSimulator } from '../src/simulator/index.ts';

/**
 * The benchmark measures the agent as a VM runs it: with the code cache prepare-image makes on the build
 * VM (src/cli/code-cache-warmup.ts). A cache fits one build of the bundle only, so after every rebuild it
 * is made again, here by the same warm run (provision with WINPROV_CODE_CACHE_WARM=1 against a simulator
 * and a sandbox), before any timing. Every measured run reports whether it used it (bench/rss-preload.cjs).
 */

/** The cache file beside a bundle, where the loader looks by default. */
export const cacheFileOf = codeCacheFileOf;

/**
 * Whether the cache beside the bundle was made for this build of it, by this Node: the build as its loader
 * names it (the loader itself refuses a program file of another build, so a run shows that).
 */
export function cacheFits(bundle: string): boolean {
  const cache = cacheFileOf(bundle);
  if (!existsSync(cache)) return false;
  const sha = loaderSourceSha256(readFileSync(bundle, 'latin1'));
  if (sha === undefined) return false;
  const state = { status: '', detail: '' };
  return readCache(readFileSync(cache), sha, state, (data) => createHash('sha256').update(data).digest('hex')) !== undefined;
}

/** Makes the bundle's cache with a warm run unless the one there fits; says which on `say`. Throws when the warm run fails. */
export async function ensureCodeCache(bundle: string, say: (line: string) => void): Promise<void> {
  if (cacheFits(bundle)) return;
  say(`making the code cache of ${bundle} (a warm run, as prepare-image does)`);
  const simulator = new FabricSimulator({ scenario: { certificateCount: 1, provisionGuestAgent: true } });
  const dir = mkdtempSync(join(tmpdir(), 'winprov-bench-cache-'));
  try {
    await simulator.start();
    const built = { command: process.execPath, args: [...loaderStartFlags(readFileSync(bundle, 'latin1')), bundle] };
    const outcome = await provisionOnce(built, simulator, dir, { WINPROV_CODE_CACHE_WARM: '1', WINPROV_CODE_CACHE: cacheFileOf(bundle) });
    if (outcome.code !== 0 || !cacheFits(bundle)) throw new Error(`the warm run of ${bundle} made no code cache (exit ${outcome.code}; ${outcome.cacheLine || 'no code cache line'})${outcome.why ? `: ${outcome.why}` : ''}`);
  } finally {
    await simulator.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** "used in 20 of 20 runs", or the statuses seen when some run did not use it. */
export function describeCacheUse(statuses: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return [...counts].map(([status, n]) => `${status} in ${n} of ${statuses.length} runs`).join(', ');
}
