import { constants } from 'node:fs';
import { copyFile, readFile } from 'node:fs/promises';
import { PlatformCommandError } from '../../errors.ts';

/**
 * The backup of a file of Windows Setup's that prepare-image replaces while it is not winprov's own
 * (SetupComplete.cmd, the answer file): Setup reads only the one name, so whatever the image builder had
 * there would otherwise be lost without a word.
 */

/** The suffix of such a backup: <file>.winprov-backup, then .2, .3 ... */
export const BACKUP_SUFFIX = '.winprov-backup';
const MAX_BACKUPS = 20;

/** <path><suffix>, then .2, .3 ... */
function numberedName(path: string, suffix: string, n: number): string {
  return `${path}${suffix}${n === 1 ? '' : `.${n}`}`;
}

/** The backups of `path` that exist (<path>.winprov-backup, .2 ... .20), in that order, with their bytes. */
export async function readBackups(path: string, verb: string): Promise<{ path: string; bytes: Buffer }[]> {
  const found: { path: string; bytes: Buffer }[] = [];
  for (let n = 1; n <= MAX_BACKUPS; n += 1) {
    const backup = numberedName(path, BACKUP_SUFFIX, n);
    const bytes = await readIfExists(backup, verb);
    if (bytes !== undefined) found.push({ path: backup, bytes });
  }
  return found;
}

/** The file's bytes, or undefined when it does not exist; any other failure is the verb's. */
export async function readIfExists(path: string, verb: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PlatformCommandError(verb, `${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * Copies the file at `path` (whose bytes are `existing`) next to itself, as <path>.winprov-backup, or .2,
 * .3 ... when an earlier backup holds other bytes; an identical earlier backup is reused, so running
 * prepare-image again piles up none. With dryRun nothing is written: the name it would take is returned.
 */
export async function keepBackup(path: string, existing: Buffer, options: { verb: string; dryRun?: boolean; suffix?: string }): Promise<string> {
  for (let n = 1; n <= MAX_BACKUPS; n += 1) {
    const backup = numberedName(path, options.suffix ?? BACKUP_SUFFIX, n);
    const earlier = await readIfExists(backup, options.verb);
    if (earlier !== undefined) {
      if (earlier.equals(existing)) return backup;
      continue;
    }
    if (options.dryRun === true) return backup;
    try {
      // COPYFILE_EXCL: a backup that appeared meanwhile is never overwritten.
      await copyFile(path, backup, constants.COPYFILE_EXCL);
      return backup;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new PlatformCommandError(options.verb, `${path} could not be copied to ${backup} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  throw new PlatformCommandError(options.verb, `${path} cannot be kept: ${MAX_BACKUPS} different copies of it (${numberedName(path, options.suffix ?? BACKUP_SUFFIX, 1)} ...) exist already; move them away first`);
}
