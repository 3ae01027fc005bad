import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FabricSimulator } from '../src/simulator/index.ts';
import { SandboxPlatform } from '../src/platform/sandbox/index.ts';
import { CODE_CACHE_MAGIC } from './code-cache-loader.ts';

/**
 * For `npm run check:build`: a built winprov (the bundle under node, or the Linux executable) makes its code
 * cache the way prepare-image's warm run does, uses it, and still reaches Ready when the cache is corrupt
 * on disk or refused by V8, or is the installer's empty placeholder: the cache may change the speed of a
 * run, never its outcome.
 */

/** The command that runs one built winprov: the executable, or node with the bundle's path. */
export interface Built {
  command: string;
  args: readonly string[];
}

interface Outcome {
  code: number;
  cacheLine: string;
  /** When the run failed: the last lines it wrote (stderr, else stdout), to say why. */
  why?: string;
}

/** Problems found; empty when every scenario reached Ready with the expected code cache line. */
export async function codeCacheProblems(built: Built): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'winprov-cache-check-'));
  const simulator = new FabricSimulator({ scenario: { certificateCount: 1 } });
  const cache = join(dir, 'winprov.codecache');
  const problems: string[] = [];
  try {
    await simulator.start();
    const provision = (env: Record<string, string> = {}) => provisionOnce(built, simulator, dir, { WINPROV_CODE_CACHE: cache, ...env });
    const expect = async (what: string, env: Record<string, string>, line: RegExp) => {
      const outcome = await provision(env);
      if (outcome.code !== 0) problems.push(`${what}: exited with ${outcome.code} (${outcome.cacheLine || 'no code cache line'}): ${outcome.why ?? ''}`);
      else if (!line.test(outcome.cacheLine)) problems.push(`${what}: reached Ready but logged "${outcome.cacheLine}"`);
    };
    await expect('warm run', { WINPROV_CODE_CACHE_WARM: '1' }, /code cache: none at/);
    if (!existsSync(cache)) return [...problems, 'the warm run wrote no code cache'];
    const good = readFileSync(cache);
    await expect('with the cache', {}, /^code cache: used /);
    writeFileSync(cache, tamper(good, (data) => data.fill(0x5a, 1000, 3000), false));
    await expect('with a corrupt cache', {}, /not used, mismatch: its checksum does not match/);
    writeFileSync(cache, tamper(good, (data) => data.fill(0xff, 0, 64), true));
    await expect('with a cache V8 refuses', {}, /not used, rejected: /);
    // What the MSI installs before prepare-image runs (build/msi/winprov.wxs.in): no cache yet.
    writeFileSync(cache, Buffer.alloc(0));
    await expect('with the installer\'s empty placeholder', {}, /^code cache: none at /);
    return problems;
  } finally {
    await simulator.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One `provision -v` on a fresh sandbox: the exit code and the code cache debug line. */
export async function provisionOnce(built: Built, simulator: FabricSimulator, dir: string, env: Record<string, string>): Promise<Outcome> {
  const sandbox = mkdtempSync(join(dir, 'sandbox-'));
  try {
    await SandboxPlatform.open(sandbox, { create: true });
    await simulator.writeProvisioningMedia(join(sandbox, 'drives', 'D'));
    const args = [...built.args, 'provision', '--platform', 'sandbox', '--sandbox', sandbox, '--fabric', simulator.url, '--deadline', '60s', '-v'];
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(built.command, args, { env: { ...process.env, ...env }, timeout: 120_000 }, (err, out, errOut) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout: out, stderr: errOut }));
    });
    const cacheLine = /code cache: .*/.exec(stdout)?.[0] ?? '';
    if (code === 0) return { code, cacheLine };
    return { code, cacheLine, why: (stderr.trim() || stdout.trim()).split('\n').slice(-3).join(' | ') };
  } finally {
    rmSync(sandbox, { recursive: true, force: true });
  }
}

/**
 * The cache file with its V8 data changed; with fixChecksum the header's checksum is made to match, so
 * only V8 can tell (and it must refuse: V8 trusts a cache's bytes once its own header checks pass, so the
 * data changed here is that header).
 */
export function tamper(file: Buffer, change: (data: Buffer) => void, fixChecksum: boolean): Buffer {
  const first = file.indexOf(10);
  const second = file.indexOf(10, first + 1);
  const header = JSON.parse(file.toString('utf8', first + 1, second)) as Record<string, unknown>;
  const data = Buffer.from(file.subarray(second + 1));
  change(data);
  if (fixChecksum) header['dataSha256'] = createHash('sha256').update(data).digest('hex');
  return Buffer.concat([Buffer.from(`${CODE_CACHE_MAGIC}\n${JSON.stringify(header)}\n`), data]);
}
