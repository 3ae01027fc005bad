import { spawnSync } from 'node:child_process';
import { ROOT } from './project.ts';

/** The outcome of one external tool run. */
export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a tool and returns what it printed; the exit code is the caller's to judge. */
export function runTool(command: string, args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): RunResult {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? ROOT,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error !== undefined) {
    const code = (result.error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'is not installed (not found on PATH)' : result.error.message;
    throw new Error(`${command} ${reason}`);
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a tool that must succeed; a failure names the command and shows the end of its output. */
export function runOrFail(command: string, args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): string {
  const result = runTool(command, args, options);
  if (result.status !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status}\n${tail}`);
  }
  return result.stdout;
}

/** Runs one build step, prints how long it took, and returns its result. */
export async function timed<T>(label: string, work: () => T | Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  console.log(`  ${label.padEnd(34)} ${String(Math.round(performance.now() - started)).padStart(6)} ms`);
  return result;
}

/** A byte count for people: "94.9 MB (94,907,392 bytes)". */
export function describeSize(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB (${bytes.toLocaleString('en-US')} bytes)`;
}
