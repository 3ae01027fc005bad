import { rm, rmdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createPlatform } from '../platform/index.ts';
import { createLog, type Log } from '../util/log.ts';
import { EXIT_CODES, stoppedPartway } from '../errors.ts';
import { BASELINE_FILE, LOCK_FILE } from '../platform/state-names.ts';
import { baselinePath } from './remote-access.ts';
import { answerFilePasswords } from '../answer-file-clear.ts';
import type { AgentConfig } from '../config.ts';
import type { CommandIo } from './io.ts';
import type { ImageVerbs, Platform } from '../platform/platform.ts';
import type { FirstBootVerbs } from '../platform/first-boot-types.ts';
import { removeResumeTask } from './remove-from-image.ts';
import { exclusively } from './exclusive-run.ts';
import { codeCacheStep } from './code-cache-warmup.ts';
import { checkImage, removeBuildAccess, checkStep, keepBaseline, recordBaselineStep, remoteAccessOnlyStep } from './image-steps.ts';
import { writeImageSetting } from '../first-boot/image-setting.ts';
import { setupCompleteStep } from './image-setup-complete.ts';
import { readImageInputs } from './image-inputs.ts';

/**
 * `winprov prepare-image`: what to run before `sysprep /generalize`. Removes winprov's state, marker,
 * ovf-env copy, custom data and logs, its own files only (so the captured image provisions every VM
 * afresh, and keeps what the image builder put in the state folder), sets the guest
 * agent services to Disabled (they must not start before Ready), installs SetupComplete.cmd for the
 * deferred-Ready mode, puts the unattend template at %WINDIR%\Panther\Unattend\unattend.xml (where sysprep
 * and Setup find it) and prints the sysprep command.
 * --dry-run lists what it would do and changes nothing.
 * Before that it checks the image (--check alone: only that; a FAIL stops it unless --force) and removes
 * the remote access the build added (--record-baseline at the start of the build, --remove-certificate).
 */
export async function prepareImageCommand(config: Readonly<AgentConfig>, io: CommandIo): Promise<number> {
  const log = createLog({ consoleLevel: 'warn', write: io.err });
  const platform = await createPlatform(config, log);
  try {
    // --check only reads (image-steps.ts).
    if (config.image.check) return await checkStep(config, io, platform);
    // Not while a provision run works (run-lock.ts); a dry run changes nothing, and with no state
    // folder no run has started (provision creates it first), so neither takes the lock.
    const unlocked = config.dryRun || !(await exists(platform.stateDirectory));
    const locked = <T,>(work: () => Promise<T>): Promise<T> => unlocked ? work() : exclusively(platform, { command: 'prepare-image', waitMs: config.lockWaitMs, log }, work);
    if (config.image.recordBaseline) return await locked(() => recordBaselineStep(config, io, platform));
    const answerFile = config.image.remoteAccessOnly
      ? await locked(() => remoteAccessOnlyStep(config, io, platform)).then(() => undefined)
      : await locked(() => prepareImage(config, io, platform, log));
    // The run lock was the last file of winprov's there: the folder goes too, unless something else is in it.
    if (!config.dryRun) await removeEmptyStateFolder(platform.stateDirectory, io);
    if (!config.image.remoteAccessOnly) io.out(sysprepAdvice(answerFile));
    return EXIT_CODES.ok;
  } finally {
    await platform.close();
  }
}

async function prepareImage(config: Readonly<AgentConfig>, io: CommandIo, platform: Platform & ImageVerbs & FirstBootVerbs, log: Log): Promise<string | undefined> {
  const { deferred, firstBoot, template, xml, templates, shipped, settings } = await readImageInputs(config, platform);
  // The check (a FAIL stops here unless --force), and the build's remote access, read before anything
  // changes; removed last.
  const { baseline, plan, listenersSeen } = await checkImage(config, io, platform, log);
  const dryRun = config.dryRun;
  const say = (line: string) => io.out(`${dryRun ? 'would ' : ''}${line}\n`);
  const baselineFile = baselinePath(platform.stateDirectory);
  // The baseline goes last, once the build's remote access is removed: a run that stops before that
  // (a locked file, a PowerShell error) leaves it for the next run, which finishes the job. The run
  // lock this run holds goes when it is released (prepareImageCommand).
  const removesBaseline = baseline !== undefined && plan !== undefined && listenersSeen && !config.image.keepRemoteAccess;
  let others: string[] = [];
  let installed: string | undefined;
  const changes: Change[] = [
    ['removing winprov\'s state and custom data', async () => {
      const artifacts = dryRun ? await platform.listAgentArtifacts([BASELINE_FILE]) : await platform.removeAgentArtifacts([BASELINE_FILE, LOCK_FILE]);
      if (artifacts.ours.length === 0 && baseline === undefined) io.out('no winprov state to remove\n');
      for (const path of artifacts.ours) say(`remove ${path}`);
      others = artifacts.others;
      if (others.length > 0) say(`keep ${others.map((p) => basename(p)).join(', ')} in ${platform.stateDirectory}: not winprov's (the folder stays)`);
    }],
    ['removing the first-boot script\'s startup task', () => removeResumeTask(platform, log, dryRun, (line) => io.out(`${line}\n`))],
    ...(config.image.keepRemoteAccess ? [['keeping the baseline for --remote-access-only', () => keepBaseline(config, io, platform, baseline)] as Change] : []),
    ['disabling the guest agent services', async () => {
      const services = dryRun ? await platform.readGuestAgentServices() : await platform.setGuestAgentServices(false);
      for (const s of services.installed) say(dryRun ? `set ${s.name} to Disabled (now ${s.startMode})` : `set ${s.name} to ${s.startMode}`);
    }],
    // The first-boot script switch (src/first-boot/image-setting.ts): winprov.json, and the SetupComplete call.
    ...(settings === undefined ? [] : [['setting "firstBootScript" in winprov.json', async () => {
      say(`set "firstBootScript": "${firstBoot}" in ${dryRun ? settings.path : await writeImageSetting(settings, firstBoot)}`);
    }] as Change]),
    ['installing SetupComplete.cmd', () => setupCompleteStep({ deferred, firstBoot, dryRun, shipped }, platform, io, say)],
    // Beside the executable, not in the state folder cleared above (code-cache-warmup.ts).
    ['writing the code cache', () => codeCacheStep(io, { dryRun })],
    ['installing the answer file', async () => {
      const result = await platform.installUnattend(xml, { replaceable: templates, dryRun });
      if (result.backup !== undefined) say(`keep the answer file there (not winprov's template) as ${result.backup.path}${passwordNote(result.backup.text)}`);
      installed = dryRun ? undefined : result.path;
      say(installed === undefined ? `install ${template} as %WINDIR%\\Panther\\Unattend\\unattend.xml` : `install ${template} at ${installed}`);
    }],
    // With --keep-remote-access it only says what it keeps.
    ...(plan === undefined ? [] : [['removing the build\'s remote access', () => removeBuildAccess(config, io, platform, plan)] as Change]),
    ...(removesBaseline ? [['removing the baseline', async () => {
      if (!dryRun) await rm(baselineFile, { force: true });
      say(`remove ${baselineFile}`);
    }] as Change] : []),
  ];
  if (dryRun) for (const [, run] of changes) await run();
  else await applyInOrder(changes, baseline !== undefined);
  // Gone on with --force: what is left of the build's access is for a run that can read it.
  if (baseline !== undefined && !removesBaseline && !config.image.keepRemoteAccess) say(`keep ${baselineFile}: the build's ${plan === undefined ? 'remote access' : 'WinRM listeners'} could not be read; run prepare-image again once ${plan === undefined ? 'it can be' : 'WinRM runs'}`);
  const folderStays = others.length > 0 || (baseline !== undefined && !removesBaseline) || (config.image.keepRemoteAccess && config.image.removeCertificates.length > 0);
  if (dryRun && !folderStays && (await exists(platform.stateDirectory))) say(`remove ${platform.stateDirectory}`);
  return installed;
}

/** What a kept answer file still holds: Setup clears passwords only in its own cached copy, never in this one. */
function passwordNote(text: string): string {
  let passwords = 0;
  try {
    passwords = answerFilePasswords(text);
  } catch {
    // Not a well-formed unattend document: nothing to count, and the backup is kept as it is.
  }
  return passwords === 0 ? '' : `; it holds ${passwords} password(s) in plain text: delete it before capture unless the image needs it`;
}

/** One change of prepare-image's, named as its error says what was done and what was not. */
type Change = [name: string, run: () => Promise<void>];

/**
 * The changes in order. One that fails stops the run with an error that says which were made and which
 * not; running prepare-image again makes the rest (each change is one a second run makes again, or finds
 * made). A dry run makes none, so its failure is said as it is.
 */
async function applyInOrder(changes: readonly Change[], baselineKept: boolean): Promise<void> {
  for (const [at, [, run]] of changes.entries()) {
    try {
      await run();
    } catch (err) {
      const names = changes.map(([name]) => name);
      const again = `run prepare-image again: it finishes the job${baselineKept ? ' from the baseline, which is kept until the build\'s remote access is removed' : ''}`;
      throw stoppedPartway(err, 'prepare-image', names.slice(0, at), names.slice(at), again);
    }
  }
}

/** What to run next; the answer file's path when it was installed, the dry run's words otherwise. */
function sysprepAdvice(installed: string | undefined): string {
  const sysprep = (answerFile: string) => `%WINDIR%\\System32\\Sysprep\\sysprep.exe /generalize /oobe /mode:vm /shutdown /unattend:"${answerFile}"`;
  if (installed === undefined) return `\nThen generalize the image:\n  ${sysprep('%WINDIR%\\Panther\\Unattend\\unattend.xml')}\n`;
  return `\nNext, generalize the image (for Packer: /quit instead of /shutdown, see unattend/README.md):\n  ${sysprep(installed)}\n`;
}

/** The state folder, once winprov's files are gone, unless the image builder keeps something there. */
async function removeEmptyStateFolder(directory: string, io: CommandIo): Promise<void> {
  try {
    await rmdir(directory);
    io.out(`remove ${directory}\n`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    // Not there (nothing was), or not empty (another's files, said above, or a baseline kept for a re-run).
    if (code === 'ENOENT' || code === 'ENOTEMPTY' || code === 'EEXIST') return;
    io.err(`winprov: warning: ${directory} could not be removed (${code}); remove it before capturing the image\n`);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
