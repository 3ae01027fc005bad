import { execa } from 'execa';
import { OUTPUT_GRACE_MS, type CommandRunner, type SessionExit } from './exec.ts';

/**
 * The runner of Windows tools (the first-boot script's interpreter, taskkill): the only execa import
 * of the agent, loaded when a tool first runs, never on the way to Ready (exec.ts says why).
 */

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
    let reported = false;
    let exited = false;
    let grace: NodeJS.Timeout | undefined;
    const report = (exit: SessionExit) => {
      if (reported) return;
      reported = true;
      clearTimeout(grace);
      events.exit(exit);
    };
    child.stdout?.on('data', (chunk: Uint8Array) => void (reported || events.stdout(chunk)));
    child.stderr?.on('data', (chunk: Uint8Array) => void (reported || events.stderr(chunk)));
    // EPIPE when the child has died: the exit report below tells the owner, the write itself is moot.
    child.stdin?.on('error', () => undefined);
    // Its streams closing (execa's result) is the usual end; its exit bounds it, so a background process
    // holding the streams neither holds the owner nor turns a finished script into a timed-out one.
    child.nodeChildProcess.on('exit', (code, signal) => {
      exited = true;
      grace = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        report({ exitCode: code ?? undefined, signal: signal ?? undefined, spawnError: undefined });
      }, OUTPUT_GRACE_MS);
    });
    void child.then((result) => {
      report({
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
      get pid() {
        return child.pid;
      },
      get exited() {
        return exited;
      },
    };
  },
};
