import { ConfigError } from '../errors.ts';

/**
 * The validators of the first-boot script's settings, beside the feature; config.ts calls them once while
 * it normalizes the configuration (and stays the only reader of winprov.json, the environment and argv).
 */

/** Which first-boot script runs from SetupComplete (README, "First-boot script"); off unless the image says so. */
export type FirstBootMode = 'off' | 'customData' | 'userData' | 'both';
export const FIRST_BOOT_MODES: readonly FirstBootMode[] = ['off', 'customData', 'userData', 'both'];

/** "off", "customData", "userData" or "both" (case-insensitive, as JSON or on the command line). */
export function firstBootMode(field: string, value: unknown): FirstBootMode {
  const found = FIRST_BOOT_MODES.find((m) => m.toLowerCase() === String(value).toLowerCase());
  if (found === undefined) throw new ConfigError(field, `must be one of ${FIRST_BOOT_MODES.join(', ')}`);
  return found;
}
