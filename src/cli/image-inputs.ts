import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { PlatformCommandError } from '../errors.ts';
import { imageMode, readImageSettings, type ImageSettings } from '../first-boot/image-setting.ts';
import type { AgentConfig, FirstBootMode } from '../config.ts';
import type { ImageVerbs } from '../platform/platform.ts';
import { readShippedSetupComplete, scriptToInstall } from './image-setup-complete.ts';

/**
 * What prepare-image needs from the installation and the image, read and checked before its first
 * change: a missing or broken template, a winprov.json it could not write the first-boot switch into, a
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

export async function readImageInputs(config: Readonly<AgentConfig>, platform: ImageVerbs): Promise<ImageInputs> {
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
