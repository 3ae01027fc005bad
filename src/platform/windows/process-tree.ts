import { join } from 'node:path';
import type { CommandRunner } from './exec.ts';
import type { LogFunction } from './session.ts';

/**
 * `%SystemRoot%\System32\taskkill.exe /PID <pid> /T /F` ("taskkill", Windows Commands reference: /T ends
 * the process and every child process started by it). Run while the process is still alive: /T follows
 * each process's recorded parent id (PROCESS_BASIC_INFORMATION.InheritedFromUniqueProcessId), and a process
 * whose parent has already ended is reachable from nobody. Used at the first-boot script's timeout
 * (first-boot.ts) and when the PowerShell session is stopped (session.ts).
 */

/** taskkill walks a tree and ends it in well under a second; one that hangs must not hold the caller. */
export const TREE_KILL_TIMEOUT_MS = 5_000;

/**
 * For the PowerShell session, whose close() waits for it: PowerShell's own verbs start few processes (a
 * native tool at most), and a taskkill that takes longer than this is not going to finish.
 */
export const SESSION_TREE_KILL_MS = 2_000;

/** taskkill by absolute path (never looked up on PATH), the process's tree, forcibly. */
export function treeKillCommand(systemRoot: string, pid: number): { file: string; args: string[] } {
  return { file: join(systemRoot, 'System32', 'taskkill.exe'), args: ['/PID', String(pid), '/T', '/F'] };
}

/** Runs taskkill /T /F on the tree; resolves with why it failed, or undefined once it succeeded. Never rejects. */
export function killTree(options: { runner: CommandRunner; systemRoot: string; limitMs?: number }, pid: number): Promise<string | undefined> {
  const { file, args } = treeKillCommand(options.systemRoot, pid);
  const limitMs = options.limitMs ?? TREE_KILL_TIMEOUT_MS;
  return new Promise((resolve) => {
    let output = '';
    let timer: NodeJS.Timeout | undefined;
    const keep = (chunk: Uint8Array) => void (output = (output + Buffer.from(chunk).toString('utf8')).slice(-300));
    const session = options.runner.spawnSession(file, args, {
      stdout: keep,
      stderr: keep,
      exit: (info) => {
        clearTimeout(timer);
        const said = output.replace(/\s+/g, ' ').trim();
        if (info.spawnError !== undefined) resolve(`it could not be started (${info.spawnError})`);
        // 0 only when every process of the tree was ended; its message (localized) says which were not.
        else if (info.exitCode !== 0) resolve(`exit ${info.exitCode ?? info.signal ?? 'unknown'}${said === '' ? '' : `, "${said}"`}`);
        else resolve(undefined);
      },
    });
    // Resolved here rather than on its exit: a taskkill that ignores even being killed must not hold the stop.
    timer = setTimeout(() => {
      session.kill();
      resolve(`no answer within ${limitMs} ms`);
    }, limitMs);
    session.end();
  });
}

/**
 * The PowerShell session's stopTree (session.ts): taskkill /T on the process about to be killed, with the
 * platform's runner (execa, loaded on first use, unless a test gives its own). Never rejects: a failure is
 * a warning, and the session kills PowerShell all the same.
 */
export async function stopSessionTree(options: { runner: CommandRunner | undefined; systemRoot: string; log: LogFunction }, pid: number): Promise<void> {
  let failure: string | undefined;
  try {
    const runner = options.runner ?? (await import('./execa-runner.ts')).execaRunner;
    failure = await killTree({ runner, systemRoot: options.systemRoot, limitMs: SESSION_TREE_KILL_MS }, pid);
  } catch (err) {
    // The session awaits this before it kills PowerShell: it must resolve whatever happened.
    failure = err instanceof Error ? err.message : String(err);
  }
  if (failure !== undefined) options.log('warn', `the processes PowerShell started could not be stopped with it (taskkill /T: ${failure}); stopping PowerShell alone, they may keep running`);
}
