import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/files.ts';
import type { Secret } from '../../util/secret.ts';

/**
 * The sandbox's answer file, at Windows/Panther/Unattend/unattend.xml under its root: where prepare-image
 * (installUnattend) puts winprov's, and what Windows Setup reads again at the start of oobeSystem. It is
 * Setup's file, not a copy winprov keeps, so it holds what Setup needs (the AutoLogon password); the
 * sandbox limits it to its owner as Windows limits it to SYSTEM and Administrators.
 */

export const ANSWER_FILE = ['Windows', 'Panther', 'Unattend', 'unattend.xml'] as const;

export async function readSandboxAnswerFile(root: string): Promise<{ path: string; xml: string } | undefined> {
  const path = join(root, ...ANSWER_FILE);
  try {
    return { path, xml: await readFile(path, 'utf8') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function writeSandboxAnswerFile(root: string, xml: Secret<string>): Promise<string> {
  const path = join(root, ...ANSWER_FILE);
  // writeFileAtomic creates it 0600 (owner only) and renames it into place.
  await writeFileAtomic(path, xml.reveal());
  return path;
}
