import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformCommandError, toAgentError } from '../errors.ts';
import { firstBootOnlySetupComplete, withFirstBootCall } from '../first-boot/image-setting.ts';
import { clearOnlySetupComplete, isWinprovSetupComplete, toBatchText, WINPROV_EXE } from '../platform/windows/setup-complete.ts';
import type { FirstBootMode } from '../config.ts';
import type { ImageVerbs } from '../platform/platform.ts';
import type { CommandIo } from './io.ts';

/**
 * prepare-image's SetupComplete.cmd. The deferred mode and the first-boot script each install theirs
 * (every one of them clears the answer file's passwords after OOBE). The default mode without the
 * first-boot script installs none (a provisioning run writes the clearing-only one when a VM needs it),
 * but an unedited winprov script of another mode, left by an earlier prepare-image, would run provision
 * or the VM's script after OOBE: it gives way to the clearing-only one. A script that is not one of this
 * winprov's, edited or of another version, is never replaced in the default mode; a winprov one is named.
 */

/** The shipped deferred-mode script beside winprov.exe; required in the deferred mode, read when there otherwise. */
export async function readShippedSetupComplete(installDirectory: string, required: boolean): Promise<string | undefined> {
  const source = join(installDirectory, 'SetupComplete.cmd');
  try {
    return await readFile(source, 'utf8');
  } catch {
    if (required) throw new PlatformCommandError('prepare-image', `${source} is missing; reinstall winprov`);
    return undefined;
  }
}

/** Every SetupComplete.cmd this winprov installs, unedited. */
export function winprovScripts(shipped: string | undefined): string[] {
  const scripts = [clearOnlySetupComplete(), firstBootOnlySetupComplete()];
  if (shipped !== undefined) {
    scripts.push(shipped);
    try {
      scripts.push(withFirstBootCall(shipped));
    } catch {
      // A shipped script without its label: the deferred mode refuses it where it installs it.
    }
  }
  return scripts;
}

export interface SetupCompleteStep {
  deferred: boolean;
  firstBoot: FirstBootMode;
  dryRun: boolean;
  shipped: string | undefined;
}

/**
 * The script the image's mode installs, checked as cmd.exe will read it (toBatchText), so that prepare-image
 * can refuse one it could not install before its first change; undefined when the mode installs none.
 */
export function scriptToInstall(step: Omit<SetupCompleteStep, 'dryRun'>): string | undefined {
  if (!step.deferred && step.firstBoot === 'off') return undefined;
  const script = step.firstBoot === 'off' ? step.shipped! : step.deferred ? withFirstBootCall(step.shipped!) : firstBootOnlySetupComplete();
  toBatchText(script);
  return script;
}

/** Installs, replaces or leaves SetupComplete.cmd as the image's mode needs; `say` prints what (with "would" on a dry run). */
export async function setupCompleteStep(step: SetupCompleteStep, platform: ImageVerbs, io: CommandIo, say: (line: string) => void): Promise<void> {
  const known = winprovScripts(step.shipped);
  const script = scriptToInstall(step);
  if (script !== undefined) {
    if (step.dryRun) say(`install winprov's SetupComplete.cmd (${step.deferred ? 'deferred Ready' : 'first-boot script'}) as %WINDIR%\\Setup\\Scripts\\SetupComplete.cmd`);
    else say(`install SetupComplete.cmd at ${await platform.installSetupComplete(script, known)}`);
    return;
  }
  let existing: string | undefined;
  try {
    existing = await platform.readSetupComplete();
  } catch (err) {
    io.out(`note: %WINDIR%\\Setup\\Scripts\\SetupComplete.cmd could not be read (${toAgentError(err).reason}); left as it is\n`);
    return;
  }
  if (existing === undefined) return;
  const bytes = Buffer.from(existing, 'latin1');
  const clearOnly = clearOnlySetupComplete();
  if (bytes.equals(toBatchText(clearOnly))) return;
  if (known.some((script) => bytes.equals(toBatchText(script)))) {
    if (step.dryRun) say('replace winprov\'s SetupComplete.cmd of another mode with the one that only clears the answer file\'s passwords');
    else say(`install SetupComplete.cmd (only the answer file's passwords cleared after OOBE) at ${await platform.installSetupComplete(clearOnly, known)}`);
  } else if (isWinprovSetupComplete(existing)) {
    io.out('note: %WINDIR%\\Setup\\Scripts\\SetupComplete.cmd is winprov\'s of another version, or edited; left as it is. If it runs '
      + '"winprov provision" or "first-boot-script", each VM runs them again after OOBE: remove it, or keep only the line '
      + `"${WINPROV_EXE}" clear-answer-file\n`);
  }
}
