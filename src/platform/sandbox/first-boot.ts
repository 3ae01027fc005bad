import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Secret } from '../../util/secret.ts';
import { readSavedCustomData } from '../custom-data-file.ts';
import type { FirstBootRunExit, FirstBootRunRequest } from '../first-boot-types.ts';

/**
 * The sandbox's side of the first-boot script. No script is ever run by the host's shell: a fake
 * interpreter (a Node child process, so timeouts, kills and output streams are real) reads the script
 * file and obeys a few lines of each language, and appends one line per run to
 * <sandbox>/first-boot-runs.jsonl (the interpreter, the file, a SHA-256 of its bytes, never the content)
 * so tests can count runs. What it understands, in either language:
 *   echo TEXT | Write-Output TEXT | Write-Host TEXT   TEXT on stdout (quotes dropped)
 *   echo TEXT 1>&2 | Write-Error TEXT                 TEXT on stderr
 *   Start-Sleep -Seconds N | timeout /t N              waits N seconds
 *   type "%~f0" | Get-Content $PSCommandPath          prints the script itself (the secret-leak case)
 *   exit N | exit /b N                                 ends with code N
 * A .ps1 run as cmd or a .cmd run as PowerShell exits 9009, as a wrong interpreter would fail.
 */

const FAKE_INTERPRETER = `
const fs = require('node:fs');
const crypto = require('node:crypto');
const [interpreter, script, runs] = process.argv.slice(1);
const bytes = fs.readFileSync(script);
fs.appendFileSync(runs, JSON.stringify({ at: new Date().toISOString(), interpreter, script, sha256: crypto.createHash('sha256').update(bytes).digest('hex'), pid: process.pid }) + '\\n');
const expected = interpreter === 'powershell' ? '.ps1' : '.cmd';
if (!script.endsWith(expected)) { process.stderr.write('not a ' + expected + ' script\\n'); process.exit(9009); }
const text = bytes.toString('utf8').replace(/^\\uFEFF/, '');
const unquote = (s) => s.trim().replace(/^(['"])(.*)\\1$/, '$2');
const lines = text.split(/\\r?\\n/);
let i = 0;
const next = () => {
  while (i < lines.length) {
    const line = lines[i++].trim();
    let m;
    if ((m = /^(?:exit)(?:\\s+\\/b)?\\s+(-?\\d+)$/i.exec(line))) { process.exitCode = Number(m[1]); return; }
    if ((m = /^(?:Start-Sleep\\s+-Seconds|timeout\\s+\\/t)\\s+(\\d+)/i.exec(line))) { setTimeout(next, Number(m[1]) * 1000); return; }
    if (/^(?:type\\s+"%~f0"|Get-Content\\s+\\$PSCommandPath)$/i.test(line)) { process.stdout.write(text); continue; }
    if ((m = /^(?:echo|Write-Error)\\s+(.*?)\\s*1>&2$/i.exec(line)) || (m = /^Write-Error\\s+(.*)$/i.exec(line))) { process.stderr.write(unquote(m[1]) + '\\n'); continue; }
    if ((m = /^(?:echo|Write-Output|Write-Host)\\s+(.*)$/i.exec(line))) { process.stdout.write(unquote(m[1]) + '\\n'); continue; }
  }
  process.exitCode = 0;
};
next();
`;

export const RUNS_FILE = 'first-boot-runs.jsonl';

export function readSandboxCustomData(root: string, maxBytes: number): Promise<Secret<Uint8Array> | { tooLarge: number } | undefined> {
  return readSavedCustomData(join(root, 'SystemDrive', 'AzureData', 'CustomData.bin'), maxBytes);
}

export function runSandboxScript(root: string, request: FirstBootRunRequest): Promise<FirstBootRunExit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', FAKE_INTERPRETER, request.interpreter, request.scriptPath, join(root, RUNS_FILE)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // The host's proxy or Node options must not leak into the fake; only what Node needs to start.
      env: { PATH: process.env['PATH'] ?? '' },
    });
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
