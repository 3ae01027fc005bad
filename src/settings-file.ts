import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { ConfigError } from './errors.ts';

/**
 * winprov.json: the settings file beside the executable (or named with --config), read before anything
 * else runs, so synchronously. config.ts layers it under the environment and the command line;
 * prepare-image reads the install folder's before it writes "firstBootScript" there.
 */

/** Keys accepted in winprov.json and (upper-snake-cased, WINPROV_ prefixed) in the environment. */
export const FILE_KEYS = [
  'platform', 'sandbox', 'fabric', 'fabricPort', 'fallbackAddress', 'repairDhcp', 'deadline', 'connectTimeout',
  'readTimeout', 'maxResponseBytes', 'logLevel', 'serial', 'powershell', 'lockWait',
  'firstBootScript', 'firstBootTimeout', 'imdsAddress', 'imdsBudget',
] as const;
export type FileKey = (typeof FILE_KEYS)[number];
/** Settings of the image alone: read from winprov.json, never from the environment (README, threat model). */
export const IMAGE_ONLY_KEYS: readonly FileKey[] = ['firstBootScript', 'firstBootTimeout', 'imdsAddress', 'imdsBudget'];
/** Settings by key, as one source gives them. */
export type SettingsLayer = Partial<Record<FileKey, string | number | boolean>>;

/**
 * A winprov.json as its settings: UTF-8 (a byte-order mark is fine; UTF-16 is refused by name), one JSON
 * object of known keys, each a string, number or boolean. Undefined when the file does not exist and is
 * `optional`.
 */
export function readSettingsObject(path: string, options: { optional: boolean; readFile?: (path: string) => string }): SettingsLayer | undefined {
  let text: string;
  try {
    text = (options.readFile ?? readSettingsFile)(path);
  } catch (err) {
    if (options.optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError('config', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  // Windows PowerShell 5.1's Set-Content -Encoding UTF8 writes a byte-order mark; Out-File writes UTF-16.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.includes('\u0000') || text.startsWith('\ufffd\ufffd')) throw new ConfigError('config', `${path} is UTF-16; save it as UTF-8 (Set-Content -Encoding UTF8, or [IO.File]::WriteAllText)`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ConfigError('config', `${path} is not valid JSON`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new ConfigError('config', `${path} must hold a JSON object`);
  const layer: SettingsLayer = {};
  for (const [key, value] of Object.entries(data)) {
    if (!(FILE_KEYS as readonly string[]).includes(key)) throw new ConfigError(key, `is not a known setting (in ${path}; known: ${FILE_KEYS.join(', ')})`);
    if (!['string', 'number', 'boolean'].includes(typeof value)) throw new ConfigError(key, `must be a string, number or boolean (in ${path})`);
    layer[key as FileKey] = value as string | number | boolean;
  }
  return layer;
}

/** Largest settings file read: winprov.json is a few hundred bytes. */
const MAX_SETTINGS_BYTES = 64 * 1024;

/**
 * Reads a settings file: a regular file of at most 64 KiB. As util/files.ts readRegularFile does for
 * outside input, it is opened without blocking and judged by that handle, so a FIFO or device in its
 * place is refused rather than waited on (POSIX open(2), O_NONBLOCK), and nothing can be swapped in
 * between the check and the read.
 */
export function readSettingsFile(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw Object.assign(new Error('not a regular file'), { code: stats.isDirectory() ? 'EISDIR' : 'not a regular file' });
    if (stats.size > MAX_SETTINGS_BYTES) throw Object.assign(new Error('too large'), { code: `${stats.size} bytes, over ${MAX_SETTINGS_BYTES}` });
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
