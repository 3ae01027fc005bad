import { readFile, rmdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createPlatform } from '../platform/index.ts';
import { createLog, type Log } from '../util/log.ts';
import { XMLValidator } from 'fast-xml-parser';
import { EXIT_CODES, PlatformCommandError } from '../errors.ts';
import { LOCK_FILE } from '../platform/state-names.ts';
import type { AgentConfig } from '../config.ts';
import type { CommandIo } from './io.ts';
import type { ImageVerbs, Platform } from '../platform/platform.ts';
import { exclusively } from './exclusive-run.ts';
import { codeCacheStep } from './code-cache-warmup.ts';
import { checkImage, removeBuildAccess, checkStep, keepBaseline, recordBaselineStep, remoteAccessOnlyStep } from './image-steps.ts';
import { imageMode, writeImageSetting } from '../first-boot/image-setting.ts';
import { readShippedSetupComplete, setupCompleteStep } from './image-setup-complete.ts';

/**
 * `winprov prepare-image`: what to run before `sysprep /generalize`. Removes winprov's state, marker,
 * ovf-env copy, custom data and logs (so the captured image provisions every VM afresh), sets the guest
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

async function prepareImage(config: Readonly<AgentConfig>, io: CommandIo, platform: Platform & ImageVerbs, log: Log): Promise<string | undefined> {
  const deferred = config.phase === 'apply';
  const template = join(platform.installDirectory, deferred ? 'unattend-deferred.xml' : 'unattend.xml');
  const firstBoot = imageMode(config);
  // What the installation must provide, read and checked before anything changes: a missing or broken
  // template stops here, with the machine as it was.
  const shipped = await readShippedSetupComplete(platform.installDirectory, deferred);
  const xml = await readFile(template, 'utf8').catch(() => {
    throw new PlatformCommandError('prepare-image', `${template} is missing; reinstall winprov`);
  });
  if (XMLValidator.validate(xml) !== true || !/RunSynchronousCommand/.test(xml)) {
    throw new PlatformCommandError('prepare-image', `${template} is not a valid unattend template (it must be well-formed XML with the specialize RunSynchronousCommand)`);
  }
  // The check (a FAIL stops here unless --force), and the build's remote access, read before the
  // baseline goes with the rest of the state folder; removed last.
  const { baseline, plan } = await checkImage(config, io, platform, log);
  const say = (line: string) => io.out(`${config.dryRun ? 'would ' : ''}${line}\n`);
  // The run lock this run holds goes when it is released (prepareImageCommand).
  const artifacts = config.dryRun ? await platform.listAgentArtifacts() : await platform.removeAgentArtifacts([LOCK_FILE]);
  if (artifacts.ours.length === 0) io.out('no winprov state to remove\n');
  for (const path of artifacts.ours) say(`remove ${path}`);
  if (artifacts.others.length > 0) say(`keep ${artifacts.others.map((p) => basename(p)).join(', ')} in ${platform.stateDirectory}: not winprov's (the folder stays)`);
  await keepBaseline(config, io, platform, baseline);

  if (config.dryRun) {
    const services = await platform.readGuestAgentServices();
    for (const s of services.installed) say(`set ${s.name} to Disabled (now ${s.startMode})`);
  } else {
    const services = await platform.setGuestAgentServices(false);
    for (const s of services.installed) say(`set ${s.name} to ${s.startMode}`);
  }
  // The first-boot script switch (src/first-boot/image-setting.ts): winprov.json, and the SetupComplete call.
  if (config.firstBoot.prepare !== undefined) {
    if (config.dryRun) say(`set "firstBootScript": "${firstBoot}" in ${join(platform.installDirectory, 'winprov.json')}`);
    else say(`set "firstBootScript": "${firstBoot}" in ${await writeImageSetting(platform.installDirectory, firstBoot)}`);
  }
  await setupCompleteStep({ deferred, firstBoot, dryRun: config.dryRun, shipped }, platform, io, say);
  // Beside the executable, not in the state folder cleared above (code-cache-warmup.ts).
  await codeCacheStep(io, { dryRun: config.dryRun });
  const installed = config.dryRun ? undefined : await platform.installUnattend(xml);
  say(installed === undefined ? `install ${template} as %WINDIR%\\Panther\\Unattend\\unattend.xml` : `install ${template} at ${installed}`);
  await removeBuildAccess(config, io, platform, plan);
  const baselineStays = config.image.keepRemoteAccess && (baseline !== undefined || config.image.removeCertificates.length > 0);
  if (config.dryRun && artifacts.others.length === 0 && !baselineStays && (await exists(platform.stateDirectory))) say(`remove ${platform.stateDirectory}`);
  return installed;
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
