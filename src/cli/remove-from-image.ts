import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createPlatform } from '../platform/index.ts';
import { createLog, type Log } from '../util/log.ts';
import { EXIT_CODES, toAgentError } from '../errors.ts';
import { LOG_FILE } from '../platform/state-names.ts';
import { readShippedSetupComplete, winprovScripts } from './image-setup-complete.ts';
import type { AgentConfig } from '../config.ts';
import type { CommandIo } from './io.ts';
import type { ImageVerbs, Platform } from '../platform/platform.ts';
import { FIRST_BOOT_RESUME_TASK, type FirstBootVerbs } from '../platform/first-boot-types.ts';
import type { SetupFileRemoval } from '../platform/windows/setup-file-removal.ts';
import { exclusively } from './exclusive-run.ts';

/**
 * `winprov remove-from-image`: what the MSI runs when winprov is uninstalled (winprov.wxs.in), before
 * winprov.exe goes. prepare-image put an answer file and maybe a SetupComplete.cmd in Windows' folders
 * that start winprov.exe; Setup reads them whether winprov is there or not, so an image captured after
 * the uninstall would start a missing executable in specialize and never report Ready. Both go (an
 * edited one is kept under another name), and the image's own, which prepare-image kept as a backup,
 * goes back (windows/setup-file-removal.ts); a first-boot startup task left registered is removed.
 * winprov's state folder and the guest agent services' start mode are left as they are. --dry-run only
 * says what it would do.
 */
export async function removeFromImageCommand(config: Readonly<AgentConfig>, io: CommandIo): Promise<number> {
  const log = createLog({ consoleLevel: 'warn', write: io.err });
  const platform = await createPlatform(config, log);
  try {
    platform.setDeadline(Date.now() + config.deadlineMs);
    await removeFromImage(platform, log, { dryRun: config.dryRun, lockWaitMs: config.lockWaitMs, out: (line) => io.out(`${line}\n`) });
    return EXIT_CODES.ok;
  } finally {
    await platform.close();
    log.close();
  }
}

/** The command's work on a platform: each line it says goes to `out` and, where winprov's log is, there too. */
export async function removeFromImage(platform: Platform & ImageVerbs & FirstBootVerbs, log: Log, options: { dryRun: boolean; lockWaitMs: number; out(line: string): void }): Promise<void> {
  const { dryRun } = options;
  const known = {
    answerFiles: await templates(platform.installDirectory),
    setupCompleteScripts: winprovScripts(await readShippedSetupComplete(platform.installDirectory, false)),
  };
  // Not while a provision run writes the answer file; with no state folder no run has started, and a
  // lock taken here would leave one behind on a machine winprov is leaving (as prepare-image).
  const unlocked = dryRun || !(await stat(platform.stateDirectory).then(() => true, () => false));
  // The MSI shows no output: the log is where an uninstall's lines can be read afterwards.
  const tell = (line: string) => {
    options.out(line);
    log.info(`remove-from-image: ${line}`);
  };
  const work = async () => {
    if (!unlocked) log.attachFile(join(platform.stateDirectory, LOG_FILE));
    const result = await platform.removeImageSetup(known, { dryRun });
    describe(result.answerFile, 'answer file', dryRun, tell);
    describe(result.setupComplete, 'SetupComplete.cmd', dryRun, tell);
    await removeResumeTask(platform, log, dryRun, tell);
    if ([result.answerFile, result.setupComplete].some((f) => f.outcome === 'removed' || f.outcome === 'moved')) {
      tell('note: the guest agent services keep their start mode: prepare-image sets them Disabled for winprov to enable per VM; '
        + 'an image that keeps the Windows Guest Agent without winprov needs them Automatic '
        + '(Set-Service -Name RdAgent, WindowsAzureGuestAgent -StartupType Automatic)');
    }
  };
  if (unlocked) await work();
  else await exclusively(platform, { command: 'remove-from-image', waitMs: options.lockWaitMs, log }, work);
}

/**
 * The first-boot script's startup task (first-boot/run.ts), if one was left registered: it would start a
 * missing winprov.exe at every start of Windows, or carry winprov into the image. prepare-image removes it
 * the same way. A refusal is a warning: the answer file and SetupComplete.cmd are what matter.
 */
export async function removeResumeTask(platform: FirstBootVerbs, log: Log, dryRun: boolean, tell: (line: string) => void): Promise<void> {
  if (dryRun) return tell(`would remove the first-boot script's startup task ${FIRST_BOOT_RESUME_TASK} if it is registered`);
  try {
    if (await platform.setFirstBootResume(false)) tell(`remove the first-boot script's startup task ${FIRST_BOOT_RESUME_TASK}`);
  } catch (err) {
    log.warn(`the first-boot script's startup task ${FIRST_BOOT_RESUME_TASK} could not be removed: ${toAgentError(err).reason}`);
  }
}

/** The unattend templates installed beside winprov.exe (those missing are none of the known). */
async function templates(installDirectory: string): Promise<string[]> {
  const names = ['unattend.xml', 'unattend-deferred.xml'];
  const texts = await Promise.all(names.map((name) => readFile(join(installDirectory, name), 'utf8').catch(() => undefined)));
  return texts.filter((t): t is string => t !== undefined);
}

/** `name` as "answer file" or "SetupComplete.cmd"; `would` on a dry run. */
function describe(file: SetupFileRemoval, name: string, dryRun: boolean, tell: (line: string) => void): void {
  const would = dryRun ? 'would ' : '';
  const the = name.endsWith('.cmd') ? name : `the ${name}`;
  if (file.outcome === 'absent') tell(`no ${name} at ${file.path}`);
  else if (file.outcome === 'foreign') tell(`leave ${the} at ${file.path}: it does not start winprov`);
  else if (file.outcome === 'removed') tell(`${would}remove winprov's ${name} ${file.path}`);
  else tell(`${would}move ${the} ${file.path} to ${file.movedTo}: it starts winprov.exe but is not one of this winprov's, unedited (kept for its edits; Setup does not read it there)`);
  if (file.restored !== undefined) tell(`${would}put back the image's own ${name} from ${file.restored}`);
  // Named whatever became of the file: only someone who knows the image can tell which one it needs.
  const why = file.outcome === 'absent' || file.outcome === 'foreign' ? 'no file of winprov\'s is there to give way' : 'winprov\'s own, or more than one of the image\'s';
  if (file.backupsLeft.length > 0) tell(`keep ${file.backupsLeft.join(', ')}: prepare-image's backups, not put back (${why}); put the one the image needs back at ${file.path} yourself`);
}
