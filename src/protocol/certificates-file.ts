import { FabricDocumentError } from '../errors.ts';
import { parseXml, rootOf, textOf, type XmlFailure } from './xml.ts';
import { CONTROL } from '../util/escape.ts';

/**
 * The CertificateFile document (the goal state's Certificates URL). Data is base64 of a CMS
 * EnvelopedData whose plaintext is a PKCS#12; decrypting it is crypto/'s job. Rules follow WALinuxAgent:
 * no Data means no certificates, an empty Format is accepted, any other Format is skipped.
 */

/** The one Format winprov can decrypt. */
export const PFX_FORMAT = 'Pkcs7BlobWithPfxContents';

/** Size limit of a CertificateFile document (a handful of certificates is tens of KB). */
export const CERTIFICATE_FILE_MAX_BYTES = 4 * 1024 * 1024;

/** A parsed CertificateFile. */
export interface CertificateFile {
  format: string | undefined;
  /** The base64-decoded blob; undefined when there is no (or an empty) Data, or the file is not usable. */
  data: Uint8Array | undefined;
  /** False when Format is present, non-empty and not Pkcs7BlobWithPfxContents: the caller skips with a warning. */
  usable: boolean;
}

const DOCUMENT = 'CertificateFile';
const MAX_FORMAT_LENGTH = 256;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Parses a CertificateFile; throws FabricDocumentError naming the field and the rule (never the data). */
export function parseCertificateFile(xml: string | Uint8Array): CertificateFile {
  const fail: XmlFailure = (field, rule) => new FabricDocumentError(DOCUMENT, field, rule);
  const doc = parseXml(xml, fail, { maxBytes: CERTIFICATE_FILE_MAX_BYTES });
  const root = rootOf(doc, DOCUMENT, fail);

  const format = textOf(root['Format'], 'Format', fail);
  // The format ends up in a warning; keep it loggable.
  if (format !== undefined && (format.length > MAX_FORMAT_LENGTH || CONTROL.test(format))) {
    throw fail('Format', `must be at most ${MAX_FORMAT_LENGTH} characters without control characters`);
  }
  const usable = format === undefined || format.trim() === '' || format === PFX_FORMAT;

  const text = textOf(root['Data'], 'Data', fail);
  // A Format winprov does not know says nothing about what Data holds, so it is not decoded.
  const data = usable && text !== undefined ? decodeBase64(text, fail) : undefined;
  return { format, data, usable };
}

/** Strict base64 (RFC 4648 section 4) with line breaks and other whitespace between characters allowed. */
function decodeBase64(text: string, fail: XmlFailure): Uint8Array | undefined {
  const compact = text.replace(/[ \t\r\n]+/g, '');
  if (compact.length === 0) return undefined;
  // Buffer.from silently skips characters outside the alphabet, so the alphabet is checked first.
  if (!BASE64.test(compact)) throw fail('Data', 'must be base64 (A-Z, a-z, 0-9, "+", "/", "=" padding at the end)');
  if (compact.length % 4 !== 0) throw fail('Data', 'must be base64 in complete 4-character groups');
  // A copy, so the blob does not share Buffer's pooled memory.
  return new Uint8Array(Buffer.from(compact, 'base64'));
}
