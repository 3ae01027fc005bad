import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createPlatform } from '../platform/index.ts';
import { createLog } from '../util/log.ts';
import { XMLValidator } from 'fast-xml-parser';
import { PlatformCommandError } from '../errors.ts';
import type { AgentConfig } from '../config.ts';
import type { CommandIo } from './io.ts';
import type { ImageVerbs, Platform } from '../platform/platform.ts';
import { exclusively } from './exclusive-run.ts';

/**
 * `winprov prepare-image`: what to run before `sysprep /generalize`. Removes winprov's state, marker,
 * ovf-env copy, custom data and logs (so the captured image provisions every VM afresh), sets the guest
 * agent services to Disabled (they must not start before Ready), installs SetupComplete.cmd for the
 * deferred-Ready mode, puts the unattend template at %WINDIR%\Panther\Unattend\unattend.xml (where sysprep
 * and Setup find it) and prints the sysprep command.
 * --dry-run lists what it would do and changes nothing.
 */
export async function prepareImageCommand(config: Readonly<AgentConfig>, io: CommandIo): Promise<number> {
  const log = createLog({ consoleLevel: 'warn', write: io.err });
  const platform = await createPlatform(config, log);
  try {
    // Not while a provision run works (run-lock.ts); a dry run changes nothing, and with no state
    // folder no run has started (provision creates it first), so neither takes the lock.
    if (config.dryRun || !(await exists(platform.stateDirectory))) return await prepareImage(config, io, platform);
    return await exclusively(platform, { command: 'prepare-image', waitMs: config.lockWaitMs, log }, () => prepareImage(config, io, platform));
  } finally {
    await platform.close();
  }
}

async function prepareImage(config: Readonly<AgentConfig>, io: CommandIo, platform: Platform & ImageVerbs): Promise<number> {
  const deferred = config.phase === 'apply';
  const template = join(platform.installDirectory, deferred ? 'unattend-deferred.xml' : 'unattend.xml');
  const sysprep = (answerFile: string) => `%WINDIR%\\System32\\Sysprep\\sysprep.exe /generalize /oobe /mode:vm /shutdown /unattend:"${answerFile}"`;
  const say = (line: string) => io.out(`${config.dryRun ? 'would ' : ''}${line}\n`);
  const artifacts = config.dryRun ? await platform.listAgentArtifacts() : await platform.removeAgentArtifacts();
  if (artifacts.length === 0) io.out('no winprov state to remove\n');
  for (const path of artifacts) say(`remove ${path}`);

  if (config.dryRun) {
    const services = await platform.readGuestAgentServices();
    for (const s of services.installed) say(`set ${s.name} to Disabled (now ${s.startMode})`);
  } else {
    const services = await platform.setGuestAgentServices(false);
    for (const s of services.installed) say(`set ${s.name} to ${s.startMode}`);
  }
  if (deferred) {
    const source = join(platform.installDirectory, 'SetupComplete.cmd');
    const script = await readFile(source, 'utf8').catch(() => {
      throw new PlatformCommandError('prepare-image', `${source} is missing; reinstall winprov`);
    });
    if (config.dryRun) say(`install ${source} as %WINDIR%\\Setup\\Scripts\\SetupComplete.cmd`);
    else say(`install SetupComplete.cmd at ${await platform.installSetupComplete(script)}`);
  }
  const xml = await readFile(template, 'utf8').catch(() => {
    throw new PlatformCommandError('prepare-image', `${template} is missing; reinstall winprov`);
  });
  if (XMLValidator.validate(xml) !== true || !/RunSynchronousCommand/.test(xml)) {
    throw new PlatformCommandError('prepare-image', `${template} is not a valid unattend template (it must be well-formed XML with the specialize RunSynchronousCommand)`);
  }
  if (config.dryRun) {
    say(`install ${template} as %WINDIR%\\Panther\\Unattend\\unattend.xml`);
    io.out(`\nThen generalize the image:\n  ${sysprep('%WINDIR%\\Panther\\Unattend\\unattend.xml')}\n`);
  } else {
    const installed = await platform.installUnattend(xml);
    say(`install ${template} at ${installed}`);
    io.out(`\nNext, generalize the image (for Packer: /quit instead of /shutdown, see unattend/README.md):\n  ${sysprep(installed)}\n`);
  }
  return 0;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
