import { SaxesParser } from 'saxes';

/**
 * The independent opinion on well-formedness: saxes, a conformant XML 1.0 parser (namespaces off: the
 * agent reads XML 1.0, and maps prefixes away itself). It also reports what the project's own rules
 * need to know (the declaration, depth, element names), so a refusal the agent makes beyond XML 1.0 can
 * be matched with the rule that allows it.
 */

export interface SaxesVerdict {
  /** The first fatal error, or undefined when saxes accepts the document. */
  error: string | undefined;
  version: string | undefined;
  encoding: string | undefined;
  depth: number;
  names: Set<string>;
}

/**
 * Bytes are decoded as UTF-8 first: an encoding error is fatal in XML 1.0 too (4.3.3). The byte-order mark
 * is kept for saxes, which skips one itself: stripping it here as well would hide a second one.
 */
export function saxesVerdict(input: string | Uint8Array): SaxesVerdict {
  const verdict: SaxesVerdict = { error: undefined, version: undefined, encoding: undefined, depth: 0, names: new Set() };
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
  } catch {
    verdict.error = 'encoding error: not UTF-8';
    return verdict;
  }
  const parser = new SaxesParser({ xmlns: false, position: true });
  let depth = 0;
  parser.on('error', (err) => {
    verdict.error ??= err.message;
  });
  parser.on('xmldecl', (decl) => {
    verdict.version = decl.version;
    verdict.encoding = decl.encoding;
  });
  parser.on('opentag', (tag) => {
    depth += 1;
    verdict.depth = Math.max(verdict.depth, depth);
    verdict.names.add(tag.name.slice(tag.name.lastIndexOf(':') + 1));
  });
  parser.on('closetag', () => {
    depth -= 1;
  });
  try {
    parser.write(text).close();
  } catch (err) {
    verdict.error ??= err instanceof Error ? err.message : String(err);
  }
  return verdict;
}

/** A rule of the project that refuses a document XML 1.0 allows, with its reason. */
export interface ProjectRule {
  name: string;
  applies: (text: string, verdict: SaxesVerdict, maxBytes: number) => boolean;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Where the agent may refuse more than saxes, and why. Anything else saxes accepts, the agent must accept.
 */
export const PROJECT_RULES: readonly ProjectRule[] = [
  // The fabric never sends a DTD; entity tricks (billion laughs, external entities) start there. The check
  // is textual, so "<!DOCTYPE" inside a comment or CDATA section is refused too.
  { name: 'DOCTYPE or ENTITY declaration text anywhere', applies: (text) => /<!DOCTYPE|<!ENTITY/i.test(text) },
  // Each document type has a size limit (goal state 256 KiB, ovf-env.xml 256 KiB ...).
  { name: 'larger than the document limit', applies: (text, _, maxBytes) => Buffer.byteLength(text, 'utf8') > maxBytes },
  // No fabric document is more than about 10 deep; a deep document is a parser-exhaustion attempt.
  { name: 'elements nested more than 100 deep', applies: (_, v) => v.depth > 100 },
  // The bytes are read as UTF-8; a document that declares another encoding is refused, not guessed at.
  { name: 'an encoding declaration other than UTF-8', applies: (_, v) => v.encoding !== undefined && v.encoding.toLowerCase() !== 'utf-8' },
  // XML 1.1 allows characters 1.0 forbids; the fabric writes 1.0.
  { name: 'an XML version other than 1.0', applies: (_, v) => v.version !== undefined && v.version !== '1.0' },
  // fast-xml-parser's prototype-pollution guard refuses these element names (local part).
  { name: 'an element named __proto__, constructor or prototype', applies: (_, v) => ['__proto__', 'constructor', 'prototype'].some((n) => v.names.has(n)) },
  // A lone surrogate is not a Char (XML 1.0 [2]); saxes checks low surrogates only. Strings alone can hold one.
  { name: 'a lone surrogate code unit', applies: (text) => LONE_SURROGATE.test(text) },
];

/** The project rule that explains a refusal saxes would not make, if any. */
export function projectRuleFor(text: string, verdict: SaxesVerdict, maxBytes: number): string | undefined {
  return PROJECT_RULES.find((rule) => rule.applies(text, verdict, maxBytes))?.name;
}
