import { XMLParser, XMLBuilder } from 'fast-xml-parser';
import { scanXml } from './xml-check.ts';
import { codePointName, firstNonXmlChar } from './xml-grammar.ts';

/**
 * The one fast-xml-parser setup. Its defaults are wrong for this data: they turn "0012" into 12, trim
 * passwords and leave numeric character references undecoded. Documents are checked for size, valid
 * UTF-8, a DOCTYPE (the fabric never sends one; entity tricks start there) and well-formedness
 * (xml-check.ts: fast-xml-parser accepts much that is not XML) before parsing.
 */

export type XmlNode = Record<string, unknown>;

/** The way a caller turns a document problem into its own error class (OvfError, FabricDocumentError). */
export type XmlFailure = (field: string, rule: string) => Error;

export interface ParseOptions {
  /** Element names that are always arrays (repeated elements). */
  arrays?: readonly string[];
  /** Size limit in bytes; default 1 MiB. */
  maxBytes?: number;
  /**
   * How a value fault (a character XML forbids, an undefined entity) names its field, from the local names
   * of the open elements (root first) and the attribute; default: the path below the root, "A/B/@c".
   */
  fieldName?: (elements: readonly string[], attribute: string | undefined) => string;
}

function pathBelowRoot(elements: readonly string[], attribute: string | undefined): string {
  const path = elements.length > 1 ? elements.slice(1) : elements;
  return attribute === undefined ? path.join('/') : `${path.join('/')}/@${attribute}`;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;
// ignoreBOM keeps a byte-order mark as U+FEFF, so parseXml drops exactly one: two would otherwise pass.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes bytes as strict UTF-8 (a BOM is kept as U+FEFF); invalid sequences are an error, not U+FFFD. */
export function decodeUtf8(bytes: Uint8Array, fail: XmlFailure): string {
  // XML 1.0 appendix F: FF FE / FE FF is UTF-16, and "<" followed by a zero byte is UTF-16LE without a BOM.
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff) || (bytes[0] === 0x3c && bytes[1] === 0x00)) {
    throw fail('(document)', 'is not valid UTF-8: it is UTF-16, and only UTF-8 is read');
  }
  try {
    return decoder.decode(bytes);
  } catch {
    throw fail('(document)', 'is not valid UTF-8');
  }
}

/**
 * Parses a document that must be well-formed XML 1.0 (xml-check.ts) and UTF-8. Every refusal, including
 * anything fast-xml-parser itself throws, comes out as the caller's named error (`fail`), with the line
 * and column of the fault where one is known.
 */
export function parseXml(input: string | Uint8Array, fail: XmlFailure, options: ParseOptions = {}): XmlNode {
  const named = new WeakSet<object>();
  const failure: XmlFailure = (field, rule) => {
    const err = fail(field, rule);
    named.add(err);
    return err;
  };
  try {
    return parseChecked(input, failure, options);
  } catch (err) {
    if (typeof err === 'object' && err !== null && named.has(err)) throw err;
    // What escapes fast-xml-parser on a well-formed document is one of its own limits (a tag named
    // __proto__ or constructor) or a defect of its own; either way the document is refused by name.
    // A syntax error keeps only its position: the parser's text can quote document content.
    const message = err instanceof Error ? err.message : String(err);
    const at = /:(\d+):(\d+)\s*$/.exec(message);
    const why = at ? ` (at line ${at[1]}, column ${at[2]})` : `: ${message.split('\n')[0]!.slice(0, 160)}`;
    throw fail('(document)', `is not well-formed XML${why}`);
  }
}

function parseChecked(input: string | Uint8Array, fail: XmlFailure, options: ParseOptions): XmlNode {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > maxBytes) throw fail('(document)', `is ${size} bytes, over the limit of ${maxBytes}`);
  let text = typeof input === 'string' ? input : decodeUtf8(input, fail);
  // One byte-order mark, and only as the first character (XML 1.0 4.3.3); a second one is text before the root.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw fail('(document)', 'is empty');
  if (/<!DOCTYPE/i.test(text)) throw fail('(document)', 'must not contain a DOCTYPE declaration');
  if (/<!ENTITY/i.test(text)) throw fail('(document)', 'must not declare entities');
  const { fault, instructions } = scanXml(text);
  if (fault !== undefined) {
    const { line, column } = positionOf(text, fault.offset);
    const field = fault.field === undefined ? '(document)' : (options.fieldName ?? pathBelowRoot)(fault.field.elements, fault.field.attribute);
    throw fail(field, `is not well-formed XML (at line ${line}, column ${column}): ${fault.rule}`);
  }
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
  // No XMLValidator pass: scanXml refuses everything it refuses correctly, and it refuses some
  // well-formed documents itself (the cross-check in test/property/xml-crosscheck.test.ts counts them).
  const parsed: unknown = parser.parse(withoutInstructions(text, instructions), false);
  if (!isNode(parsed)) throw fail('(document)', 'has no root element');
  return parsed;
}

/** The text with the given [start, end) ranges cut out. */
function withoutInstructions(text: string, ranges: ReadonlyArray<[number, number]>): string {
  if (ranges.length === 0) return text;
  let out = '';
  let from = 0;
  for (const [start, end] of ranges) {
    out += text.slice(from, start);
    from = end;
  }
  return out + text.slice(from);
}

/** 1-based line and column (in UTF-16 code units) of an offset; CR LF, CR and LF each end a line (XML 1.0 2.11). */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) {
      line += 1;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
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

/**
 * A child element that must be a single element node (or absent). Text where elements belong is the
 * document's error: read as absent, <Configuration>http://...</Configuration> would drop the certificates'
 * URL without a word and the run would go on to Ready without them.
 */
export function childOf(node: XmlNode, name: string, field: string, fail: XmlFailure): XmlNode | undefined {
  const value = node[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw fail(field, 'must appear once, not repeated');
  if (typeof value === 'string') {
    if (value.trim() === '') return {};
    throw fail(field, 'must contain elements, not text');
  }
  if (!isNode(value)) throw fail(field, 'must be an element');
  return value;
}

/** The document's root element, which must be the only one and be named `name` (parseXml accepts <A/><B/>). */
export function rootOf(doc: XmlNode, name: string, fail: XmlFailure): XmlNode {
  const names = Object.keys(doc).filter((key) => !key.startsWith('#'));
  if (names.length !== 1 || names[0] !== name) throw fail('(document)', `must have the single root element ${name}`);
  return childOf(doc, name, name, fail) ?? {};
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

/**
 * Builds a document from a node tree; text is escaped by the builder (its processEntities default). Escaping
 * cannot make a character XML forbids (XML 1.0 [2] Char: U+0000, U+FFFE, a lone surrogate ...) legal, not
 * even as a reference, so every value is checked first and one that holds such a character is refused
 * through `fail` with its element path: the output is always well-formed.
 */
export function buildXml(root: XmlNode, fail: XmlFailure): string {
  // Paths are named below the root element, as the document parsers name fields ("Container/ContainerId").
  for (const [name, value] of Object.entries(root)) checkValues(value, typeof value === 'string' ? name : '', fail);
  let body: string;
  try {
    body = builder.build(root) as string;
  } catch (err) {
    // Whatever fast-xml-builder throws leaves as the caller's named error too, never bare.
    throw fail('(document)', `could not be built: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 160)}`);
  }
  return `<?xml version="1.0" encoding="utf-8"?>${body}`;
}

function checkValues(node: unknown, path: string, fail: XmlFailure): void {
  if (typeof node === 'string') {
    const bad = firstNonXmlChar(node);
    if (bad >= 0) {
      throw fail(path, `holds ${codePointName(node, bad)} at position ${bad + 1}, a character XML does not allow (XML 1.0 [2] Char)`);
    }
  } else if (Array.isArray(node)) {
    for (const item of node) checkValues(item, path, fail);
  } else if (isNode(node)) {
    for (const [key, value] of Object.entries(node)) {
      const name = key.startsWith('@_') ? `@${key.slice(2)}` : key;
      checkValues(value, path === '' ? name : `${path}/${name}`, fail);
    }
  }
}

/** Escapes the five XML special characters, for the rare text built without the builder. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}
