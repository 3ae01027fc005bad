import { join } from 'node:path';
import { PlatformCommandError } from '../errors.ts';
import { writeFileAtomic } from '../util/files.ts';
import type { AgentConfig, FirstBootMode } from '../config.ts';
import { readSettingsObject } from '../settings-file.ts';
import { CLEAR_CALL_LINES, setupCompleteScript, winprovCallLines } from '../platform/windows/setup-complete.ts';

/**
 * prepare-image's part of the first-boot script: the switch goes into winprov.json in the install folder
 * (beside winprov.exe, where every run reads it), so it is the image's setting; and SetupComplete.cmd gets
 * the call `winprov first-boot-script` after everything else it does. In the deferred mode that is the
 * shipped SetupComplete.cmd with the call after its last step; otherwise a SetupComplete.cmd that only
 * makes that call (Ready was reported at the end of specialize). With the switch off nothing changes.
 */

const CALL_LINES = [
  'rem winprov first-boot script (winprov.json "firstBootScript", set by prepare-image --first-boot-script): runs the',
  'rem VM\'s custom data or user data script once, as SYSTEM, only after the fabric acknowledged Ready (it checks).',
  ...winprovCallLines('first-boot-script'),
];

/** The mode the image will have: the one prepare-image is given, else the one winprov.json has. */
export function imageMode(config: Readonly<AgentConfig>): FirstBootMode {
  return config.firstBoot.prepare ?? config.firstBoot.mode;
}

/** The install folder's winprov.json and its settings ({} when there is none). */
export interface ImageSettings {
  path: string;
  settings: Record<string, string | number | boolean>;
}

/**
 * Reads <installDirectory>\winprov.json as every run reads it (config.ts: a byte-order mark is fine, an
 * unknown key is an error naming it); prepare-image does this before its first change, so a file it
 * could not write the switch into stops it with the machine as it was.
 */
export function readImageSettings(installDirectory: string): ImageSettings {
  const path = join(installDirectory, 'winprov.json');
  return { path, settings: readSettingsObject(path, { optional: true }) ?? {} };
}

/** Writes "firstBootScript" into that winprov.json, keeping its other settings; returns its path. */
export async function writeImageSetting(image: ImageSettings, mode: FirstBootMode): Promise<string> {
  await writeFileAtomic(image.path, `${JSON.stringify({ ...image.settings, firstBootScript: mode }, null, 2)}\n`);
  return image.path;
}

/**
 * The shipped deferred-mode SetupComplete.cmd with the first-boot call after its last step: after the
 * clear-answer-file call that follows ":done", so the AutoLogon password is gone before a script of the
 * VM's runs, and before the first-boot script's time, which can be long.
 */
export function withFirstBootCall(script: string): string {
  const lines = script.split(/\r?\n/);
  const done = lines.findIndex((l) => l.trim().toLowerCase() === ':done');
  if (done < 0) throw new PlatformCommandError('prepare-image', 'SetupComplete.cmd has no ":done" label to add the first-boot call after; reinstall winprov');
  const clear = lines.findIndex((l, i) => i > done && l === CLEAR_CALL_LINES.at(-1));
  const at = (clear < 0 ? done : clear) + 1;
  return [...lines.slice(0, at), ...CALL_LINES, ...lines.slice(at)].join('\r\n');
}

/** SetupComplete.cmd for the default mode (Ready at the end of specialize): the answer file cleared, then the first-boot call. */
export function firstBootOnlySetupComplete(): string {
  return setupCompleteScript([
    'winprov, first-boot script (see README.md "First-boot script"). Windows runs',
    '%WINDIR%\\Setup\\Scripts\\SetupComplete.cmd once, as SYSTEM, after OOBE. Ready was reported at the end of',
    'specialize; this clears the answer file\'s passwords and runs the VM\'s script once. Setup ignores the exit',
    'code: it always exits 0.',
  ], [...CLEAR_CALL_LINES, ...CALL_LINES]);
}
