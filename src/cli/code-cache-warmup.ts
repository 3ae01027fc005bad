import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WARM_RUN_ENV, codeCacheState, type CodeCacheState } from '../code-cache.ts';
import { thisProgram } from '../util/this-program.ts';
import type { CommandIo } from './io.ts';

/**
 * prepare-image's last step: a warm run of `provision` (configuration, log, platform, lock, journal, the
 * fabric protocol and a certificate) against an in-process fabric simulator and the sandbox platform in a
 * temporary folder; the run writes the V8 code cache of the program as it left it compiled, beside the
 * executable (src/code-cache.ts). The folder and the simulator are gone when it returns, whatever
 * happened; no file of the warm run is left behind, and the machine itself is not touched.
 */

/** What prepare-image says about the code cache; `dryRun` only says it. */
export async function codeCacheStep(io: CommandIo, options: { dryRun: boolean }, state: CodeCacheState | undefined = codeCacheState()): Promise<void> {
  const say = (line: string) => io.out(`${options.dryRun ? 'would ' : ''}${line}\n`);
  if (state === undefined || state.path === undefined) {
    io.out(`no code cache: ${state === undefined ? 'winprov runs from source' : 'WINPROV_CODE_CACHE=off'}\n`);
    return;
  }
  if (options.dryRun) {
    say(`write the code cache for this executable at ${state.path} (after a warm run against an in-process fabric simulator)`);
    return;
  }
  try {
    await warmRun(state, (line) => io.err(`warning: ${line}\n`));
    say(`write the code cache for this executable at ${state.path} (${Math.round((await stat(state.path)).size / 1024)} KiB)`);
  } catch (err) {
    // The cache only saves compile time at boot: without it, every VM still provisions.
    io.err(`warning: no code cache written (${(err as Error).message}); VMs will provision without it, a little slower\n`);
  }
}

/**
 * One provisioning run of this executable, in a child process, against a simulator in this one and a
 * sandbox machine, both temporary. A child, so that the cache holds what `provision` compiles and not
 * prepare-image's or the simulator's code: V8 deserializes all of a cache up front, and every function
 * in it costs memory at boot (measured: about 10 MB more peak RSS with a cache made in-process).
 */
export async function warmRun(state: CodeCacheState, warn: (line: string) => void): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'winprov-warm-'));
  // The simulator is loaded here only: prepare-image's own run does not need it.
  const { FabricSimulator } = await import('../simulator/index.ts');
  const simulator = new FabricSimulator({ scenario: { certificateCount: 1, provisionGuestAgent: true } });
  try {
    await simulator.start();
    const sandbox = join(root, 'sandbox');
    const { SandboxPlatform } = await import('../platform/sandbox/index.ts');
    await SandboxPlatform.open(sandbox, { create: true });
    await simulator.writeProvisioningMedia(join(sandbox, 'drives', 'D'));
    // This same executable, with the same V8 flags, or V8 refuses the cache (util/this-program.ts).
    const self = thisProgram();
    const args = [...self.args, 'provision', '--platform', 'sandbox', '--sandbox', sandbox, '--fabric', simulator.url, '--deadline', '60s', '--quiet'];
    const env = { ...process.env, [WARM_RUN_ENV]: '1', WINPROV_CODE_CACHE: state.path };
    const result = await runBounded(self.file, args, env);
    if (result.code !== 0) throw new Error(`the warm run ended with exit code ${result.code}: ${result.output.trim().split('\n').slice(-3).join(' | ')}`);
  } finally {
    await simulator.stop().catch(() => undefined);
    // A file still open for a moment (an antivirus scan on Windows) must not replace the run's outcome;
    // a folder left behind is said, as it would be captured into the image.
    await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }).catch((err: unknown) => {
      warn(`the warm run's temporary folder ${root} could not be removed (${(err as NodeJS.ErrnoException).code ?? 'error'}); delete it before capturing the image`);
    });
  }
}

/** The warm run's own --deadline is 60 s; this bounds what that cannot (a child stuck before it reads it, a handle keeping it alive). */
const WARM_RUN_TIMEOUT_MS = 120_000;

/** Runs a child to its end and returns its exit code and the tail of its output; killed after `timeoutMs`. */
export function runBounded(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number = WARM_RUN_TIMEOUT_MS): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the warm run did not end within ${timeoutMs / 1000} s and was stopped`));
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-4000)));
    child.stderr.on('data', (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-4000)));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
