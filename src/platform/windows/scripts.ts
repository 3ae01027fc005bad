import { readFileSync } from 'node:fs';
import { PlatformCommandError } from '../../errors.ts';

/**
 * The static PowerShell scripts in ./scripts/. They are this project's code, shipped as files and never
 * assembled from data. A bundler inlines them later, so every read goes through loadScript.
 */

/** The script passed on the command line (-EncodedCommand); it loads the library from stdin. */
export const BOOTSTRAP_SCRIPT = 'bootstrap.ps1';

/** The library the bootstrap loads, in order: host.ps1 first, the verb files use its helpers. */
export const LIBRARY_SCRIPTS = [
  'host.ps1',
  'network.ps1',
  'media.ps1',
  'identity.ps1',
  'accounts.ps1',
  'certificates.ps1',
  'winrm.ps1',
  'storage.ps1',
  'files.ps1',
  'services.ps1',
  'kvp.ps1',
  'tasks.ps1',
  'events.ps1',
  'diagnostics.ps1',
  'lock.ps1',
  'rdp.ps1',
  'unattend.ps1',
  'remote-access.ps1',
  'image-check.ps1',
] as const;

const SCRIPT_NAME = /^[a-z][a-z0-9-]*\.ps1$/;

/** The text of one script from ./scripts/ (UTF-8, no BOM). */
export function loadScript(name: string): string {
  if (!SCRIPT_NAME.test(name)) throw new PlatformCommandError('loadScript', `${JSON.stringify(name)} is not a script name of the form name.ps1`);
  const text = readFileSync(new URL('./scripts/' + name, import.meta.url), 'utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The library scripts as the bootstrap expects them in the first stdin line. */
export function loadLibrary(): { name: string; text: string }[] {
  return LIBRARY_SCRIPTS.map((name) => ({ name, text: loadScript(name) }));
}
