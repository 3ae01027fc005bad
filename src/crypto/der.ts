import forge from 'node-forge';
import { CertificateError } from '../errors.ts';

/**
 * Reading DER/BER with forge's ASN.1 parser, strictly, where every failure is a CertificateError that
 * names the structure being read (forge's own messages name only lengths and tags, never content).
 */

export type Asn1 = forge.asn1.Asn1;

export interface DerReader {
  /** Parses a whole value; trailing bytes are an error. */
  parse(input: Uint8Array | string, what: string): Asn1;
  /** The children of a constructed value. */
  children(node: Asn1 | undefined, what: string): Asn1[];
  /** The node, checked to be a UNIVERSAL value of this type. */
  universal(node: Asn1 | undefined, type: forge.asn1.Type, what: string): Asn1;
  oid(node: Asn1 | undefined, what: string): string;
  /** The contents octets of a primitive value, or the concatenated segments of a BER constructed string. */
  bytes(node: Asn1 | undefined, what: string): string;
  fail(rule: string): never;
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
    parse(input, what) {
      const binary = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('binary');
      if (binary.length === 0) fail(`${what} is empty`);
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
