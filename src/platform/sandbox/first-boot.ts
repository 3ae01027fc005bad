import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Secret } from '../../util/secret.ts';
import { readSavedCustomData } from '../custom-data-file.ts';
import type { FirstBootRunExit, FirstBootRunRequest } from '../first-boot-types.ts';
import { fakeInterpreterCommand } from './fake-interpreter.ts';
import { thisProgram, type ThisProgram } from '../../util/this-program.ts';

/**
 * The sandbox's side of the first-boot script. No script is ever run by the host's shell: a fake
 * interpreter (fake-interpreter.ts; a child process, so timeouts, kills and output streams are real)
 * reads the script file and obeys a few lines of each language, and appends one line per run to
 * <sandbox>/first-boot-runs.jsonl (the interpreter, the file, a SHA-256 of its bytes, never the content)
 * so tests can count runs. What it understands, in either language:
 *   echo TEXT | Write-Output TEXT | Write-Host TEXT   TEXT on stdout (quotes dropped)
 *   echo TEXT 1>&2 | Write-Error TEXT                 TEXT on stderr
 *   Start-Sleep -Seconds N | timeout /t N              waits N seconds
 *   type "%~f0" | Get-Content $PSCommandPath          prints the script itself (the secret-leak case)
 *   exit N | exit /b N                                 ends with code N
 * A .ps1 run as cmd or a .cmd run as PowerShell exits 9009, as a wrong interpreter would fail.
 */

export const RUNS_FILE = 'first-boot-runs.jsonl';

export function readSandboxCustomData(root: string, maxBytes: number): Promise<Secret<Uint8Array> | { tooLarge: number } | undefined> {
  return readSavedCustomData(join(root, 'SystemDrive', 'AzureData', 'CustomData.bin'), maxBytes);
}

/** `program` is how this winprov starts itself (util/this-program.ts); tests name the single executable's way. */
export function runSandboxScript(root: string, request: FirstBootRunRequest, program: ThisProgram = thisProgram()): Promise<FirstBootRunExit> {
  return new Promise((resolve) => {
    const command = fakeInterpreterCommand([request.interpreter, request.scriptPath, join(root, RUNS_FILE)], program);
    const child = spawn(command.file, command.args, {
      // stdin carries the arguments in the single executable and is closed at once otherwise.
      stdio: ['pipe', 'pipe', 'pipe'],
      // The host's proxy or Node options must not leak into the fake; only what Node needs to start.
      env: { PATH: process.env['PATH'] ?? '' },
    });
    // A child killed before it read its arguments: the exit below says so, the write error is moot.
    child.stdin.on('error', () => undefined);
    child.stdin.end(command.stdin);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, request.timeoutMs);
    child.stdout.on('data', (chunk: Uint8Array) => request.onOutput(chunk));
    child.stderr.on('data', (chunk: Uint8Array) => request.onOutput(chunk));
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ exitCode: undefined, timedOut: false, spawnError: err.code ?? 'error' });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: timedOut ? undefined : (code ?? undefined), timedOut });
    });
  });
}
