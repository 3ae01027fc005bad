import { randomUUID } from 'node:crypto';

/**
 * The JSON-lines protocol between winprov and its PowerShell host (scripts/host.ps1), UTF-8 without BOM
 * both ways, one message per "\n"-terminated line:
 *   stdin, first line : {"marker":"...","library":[{"name":"host.ps1","text":"..."}, ...]}  (static code)
 *   stdin, then       : {"id":1,"secrets":0,"verb":"setComputerName","params":{...}}         (data only)
 *                       followed by exactly "secrets" lines "<name>:<base64>", one per secret value
 *   stdout            : <marker>{"id":1,"ok":true,"result":{...}} | <marker>{"id":1,"ok":false,"error":{...}}
 *                       <marker>{"log":"warn","message":"..."}
 * Any stdout text without the per-session random marker is stray output (warnings, Write-Host) and only
 * ever logged. JSON escapes CR and LF inside strings, so a value can never break a line.
 * Secrets (the password, the PFX, the custom data) never sit in the JSON line: host.ps1 parses that line
 * with ConvertFrom-Json -InputObject, and Module Logging (event 4103) records every value bound to a cmdlet
 * parameter. They follow on lines of their own, which the host reads and decodes with .NET calls only.
 */

/** One request: its JSON line, then one line per secret. */
export interface HostRequest {
  id: number;
  verb: string;
  params: Record<string, unknown>;
  /** Secret values by name; text is sent as its UTF-8 bytes. */
  secrets?: Readonly<Record<string, string | Uint8Array>>;
}

/** Names of secret values: letters only, so "<name>:" can never be confused with base64 or JSON. */
const SECRET_NAME = /^[A-Za-z]{1,32}$/;

/** PowerShell's description of a failed request (host.ps1 ConvertTo-WinprovFailure). */
export interface HostFailure {
  message: string;
  fullyQualifiedErrorId?: string;
  category?: string;
  exceptionTypes?: string[];
  hresult?: number;
  win32?: number | null;
  ntStatus?: number | null;
  /** Set when a script ended the request with Stop-WinprovRejected: the rule Windows' answer broke. */
  rule?: string;
}

export type HostAnswer = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: HostFailure };

export type HostLine =
  | { kind: 'answer'; answer: HostAnswer; stray: string }
  | { kind: 'log'; level: 'debug' | 'info' | 'warn'; message: string; stray: string }
  | { kind: 'stray'; stray: string };

/** A marker no value can predict: answers are recognized by it, so printed text cannot forge one. */
export function newMarker(): string {
  return `@@winprov-${randomUUID()}@@`;
}

/** JSON on one line; U+2028 and U+2029 escaped as well, since some line readers end lines there too. */
function jsonLine(value: unknown): string {
  return `${JSON.stringify(value).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`)}\n`;
}

/** The first stdin line: the answer marker and the static library scripts. */
export function helloLine(marker: string, library: readonly { name: string; text: string }[]): string {
  return jsonLine({ marker, library });
}

/** A request: the JSON line (id first, then the count of secret lines: host.ps1 reads both before parsing), then the secret lines. */
export function requestLine(request: HostRequest): string {
  const secrets = Object.entries(request.secrets ?? {});
  let text = jsonLine({ id: request.id, secrets: secrets.length, verb: request.verb, params: request.params });
  for (const [name, value] of secrets) {
    if (!SECRET_NAME.test(name)) throw new TypeError(`secret name ${JSON.stringify(name)} is not 1-32 letters`);
    text += `${name}:${Buffer.from(typeof value === 'string' ? Buffer.from(value, 'utf8') : value).toString('base64')}\n`;
  }
  return text;
}

const MAX_LINE_BYTES = 64 * 1024 * 1024;

/** Cuts a byte stream into lines; decodes whole lines only, so no UTF-8 sequence is ever split. */
export class LineSplitter {
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  /** The complete lines in this chunk (and earlier ones), without "\n" or "\r\n". */
  push(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let newline = data.indexOf(0x0a); newline !== -1; newline = data.indexOf(0x0a)) {
      this.#pending.push(data.subarray(0, newline));
      lines.push(this.#take());
      data = data.subarray(newline + 1);
    }
    if (data.length > 0) {
      this.#pending.push(Buffer.from(data));
      this.#pendingBytes += data.length;
      // A line this long is not an answer; hand it on as stray text rather than grow without bound.
      if (this.#pendingBytes > MAX_LINE_BYTES) lines.push(this.#take());
    }
    return lines;
  }

  /** What is left after the stream ended, if anything. */
  flush(): string | undefined {
    if (this.#pending.length === 0) return undefined;
    const line = this.#take();
    return line === '' ? undefined : line;
  }

  #take(): string {
    const line = Buffer.concat(this.#pending).toString('utf8');
    this.#pending = [];
    this.#pendingBytes = 0;
    return line.endsWith('\r') ? line.slice(0, -1) : line;
  }
}

/** Classifies one stdout line of the session whose marker is given. */
export function parseHostLine(line: string, marker: string): HostLine {
  const at = line.indexOf(marker);
  if (at === -1) return { kind: 'stray', stray: line };
  const stray = line.slice(0, at);
  let message: unknown;
  try {
    message = JSON.parse(line.slice(at + marker.length));
  } catch {
    return { kind: 'stray', stray: line };
  }
  if (typeof message !== 'object' || message === null) return { kind: 'stray', stray: line };
  const m = message as Record<string, unknown>;
  if (typeof m.log === 'string' && typeof m.message === 'string') {
    const level = m.log === 'warn' || m.log === 'info' ? m.log : 'debug';
    return { kind: 'log', level, message: m.message, stray };
  }
  if (typeof m.id !== 'number' || typeof m.ok !== 'boolean') return { kind: 'stray', stray: line };
  if (m.ok) return { kind: 'answer', answer: { id: m.id, ok: true, result: m.result }, stray };
  return { kind: 'answer', answer: { id: m.id, ok: false, error: toFailure(m.error) }, stray };
}

function toFailure(value: unknown): HostFailure {
  if (typeof value !== 'object' || value === null) return { message: 'PowerShell reported a failure without details' };
  const v = value as Record<string, unknown>;
  const text = (x: unknown) => (typeof x === 'string' ? x : undefined);
  const number = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
  return {
    message: text(v.message) ?? 'PowerShell reported a failure without a message',
    fullyQualifiedErrorId: text(v.fullyQualifiedErrorId),
    category: text(v.category),
    exceptionTypes: Array.isArray(v.exceptionTypes) ? v.exceptionTypes.filter((t): t is string => typeof t === 'string') : undefined,
    hresult: number(v.hresult),
    win32: number(v.win32),
    ntStatus: number(v.ntStatus),
    rule: text(v.rule),
  };
}
