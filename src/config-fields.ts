import { isAbsolute, resolve, win32 } from 'node:path';
import { ConfigError } from './errors.ts';
import { unusableAddressReason } from './net/endpoint.ts';

/**
 * The rules of the configuration's fields, each throwing ConfigError(field, rule) with the words a person
 * can act on. config.ts applies them once, when it normalizes the layers.
 */

export function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  const text = String(value).toLowerCase();
  if (!(allowed as readonly string[]).includes(text)) throw new ConfigError(field, `must be one of ${allowed.join(', ')}`);
  return text as T;
}

export function boolean(field: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  const text = String(value).toLowerCase();
  if (['true', '1', 'yes'].includes(text)) return true;
  if (['false', '0', 'no'].includes(text)) return false;
  throw new ConfigError(field, 'must be true or false');
}

export function integer(field: string, value: unknown, min: number, max: number): number {
  const text = String(value);
  if (!/^\d+$/.test(text)) throw new ConfigError(field, `must be a whole number from ${min} to ${max}`);
  const n = Number(text);
  if (n < min || n > max) throw new ConfigError(field, `must be a whole number from ${min} to ${max}`);
  return n;
}

/** "90" or "90s" seconds, "500ms", "20m", "1h"; returns milliseconds. */
export function duration(field: string, value: unknown, minMs: number, maxMs: number): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(value).trim());
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  const ms = match ? Math.round(Number(match[1]) * unit[(match[2] ?? 's') as keyof typeof unit]) : NaN;
  if (!(ms >= minMs && ms <= maxMs)) {
    throw new ConfigError(field, `must be a duration like 90s, 20m or 500ms, from ${describeMs(minMs)} to ${describeMs(maxMs)}`);
  }
  return ms;
}

/** A bound as people write it: 500 ms, 1 s, 10 min, 24 h. */
function describeMs(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1_000 && ms % 1_000 === 0) return `${ms / 1_000} s`;
  return `${ms} ms`;
}

export function fabricUrl(text: string): string {
  return plainHttpUrl('fabric', text, 'http://127.0.0.1:8080', 'the WireServer');
}

/**
 * A base URL of a server that speaks plain HTTP (the WireServer, IMDS): http://host[:port], nothing else;
 * returned without the trailing slash. `example` and `server` only word the error.
 */
export function plainHttpUrl(field: string, text: string, example: string, server: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(field, `must be a URL like ${example}`);
  }
  if (url.protocol !== 'http:' || url.pathname !== '/' || url.search || url.hash || url.username || url.password || text.slice(7).split(/[/?#]/)[0]!.includes('@')) {
    throw new ConfigError(field, `must be a plain http://host[:port] URL (${server} speaks plain HTTP)`);
  }
  if (url.port === '0') throw new ConfigError(field, 'must name a port from 1 to 65535 (or none, for 80)');
  // The host as written must be the host the URL parser reads: "010.0.0.1" is 8.0.0.1 to it, and
  // 10.0.0.1 to a reader (WHATWG URL host parsing of IPv4 numbers; discovery's rule, net/endpoint.ts).
  const written = /^http:\/\/(\[[^\]]*\]|[^:/?#]*)/i.exec(text)?.[1]?.toLowerCase();
  if (written !== url.hostname) {
    throw new ConfigError(field, `must give its host as it is meant: ${JSON.stringify(written?.slice(0, 40) ?? '')} is read as ${url.hostname} (write an IPv4 address without leading zeros, in dotted-quad form)`);
  }
  return `${url.protocol}//${url.host}`;
}

/** A folder, made absolute; "" would be the current folder, taken unasked. */
export function folder(field: string, text: string): string {
  if (text.trim() === '') throw new ConfigError(field, 'must name a folder');
  return resolve(text);
}

/** An absolute path of either kind (C:\\... or /...): the setting names an executable, never looked up on PATH. */
export function absolutePath(field: string, text: string): string {
  if (!isAbsolute(text) && !win32.isAbsolute(text)) throw new ConfigError(field, 'must be an absolute path to the PowerShell executable');
  return text;
}

/** A host's IPv4 address, by the rule discovery applies to the fabric's (net/endpoint.ts): checked here, not after DHCP was tried. */
export function ipv4(field: string, text: string): string {
  const unusable = unusableAddressReason(text);
  // No leading zeros: "010.0.0.1" is 8.0.0.1 to a URL parser and 10.0.0.1 to a reader.
  if (unusable !== undefined) throw new ConfigError(field, `must be a host's IPv4 address in dotted-quad form without leading zeros; ${JSON.stringify(text.slice(0, 40))} ${unusable}`);
  return text;
}

/** A certificate thumbprint: 40 hex digits (spaces, as the certificate dialog shows them, removed), uppercase. */
export function thumbprint(field: string, text: string): string {
  const compact = text.replace(/\s+/g, '');
  if (!/^[0-9A-Fa-f]{40}$/.test(compact)) throw new ConfigError(field, 'must be a certificate thumbprint (40 hexadecimal digits)');
  return compact.toUpperCase();
}
