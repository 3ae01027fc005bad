/**
 * A minimal DER writer (ITU-T X.690 10): just what the transport certificate needs, so that a run without
 * tenant certificates never loads node-forge (its evaluation alone costs milliseconds and megabytes at
 * start-up; see README "Performance"). Definite lengths, minimal encodings; values are Buffers.
 */

const UNIVERSAL = { BOOLEAN: 0x01, INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, NULL: 0x05, OID: 0x06, PRINTABLE_STRING: 0x13, UTC_TIME: 0x17, GENERALIZED_TIME: 0x18, SEQUENCE: 0x30, SET: 0x31 } as const;

/** Tag, length (short form below 128, else long form with the fewest octets), contents. */
export function tlv(tag: number, contents: Buffer): Buffer {
  const length = contents.length;
  let header: Buffer;
  if (length < 0x80) {
    header = Buffer.from([tag, length]);
  } else {
    const octets: number[] = [];
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest & 0xff);
    header = Buffer.from([tag, 0x80 | octets.length, ...octets]);
  }
  return Buffer.concat([header, contents]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(UNIVERSAL.SEQUENCE, Buffer.concat(items));
export const set = (...items: Buffer[]): Buffer => tlv(UNIVERSAL.SET, Buffer.concat(items));
export const octetString = (bytes: Buffer): Buffer => tlv(UNIVERSAL.OCTET_STRING, bytes);
export const nullValue = (): Buffer => Buffer.from([UNIVERSAL.NULL, 0]);
export const boolean = (value: boolean): Buffer => Buffer.from([UNIVERSAL.BOOLEAN, 1, value ? 0xff : 0]);
export const printableString = (text: string): Buffer => tlv(UNIVERSAL.PRINTABLE_STRING, Buffer.from(text, 'ascii'));
/** [n] EXPLICIT: a constructed context-specific tag around one encoded value. */
export const explicit = (n: number, value: Buffer): Buffer => tlv(0xa0 | n, value);

/** A BIT STRING whose first contents octet counts the unused bits of the last one. */
export function bitString(bytes: Buffer, unusedBits = 0): Buffer {
  return tlv(UNIVERSAL.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

/** An INTEGER from unsigned big-endian bytes: leading zero octets dropped, one added when the top bit is set. */
export function unsignedInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  const trimmed = bytes.subarray(start);
  return tlv(UNIVERSAL.INTEGER, trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

/** An OBJECT IDENTIFIER from its dotted form (X.690 8.19: first two arcs together, base-128 arcs). */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  if (arcs.length < 2 || arcs.some((arc) => !Number.isSafeInteger(arc) || arc < 0)) throw new Error(`not an OID: ${dotted}`);
  const octets: number[] = [];
  for (const arc of [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)]) {
    const base128: number[] = [arc & 0x7f];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) base128.unshift(0x80 | (rest & 0x7f));
    octets.push(...base128);
  }
  return tlv(UNIVERSAL.OID, Buffer.from(octets));
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; seconds, always Z. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return date.getUTCFullYear() < 2050
    ? tlv(UNIVERSAL.UTC_TIME, Buffer.from(digits.slice(2), 'ascii'))
    : tlv(UNIVERSAL.GENERALIZED_TIME, Buffer.from(digits, 'ascii'));
}
