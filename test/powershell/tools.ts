import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The PowerShell tier's pinned tools (restore.ts restores them before the tests run). */
export const POWERSHELL_VERSION = '7.6.10';
export const PESTER_VERSION = '5.7.1';
export const TOOLS_FILE = join('.scratch', 'powershell', 'tools.json');

export type ToolsRecord = { pwsh: string; pester: string } | { skipped: string };

const root = join(import.meta.dirname, '..', '..');

/** The tools, or why the tier is skipped (the reason is printed by the test that skips). */
export function powerShellTools(): ToolsRecord {
  try {
    return JSON.parse(readFileSync(join(root, TOOLS_FILE), 'utf8')) as ToolsRecord;
  } catch {
    return { skipped: `${TOOLS_FILE} is missing: run the tests with npm test, which restores PowerShell and Pester first` };
  }
}

/** Runs pwsh with a script file and arguments; resolves with its output whatever the exit code. */
export function runPwsh(pwsh: string, args: string[], options: { env?: Record<string, string>; timeoutMs?: number; input?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // A temporary folder of its own, removed when it ends: the emulated machines Pester seeds
  // (New-WindowsEmulationState without -Root) and pwsh's CoreFxPipe sockets land there.
  const temporary = mkdtempSync(join(tmpdir(), 'winprov-pwsh-'));
  return new Promise((resolve) => {
    const child = execFile(
      pwsh,
      ['-NoLogo', '-NoProfile', '-NonInteractive', ...args],
      { cwd: root, env: { ...process.env, TMPDIR: temporary, ...options.env }, timeout: options.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        rmSync(temporary, { recursive: true, force: true });
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

export const REPO_ROOT = root;
