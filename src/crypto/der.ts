import forge from 'node-forge';
import { AgentError, CertificateError } from '../errors.ts';
import { WorkBudget } from './work-budget.ts';

/**
 * Reading DER/BER with forge's ASN.1 parser, strictly, where every failure is a CertificateError that
 * names the structure being read (forge's own messages name only lengths and tags, never content).
 * within() turns anything else thrown beneath a structure (forge's "OID value too large", a RangeError,
 * node:crypto's decoder errors) into the same error, so a malformed blob never ends a run as a bug.
 */

export type Asn1 = forge.asn1.Asn1;

export interface DerReader {
  /**
   * Parses a whole value; trailing bytes are an error. The values forge would build are counted first and
   * charged to the budget (a fresh one when none is given), so a blob of millions of tiny values is refused
   * before any of them is built.
   */
  parse(input: Uint8Array | string, what: string, budget?: WorkBudget): Asn1;
  /** The children of a constructed value. */
  children(node: Asn1 | undefined, what: string): Asn1[];
  /** The node, checked to be a UNIVERSAL value of this type. */
  universal(node: Asn1 | undefined, type: forge.asn1.Type, what: string): Asn1;
  oid(node: Asn1 | undefined, what: string): string;
  /** The contents octets of a primitive value, or the concatenated segments of a BER constructed string. */
  bytes(node: Asn1 | undefined, what: string): string;
  /** A small non-negative INTEGER (at most 4 contents octets), e.g. a version or an iteration count. */
  integer(node: Asn1 | undefined, what: string): number;
  fail(rule: string): never;
  /** Runs fn; anything but an AgentError thrown beneath it becomes a CertificateError naming `structure`. */
  within<T>(structure: string, fn: () => T): T;
}

const { Class, Type } = forge.asn1;

/** A reader whose errors start with `context` ("PKCS#12", "certificates envelope"). */
export function derReader(context: string): DerReader {
  const fail = (rule: string): never => {
    throw new CertificateError(`${context}: ${rule}`);
  };
  const universal = (node: Asn1 | undefined, type: forge.asn1.Type, what: string): Asn1 => {
    if (node === undefined || node.tagClass !== Class.UNIVERSAL || node.type !== type) fail(`${what} is missing or has the wrong ASN.1 type`);
    return node!;
  };
  const bytes = (node: Asn1 | undefined, what: string): string => {
    if (node === undefined) return fail(`${what} is missing`);
    if (typeof node.value === 'string') return node.value;
    return node.value.map((segment) => bytes(segment, what)).join('');
  };
  return {
    fail,
    universal,
    bytes,
    integer(node, what) {
      const value = universal(node, Type.INTEGER, what).value;
      if (typeof value !== 'string' || value.length === 0 || value.length > 4) fail(`${what} is out of range`);
      return forge.asn1.derToInteger(value as string);
    },
    within(structure, fn) {
      try {
        return fn();
      } catch (error) {
        if (error instanceof AgentError) throw error;
        // No cause attached: a thrown value may carry the bytes it choked on.
        throw new CertificateError(`${context}: ${structure} is malformed (${describeThrown(error)})`, { context: { structure } });
      }
    },
    parse(input, what, budget = new WorkBudget()) {
      const binary = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('binary');
      if (binary.length === 0) fail(`${what} is empty`);
      budget.chargeValues(countValues(binary, budget.valuesLeft), `${context}: ${what}`);
      try {
        const fromDer = forge.asn1.fromDer as unknown as (b: forge.util.ByteBuffer, o: object) => Asn1;
        return fromDer(forge.util.createBuffer(binary), { strict: true, parseAllBytes: true, decodeBitStrings: false });
      } catch (error) {
        const detail = error instanceof Error ? error.message : 'unreadable';
        return fail(`${what} is not valid DER/BER: ${detail}${/few bytes/i.test(detail) ? ' (truncated?)' : ''}`);
      }
    },
    children(node, what) {
      if (node === undefined || !node.constructed || !Array.isArray(node.value)) fail(`${what} is missing or not a constructed value`);
      return node!.value as Asn1[];
    },
    oid(node, what) {
      const value = universal(node, Type.OID, what).value;
      if (typeof value !== 'string' || value.length === 0) fail(`${what} is not a valid OBJECT IDENTIFIER`);
      return forge.asn1.derToOid(value as string);
    },
  };
}

/**
 * How many ASN.1 values forge's fromDer builds from `binary`, counted without building them; the count stops
 * once it passes `limit`. forge reads the values in one pass, in order (ITU-T X.690 8.1: a constructed
 * value's contents are its children, one after another), so visiting each header in turn is enough: step
 * over a primitive value's contents, into a constructed one's. forge reads a one-octet tag and makes no
 * value of a BER end-of-contents; counting it as one overcounts by at most one per indefinite length.
 * Where the headers do not make sense the count stops, and forge rejects the same bytes.
 */
export function countValues(binary: string, limit: number): number {
  let count = 0;
  let at = 0;
  while (at + 1 < binary.length && count <= limit) {
    const tag = binary.charCodeAt(at);
    const first = binary.charCodeAt(at + 1);
    at += 2;
    count += 1;
    let length = first;
    if (first === 0x80) {
      // Indefinite length: only a constructed value may have one, and its children follow.
      if ((tag & 0x20) === 0) break;
      continue;
    }
    if (first & 0x80) {
      // Long form, read as forge reads it (ByteBuffer.getInt: shift and add, 32-bit).
      const octets = first & 0x7f;
      if (at + octets > binary.length) break;
      length = 0;
      for (let i = 0; i < octets; i++) length = (length << 8) + binary.charCodeAt(at + i);
      at += octets;
      if (length < 0) break;
    }
    if ((tag & 0x20) === 0) at += length;
  }
  return count;
}

/**
 * The error's name, and its message when that is a short fixed text (forge's and V8's are); a message that
 * could quote input (node's "Received ...", anything with quotes or unusual characters) is left out.
 */
export function describeThrown(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const message = error.message;
  const plain = message.length <= 100 && /^[A-Za-z0-9 .,;:()#\-]*$/.test(message) && !/received/i.test(message);
  return plain && message !== '' ? `${error.name}: ${message}` : error.name;
}
