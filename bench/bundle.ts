import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The benchmark measures the bundled agent (dist/winprov.cjs), as shipped. It is built with the project's
 * own bundle script when it is missing, or older than the sources it is made from.
 */

/** missing, stale (a source file is newer) or current. */
export type BundleState = 'missing' | 'stale' | 'current';

/** Compares the bundle's modification time with the newest file under the source paths. */
export function bundleState(bundle: string, sources: readonly string[]): BundleState {
  if (!existsSync(bundle)) return 'missing';
  const built = statSync(bundle).mtimeMs;
  return sources.some((source) => newestMtime(source) > built) ? 'stale' : 'current';
}

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Runs `node build/bundle.ts` in root with this Node (its output to stderr: stdout is the report); throws when it fails. */
export function buildBundle(root: string): void {
  const result = spawnSync(process.execPath, ['build/bundle.ts'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) throw new Error(`node build/bundle.ts exited with ${result.status ?? result.signal}`);
}
