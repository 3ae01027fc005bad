import { XMLParser, XMLBuilder } from 'fast-xml-parser';

/**
 * The one fast-xml-parser setup. Its defaults are wrong for this data: they turn "0012" into 12, trim
 * passwords and leave numeric character references undecoded. Documents are checked for size, valid
 * UTF-8 and a DOCTYPE (the fabric never sends one; entity tricks start there) before parsing.
 */

export type XmlNode = Record<string, unknown>;

/** The way a caller turns a document problem into its own error class (OvfError, FabricDocumentError). */
export type XmlFailure = (field: string, rule: string) => Error;

export interface ParseOptions {
  /** Element names that are always arrays (repeated elements). */
  arrays?: readonly string[];
  /** Size limit in bytes; default 1 MiB. */
  maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decodes bytes as strict UTF-8 (a BOM is dropped); invalid sequences are an error, not U+FFFD. */
export function decodeUtf8(bytes: Uint8Array, fail: XmlFailure): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw fail('(document)', 'is not valid UTF-8');
  }
}

export function parseXml(input: string | Uint8Array, fail: XmlFailure, options: ParseOptions = {}): XmlNode {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > maxBytes) throw fail('(document)', `is ${size} bytes, over the limit of ${maxBytes}`);
  let text = typeof input === 'string' ? input : decodeUtf8(input, fail);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw fail('(document)', 'is empty');
  if (/<!DOCTYPE/i.test(text)) throw fail('(document)', 'must not contain a DOCTYPE declaration');
  if (/<!ENTITY/i.test(text)) throw fail('(document)', 'must not declare entities');
  checkCharacterReferences(text, fail);
  const arrays = new Set(options.arrays ?? []);
  const parser = new XMLParser({
    removeNSPrefix: true,
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    htmlEntities: true,
    isArray: (name) => arrays.has(name),
  });
  let parsed: unknown;
  try {
    parsed = parser.parse(text, true);
  } catch (err) {
    // A syntax error keeps only its position: the parser's text can quote document content (a
    // password holding a "<"). Its other refusals (nesting depth, __proto__ tags) name only the rule.
    const message = err instanceof Error ? err.message : String(err);
    const at = /:(\d+):(\d+)\s*$/.exec(message);
    const why = at ? ` (at line ${at[1]}, column ${at[2]})` : `: ${message.split('\n')[0]!.slice(0, 160)}`;
    throw fail('(document)', `is not well-formed XML${why}`);
  }
  if (!isNode(parsed)) throw fail('(document)', 'has no root element');
  return parsed;
}

// XML 1.0 section 2.2: Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
const CHARACTER_REFERENCE = /&#(?:x([0-9A-Fa-f]+)|([0-9]+));/g;

function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

/**
 * A character reference to a character XML forbids is a fatal error (XML 1.0 section 4.1). The parser
 * would drop "&#0;" silently, so "Pass&#0;word1!" would become another password than the one sent.
 * The error names the element the reference stands in. (Raw control characters are left to each
 * field's own rule, which names the field.)
 */
function checkCharacterReferences(text: string, fail: XmlFailure): void {
  for (const match of text.matchAll(CHARACTER_REFERENCE)) {
    const code = match[1] !== undefined ? parseInt(match[1], 16) : Number(match[2]);
    if (isXmlChar(code)) continue;
    const tag = /<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[^<]*$/.exec(text.slice(0, match.index!));
    throw fail(tag?.[2] ?? '(document)', `contains the character reference ${match[0].slice(0, 16)}, which names a character XML does not allow`);
  }
}

export function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when the element carries xsi:nil="true". */
export function isNil(value: unknown): boolean {
  return isNode(value) && typeof value['@_nil'] === 'string' && value['@_nil'].trim().toLowerCase() === 'true';
}

/**
 * The text of an element: undefined when absent or xsi:nil, '' when empty. An element that has child
 * elements is not text: that is the document's error, reported under the field's name.
 */
export function textOf(value: unknown, field: string, fail: XmlFailure): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) throw fail(field, 'must appear once, not repeated');
  if (isNode(value)) {
    if (isNil(value)) return undefined;
    const keys = Object.keys(value).filter((k) => !k.startsWith('@_'));
    if (keys.length === 0) return '';
    if (keys.length === 1 && keys[0] === '#text' && typeof value['#text'] === 'string') return value['#text'];
    throw fail(field, 'must be text, not nested elements');
  }
  throw fail(field, 'must be text');
}

/** A child element that must be a single element node (or absent). */
export function childOf(node: XmlNode, name: string, field: string, fail: XmlFailure): XmlNode | undefined {
  const value = node[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw fail(field, 'must appear once, not repeated');
  if (typeof value === 'string') return value.trim() === '' ? {} : undefined;
  if (!isNode(value)) throw fail(field, 'must be an element');
  return value;
}

/** The document's root element, which must be the only one and be named `name` (parseXml accepts <A/><B/>). */
export function rootOf(doc: XmlNode, name: string, fail: XmlFailure): XmlNode {
  const names = Object.keys(doc).filter((key) => !key.startsWith('#'));
  if (names.length !== 1 || names[0] !== name) throw fail('(document)', `must have the single root element ${name}`);
  const root = childOf(doc, name, name, fail);
  if (root === undefined) throw fail(name, 'must contain elements, not text');
  return root;
}

/** A repeated child as an array of element nodes. */
export function childrenOf(node: XmlNode, name: string, field: string, fail: XmlFailure): XmlNode[] {
  const value = node[name];
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => {
    if (typeof item === 'string') return item.trim() === '' ? {} : { '#text': item };
    if (!isNode(item)) throw fail(field, 'must be an element');
    return item;
  });
}

/** An attribute value, undefined when absent. */
export function attributeOf(node: XmlNode, name: string): string | undefined {
  const value = node[`@_${name}`];
  return typeof value === 'string' ? value : undefined;
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: false,
  format: false,
});

/** Builds a document from a node tree; text is escaped by the builder (its processEntities default). */
export function buildXml(root: XmlNode): string {
  return `<?xml version="1.0" encoding="utf-8"?>${builder.build(root)}`;
}

/** Escapes the five XML special characters, for the rare text built without the builder. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}
