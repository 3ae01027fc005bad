import { mkdir, readFile, readdir, rename, rm, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * File helpers with the guarantees the journal needs: a write is atomic (temporary file in the same
 * folder, flushed, then renamed over the target), so a process killed mid-write leaves the old file or
 * the new one, never half of either.
 */

/** The name writeFileAtomic gives its temporary files: "<target>.<12 hex digits>.tmp", and nothing else. */
const TEMPORARY_NAME = /^.+\.[0-9a-f]{12}\.tmp$/;

/** Writes data atomically with owner-only permissions (mode 0600 where the OS has modes). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
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
  for (const name of names.filter((n) => TEMPORARY_NAME.test(n)).sort()) {
    try {
      await rm(join(directory, name), { force: true });
      removed.push(name);
    } catch {
      // Left for the next run: a leftover temporary file harms nothing but disk space.
    }
  }
  return removed;
}
