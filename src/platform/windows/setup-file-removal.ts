import { rename, rm } from 'node:fs/promises';
import { PlatformCommandError } from '../../errors.ts';
import { keepBackup, readBackups, readIfExists } from './file-backup.ts';
import { isWinprovSetupComplete, toBatchText } from './setup-complete.ts';

/**
 * remove-from-image's change to a file of Windows Setup's that prepare-image installed (the answer file,
 * SetupComplete.cmd). Setup reads them whether winprov is installed or not: an image captured after
 * winprov was uninstalled would still start the missing winprov.exe in specialize, and no VM made from it
 * would report Ready. So winprov's file goes (an edited one is kept under another name, which Setup never
 * reads), and the backup prepare-image kept of the image's own file goes back in its place, when exactly
 * one of its backups is not winprov's: with more, which was there last cannot be told.
 */

/** The name an edited winprov file is kept under: <file>.winprov-removed, then .2, .3 ... */
export const REMOVED_SUFFIX = '.winprov-removed';

export interface SetupFileRules {
  /** The verb named in errors. */
  verb: string;
  /** A file that starts winprov (any version, edited or not). */
  isWinprovs(bytes: Buffer): boolean;
  /** One of this winprov's, byte for byte: deleted rather than kept. */
  isUnedited(bytes: Buffer): boolean;
  /** Nothing is changed: the result says what would be. */
  dryRun?: boolean;
}

export interface SetupFileRemoval {
  path: string;
  /** absent: no file; foreign: not winprov's, left as it is; removed: winprov's, deleted; moved: winprov's, edited, kept as movedTo. */
  outcome: 'absent' | 'foreign' | 'removed' | 'moved';
  movedTo?: string;
  /** The backup put back in the file's place. */
  restored?: string;
  /** Backups left where they are: winprov's own, or every one when more than one is not (which was there last cannot be told). */
  backupsLeft: string[];
}

/** Takes winprov's file at `path` out and puts the image's own back, as the module comment says. */
export async function takeOutSetupFile(path: string, rules: SetupFileRules): Promise<SetupFileRemoval> {
  const existing = await readIfExists(path, rules.verb);
  const backups = await readBackups(path, rules.verb);
  const names = backups.map((b) => b.path);
  if (existing === undefined) return { path, outcome: 'absent', backupsLeft: names };
  if (!rules.isWinprovs(existing)) return { path, outcome: 'foreign', backupsLeft: names };
  const result: SetupFileRemoval = { path, outcome: 'removed', backupsLeft: names };
  if (!rules.isUnedited(existing)) {
    // Kept: an image builder's edits (or content a provisioning run merged in) are not ours to lose.
    result.outcome = 'moved';
    result.movedTo = await keepBackup(path, existing, { verb: rules.verb, dryRun: rules.dryRun, suffix: REMOVED_SUFFIX });
  }
  // Backups of winprov's own files (another version's, an edited one) are no candidates: put back, they
  // would start winprov again.
  const candidates = backups.filter((b) => !rules.isWinprovs(b.bytes));
  const restored = candidates.length === 1 ? candidates[0]!.path : undefined;
  if (rules.dryRun !== true) {
    // The backup replaces winprov's file in one rename (MoveFileEx with MOVEFILE_REPLACE_EXISTING on
    // Windows): a failure leaves winprov's file, never no file with the image's own still aside.
    if (restored !== undefined) await attempt(rules.verb, `${restored} cannot be put back as ${path}`, () => rename(restored, path));
    else await attempt(rules.verb, `${path} cannot be removed`, () => rm(path, { force: true }));
  }
  if (restored !== undefined) {
    result.restored = restored;
    result.backupsLeft = names.filter((b) => b !== restored);
  }
  return result;
}

async function attempt(verb: string, failure: string, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (err) {
    throw new PlatformCommandError(verb, `${failure} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
}

/** What removeImageSetup did (or, on a dry run, would do) to each file. */
export interface ImageSetupRemoval {
  answerFile: SetupFileRemoval;
  setupComplete: SetupFileRemoval;
}

/** This winprov's files as it installs them, unedited: unattend templates and SetupComplete.cmd scripts. */
export interface KnownSetupFiles {
  answerFiles: readonly string[];
  setupCompleteScripts: readonly string[];
}

/**
 * A file's text for the tests below: UTF-16 when it starts with a byte order mark (an answer file saved
 * as "Unicode" by Notepad or Windows System Image Manager, which Setup reads as well), else byte for byte.
 */
function textOf(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(bytes.subarray(2)).swap16().toString('utf16le');
  return bytes.toString('latin1');
}

/**
 * Both files: the answer file is winprov's when it names winprov.exe (whatever else it holds, Setup would
 * start the missing executable); SetupComplete.cmd when it has winprov's header (setup-complete.ts).
 */
export async function removeImageSetup(paths: { answerFile: string; setupComplete: string }, known: KnownSetupFiles, dryRun = false): Promise<ImageSetupRemoval> {
  const answerFile = await takeOutSetupFile(paths.answerFile, {
    verb: 'removeImageSetup',
    isWinprovs: (bytes) => /winprov\.exe/i.test(textOf(bytes)),
    isUnedited: (bytes) => known.answerFiles.some((xml) => bytes.equals(Buffer.from(xml, 'utf8'))),
    dryRun,
  });
  const setupComplete = await takeOutSetupFile(paths.setupComplete, {
    verb: 'removeImageSetup',
    isWinprovs: (bytes) => isWinprovSetupComplete(textOf(bytes)),
    isUnedited: (bytes) => known.setupCompleteScripts.some((script) => bytes.equals(toBatchText(script))),
    dryRun,
  });
  return { answerFile, setupComplete };
}
