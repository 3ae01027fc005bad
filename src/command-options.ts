import { UsageError } from './errors.ts';
import type { ARG_OPTIONS, Command } from './config.ts';

/**
 * Which command-line options each command reads (config.ts parses them once). One given to a command that
 * does not read it is a usage error, never silently ignored: `provision --dry-run` would otherwise
 * provision for real. Settings from winprov.json and the environment are not checked here: they serve
 * every command that reads them.
 */

/** Options every command takes; the rest only where COMMAND_OPTIONS lists them. */
const GLOBAL_OPTIONS = ['platform', 'sandbox', 'config', 'verbose', 'quiet', 'help', 'version'] as const;
/** The options each command reads besides those. */
const COMMAND_OPTIONS: Record<Command, readonly (keyof typeof ARG_OPTIONS)[]> = {
  provision: ['fabric', 'fabric-port', 'fallback-address', 'no-repair-dhcp', 'deadline', 'connect-timeout', 'read-timeout', 'defer-ready', 'serial'],
  status: ['json', 'timeline'],
  'prepare-image': ['defer-ready', 'dry-run', 'check', 'force', 'record-baseline', 'build-listener', 'remove-certificate', 'keep-remote-access', 'remote-access-only', 'first-boot-script', 'json'],
  'first-boot-script': ['connect-timeout', 'read-timeout', 'serial'],
  'clear-answer-file': ['dry-run', 'deadline', 'serial'],
  'remove-from-image': ['dry-run'],
  'collect-logs': ['output'],
  simulate: ['host', 'port', 'imds-port', 'scenario', 'media'],
  demo: [],
  version: [],
  help: [],
  'sandbox-interpreter': [],
};

/** Refuses an option the command does not read, and options that contradict each other. */
export function checkOptions(command: Command, values: Record<string, unknown>): void {
  const allowed = new Set<string>([...GLOBAL_OPTIONS, ...COMMAND_OPTIONS[command]]);
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || allowed.has(name)) continue;
    const users = (Object.keys(COMMAND_OPTIONS) as Command[]).filter((c) => COMMAND_OPTIONS[c].includes(name as keyof typeof ARG_OPTIONS));
    throw new UsageError(`--${name} does not apply to ${command}${users.length > 0 ? ` (it is an option of ${users.join(', ')})` : ''}`);
  }
  if (values['record-baseline'] && values['remote-access-only']) throw new UsageError('--record-baseline (the start of the build) and --remote-access-only (its end) are two runs: give one of them');
  if (values['build-listener'] !== undefined && !values['record-baseline']) throw new UsageError('--build-listener says which listener --record-baseline records as the build\'s: give it with --record-baseline');
  if (values.json && values.timeline) throw new UsageError('--timeline draws text for a terminal; with --json, give one of them');
}
