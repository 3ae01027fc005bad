import type { ScriptInterpreter } from '../platform/first-boot-types.ts';

/**
 * Which first-boot scripts are run, recognised as the peers recognise them (cloudbase-init's userdata
 * plugins, EC2Launch): a first line `#ps1` or `#ps1_sysnative`, or a `<powershell>...</powershell>` block,
 * is a Windows PowerShell script; a first line `rem cmd` or `#cmd` is a cmd.exe script. Anything else
 * (cloud-config, a shell script, binary data) is not run, and the reason says why. EC2Launch's `<persist>`
 * (run at every boot) is not supported: a first-boot script runs once per VM (README, "First-boot script").
 */

export type ScriptFormat = 'ps1' | 'ps1_sysnative' | 'powershell-tag' | 'cmd' | 'rem-cmd';

export type Recognised =
  | { run: true; format: ScriptFormat; interpreter: ScriptInterpreter; /** The file's bytes, ready to write. */ file: Uint8Array; extension: '.ps1' | '.cmd' }
  | { run: false; reason: string };

const UTF8_BOM = Uint8Array.of(0xef, 0xbb, 0xbf);

/** Decodes user data as IMDS gives it (base64 text); undefined when it is not base64. */
export function decodeBase64(text: string): Uint8Array | undefined {
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) return undefined;
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

/** Recognises the script's format from its bytes; never quotes the content in a reason (it may be secret). */
export function recognise(data: Uint8Array): Recognised {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(data);
  } catch {
    return { run: false, reason: 'it is not UTF-8 text' };
  }
  if (text.trim() === '') return { run: false, reason: 'it is empty' };
  const newline = text.search(/\r?\n/);
  const first = (newline < 0 ? text : text.slice(0, newline)).trim().toLowerCase();
  const rest = newline < 0 ? '' : text.slice(newline).replace(/^\r?\n/, '');
  if (first === '#ps1' || first === '#ps1_sysnative') {
    // The first line is a comment to PowerShell; the whole text runs.
    return powershell(first === '#ps1' ? 'ps1' : 'ps1_sysnative', text);
  }
  if (first === 'rem cmd') return cmd('rem-cmd', text);
  // "#cmd" is no command to cmd.exe (it would print an error): the line is left out.
  if (first === '#cmd') return cmd('cmd', rest);
  const tag = /<powershell>([\s\S]*?)<\/powershell>/i.exec(text);
  if (tag !== null) return powershell('powershell-tag', tag[1]!);
  return { run: false, reason: 'its first line is not #ps1, #ps1_sysnative, #cmd or rem cmd, and it holds no <powershell> block' };
}

function crlf(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

function powershell(format: ScriptFormat, body: string): Recognised {
  // Windows PowerShell 5.1 reads a .ps1 without a BOM in the ANSI code page: the BOM keeps UTF-8 text intact.
  const bytes = Buffer.from(crlf(body), 'utf8');
  return { run: true, format, interpreter: 'powershell', file: new Uint8Array(Buffer.concat([UTF8_BOM, bytes])), extension: '.ps1' };
}

function cmd(format: ScriptFormat, body: string): Recognised {
  // cmd.exe takes a bare LF badly (labels) and a BOM as part of the first command (setup-complete.ts).
  const text = crlf(body);
  return { run: true, format, interpreter: 'cmd', file: new Uint8Array(Buffer.from(text.endsWith('\r\n') ? text : `${text}\r\n`, 'utf8')), extension: '.cmd' };
}
