import { join } from 'node:path';
import { readRegularFile } from '../../util/files.ts';

/**
 * Windows Setup's state, as Setup writes it into %WINDIR%\Setup\State\State.ini, section [State], value
 * ImageState ("Windows Setup States": the same value as HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\
 * Setup\State ImageState). Read with Node, no PowerShell round trip: a provisioning run reads it only when
 * the VM asks for additional unattend content, and IMAGE_STATE_COMPLETE there means the oobeSystem pass
 * that would read that content has already run.
 *
 * A file that is missing, too large, unreadable or holds no well-formed value gives undefined: the state
 * is then unknown, and the caller goes on as Setup's own passes would have it.
 */

/** A real State.ini is two short lines. */
const MAX_STATE_FILE_BYTES = 64 * 1024;

export function stateFilePath(systemRoot: string): string {
  return join(systemRoot, 'Setup', 'State', 'State.ini');
}

export async function readImageState(systemRoot: string): Promise<string | undefined> {
  const bytes = await readRegularFile(stateFilePath(systemRoot), MAX_STATE_FILE_BYTES).catch(() => undefined);
  return bytes === undefined ? undefined : parseImageState(bytes);
}

/** ImageState of the [State] section; INI files from Windows may be UTF-16LE (with its BOM) or 8-bit. */
export function parseImageState(bytes: Buffer): string | undefined {
  const text = bytes[0] === 0xff && bytes[1] === 0xfe ? bytes.subarray(2).toString('utf16le') : bytes.toString('latin1').replace(/^\u00ef\u00bb\u00bf/, '');
  let section = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const header = /^\[([^\]]*)\]$/.exec(line);
    if (header !== null) {
      section = header[1]!.trim().toLowerCase();
      continue;
    }
    if (section !== 'state') continue;
    const entry = /^ImageState\s*=\s*(.*)$/i.exec(line);
    if (entry === null) continue;
    const value = entry[1]!.trim();
    // The names Setup writes are IMAGE_STATE_ and capitals; anything else is not a state to act on.
    return /^IMAGE_STATE_[A-Z_]{1,60}$/.test(value) ? value : undefined;
  }
  return undefined;
}
