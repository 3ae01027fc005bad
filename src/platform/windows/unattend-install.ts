import { PlatformCommandError } from '../../errors.ts';
import { writeFileAtomic } from '../../util/files.ts';
import { keepBackup, readIfExists } from './file-backup.ts';

/**
 * prepare-image's answer file at %WINDIR%\Panther\Unattend\unattend.xml, where Setup looks first (the
 * implicit search order). Setup reads that one name, so an answer file there that is not one of this
 * winprov's templates byte for byte (the image builder's own, winprov's of another version or edited, or
 * one a provisioning run merged content into) is kept as unattend.xml.winprov-backup (.2, .3 ...;
 * file-backup.ts, as for SetupComplete.cmd) before winprov's replaces it, and the caller is told.
 */

export interface UnattendInstall {
  path: string;
  /** The answer file that was there, kept (or, on a dry run, to be kept) under this name. */
  backup: { path: string; text: string } | undefined;
}

/**
 * Writes `xml` to `path` atomically (a half-written answer file would stop Setup), keeping the file there
 * as a backup unless it is one of `replaceable` (winprov's templates, unedited: switching modes piles up no
 * backups). With dryRun nothing is written: the result says what would be.
 */
export async function installAnswerFile(path: string, xml: string, replaceable: readonly string[], dryRun = false): Promise<UnattendInstall> {
  const content = Buffer.from(xml, 'utf8');
  const existing = await readIfExists(path, 'installUnattend');
  const ours = existing === undefined || [xml, ...replaceable].some((known) => existing.equals(Buffer.from(known, 'utf8')));
  const backup = ours ? undefined : { path: await keepBackup(path, existing, { verb: 'installUnattend', dryRun }), text: existing.toString('utf8') };
  if (!dryRun && !(existing !== undefined && existing.equals(content))) {
    try {
      await writeFileAtomic(path, content);
    } catch (err) {
      throw new PlatformCommandError('installUnattend', `${path} cannot be written (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
    }
  }
  return { path, backup };
}
