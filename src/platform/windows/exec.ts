import { execa } from 'execa';

/**
 * The one place that starts child processes (and the only execa import of the agent). A session is a
 * long-lived child driven over its standard streams; the runner is a constructor parameter of the
 * Windows platform so that tests can record every file, argument and stdin byte instead of running them.
 */

/** How a session ended: the exit code, or the signal, or why it could not start at all. */
export interface SessionExit {
  exitCode: number | undefined;
  signal: string | undefined;
  /** Node's error code when the process could not be spawned (ENOENT, EACCES ...). */
  spawnError: string | undefined;
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
}

/** Starts sessions; `execaRunner` in production, a recording fake in tests. */
export interface CommandRunner {
  spawnSession(file: string, args: readonly string[], events: SessionEvents): Session;
}

/** Runs the file with execa: no shell, hidden window, streams piped and not buffered. */
export const execaRunner: CommandRunner = {
  spawnSession(file, args, events) {
    const child = execa(file, [...args], {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      shell: false,
      windowsHide: true,
      // The session is killed by its owner; execa's own timeout would race with that.
      forceKillAfterDelay: 2_000,
      cleanup: true,
    });
    child.stdout?.on('data', (chunk: Uint8Array) => events.stdout(chunk));
    child.stderr?.on('data', (chunk: Uint8Array) => events.stderr(chunk));
    // EPIPE when the child has died: the exit report below tells the owner, the write itself is moot.
    child.stdin?.on('error', () => undefined);
    void child.then((result) => {
      events.exit({
        exitCode: result.exitCode,
        signal: result.signal,
        spawnError: result.exitCode === undefined && result.signal === undefined ? (result.code ?? 'unknown error') : undefined,
      });
    });
    return {
      write(data) {
        if (child.stdin === null || child.stdin.destroyed || !child.stdin.writable) return;
        child.stdin.write(data);
      },
      end() {
        child.stdin?.end();
      },
      kill() {
        child.kill();
      },
    };
  },
};
