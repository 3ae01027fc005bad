import { constants } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileBusyError } from '../errors.ts';

/**
 * File helpers with the guarantees the journal needs: a write is atomic (temporary file in the same
 * folder, flushed, then renamed over the target), so a process killed mid-write leaves the old file or
 * the new one, never half of either.
 */

/** The name writeFileAtomic gives its temporary files: "<target>.<12 hex digits>.tmp", and nothing else. */
const TEMPORARY_NAME = /^.+\.[0-9a-f]{12}\.tmp$/;

/** True for a name writeFileAtomic gives its temporary files. */
export function isTemporaryFileName(name: string): boolean {
  return TEMPORARY_NAME.test(name);
}

/**
 * Renames that fail with these codes are tried again: on Windows, antivirus or the search indexer opens a
 * file winprov has just written (without FILE_SHARE_DELETE) for a moment, and MoveFileEx over it fails
 * with EPERM, EACCES or EBUSY until they let go; graceful-fs retries the same codes for the same reason.
 */
const RENAME_RETRY_CODES = new Set(['EPERM', 'EACCES', 'EBUSY']);

/**
 * The total time a rename is retried. graceful-fs gives up after 60 s on Windows; winprov writes its
 * journal after every step of a boot-time run that has one 20-minute deadline, so a file held that long
 * is not a scan that will end soon: 10 s covers a scan of a small file many times over and keeps a stuck
 * file from eating the run's deadline one write at a time.
 */
export const RENAME_RETRY_BUDGET_MS = 10_000;

export interface RenameRetryOptions {
  /** The rename to call (tests inject one that fails); node:fs/promises rename by default. */
  rename?: (from: string, to: string) => Promise<void>;
  /** The wait between attempts; timers/promises setTimeout by default. */
  sleep?: (ms: number) => Promise<unknown>;
  /** Total time retried before FileBusyError; RENAME_RETRY_BUDGET_MS by default. */
  budgetMs?: number;
  /** Told once when the rename succeeded after retries, with how many and how long. */
  log?: (message: string) => void;
}

let defaultRetryLog: ((message: string) => void) | undefined;

/** Where renames that needed retries are reported when the caller passes no log (set once per run, exclusive-run.ts). */
export function setRenameRetryLog(log: ((message: string) => void) | undefined): void {
  defaultRetryLog = log;
}

/**
 * rename(from, to), tried again on EPERM, EACCES and EBUSY with a backoff of 10 ms doubling to at most
 * 1 s, for at most budgetMs in total; then FileBusyError. Any other error is thrown at once.
 */
export async function renameWithRetry(from: string, to: string, options: RenameRetryOptions = {}): Promise<void> {
  const doRename = options.rename ?? rename;
  const wait = options.sleep ?? sleep;
  const budget = options.budgetMs ?? RENAME_RETRY_BUDGET_MS;
  const started = Date.now();
  let delay = 10;
  let retries = 0;
  let waited = 0;
  for (;;) {
    try {
      await doRename(from, to);
      if (retries > 0) (options.log ?? defaultRetryLog)?.(`replacing ${to} needed ${retries} more attempt(s) over ${Math.max(waited, Date.now() - started)} ms (the file was held by another program)`);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (!RENAME_RETRY_CODES.has(code)) throw err;
      // Both clocks: the injected sleep of tests does not move Date.now().
      const elapsed = Math.max(waited, Date.now() - started);
      if (elapsed + delay > budget) throw new FileBusyError(to, code, elapsed, { cause: err, context: { attempts: retries + 1 } });
      await wait(delay);
      waited += delay;
      retries += 1;
      delay = Math.min(delay * 2, 1_000);
    }
  }
}

/** Writes data atomically with owner-only permissions (mode 0600 where the OS has modes). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: RenameRetryOptions = {}): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await openCreatingFolder(temporary);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await renameWithRetry(temporary, path, options);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/**
 * Opens a new file for writing (mode 0600), creating its folder only when the open says it is missing:
 * the journal is saved after every step into a folder that exists, and a mkdir first would be one more
 * file system round trip each time.
 */
async function openCreatingFolder(path: string): Promise<Awaited<ReturnType<typeof open>>> {
  try {
    return await open(path, 'w', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dirname(path), { recursive: true });
    return await open(path, 'w', 0o600);
  }
}

/** Reads a JSON file; undefined when it does not exist; `invalid` is called when it is not JSON. */
export async function readJsonFile<T>(path: string, invalid: (reason: string) => Error): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw invalid(`cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw invalid('is not valid JSON');
  }
}

/** Writes a value as pretty JSON, atomically. */
export async function writeJsonFile(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Removes the temporary files writeFileAtomic leaves in `directory` when the process is killed between
 * writing and renaming (only its own naming pattern); returns the names removed. Call it only while no
 * other run can be writing there (under the run lock).
 */
export async function removeLeftoverTemporaryFiles(directory: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names.filter(isTemporaryFileName).sort()) {
    try {
      await rm(join(directory, name), { force: true });
      removed.push(name);
    } catch {
      // Left for the next run: a leftover temporary file harms nothing but disk space.
    }
  }
  return removed;
}

/** readRegularFile's refusal of a file that holds more than its cap. */
export class FileTooLargeError extends Error {}

/** The first read's size: the files read this way are a few KiB, so one read and the one that finds the end. */
const FIRST_READ_BYTES = 64 * 1024;

/**
 * A file read whole, or undefined when it does not exist. Outside input (the provisioning media, Setup's
 * State.ini): opened without blocking, then read only when that handle is a regular file, since a FIFO in
 * its place would hold the open in the thread pool for good, and even the process's exit waits for that
 * thread (POSIX open(2), O_NONBLOCK). Throws the system's error, one with code EISDIR for a folder or "not a
 * regular file", and FileTooLargeError past maxBytes: read into a buffer that doubles up to one byte over the
 * cap (that byte tells a file that is too large), so a file is read whole or refused, never cut, and a small
 * one does not cost the cap's memory.
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw Object.assign(new Error('a folder'), { code: 'EISDIR' });
    if (!info.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'not a regular file' });
    let buffer = Buffer.alloc(Math.min(FIRST_READ_BYTES, maxBytes + 1));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        const larger = Buffer.alloc(Math.min(buffer.length * 2, maxBytes + 1));
        buffer.copy(larger, 0, 0, length);
        buffer = larger;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) throw new FileTooLargeError(`over ${maxBytes} bytes`);
    }
    return buffer.subarray(0, length);
  } finally {
    // The bytes are read (or the read failed, which is the error to report): a failed close of a
    // read-only handle loses nothing, and must not replace that error.
    await handle.close().catch(() => undefined);
  }
}
