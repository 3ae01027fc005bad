/**
 * The well-formedness check every fabric document and ovf-env.xml passes before fast-xml-parser reads it.
 * fast-xml-parser (and its XMLValidator) accept documents XML 1.0 says are not XML: undefined entity
 * references kept literally, "<" in attribute values, a second XML declaration, "--" in comments, "]]>"
 * in text, characters outside Char, text after the root element, several roots. Those reach values the
 * agent echoes back to the fabric, so one pass over the text checks the XML 1.0 (Fifth Edition) grammar
 * here; the parser then only builds the tree of a document already known to be well-formed.
 *
 * Pure, no allocation per character; the first fault wins and carries its offset.
 */

import { codePointName, firstNonXmlChar, isSpace, isXmlChar, NAME, REFERENCE, XML_DECLARATION } from './xml-grammar.ts';
import { Fault, faultField, type FaultField, type XmlFault } from './xml-fault.ts';

/** Elements nested deeper than this are refused: no fabric document comes near (ovf-env.xml is about 10 deep). */
export const MAX_XML_DEPTH = 100;
/**
 * Attributes in one start tag. The fabric's documents and ovf-env.xml (namespace declarations and the
 * unattend components' five included) use fewer than ten; thousands of them in a tag are only an attack
 * on whatever reads them after this check.
 */
export const MAX_XML_ATTRIBUTES = 64;

/** The first well-formedness fault of a document (its BOM, if any, already removed), or undefined. */
export function findXmlFault(text: string): XmlFault | undefined {
  return scanXml(text).fault;
}

/**
 * The first fault, or none and the [start, end) offsets of every processing instruction other than the
 * XML declaration: fast-xml-parser reads a PI's data as attributes and refuses well-formed ones (a quote
 * in "<?note it's?>"), and the agent has no use for them, so they are cut out before it parses.
 */
export function scanXml(text: string): { fault?: XmlFault; instructions: Array<[number, number]> } {
  const scanner = new Scanner(text);
  try {
    scanner.document();
    return { instructions: scanner.instructions };
  } catch (err) {
    if (err instanceof Fault) return { fault: err.fault, instructions: [] };
    throw err;
  }
}

class Scanner {
  readonly #text: string;
  #at = 0;
  /** The open elements' names, root first: a value fault names its field from them (xml-fault.ts). */
  readonly #stack: string[] = [];
  readonly instructions: Array<[number, number]> = [];

  constructor(text: string) {
    this.#text = text;
  }

  /** [1] document ::= prolog element Misc*; [22] prolog ::= XMLDecl? Misc*. */
  document(): void {
    const t = this.#text;
    if (t.startsWith('<?xml') && (isSpace(t.charCodeAt(5)) || t.startsWith('?>', 5))) this.#declaration();
    let sawRoot = false;
    for (;;) {
      this.#skipSpace();
      if (this.#at >= t.length) break;
      if (t.startsWith('<!--', this.#at)) this.#comment();
      else if (t.startsWith('<?', this.#at)) this.#processingInstruction();
      else if (t.charCodeAt(this.#at) === 0x3c && !sawRoot && t.charCodeAt(this.#at + 1) !== 0x21) {
        this.#element();
        sawRoot = true;
      } else if (t.charCodeAt(this.#at) === 0x3c && t.charCodeAt(this.#at + 1) !== 0x21) {
        this.#fail('a second root element: a document has exactly one (XML 1.0 [1] document)');
      } else if (t.charCodeAt(this.#at) === 0xfeff) {
        this.#fail('a byte-order mark is allowed only as the very first character (XML 1.0 4.3.3)');
      } else if (t.charCodeAt(this.#at) === 0x3c) {
        this.#fail('a markup declaration outside the root element (only comments and processing instructions may be there)');
      } else {
        this.#fail(sawRoot ? 'text after the root element (XML 1.0 [27] Misc)' : 'text before the root element (XML 1.0 [22] prolog)');
      }
    }
    if (!sawRoot) this.#fail('no root element (XML 1.0 [1] document)');
  }

  #fail(rule: string, at = this.#at, field?: FaultField): never {
    throw new Fault(Math.min(at, this.#text.length), rule, field);
  }

  #skipSpace(): void {
    while (isSpace(this.#text.charCodeAt(this.#at))) this.#at += 1;
  }

  #name(what: string): string {
    NAME.lastIndex = this.#at;
    const match = NAME.exec(this.#text);
    if (match === null) this.#fail(`${what} is not a valid XML name (XML 1.0 [5] Name)`);
    this.#at = NAME.lastIndex;
    return match[0];
  }

  #expect(literal: string, rule: string): void {
    if (!this.#text.startsWith(literal, this.#at)) this.#fail(rule);
    this.#at += literal.length;
  }

  /** Checks text[from, to) is all Char; `named` for element content (a value), not comments or PIs. */
  #chars(from: number, to: number, named = false): void {
    const bad = firstNonXmlChar(this.#text, from, to);
    if (bad >= 0) this.#fail(`${codePointName(this.#text, bad)} is a character XML does not allow (XML 1.0 [2] Char)`, bad, named ? faultField(this.#stack) : undefined);
  }

  #declaration(): void {
    XML_DECLARATION.lastIndex = 0;
    const match = XML_DECLARATION.exec(this.#text);
    if (match === null) this.#fail('a malformed XML declaration (XML 1.0 [23] XMLDecl: version, then encoding, then standalone)');
    const version = match[1] ?? match[2]!;
    // XML 1.1 changes which characters are allowed; the fabric writes 1.0 and nothing here reads 1.1.
    if (version !== '1.0') this.#fail(`the XML declaration says version ${version}; only XML 1.0 is read`);
    const encoding = match[3] ?? match[4];
    // The bytes are decoded as UTF-8 whatever the declaration says; a document that declares another
    // encoding would be read differently by the fabric's side, so it is refused instead of guessed at.
    if (encoding !== undefined && encoding.toLowerCase() !== 'utf-8') {
      this.#fail(`the XML declaration says encoding ${encoding.slice(0, 40)}; only UTF-8 is read`);
    }
    this.#at = XML_DECLARATION.lastIndex;
  }

  /** [15] Comment ::= '<!--' ((Char - '-') | ('-' (Char - '-')))* '-->'. */
  #comment(): void {
    const start = this.#at + 4;
    const dashes = this.#text.indexOf('--', start);
    if (dashes < 0) this.#fail('a comment that is never closed with -->');
    if (this.#text.charCodeAt(dashes + 2) !== 0x3e) this.#fail('"--" inside a comment (XML 1.0 [15] Comment)', dashes);
    this.#chars(start, dashes);
    this.#at = dashes + 3;
  }

  /** [16] PI ::= '<?' PITarget (S (Char* - (Char* '?>' Char*)))? '?>'; [17] PITarget excludes any case of "xml". */
  #processingInstruction(): void {
    const start = this.#at;
    this.#at += 2;
    const target = this.#name('a processing instruction target');
    if (target.toLowerCase() === 'xml') {
      this.#fail('an XML declaration (or a processing instruction named xml) is allowed only at the very start (XML 1.0 [17] PITarget)', start);
    }
    const end = this.#text.indexOf('?>', this.#at);
    if (end < 0) this.#fail('a processing instruction that is never closed with ?>', start);
    if (end > this.#at && !isSpace(this.#text.charCodeAt(this.#at))) this.#fail('a processing instruction target must be followed by white space or ?>');
    this.#chars(this.#at, end);
    this.#at = end + 2;
    this.instructions.push([start, this.#at]);
  }

  /** [39] element, with [40] STag, [42] ETag, [43] content; iterative, so depth costs no call stack. */
  #element(): void {
    const t = this.#text;
    this.#startTag();
    while (this.#stack.length > 0) {
      const at = this.#at;
      if (at >= t.length) this.#fail('the document ends inside an element: a start tag has no end tag');
      const c = t.charCodeAt(at);
      if (c === 0x3c) {
        const next = t.charCodeAt(at + 1);
        if (next === 0x2f) this.#endTag();
        else if (next === 0x3f) this.#processingInstruction();
        else if (t.startsWith('<!--', at)) this.#comment();
        else if (t.startsWith('<![CDATA[', at)) this.#cdata();
        else if (next === 0x21) this.#fail('a markup declaration inside an element (only comments and CDATA sections start with <!)');
        else this.#startTag();
      } else if (c === 0x26) {
        this.#reference();
      } else {
        this.#charData();
      }
    }
  }

  /** [14] CharData: any Char but "<" and "&", and never "]]>". */
  #charData(): void {
    const t = this.#text;
    let i = this.#at;
    for (; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (c === 0x3c || c === 0x26) break;
      if (c === 0x5d && t.startsWith(']]>', i)) this.#fail('"]]>" in text (XML 1.0 [14] CharData)', i, faultField(this.#stack));
      if (c >= 0x20 && c < 0xd800) continue;
      const bad = firstNonXmlChar(t, i, Math.min(i + 2, t.length));
      if (bad === i) this.#fail(`${codePointName(t, i)} is a character XML does not allow (XML 1.0 [2] Char)`, i, faultField(this.#stack));
      if (c >= 0xd800 && c <= 0xdbff) i += 1;
    }
    this.#at = i;
  }

  /** [67] Reference: the five predefined entities or a character reference to a Char (WFC: Legal Character). */
  #reference(attribute?: string): void {
    REFERENCE.lastIndex = this.#at;
    const match = REFERENCE.exec(this.#text);
    if (match === null) {
      this.#fail('"&" must start &amp; &lt; &gt; &quot; &apos; or a character reference; no other entity is defined (XML 1.0 4.1, WFC: Entity Declared)', this.#at, faultField(this.#stack, attribute));
    }
    if (match[3] === undefined) {
      // Leading zeros are allowed ("&#00065;" is "A"); past 8 significant digits no value can be a Char.
      const digits = (match[1] ?? match[2]!).replace(/^0+(?=.)/, '');
      const code = digits.length > 8 ? Infinity : parseInt(digits, match[1] !== undefined ? 16 : 10);
      if (!isXmlChar(code)) {
        this.#fail(`contains the character reference ${match[0].slice(0, 16)}, which names a character XML does not allow (XML 1.0 4.1, WFC: Legal Character)`, this.#at, faultField(this.#stack, attribute));
      }
    }
    this.#at = REFERENCE.lastIndex;
  }

  #cdata(): void {
    const start = this.#at + 9;
    const end = this.#text.indexOf(']]>', start);
    if (end < 0) this.#fail('a CDATA section that is never closed with ]]>');
    this.#chars(start, end, true);
    this.#at = end + 3;
  }

  /** [40] STag / [44] EmptyElemTag, with [41] Attribute and WFC: Unique Att Spec, WFC: No < in Attribute Values. */
  #startTag(): void {
    const t = this.#text;
    const tagStart = this.#at;
    this.#at += 1;
    const name = this.#name('an element name');
    // On the stack while its attributes are read, so their faults name it; #opened decides whether it stays.
    this.#stack.push(name);
    const seen = new Set<string>();
    for (;;) {
      const before = this.#at;
      this.#skipSpace();
      if (t.startsWith('/>', this.#at)) {
        this.#at += 2;
        this.#opened(name, tagStart, true);
        return;
      }
      if (t.charCodeAt(this.#at) === 0x3e) {
        this.#at += 1;
        this.#opened(name, tagStart, false);
        return;
      }
      if (this.#at >= t.length) this.#fail('the document ends inside a start tag', tagStart);
      if (this.#at === before) this.#fail('an attribute must be separated from what precedes it by white space, or the tag closed with > or />');
      const attributeAt = this.#at;
      const attribute = this.#name('an attribute name');
      if (seen.has(attribute)) this.#fail('the same attribute twice in one start tag (XML 1.0 3.1, WFC: Unique Att Spec)', attributeAt);
      if (seen.size === MAX_XML_ATTRIBUTES) this.#fail(`more than ${MAX_XML_ATTRIBUTES} attributes in one start tag`, attributeAt);
      seen.add(attribute);
      this.#skipSpace();
      this.#expect('=', 'an attribute needs = and a quoted value (XML 1.0 [41] Attribute)');
      this.#skipSpace();
      this.#attributeValue(attribute);
    }
  }

  /** [10] AttValue: quoted, no "<", "&" only as a reference. */
  #attributeValue(attribute: string): void {
    const t = this.#text;
    const quote = t.charCodeAt(this.#at);
    if (quote !== 0x22 && quote !== 0x27) this.#fail('an attribute value must be in quotes (XML 1.0 [10] AttValue)');
    this.#at += 1;
    for (;;) {
      const i = this.#at;
      const c = t.charCodeAt(i);
      if (i >= t.length) this.#fail('an attribute value that is never closed', i);
      if (c === quote) break;
      // Most often a closing quote is missing, so this names no field.
      if (c === 0x3c) this.#fail('"<" inside an attribute value (XML 1.0 3.1, WFC: No < in Attribute Values)', i);
      if (c === 0x26) {
        this.#reference(attribute);
        continue;
      }
      if (c >= 0x20 && c < 0xd800) {
        this.#at += 1;
        continue;
      }
      if (firstNonXmlChar(t, i, Math.min(i + 2, t.length)) === i) {
        this.#fail(`${codePointName(t, i)} is a character XML does not allow (XML 1.0 [2] Char)`, i, faultField(this.#stack, attribute));
      }
      this.#at += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
    }
    this.#at += 1;
  }

  #opened(name: string, tagStart: number, empty: boolean): void {
    this.#stack.pop();
    if (empty) return;
    if (this.#stack.length >= MAX_XML_DEPTH) this.#fail(`elements nested more than ${MAX_XML_DEPTH} deep`, tagStart);
    this.#stack.push(name);
  }

  /** [42] ETag ::= '</' Name S? '>', naming the element that is open (WFC: Element Type Match). */
  #endTag(): void {
    const start = this.#at;
    this.#at += 2;
    const name = this.#name('an end tag name');
    this.#skipSpace();
    this.#expect('>', 'an end tag must close with > after its name');
    if (name !== this.#stack.at(-1)) this.#fail('an end tag that does not match the open element (XML 1.0 3, WFC: Element Type Match)', start);
    this.#stack.pop();
  }
}
