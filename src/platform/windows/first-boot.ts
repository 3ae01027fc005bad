import { join } from 'node:path';
import { azureDataDirectory } from './artifacts.ts';
import type { Secret } from '../../util/secret.ts';
import { readSavedCustomData } from '../custom-data-file.ts';
import type { CommandRunner } from './exec.ts';
import type { FirstBootRunExit, FirstBootRunRequest } from '../first-boot-types.ts';

/**
 * Windows' side of the first-boot script. The script file is already in winprov's state folder (limited
 * to SYSTEM and Administrators); only its path is on the command line, never its content. PowerShell
 * scripts run with Windows PowerShell 5.1 (or the "powershell" setting, as every winprov script does),
 * -NoProfile -NonInteractive -ExecutionPolicy Bypass -File: a Group Policy execution policy still wins
 * (README, "Execution policy set by Group Policy"). cmd scripts run with %SystemRoot%\System32\cmd.exe
 * /d /c (no AutoRun commands). Stdin is closed at once: nobody can answer a prompt at SetupComplete.
 */

export interface WindowsFirstBootOptions {
  runner: CommandRunner;
  powershell: string;
  systemRoot: string;
  systemDrive: string;
}

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

export function runWindowsScript(options: WindowsFirstBootOptions, request: FirstBootRunRequest): Promise<FirstBootRunExit> {
  const { file, args } = interpreterCommand(options, request);
  return new Promise((resolve) => {
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    // TerminateProcess ends the interpreter; processes the script started itself are not followed.
    const session = options.runner.spawnSession(file, args, {
      stdout: (chunk) => request.onOutput(chunk),
      stderr: (chunk) => request.onOutput(chunk),
      exit: (info) => {
        clearTimeout(timer);
        if (info.spawnError !== undefined) resolve({ exitCode: undefined, timedOut: false, spawnError: info.spawnError });
        else resolve({ exitCode: timedOut ? undefined : info.exitCode, timedOut });
      },
    });
    timer = setTimeout(() => {
      timedOut = true;
      session.kill();
    }, request.timeoutMs);
    session.end();
  });
}
