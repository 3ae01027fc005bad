import { readFile } from 'node:fs/promises';
import { join, win32 } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { PlatformCommandError } from '../errors.ts';
import { imageMode, readImageSettings, type ImageSettings } from '../first-boot/image-setting.ts';
import type { AgentConfig, FirstBootMode } from '../config.ts';
import type { ImageVerbs } from '../platform/platform.ts';
import type { ExecutableLocation } from '../platform/image-types.ts';
import { readShippedSetupComplete, scriptToInstall } from './image-setup-complete.ts';
import { installedWinprovExe, WINPROV_EXE } from '../platform/windows/setup-complete.ts';

/**
 * What prepare-image needs from the installation and the image, read and checked before its first
 * change: winprov.exe where the templates start it, a missing or broken template, a winprov.json it could not write the first-boot switch into, a
 * SetupComplete.cmd or an answer file it could not install stop it with the machine as it was, instead
 * of halfway through (README "Baking winprov into an image").
 */

export interface ImageInputs {
  deferred: boolean;
  firstBoot: FirstBootMode;
  /** The unattend template of the image's mode, and its text. */
  template: string;
  xml: string;
  /** This winprov's answer files of both modes, unedited: replaced without a backup. */
  templates: string[];
  /** The shipped deferred-mode SetupComplete.cmd, when there is one. */
  shipped: string | undefined;
  /** The install folder's winprov.json, read when prepare-image sets "firstBootScript" in it. */
  settings: ImageSettings | undefined;
}

/**
 * The MSI's INSTALLDIR is a public property: installed elsewhere, winprov would prepare an image whose
 * answer file starts a winprov.exe that is not there, and no VM made from it would ever be provisioned.
 * Windows compares paths case-insensitively; %ProgramFiles% is the process's own (config.ts).
 */
export function checkExecutableLocation(location: ExecutableLocation): void {
  const named = installedWinprovExe(location.programFiles);
  if (win32.normalize(location.running).toLowerCase() === win32.normalize(named).toLowerCase()) return;
  throw new PlatformCommandError('prepare-image', `this winprov runs from ${location.running}, but the answer file and SetupComplete.cmd start ${WINPROV_EXE} (${named}): no VM made from this image would run winprov`, {
    hint: 'install the MSI to its default folder (without INSTALLDIR) and run prepare-image from there',
  });
}

export async function readImageInputs(config: Readonly<AgentConfig>, platform: ImageVerbs): Promise<ImageInputs> {
  checkExecutableLocation(await platform.readExecutableLocation());
  const deferred = config.phase === 'apply';
  const firstBoot = imageMode(config);
  const template = join(platform.installDirectory, deferred ? 'unattend-deferred.xml' : 'unattend.xml');
  const shipped = await readShippedSetupComplete(platform.installDirectory, deferred);
  const xml = await readFile(template, 'utf8').catch(() => {
    throw new PlatformCommandError('prepare-image', `${template} is missing; reinstall winprov`);
  });
  if (XMLValidator.validate(xml) !== true || !/RunSynchronousCommand/.test(xml)) {
    throw new PlatformCommandError('prepare-image', `${template} is not a valid unattend template (it must be well-formed XML with the specialize RunSynchronousCommand)`);
  }
  const other = await readFile(join(platform.installDirectory, deferred ? 'unattend.xml' : 'unattend-deferred.xml'), 'utf8').catch(() => undefined);
  const templates = other === undefined ? [xml] : [xml, other];
  const settings = config.firstBoot.prepare === undefined ? undefined : readImageSettings(platform.installDirectory);
  scriptToInstall({ deferred, firstBoot, shipped });
  // The answer file there read, and its backup's name found, as installing it will.
  await platform.installUnattend(xml, { replaceable: templates, dryRun: true });
  return { deferred, firstBoot, template, xml, templates, shipped, settings };
}
