import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

/**
 * Starts a process and times it on the benchmark's clock (performance.now() of this process, the same
 * clock the simulator's health-report callback is read with), from just before spawn() to its exit.
 */

/** When a process started and ended on the benchmark clock, how it ended, and the tail of what it printed. */
export interface TimedExit {
  startMs: number;
  exitMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last OUTPUT_TAIL characters of stdout and stderr together, for failure messages. */
  output: string;
  /** All of stdout, when asked for (keepStdout). */
  stdout: string | undefined;
}

export interface SpawnTimedOptions {
  env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL) after this long; the result then has signal SIGKILL. */
  timeoutMs: number;
  /** Keep all of stdout (the Windows rows read the session's timing lines from it). */
  keepStdout?: boolean;
}

const OUTPUT_TAIL = 4000;

/** Runs command with args; resolves at exit (never rejects for a non-zero exit; rejects if it cannot start). */
export function spawnTimed(command: string, args: readonly string[], options: SpawnTimedOptions): Promise<TimedExit> {
  return new Promise<TimedExit>((resolve, reject) => {
    let output = '';
    const stdout: Buffer[] | undefined = options.keepStdout === true ? [] : undefined;
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
    };
    const startMs = performance.now();
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', keep);
    if (stdout !== undefined) child.stdout.on('data', (chunk: Buffer) => void stdout.push(chunk));
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      const exitMs = performance.now();
      clearTimeout(timer);
      // 'close' follows once the pipes are drained; the tail is complete only then.
      child.once('close', () => resolve({ startMs, exitMs, code, signal, output, stdout: stdout && Buffer.concat(stdout).toString('utf8') }));
    });
  });
}
