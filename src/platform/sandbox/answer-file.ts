import { readAnswerFile } from '../windows/answer-file.ts';
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

/** As on Windows (windows/answer-file.ts): strict UTF-8, at most 1 MiB. */
export async function readSandboxAnswerFile(root: string): Promise<{ path: string; xml: string } | undefined> {
  return readAnswerFile(join(root, ...ANSWER_FILE));
}

export async function writeSandboxAnswerFile(root: string, xml: Secret<string>): Promise<string> {
  const path = join(root, ...ANSWER_FILE);
  // writeFileAtomic creates it 0600 (owner only) and renames it into place.
  await writeFileAtomic(path, xml.reveal());
  return path;
}
