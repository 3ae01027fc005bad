import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readMediaFiles } from '../media-files.ts';
import { MediaNotFoundError, PlatformTimeoutError } from '../../errors.ts';
import { withinDeadline } from '../../util/deadline.ts';
import type { ProvisioningMedia } from '../platform.ts';

/** The tag file Azure puts on the provisioning media (cloudbase-init finds the drive the same way). */
export const MEDIA_TAG_FILE = 'E6DA6616-8EC4-48E0-BE93-58CE6ACE3CFB.tag';

/**
 * Reads the media under the run's deadline (a hung drive must not hold the run); `hangs` is the test hook
 * standing in for a hung drive: a read that never settles.
 */
export function readSandboxMedia(drives: string, options: { deadline?: number | undefined; hangs?: boolean } = {}): Promise<ProvisioningMedia> {
  const { deadline } = options;
  const read = options.hangs ? new Promise<never>(() => undefined) : findMedia(drives);
  return withinDeadline(read, deadline, () => new PlatformTimeoutError('readProvisioningMedia', deadline!));
}

/** The sandbox's drives are folders drives/<letter>/; the one holding the tag file is the media. */
async function findMedia(drives: string): Promise<ProvisioningMedia> {
  let letters: string[] = [];
  try {
    letters = (await readdir(drives)).sort();
  } catch {
    // No drives folder: no media.
  }
  // Every drive asked at once, the first in drive order taken.
  const tagged = await Promise.all(letters.map((letter) => exists(join(drives, letter, MEDIA_TAG_FILE))));
  const letter = letters.find((_, i) => tagged[i]);
  if (letter === undefined) throw new MediaNotFoundError(`no drive holds ${MEDIA_TAG_FILE}`);
  // The same reader (and the same size caps) as the Windows platform's.
  return readMediaFiles(join(drives, letter), `${letter}:\\`);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
