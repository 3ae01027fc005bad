import { join } from 'node:path';
import { azureDataDirectory } from './artifacts.ts';
import type { Secret } from '../../util/secret.ts';
import { readSavedCustomData } from '../custom-data-file.ts';
import type { CommandRunner, Session } from './exec.ts';
import type { LogFunction } from './session.ts';
import type { FirstBootRunExit, FirstBootRunRequest } from '../first-boot-types.ts';
import { killTree } from './process-tree.ts';

/**
 * Windows' side of the first-boot script. The script file is already in winprov's state folder (limited
 * to SYSTEM and Administrators); only its path is on the command line, never its content. PowerShell
 * scripts run with Windows PowerShell 5.1 (or the "powershell" setting, as every winprov script does),
 * -NoProfile -NonInteractive -ExecutionPolicy Bypass -File: a Group Policy execution policy still wins
 * (README, "Execution policy set by Group Policy"). cmd scripts run with %SystemRoot%\System32\cmd.exe
 * /d /c (no AutoRun commands). Stdin is closed at once: nobody can answer a prompt at SetupComplete.
 *
 * At the timeout the script's whole process tree is stopped: first taskkill /T /F on the interpreter
 * (process-tree.ts), while it is still alive; then TerminateProcess on the interpreter whatever taskkill
 * did. Not reached: a process the script started that ended its own parent chain before the timeout (a
 * detached grandchild whose parent exited) or that Windows started on its behalf (a service, a scheduled
 * task); a job object would catch the first, but a job must be assigned at CreateProcess, which Node's
 * child_process does not offer.
 */

export interface WindowsFirstBootOptions {
  /** Runs the interpreter and taskkill; execa (loaded on first use) unless a test gives its own. */
  runner: CommandRunner | undefined;
  powershell: string;
  systemRoot: string;
  systemDrive: string;
  /** The platform's log: taskkill's failure at the timeout is a warning there. */
  log: LogFunction;
  /** How long taskkill may take before the interpreter is killed anyway; default TREE_KILL_TIMEOUT_MS. */
  treeKillTimeoutMs?: number;
}

type ToolOptions = WindowsFirstBootOptions & { runner: CommandRunner };

export function readWindowsCustomData(systemDrive: string, maxBytes: number): Promise<Secret<Uint8Array> | { tooLarge: number } | undefined> {
  // Written by files.ps1 Write-WinprovCustomData during specialize; read back as SYSTEM.
  return readSavedCustomData(join(azureDataDirectory(systemDrive), 'CustomData.bin'), maxBytes);
}

export function interpreterCommand(options: WindowsFirstBootOptions, request: FirstBootRunRequest): { file: string; args: string[] } {
  if (request.interpreter === 'powershell') {
    return { file: options.powershell, args: ['-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', request.scriptPath] };
  }
  return { file: join(options.systemRoot, 'System32', 'cmd.exe'), args: ['/d', '/c', request.scriptPath] };
}

export async function runWindowsScript(given: WindowsFirstBootOptions, request: FirstBootRunRequest): Promise<FirstBootRunExit> {
  const options = { ...given, runner: given.runner ?? (await import('./execa-runner.ts')).execaRunner };
  const { file, args } = interpreterCommand(options, request);
  return new Promise((resolve) => {
    let timedOut = false;
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    let stopping: Promise<void> | undefined;
    const session = options.runner.spawnSession(file, args, {
      stdout: (chunk) => request.onOutput(chunk),
      stderr: (chunk) => request.onOutput(chunk),
      exit: (info) => {
        ended = true;
        clearTimeout(timer);
        const exit: FirstBootRunExit =
          info.spawnError !== undefined ? { exitCode: undefined, timedOut: false, spawnError: info.spawnError } : { exitCode: timedOut ? undefined : info.exitCode, timedOut };
        // taskkill usually ends the interpreter itself: answer once the whole stop is over, so no taskkill
        // outlives the verb and its failure is in the log before the outcome is.
        void (stopping ?? Promise.resolve()).then(() => resolve(exit));
      },
    });
    timer = setTimeout(() => {
      // An interpreter that has exited (its output still draining) finished in time, and its id may
      // already name another process: nothing is stopped.
      if (ended || session.exited === true) return;
      timedOut = true;
      stopping = stopScript(options, session);
    }, request.timeoutMs);
    session.end();
  });
}

/** The tree first (taskkill /T needs the interpreter alive to find its children), then the interpreter. */
async function stopScript(options: ToolOptions, session: Session): Promise<void> {
  const pid = session.pid;
  const failure = pid === undefined ? 'the interpreter has no process id' : await killTree({ ...options, limitMs: options.treeKillTimeoutMs }, pid);
  if (failure !== undefined) {
    options.log('warn', `first-boot script: the processes the script started could not be stopped at its timeout (taskkill /T: ${failure}); stopping the interpreter alone, they may keep running`);
  }
  session.kill();
}
