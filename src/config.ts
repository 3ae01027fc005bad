import { parseArgs } from 'node:util';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, UsageError } from './errors.ts';
import { absolutePath, boolean, duration, fabricUrl, folder, integer, ipv4, oneOf, plainHttpUrl, thumbprint } from './config-fields.ts';
import { checkOptions } from './command-options.ts';
import { firstBootMode, type FirstBootMode } from './first-boot/settings.ts';
import { FILE_KEYS, IMAGE_ONLY_KEYS, readSettingsFile, readSettingsObject, type SettingsLayer } from './settings-file.ts';

/**
 * The configuration, normalized once: defaults -> winprov.json -> WINPROV_* environment -> argv, then
 * validated and frozen. This is the only module that reads the environment or the command line.
 */

// sandbox-interpreter is internal (not in --help): the sandbox's fake script interpreter in the single executable.
export const COMMANDS = ['provision', 'status', 'prepare-image', 'simulate', 'collect-logs', 'demo', 'version', 'help', 'first-boot-script', 'clear-answer-file', 'remove-from-image', 'sandbox-interpreter'] as const;
export type Command = (typeof COMMANDS)[number];
export type PlatformChoice = 'auto' | 'windows' | 'sandbox';
/** full: everything, Ready at the end; apply: apply everything, defer Ready to a later full run (SetupComplete). */
export type Phase = 'full' | 'apply';
export type ConsoleLevel = 'debug' | 'info' | 'warn' | 'error';
export type { FirstBootMode } from './first-boot/settings.ts';

export interface AgentConfig {
  command: Command;
  platform: PlatformChoice;
  /** Root folder of the sandbox platform. */
  sandboxRoot: string | undefined;
  /** A fixed fabric URL (http://host:port); skips discovery. */
  fabricUrl: string | undefined;
  /** Port of the WireServer (80); other values exist for tests against a loopback simulator. */
  fabricPort: number;
  /** The well-known WireServer address used when DHCP gives none. */
  fallbackAddress: string;
  repairDhcp: boolean;
  /** Budget of the whole run in milliseconds. */
  deadlineMs: number;
  /** How long provision and prepare-image wait for another run's lock before refusing. */
  lockWaitMs: number;
  /** prepare-image's warm run (code-cache-warmup.ts sets WINPROV_CODE_CACHE_WARM=1): write the code cache after Ready. */
  codeCacheWarmRun: boolean;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  maxResponseBytes: number;
  phase: Phase;
  consoleLevel: ConsoleLevel;
  serial: string | undefined;
  json: boolean;
  /** status: draw the provisioning run's steps on a time axis (text). */
  timeline: boolean;
  dryRun: boolean;
  /**
   * prepare-image: --check, --force, --record-baseline, --build-listener T..., --remove-certificate THUMBPRINT...,
   * --keep-remote-access (leave it for a later --remote-access-only run).
   */
  image: { check: boolean; force: boolean; recordBaseline: boolean; buildListeners: string[]; removeCertificates: string[]; keepRemoteAccess: boolean; remoteAccessOnly: boolean };
  output: string | undefined;
  /**
   * The first-boot script: the mode and timeout from winprov.json only (the image's choice: neither the
   * environment nor anything the VM is deployed with can turn it on), the IMDS base URL and the budget of
   * the user data fetch (imdsAddress, imdsBudget: winprov.json only as well).
   * prepare-image --first-boot-script MODE is the value prepare-image writes into winprov.json.
   */
  firstBoot: { mode: FirstBootMode; timeoutMs: number; imdsUrl: string; imdsBudgetMs: number; prepare: FirstBootMode | undefined };
  /** simulate: the fabric simulator's host and port, and the IMDS simulator's own port on that host (0: a free one) */
  host: string;
  port: number;
  imdsPort: number;
  scenarioFile: string | undefined;
  mediaDir: string | undefined;
  /**
   * Windows folders, from the environment of the process (SystemRoot, SystemDrive, ProgramData, ProgramFiles), and the
   * PowerShell to run the scripts with (setting "powershell"; default Windows PowerShell 5.1 under SystemRoot).
   */
  windows: { systemRoot: string; systemDrive: string; programData: string; programFiles: string; powershell?: string };
  /** Where the configuration came from, for the log. */
  sources: string[];
}

export interface ConfigInput {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Folder of the executable, where winprov.json may sit. */
  executableDir?: string;
  readFile?: (path: string) => string;
}

const DEFAULTS = {
  platform: 'auto' as PlatformChoice,
  fabricPort: 80,
  fallbackAddress: '168.63.129.16',
  repairDhcp: true,
  deadlineMs: 20 * 60_000,
  lockWaitMs: 5_000,
  connectTimeoutMs: 5_000,
  readTimeoutMs: 60_000,
  maxResponseBytes: 8 * 1024 * 1024,
  phase: 'full' as Phase,
  consoleLevel: 'info' as ConsoleLevel,
  host: '127.0.0.1',
  port: 0,
};

/** The command line's options (node:util parseArgs); the loader reads them too, to tell a provision run (build/code-cache-loader.ts). */
export const ARG_OPTIONS = {
  platform: { type: 'string' },
  sandbox: { type: 'string' },
  fabric: { type: 'string' },
  'fabric-port': { type: 'string' },
  'fallback-address': { type: 'string' },
  'no-repair-dhcp': { type: 'boolean' },
  deadline: { type: 'string' },
  'connect-timeout': { type: 'string' },
  'read-timeout': { type: 'string' },
  'defer-ready': { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  quiet: { type: 'boolean', short: 'q' },
  serial: { type: 'string' },
  json: { type: 'boolean' },
  timeline: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  check: { type: 'boolean' },
  force: { type: 'boolean' },
  'record-baseline': { type: 'boolean' },
  'build-listener': { type: 'string', multiple: true },
  'remove-certificate': { type: 'string', multiple: true },
  'keep-remote-access': { type: 'boolean' },
  'remote-access-only': { type: 'boolean' },
  'first-boot-script': { type: 'string' },
  output: { type: 'string', short: 'o' },
  config: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'imds-port': { type: 'string' },
  scenario: { type: 'string' },
  media: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

/**
 * The command a parsed command line names: --help wins, then the first positional, then --version, and
 * provision when nothing is named. The loader starts a provision run's transport key by the same rule
 * (build/code-cache-loader.ts pastes this function in, so it names only its arguments).
 */
export function commandOf(values: { help?: unknown; version?: unknown }, positionals: readonly string[]): string {
  if (values.help) return 'help';
  if (positionals.length > 0) return positionals[0]!;
  return values.version ? 'version' : 'provision';
}

export function loadConfig(input: ConfigInput): Readonly<AgentConfig> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...input.argv], options: ARG_OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!.replace(/^TypeError \[\w+\]: /, ''));
  }
  const { values, positionals } = parsed;
  const named = positionals[0];
  if (named !== undefined && !(COMMANDS as readonly string[]).includes(named)) throw new UsageError(`unknown command "${named.slice(0, 40)}"`);
  const command = commandOf(values, positionals) as Command;
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]!.slice(0, 40)}"`);
  // Help and the version answer whatever else is given: a broken setting must not hide how to fix it.
  const settingsApply = command !== 'help' && command !== 'version';
  if (settingsApply) checkOptions(command, values);

  const sources = ['defaults'];
  const readFile = input.readFile ?? readSettingsFile;
  const fileLayer = settingsApply ? loadFileLayer(values.config, input.executableDir, readFile, sources) : {};
  const envLayer = settingsApply ? loadEnvLayer(input.env, sources) : {};
  const argLayer: SettingsLayer = {};
  if (values.platform !== undefined) argLayer.platform = values.platform;
  if (values.sandbox !== undefined) argLayer.sandbox = values.sandbox;
  if (values.fabric !== undefined) argLayer.fabric = values.fabric;
  if (values['fabric-port'] !== undefined) argLayer.fabricPort = values['fabric-port'];
  if (values['fallback-address'] !== undefined) argLayer.fallbackAddress = values['fallback-address'];
  if (values['no-repair-dhcp']) argLayer.repairDhcp = false;
  if (values.deadline !== undefined) argLayer.deadline = values.deadline;
  if (values['connect-timeout'] !== undefined) argLayer.connectTimeout = values['connect-timeout'];
  if (values['read-timeout'] !== undefined) argLayer.readTimeout = values['read-timeout'];
  if (values.serial !== undefined) argLayer.serial = values.serial;
  if (values.verbose && values.quiet) throw new UsageError('--verbose and --quiet ask for opposite things: give one of them');
  if (values.verbose) argLayer.logLevel = 'debug';
  if (values.quiet) argLayer.logLevel = 'warn';
  if (Object.keys(argLayer).length > 0) sources.push('command line');
  const merged: SettingsLayer = settingsApply ? { ...fileLayer, ...envLayer, ...argLayer } : {};

  const platform = oneOf('platform', merged.platform ?? DEFAULTS.platform, ['auto', 'windows', 'sandbox'] as const);
  const env = input.env;
  const config: AgentConfig = {
    command,
    platform,
    sandboxRoot: merged.sandbox === undefined ? undefined : folder('sandbox', String(merged.sandbox)),
    fabricUrl: merged.fabric === undefined ? undefined : fabricUrl(String(merged.fabric)),
    fabricPort: integer('fabricPort', merged.fabricPort ?? DEFAULTS.fabricPort, 1, 65535),
    fallbackAddress: ipv4('fallbackAddress', String(merged.fallbackAddress ?? DEFAULTS.fallbackAddress)),
    repairDhcp: boolean('repairDhcp', merged.repairDhcp ?? DEFAULTS.repairDhcp),
    deadlineMs: duration('deadline', merged.deadline ?? DEFAULTS.deadlineMs / 1000, 1_000, 24 * 3_600_000),
    lockWaitMs: duration('lockWait', merged.lockWait ?? DEFAULTS.lockWaitMs / 1000, 0, 600_000),
    codeCacheWarmRun: input.env['WINPROV_CODE_CACHE_WARM'] === '1',
    connectTimeoutMs: duration('connectTimeout', merged.connectTimeout ?? DEFAULTS.connectTimeoutMs / 1000, 100, 600_000),
    readTimeoutMs: duration('readTimeout', merged.readTimeout ?? DEFAULTS.readTimeoutMs / 1000, 100, 600_000),
    maxResponseBytes: integer('maxResponseBytes', merged.maxResponseBytes ?? DEFAULTS.maxResponseBytes, 64 * 1024, 256 * 1024 * 1024),
    phase: values['defer-ready'] ? 'apply' : DEFAULTS.phase,
    consoleLevel: oneOf('logLevel', merged.logLevel ?? DEFAULTS.consoleLevel, ['debug', 'info', 'warn', 'error'] as const),
    serial: merged.serial === undefined || merged.serial === '' ? undefined : String(merged.serial),
    json: values.json ?? false,
    timeline: values.timeline ?? false,
    dryRun: values['dry-run'] ?? false,
    image: {
      check: values.check ?? false,
      force: values.force ?? false,
      recordBaseline: values['record-baseline'] ?? false,
      buildListeners: (values['build-listener'] ?? []).map((t) => oneOf('build-listener', t, ['http', 'https'] as const).toUpperCase()),
      removeCertificates: (values['remove-certificate'] ?? []).map((t) => thumbprint('remove-certificate', t)),
      keepRemoteAccess: values['keep-remote-access'] ?? false,
      remoteAccessOnly: values['remote-access-only'] ?? false,
    },
    output: values.output,
    firstBoot: {
      mode: firstBootMode('firstBootScript', fileLayer.firstBootScript ?? 'off'),
      timeoutMs: duration('firstBootTimeout', fileLayer.firstBootTimeout ?? 30 * 60, 1_000, 24 * 3_600_000),
      imdsUrl: plainHttpUrl('imdsAddress', String(fileLayer.imdsAddress ?? 'http://169.254.169.254'), 'http://169.254.169.254', 'IMDS'),
      // IMDS answers in milliseconds where it exists (fabric-protocol.md 2.12); 30 s covers its restarts.
      // An image whose hosts are known to answer late (or never) may say otherwise, within 1 s to 10 min.
      imdsBudgetMs: duration('imdsBudget', fileLayer.imdsBudget ?? 30, 1_000, 600_000),
      prepare: values['first-boot-script'] === undefined ? undefined : firstBootMode('first-boot-script', values['first-boot-script']),
    },
    host: values.host ?? DEFAULTS.host,
    port: integer('port', values.port ?? DEFAULTS.port, 0, 65535),
    imdsPort: integer('imds-port', values['imds-port'] ?? DEFAULTS.port, 0, 65535),
    scenarioFile: values.scenario,
    mediaDir: values.media,
    windows: {
      systemRoot: env.SystemRoot ?? env.SYSTEMROOT ?? 'C:\\Windows',
      systemDrive: env.SystemDrive ?? env.SYSTEMDRIVE ?? 'C:',
      programData: env.ProgramData ?? env.PROGRAMDATA ?? 'C:\\ProgramData',
      programFiles: env.ProgramFiles ?? env.PROGRAMFILES ?? 'C:\\Program Files',
      ...(merged.powershell === undefined || merged.powershell === '' ? {} : { powershell: absolutePath('powershell', String(merged.powershell)) }),
    },
    sources,
  };
  return Object.freeze(config);
}

function loadFileLayer(explicit: string | undefined, executableDir: string | undefined, readFile: (p: string) => string, sources: string[]): SettingsLayer {
  const path = explicit ?? (executableDir ? join(executableDir, 'winprov.json') : undefined);
  if (path === undefined) return {};
  const layer = readSettingsObject(path, { optional: explicit === undefined, readFile });
  if (layer === undefined) return {};
  sources.push(path);
  return layer;
}

function loadEnvLayer(env: Readonly<Record<string, string | undefined>>, sources: string[]): SettingsLayer {
  const layer: SettingsLayer = {};
  for (const key of FILE_KEYS) {
    if (IMAGE_ONLY_KEYS.includes(key)) continue;
    const name = `WINPROV_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
    const value = env[name];
    if (value !== undefined && value !== '') layer[key] = value;
  }
  if (Object.keys(layer).length > 0) sources.push('environment');
  return layer;
}

/** The folder of the running executable (for winprov.json), given process.execPath. */
export function executableDirOf(execPath: string): string {
  return dirname(execPath);
}
