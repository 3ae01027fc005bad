import { FabricDocumentError } from '../errors.ts';

/**
 * A deliberately small, strict XML reader for the documents agents post (the health report). It shares
 * no code or library with the agent's parser, so a quirk of that parser cannot make a bad report pass.
 * It keeps local names (prefixes dropped), child order, text and attributes (by local name, entities
 * decoded: the role properties carry their values in attributes).
 */

/** One element: local name, child elements, its own text (entities decoded, CDATA as is) and attributes. */
export interface MiniElement {
  name: string;
  children: MiniElement[];
  text: string;
  attributes: Map<string, string>;
}

const MAX_DEPTH = 32;
const NAME = '[A-Za-z_][\\w.\\-]*(?::[A-Za-z_][\\w.\\-]*)?';
const START_TAG = new RegExp(`<(${NAME})((?:\\s+${NAME}\\s*=\\s*(?:"[^"<]*"|'[^'<]*'))*)\\s*(/?)>`, 'y');
const ATTRIBUTE = new RegExp(`(${NAME})\\s*=\\s*(?:"([^"<]*)"|'([^'<]*)')`, 'g');
const END_TAG = new RegExp(`</(${NAME})\\s*>`, 'y');
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function fail(document: string, rule: string): FabricDocumentError {
  return new FabricDocumentError(document, '(document)', rule);
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

function decodeText(raw: string, document: string): string {
  if (raw.includes('<')) throw fail(document, 'has a stray "<"');
  return raw.replace(/&([^;&\s]*);?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) throw fail(document, 'has an "&" that does not start an entity reference');
    if (ref in ENTITIES) return ENTITIES[ref]!;
    const code = /^#x[0-9a-fA-F]+$/.test(ref) ? parseInt(ref.slice(2), 16) : /^#[0-9]+$/.test(ref) ? parseInt(ref.slice(1), 10) : NaN;
    if (!Number.isInteger(code) || code > 0x10ffff || code === 0) throw fail(document, `has an unknown entity &${ref};`);
    return String.fromCodePoint(code);
  });
}

/** Parses one document into its root element; throws FabricDocumentError(document, ...) when not well-formed. */
export function parseMiniXml(source: string, document: string): MiniElement {
  let text = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw fail(document, 'must not contain a DOCTYPE or entity declaration');
  text = text.replace(/^\s*<\?xml[^?]*\?>/, '');
  const stack: MiniElement[] = [];
  let root: MiniElement | undefined;
  let at = 0;
  while (at < text.length) {
    const lt = text.indexOf('<', at);
    const chunk = text.slice(at, lt < 0 ? text.length : lt);
    if (chunk.length > 0) {
      const parent = stack.at(-1);
      if (parent === undefined) {
        if (chunk.trim() !== '') throw fail(document, 'has text outside the root element');
      } else {
        parent.text += decodeText(chunk, document);
      }
    }
    if (lt < 0) break;
    at = lt;
    if (text.startsWith('<!--', at)) {
      const end = text.indexOf('-->', at + 4);
      if (end < 0) throw fail(document, 'has an unterminated comment');
      at = end + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', at)) {
      const end = text.indexOf(']]>', at + 9);
      const parent = stack.at(-1);
      if (end < 0 || parent === undefined) throw fail(document, 'has a CDATA section outside an element or unterminated');
      parent.text += text.slice(at + 9, end);
      at = end + 3;
      continue;
    }
    if (text.startsWith('<?', at)) {
      const end = text.indexOf('?>', at + 2);
      if (end < 0) throw fail(document, 'has an unterminated processing instruction');
      at = end + 2;
      continue;
    }
    END_TAG.lastIndex = at;
    const close = END_TAG.exec(text);
    if (close) {
      const open = stack.pop();
      if (open === undefined || open.name !== localName(close[1]!)) throw fail(document, `has a mismatched closing tag </${close[1]}>`);
      at = END_TAG.lastIndex;
      continue;
    }
    START_TAG.lastIndex = at;
    const start = START_TAG.exec(text);
    if (!start) throw fail(document, `is not well-formed near offset ${at}`);
    at = START_TAG.lastIndex;
    const attributes = new Map<string, string>();
    for (const [, name, double, single] of (start[2] ?? '').matchAll(ATTRIBUTE)) {
      const key = localName(name!);
      if (attributes.has(key)) throw fail(document, `repeats the attribute ${key}`);
      attributes.set(key, decodeText(double ?? single ?? '', document));
    }
    const element: MiniElement = { name: localName(start[1]!), children: [], text: '', attributes };
    const parent = stack.at(-1);
    if (parent) parent.children.push(element);
    else if (root === undefined) root = element;
    else throw fail(document, 'has more than one root element');
    if (start[3] !== '/') {
      stack.push(element);
      if (stack.length > MAX_DEPTH) throw fail(document, `nests deeper than ${MAX_DEPTH} elements`);
    }
  }
  if (stack.length > 0) throw fail(document, `ends inside <${stack.at(-1)!.name}>`);
  if (root === undefined) throw fail(document, 'has no root element');
  return root;
}

/** The children of an element with a given local name. */
export function childrenNamed(element: MiniElement, name: string): MiniElement[] {
  return element.children.filter((c) => c.name === name);
}
