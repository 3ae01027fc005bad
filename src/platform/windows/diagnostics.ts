import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { DiagnosticFile } from '../platform.ts';
import { HostResult } from './results.ts';

/**
 * The Windows part of collect-logs: Windows Setup's own logs, read by Node, and the registry values and
 * event log extracts that diagnostics.ps1 gathers, turned into text files. Never collected: Panther's
 * unattend.xml (it holds the admin password), the provisioning media, custom data.
 */

/** At most this much of each log file, from its end: the end is where a failed setup stopped. */
export const LOG_TAIL_BYTES = 4 * 1024 * 1024;

/** The files under %SystemRoot% that are read, by their name inside the zip. */
const SETUP_FILES: readonly { name: string; parts: readonly string[] }[] = [
  { name: 'windows/Panther/setupact.log', parts: ['Panther', 'setupact.log'] },
  { name: 'windows/Panther/setuperr.log', parts: ['Panther', 'setuperr.log'] },
  { name: 'windows/Panther/UnattendGC/setupact.log', parts: ['Panther', 'UnattendGC', 'setupact.log'] },
  { name: 'windows/Panther/UnattendGC/setuperr.log', parts: ['Panther', 'UnattendGC', 'setuperr.log'] },
  { name: 'windows/Setup/Scripts/SetupComplete.cmd', parts: ['Setup', 'Scripts', 'SetupComplete.cmd'] },
];

/** The last maxBytes of a file, starting at a line; undefined when the file does not exist. */
export async function readTail(path: string, maxBytes: number = LOG_TAIL_BYTES): Promise<Uint8Array | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
  try {
    const size = (await handle.stat()).size;
    const start = Math.max(0, size - maxBytes);
    const buffer = Buffer.alloc(size - start);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    const data = buffer.subarray(0, bytesRead);
    if (start === 0) return data;
    const newline = data.indexOf(0x0a);
    const rest = newline === -1 ? data : data.subarray(newline + 1);
    const note = `[the first ${size - rest.length} bytes of this ${size}-byte file are left out]\r\n`;
    return Buffer.concat([Buffer.from(note, 'ascii'), rest]);
  } finally {
    await handle.close();
  }
}

/** The Windows Setup logs and SetupComplete.cmd that exist, plus notes on files that could not be read. */
export async function readSetupFiles(systemRoot: string): Promise<{ files: DiagnosticFile[]; notes: string[] }> {
  const files: DiagnosticFile[] = [];
  const notes: string[] = [];
  for (const { name, parts } of SETUP_FILES) {
    const path = join(systemRoot, ...parts);
    try {
      const data = await readTail(path);
      if (data !== undefined) files.push({ name, data });
    } catch (err) {
      notes.push(`${path} could not be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }
  return { files, notes };
}

const KINDS: Record<string, string> = {
  String: 'REG_SZ',
  ExpandString: 'REG_EXPAND_SZ',
  MultiString: 'REG_MULTI_SZ',
  DWord: 'REG_DWORD',
  QWord: 'REG_QWORD',
  Binary: 'REG_BINARY',
  None: 'REG_NONE',
};

/** Service Start values (SERVICE_BOOT_START 0 ... SERVICE_DISABLED 4). */
const START_MODES = ['Boot', 'System', 'Automatic', 'Manual', 'Disabled'];

function registryValueLine(verb: string, keyPath: string, entry: unknown): string {
  const r = new HostResult(verb, entry);
  const name = r.string('name');
  const kind = r.string('kind');
  const data: unknown = (entry as Record<string, unknown>).data;
  let shown: string;
  if ((kind === 'DWord' || kind === 'QWord') && typeof data === 'string' && /^\d+$/.test(data)) {
    shown = `0x${BigInt(data).toString(16).padStart(kind === 'DWord' ? 8 : 16, '0')} (${data})`;
    if (name === 'Start' && /\\Services\\/i.test(keyPath) && START_MODES[Number(data)] !== undefined) shown += ` ${START_MODES[Number(data)]}`;
  } else if (Array.isArray(data)) {
    shown = data.map((item) => JSON.stringify(String(item))).join(', ');
  } else if (typeof data === 'string' && (kind === 'String' || kind === 'ExpandString')) {
    shown = JSON.stringify(data);
  } else if (typeof data === 'string') {
    const bytes = Buffer.from(data, 'base64');
    const length = r.integer('length');
    shown = `${bytes.toString('hex').replace(/(..)(?!$)/g, '$1 ')}${length > bytes.length ? ` ... (${length} bytes)` : ''}`;
  } else {
    shown = '(no data)';
  }
  return `  ${name === '' ? '(Default)' : name}  ${KINDS[kind] ?? kind}  ${shown}`;
}

/** registry.txt: each key, its values, and the named values it does not have. */
export function formatRegistry(verb: string, keys: unknown[]): string {
  const blocks = keys.map((key) => {
    const r = new HostResult(verb, key);
    const path = r.string('path');
    const lines = [path];
    const error = r.optionalString('error');
    if (error !== undefined) lines.push(`  (could not be read: ${error})`);
    else if (!r.boolean('exists')) lines.push('  (key not present)');
    for (const value of r.list('values')) lines.push(registryValueLine(verb, path, value));
    for (const name of r.list('missing')) lines.push(`  ${String(name)}  (not present)`);
    return lines.join('\r\n');
  });
  return `${blocks.join('\r\n\r\n')}\r\n`;
}

const LEVELS: Record<number, string> = { 0: 'Information', 1: 'Critical', 2: 'Error', 3: 'Warning', 4: 'Information', 5: 'Verbose' };

/** An events-*.txt file: a heading, then one block per event, newest first. */
export function formatEvents(verb: string, heading: string, extract: unknown): string {
  const r = new HostResult(verb, extract);
  const lines = [heading];
  const error = r.optionalString('error');
  if (error !== undefined) lines.push(`(could not be read: ${error})`);
  const events = r.list('events');
  if (error === undefined && events.length === 0) lines.push('(no events)');
  for (const event of events) {
    const e = new HostResult(verb, event);
    const level = e.integer('level');
    lines.push('', `${e.string('time')}  ${LEVELS[level] ?? `Level ${level}`}  ${e.string('provider')}  ${e.integer('id')}`);
    for (const line of e.string('message').split(/\r?\n/)) lines.push(`  ${line}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** The files made from diagnostics.ps1's answer. */
export function toDiagnosticFiles(verb: string, value: unknown): DiagnosticFile[] {
  const r = new HostResult(verb, value);
  return [
    { name: 'windows/registry.txt', data: formatRegistry(verb, r.list('registry')) },
    { name: 'windows/events-winprov.txt', data: formatEvents(verb, 'Application log, source winprov: the last 200 events, newest first', (value as Record<string, unknown>).winprovEvents) },
    { name: 'windows/events-system.txt', data: formatEvents(verb, 'System log, critical, error and warning events: the last 100, newest first', (value as Record<string, unknown>).systemEvents) },
  ];
}
