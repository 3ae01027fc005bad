import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { hostname } from 'node:os';
import { zipSync, strToU8 } from 'fflate';
import { createPlatform } from '../platform/index.ts';
import { createLog, redactText } from '../util/log.ts';
import { readStatus } from './status.ts';
import { ConfigError, toAgentError } from '../errors.ts';
import type { AgentConfig } from '../config.ts';
import type { DiagnosticFile } from '../platform/platform.ts';
import type { CommandIo } from './io.ts';

/**
 * `winprov collect-logs`: one zip for whoever diagnoses a VM that did not come up: winprov's logs and
 * journal, the status, the redacted ovf-env copy, Windows Setup logs, registry keys as text and event
 * log extracts. Every text file passes the same redaction as the log before it enters the zip.
 */
export async function collectLogsCommand(config: Readonly<AgentConfig>, io: CommandIo): Promise<number> {
  const log = createLog({ consoleLevel: 'warn', write: io.err });
  const platform = await createPlatform(config, log);
  const files: DiagnosticFile[] = [];
  try {
    const names = await readdir(platform.stateDirectory).catch(() => [] as string[]);
    for (const name of names.sort()) {
      if (!/^(winprov\.log(\.\d+)?|state\.json|provisioned\.json|ovf-env\.xml|setupcomplete\.log|first-boot\.json|first-boot-(customData|userData)\.log(\.1)?)$/.test(name)) continue;
      files.push({ name: `winprov/${name}`, data: await readFile(join(platform.stateDirectory, name)) });
    }
    // One file of the collection: a part that cannot be read (a damaged state.json) is said in it, and the
    // rest is still collected; a broken VM is when the collection is needed most.
    try {
      files.push({ name: 'status.json', data: JSON.stringify((await readStatus(config, platform)).report, null, 2) });
    } catch (err) {
      files.push({ name: 'status.json', data: JSON.stringify({ error: toAgentError(err).describe() }, null, 2) });
    }
    files.push(...(await platform.collectDiagnostics()));
  } finally {
    await platform.close();
  }
  const entries: Record<string, Uint8Array> = {};
  for (const file of files) {
    const text = typeof file.data === 'string' ? file.data : Buffer.from(file.data).toString('utf8');
    entries[file.name] = strToU8(redactText(text));
  }
  if (config.output === '') throw new ConfigError('output', 'must name a file (-o FILE)');
  const output = resolve(config.output ?? `winprov-logs-${hostname()}-${new Date().toISOString().replace(/[:.]/g, '-')}.zip`);
  // Only a new file or a regular one: opening a FIFO for writing waits for a reader for good, a device
  // would take the zip's bytes, and a link in a shared folder would point an administrator's write elsewhere.
  const existing = await lstat(output).catch(() => undefined);
  if (existing !== undefined && !existing.isFile()) {
    throw new ConfigError('output', `${output} is ${kindOf(existing)}, not a regular file; name a new file or a regular one`);
  }
  try {
    await writeFile(output, zipSync(entries, { level: 6 }), { mode: 0o600 });
  } catch (err) {
    // A path that cannot be written (a folder, a missing folder, no right) is the caller's to fix, not a bug.
    throw new ConfigError('output', `cannot write ${output}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  io.out(`wrote ${output} (${files.length} files)\n`);
  for (const file of files) io.out(`  ${file.name}\n`);
  return 0;
}

function kindOf(info: Stats): string {
  if (info.isDirectory()) return 'a folder';
  if (info.isSymbolicLink()) return 'a symbolic link';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  return 'a device';
}
