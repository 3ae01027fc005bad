import { link, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, win32 } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PlatformCommandError, PlatformRejectedError } from '../../errors.ts';
import { writeFileAtomic } from '../../util/files.ts';
import { keepBackup, readIfExists } from './file-backup.ts';
import type { ClearingArrangement } from '../platform.ts';

/**
 * %SystemRoot%\Setup\Scripts\SetupComplete.cmd for the deferred-Ready mode. Windows Setup runs that one
 * file, as SYSTEM, after OOBE and before the logon screen; there is no second slot. So a SetupComplete.cmd
 * other than the script being installed is never overwritten silently: it is copied to
 * SetupComplete.cmd.winprov-backup (.2, .3 ... when an earlier, different backup exists; file-backup.ts) before winprov's
 * script replaces it, and the caller is told. Its commands no longer run unless winprov's script is
 * edited to call the backup. That includes a winprov script (a line starting with "rem winprov", the
 * header of every version) that differs: another version's, or one the image builder edited as that
 * message suggests, whose edits a later prepare-image must not lose.
 */

// The header of every winprov SetupComplete.cmd: its first remark, right after "@echo off".
const OURS = /^(?:@echo off\r?\n)?rem winprov\b/i;

/** What installSetupComplete did. */
export interface SetupCompleteResult {
  path: string;
  outcome: 'written' | 'unchanged';
  /** Where the SetupComplete.cmd it replaced was kept. */
  backup: string | undefined;
  /** What that one was: winprov's of another version or edited ('winprov'), or another's ('foreign'). */
  replaced: 'winprov' | 'foreign' | undefined;
}

/** True for a SetupComplete.cmd of winprov's (any version, any mode, edited or not): its header line. */
export function isWinprovSetupComplete(script: string): boolean {
  return OURS.test(script);
}

/** SetupComplete.cmd under the given %SystemRoot% as text (latin1: cmd.exe's file is ASCII), or undefined. */
export async function readSetupComplete(systemRoot: string): Promise<string | undefined> {
  return (await readIfExists(setupCompletePath(systemRoot), 'readSetupComplete'))?.toString('latin1');
}

/** SetupComplete.cmd under the given %SystemRoot%. */
export function setupCompletePath(systemRoot: string): string {
  return join(setupScriptsDirectory(systemRoot), 'SetupComplete.cmd');
}

/** The script folder under the given %SystemRoot%. */
export function setupScriptsDirectory(systemRoot: string): string {
  return join(systemRoot, 'Setup', 'Scripts');
}

/**
 * The bytes cmd.exe should read: no BOM (cmd.exe would take it as part of the first command), CRLF line
 * ends (with bare LF, cmd.exe's label search for goto and call can miss labels), and
 * ASCII only: cmd.exe decodes a batch file in the console's OEM code page, so anything else is read
 * differently on every localized build.
 */
export function toBatchText(script: string): Buffer {
  const text = (script.charCodeAt(0) === 0xfeff ? script.slice(1) : script).replace(/\r?\n|\r/g, '\r\n');
  const withEnd = text.endsWith('\r\n') ? text : `${text}\r\n`;
  const bad = /[^\t\r\n\x20-\x7e]/.exec(withEnd);
  if (bad !== null) {
    const line = withEnd.slice(0, bad.index).split('\r\n').length;
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new PlatformRejectedError('installSetupComplete', `SetupComplete.cmd must be printable ASCII text, as cmd.exe reads it in the OEM code page (U+${code} on line ${line})`);
  }
  return Buffer.from(withEnd, 'latin1');
}

/**
 * Writes SetupComplete.cmd atomically under the given %SystemRoot%, keeping the one there as a backup
 * unless it is one of `replaceable` (the scripts this winprov installs, unedited: prepare-image switching
 * modes piles up no backups) or the clearing-only one a provisioning run wrote.
 */
export async function installSetupComplete(systemRoot: string, script: string, replaceable: readonly string[] = []): Promise<SetupCompleteResult> {
  const content = toBatchText(script);
  const folder = setupScriptsDirectory(systemRoot);
  const path = join(folder, 'SetupComplete.cmd');
  try {
    await mkdir(folder, { recursive: true });
  } catch (err) {
    throw new PlatformCommandError('installSetupComplete', `${folder} cannot be created (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const existing = await readIfExists(path, 'installSetupComplete');
  if (existing !== undefined && existing.equals(content)) return { path, outcome: 'unchanged', backup: undefined, replaced: undefined };
  // The one a provisioning run wrote only to clear the answer file: every script winprov installs makes that call.
  const superseded = existing === undefined || [clearOnlySetupComplete(), ...replaceable].some((known) => existing.equals(toBatchText(known)));
  const backup = superseded ? undefined : await keepBackup(path, existing, { verb: 'installSetupComplete' });
  try {
    await writeFileAtomic(path, content);
  } catch (err) {
    throw new PlatformCommandError('installSetupComplete', `${path} cannot be written (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return { path, outcome: 'written', backup, replaced: superseded ? undefined : OURS.test(existing.toString('latin1')) ? 'winprov' : 'foreign' };
}

/** The warning for a SetupComplete.cmd that was replaced and kept as a backup. */
export function describeBackup(result: SetupCompleteResult): string {
  if (result.replaced === 'winprov') return `${result.path} was winprov's of another version, or edited: it is kept as ${result.backup}; carry any edit of yours over to the new script`;
  return `${result.path} was not winprov's: it is kept as ${result.backup}; Windows runs only SetupComplete.cmd, so its commands no longer run unless winprov's script calls them`;
}

/** Where the MSI installs winprov, as the answer files and every SetupComplete.cmd start it (prepare-image checks it runs from there: image-inputs.ts). */
export const WINPROV_EXE = '%ProgramFiles%\\winprov\\winprov.exe';

/** WINPROV_EXE under a given %ProgramFiles%: the path the answer files and SetupComplete.cmd start. */
export function installedWinprovExe(programFiles: string): string {
  return win32.join(programFiles, 'winprov', 'winprov.exe');
}

/** A winprov command as every SetupComplete.cmd of winprov runs it: logged before, its output in the log, its exit code after. */
export function winprovCallLines(command: string): string[] {
  return [
    `>>"%WINPROV_LOG%" echo [%DATE% %TIME%] SetupComplete: starting "${WINPROV_EXE}" ${command}`,
    `"${WINPROV_EXE}" ${command} >>"%WINPROV_LOG%" 2>&1`,
    `>>"%WINPROV_LOG%" echo [%DATE% %TIME%] SetupComplete: ${command} exited with %ERRORLEVEL%`,
  ];
}

/**
 * The call every winprov SetupComplete.cmd makes after its other steps (answer-file-clear.ts): once OOBE
 * has used them, the passwords in %WINDIR%\Panther\Unattend\unattend.xml are replaced as Setup does in its
 * own copy. After the ":done" label of the deferred mode's script, so it runs whatever provision did.
 */
export const CLEAR_CALL_LINES = [
  'rem winprov clear-answer-file: OOBE has used the passwords in %WINDIR%\\Panther\\Unattend\\unattend.xml (the',
  'rem AutoLogon password of AdditionalUnattendContent); they are replaced as Setup does in its cached copy.',
  ...winprovCallLines('clear-answer-file'),
];

/**
 * A line that runs winprov's clear-answer-file (quoted or not, after `call`, inside a block): not a
 * remark, not an echo of it, not a --dry-run.
 */
const CLEAR_CALL = /^(?![ \t]*@?(?:rem\b|::))(?![^\r\n]*\becho\b)[^\r\n]*\bwinprov(?:\.exe)?"?[ \t]+clear-answer-file\b(?![^\r\n]*--dry-run)/im;
/** The temporary names arrangeAnswerFileClearing writes under; one a killed run left is removed by the next. */
const TEMPORARY = /^SetupComplete\.cmd\.[0-9a-f]{12}\.tmp$/;

/** The header and the log every SetupComplete.cmd of winprov starts with, around the given steps. */
export function setupCompleteScript(description: readonly string[], steps: readonly string[]): string {
  return [
    '@echo off',
    ...description.map((line) => `rem ${line}`.trimEnd()),
    'setlocal',
    'set "WINPROV_DIR=%ProgramData%\\winprov"',
    'set "WINPROV_LOG=%ProgramData%\\winprov\\setupcomplete.log"',
    'if not exist "%WINPROV_DIR%\\" mkdir "%WINPROV_DIR%"',
    ...steps,
    'endlocal',
    'exit /b 0',
    '',
  ].join('\r\n');
}

/** What the provisioning run writes when the VM's answer file holds a password and the image has no SetupComplete.cmd. */
export function clearOnlySetupComplete(): string {
  return setupCompleteScript([
    'winprov (see README.md "The AutoLogon password, after OOBE"). Windows runs %WINDIR%\\Setup\\Scripts\\SetupComplete.cmd',
    'once, as SYSTEM, after OOBE. The provisioning run wrote this one because the answer file holds a password',
    'that OOBE uses and nothing needs after it. Setup ignores the exit code: it always exits 0.',
  ], CLEAR_CALL_LINES);
}

/**
 * Makes sure SetupComplete.cmd under the given %SystemRoot% clears the answer file's passwords after OOBE:
 * writes clearOnlySetupComplete() when there is none; never changes one that is there (the image's own,
 * or winprov's of a version before the call), which is reported as 'other'. The new file appears whole:
 * written under a temporary name, then linked to its name, which fails if a file took it meanwhile.
 */
export async function arrangeAnswerFileClearing(systemRoot: string): Promise<ClearingArrangement> {
  const folder = setupScriptsDirectory(systemRoot);
  const path = join(folder, 'SetupComplete.cmd');
  const found = async (): Promise<ClearingArrangement | undefined> => {
    const existing = await readIfExists(path, 'arrangeAnswerFileClearing');
    return existing === undefined ? undefined : { path, outcome: CLEAR_CALL.test(existing.toString('latin1')) ? 'present' : 'other' };
  };
  const there = await found();
  if (there !== undefined) return there;
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(folder, { recursive: true });
    for (const name of await readdir(folder)) if (TEMPORARY.test(name)) await rm(join(folder, name), { force: true });
    await writeFile(temporary, toBatchText(clearOnlySetupComplete()), { flag: 'wx', flush: true });
    await link(temporary, path);
  } catch (err) {
    // A script that appeared meanwhile is judged as found; a name that is taken but reads as nothing (a
    // dangling link, a reparse point) is not winprov's to replace.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return (await found().catch(() => undefined)) ?? { path, outcome: 'other' };
    throw new PlatformCommandError('arrangeAnswerFileClearing', `${path} cannot be written (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  } finally {
    await rm(temporary, { force: true }).catch(() => undefined);
  }
  return { path, outcome: 'installed' };
}
