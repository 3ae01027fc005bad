import { spawn } from 'node:child_process';

/**
 * How the Windows platform starts child processes. A session is a long-lived child driven over its
 * standard streams; the runner is a constructor parameter of the Windows platform so that tests can
 * record every file, argument and stdin byte instead of running them. Two runners:
 * - `processRunner` (node:child_process) starts the PowerShell session. Its start is the longest wait at
 *   the beginning of a Windows run, and loading execa first cost 30-40 ms before PowerShell could be
 *   spawned (issue 13, measured on the bundle); for one executable by full path with piped streams,
 *   execa adds nothing this needs.
 * - `execaRunner` (execa-runner.ts, the only execa import, loaded when first used) runs Windows tools:
 *   the first-boot script's interpreter and taskkill.
 */

/** How a session ended: the exit code, or the signal, or why it could not start at all. */
export interface SessionExit {
  exitCode: number | undefined;
  signal: string | undefined;
  /** Node's error code when the process could not be spawned (ENOENT, EACCES ...). */
  spawnError: string | undefined;
  /** The process had not exited OUTPUT_GRACE_MS after it was killed; it is no longer waited for. */
  stillRunning?: true;
}

/** What a running session reports; each callback may be called from any turn of the event loop. */
export interface SessionEvents {
  stdout(chunk: Uint8Array): void;
  stderr(chunk: Uint8Array): void;
  /** Called exactly once, after the last stdout and stderr chunk. */
  exit(info: SessionExit): void;
}

/** A running child process: bytes in, and a way to end it. */
export interface Session {
  /** Writes to the child's stdin; a write to a child that has ended is dropped (exit() reports it). */
  write(data: string | Uint8Array): void;
  /** Closes the child's stdin. */
  end(): void;
  /** Terminates the child (TerminateProcess on Windows). */
  kill(): void;
  /**
   * The child's process id, for tools that act on it by id (taskkill /T walks the processes it started);
   * undefined when it could not be started, or from a runner that starts nothing.
   */
  readonly pid?: number | undefined;
  /** True once the process has exited, before its streams may have closed: its id may then name another process. */
  readonly exited?: boolean;
}

/** Starts sessions; `processRunner` / `execaRunner` in production, a recording fake in tests. */
export interface CommandRunner {
  spawnSession(file: string, args: readonly string[], events: SessionEvents): Session;
}

/**
 * How long output may still arrive once the process has exited, or how long a killed process may take to
 * exit: what it wrote is in the pipes already, and a process it started in the background, which
 * inherited them, may hold them open for as long as it runs (a script's `start "" agent.exe`); a process
 * whose termination waits on a hung driver outlives its kill.
 */
export const OUTPUT_GRACE_MS = 1_000;

/**
 * node:child_process: no shell, hidden window, streams piped and not buffered (the PowerShell session).
 * Node keeps a child's handle and its pipes referenced, and reports 'close' only once every pipe has
 * closed: a killed PowerShell that does not end, or a process holding its inherited pipes, would keep
 * winprov from exiting (Setup runs the specialize pass's commands synchronously and waits). So OUTPUT_GRACE_MS
 * after its exit, or after kill() if it has not exited by then, the pipes are destroyed, the child unref()ed
 * and the end reported: nothing of it keeps the event loop alive any more.
 */
export const processRunner: CommandRunner = {
  spawnSession(file, args, events) {
    const child = spawn(file, [...args], { stdio: 'pipe', shell: false, windowsHide: true });
    let reported = false;
    let exited = false;
    let grace: NodeJS.Timeout | undefined;
    const report = (info: SessionExit) => {
      if (reported) return;
      reported = true;
      clearTimeout(grace);
      events.exit(info);
    };
    /** Lets go of the child: its pipes closed on our side, its handle no longer holding the event loop. */
    const release = (info: SessionExit) => {
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
      child.unref();
      report(info);
    };
    child.stdout.on('data', (chunk: Uint8Array) => void (reported || events.stdout(chunk)));
    child.stderr.on('data', (chunk: Uint8Array) => void (reported || events.stderr(chunk)));
    // EPIPE when the child has died: the exit report below tells the owner, the write itself is moot.
    child.stdin.on('error', () => undefined);
    // 'error' without 'close' when it could not be spawned; 'close' (after the last output) otherwise.
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (child.pid === undefined) report({ exitCode: undefined, signal: undefined, spawnError: err.code ?? 'unknown error' });
    });
    child.on('exit', (code, signal) => {
      exited = true;
      // A child let go of after its kill that ends at last: nothing is waited for any more.
      if (reported) return;
      clearTimeout(grace);
      grace = setTimeout(() => release({ exitCode: code ?? undefined, signal: signal ?? undefined, spawnError: undefined }), OUTPUT_GRACE_MS);
    });
    child.on('close', (code, signal) => report({ exitCode: code ?? undefined, signal: signal ?? undefined, spawnError: undefined }));
    return {
      write(data) {
        if (child.stdin.destroyed || !child.stdin.writable) return;
        child.stdin.write(data);
      },
      end() {
        child.stdin.end();
      },
      kill() {
        child.kill();
        if (exited || reported || grace !== undefined) return;
        grace = setTimeout(() => release({ exitCode: undefined, signal: undefined, spawnError: undefined, stillRunning: true }), OUTPUT_GRACE_MS);
      },
      get pid() {
        return child.pid;
      },
      get exited() {
        return exited;
      },
    };
  },
};
