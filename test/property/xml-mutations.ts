import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';

/**
 * Mutated XML documents for the property suites and the saxes cross-check: real fabric and ovf-env.xml
 * fixtures with one to three structural mutations each (insertions of elements, attributes, text,
 * comments, CDATA, processing instructions and references; deletions, duplications and swaps of
 * ranges; encoding and byte-order-mark games; characters XML forbids). Half of all mutations keep the
 * document well-formed, so both sides of every accept/refuse decision are exercised.
 */

const FIXTURES = new URL('../fixtures/', import.meta.url);

/** Every XML fixture of a fabric document or an ovf-env.xml, by file name. */
export const SEED_DOCUMENTS: ReadonlyArray<{ name: string; text: string }> = ['fabric', 'ovf'].flatMap((folder) =>
  readdirSync(new URL(`${folder}/`, FIXTURES))
    .filter((file) => file.endsWith('.xml'))
    .map((file) => ({ name: `${folder}/${file}`, text: readFileSync(new URL(`${folder}/${file}`, FIXTURES), 'utf8') })),
);

/** Snippets that keep a document well-formed when put between two elements or into text. */
const LEGAL = [
  '<x/>', '<x a="1"/>', "<x a='1' b=\"2\">t</x>", '<p:x xmlns:p="urn:p"/>', 'text', ' ', '\n', '\t', '\r\n', '<!-- c -->', '<!---->',
  '<!-- - -->', '<![CDATA[ <&> ]]>', '<![CDATA[]]>', '<?pi data?>', '<?pi?>', '<?xml-stylesheet href="a"?>', '&amp;', '&lt;', '&gt;',
  '&quot;', '&apos;', '&#65;', '&#x42;', '&#x1F600;', '&#00065;', '&#x10FFFF;', '&#9;', '\u00e9', '\u{1F600}', '\u0085', '\u2028', '\ufeff',
  '>', ']]', ']>', '"', "'", '=', '<\u00e9t\u00e9/>', '<x\u00b7y/>', '<_x.y-z/>', '<a:b/>', '<x a = "1" />',
];

/** Snippets that break well-formedness (or a rule of the project) wherever they go. */
const BROKEN = [
  '<', '&', '&amp', '&nbsp;', '&foo;', '&#;', '&#x;', '&#0;', '&#x0;', '&#xD800;', '&#xFFFE;', '&#1114112;', '&#x110000;', ']]>', '<x>',
  '</x>', '</>', '<x a/>', '<x a=1/>', '<x a="1" a="2"/>', '<x a="<"/>', '<x a="&"/>', '<x a="1"b="2"/>', '<1x/>', '<-x/>', '<\u00b7x/>',
  '<!-- a -- b -->', '<!--->', '<!-- x --->', '<![CDATA[', '<![CDATA[x]]', '<?xml version="1.0"?>', '<?XML x?>', '<?xMl?>', '<? ?>', '<?pi',
  '<!DOCTYPE x>', '<!ENTITY x "y">', '<!ELEMENT x ANY>', '\u0000', '\u0001', '\u0008', '\u000b', '\u000c', '\u001b', '\ufffe', '\uffff',
  '\ud800', '\udc00', '\ud83d', '<x/><y/>',
];

const ENCODINGS = ['UTF-8', 'utf-8', 'Utf-8', 'utf8', 'UTF-16', 'utf-16le', 'ISO-8859-1', 'US-ASCII', 'windows-1252', '8bit', 'UTF 8', ''];
const VERSIONS = ['1.0', '1.1', '1.', '2.0', '1.0 ', '1.00'];

/** One mutation of a document's text. */
type Mutation = (text: string) => string;

const position = fc.nat();
const at = (text: string, n: number): number => (text.length === 0 ? 0 : n % (text.length + 1));
const range = (text: string, a: number, length: number): [number, number] => {
  const start = at(text, a);
  return [start, Math.min(text.length, start + length)];
};

/** Positions right after a ">" or before a "<" are where markup mutations matter most. */
function boundary(text: string, n: number): number {
  const marks: number[] = [];
  for (let i = 0; i < text.length; i++) if (text[i] === '<' || text[i] === '>') marks.push(text[i] === '<' ? i : i + 1);
  return marks.length === 0 ? 0 : marks[n % marks.length]!;
}

const insert = (snippets: readonly string[]): fc.Arbitrary<Mutation> =>
  fc.tuple(fc.constantFrom(...snippets), position, fc.boolean()).map(([snippet, n, atMarkup]) => (text) => {
    const i = atMarkup ? boundary(text, n) : at(text, n);
    return text.slice(0, i) + snippet + text.slice(i);
  });

const remove: fc.Arbitrary<Mutation> = fc.tuple(position, fc.integer({ min: 1, max: 12 })).map(([n, length]) => (text) => {
  const [start, end] = range(text, n, length);
  return text.slice(0, start) + text.slice(end);
});

const duplicate: fc.Arbitrary<Mutation> = fc.tuple(position, fc.integer({ min: 1, max: 80 }), position).map(([n, length, to]) => (text) => {
  const [start, end] = range(text, n, length);
  const i = at(text, to);
  return text.slice(0, i) + text.slice(start, end) + text.slice(i);
});

const swap: fc.Arbitrary<Mutation> = fc.tuple(position, position, fc.integer({ min: 1, max: 20 })).map(([a, b, length]) => (text) => {
  const [s1, e1] = range(text, Math.min(a, b), length);
  const [s2, e2] = range(text, Math.max(a, b), length);
  if (s2 < e1) return text;
  return text.slice(0, s1) + text.slice(s2, e2) + text.slice(e1, s2) + text.slice(s1, e1) + text.slice(e2);
});

/** An element of the document (start tag to its end tag) duplicated right after itself, or removed. */
const element: fc.Arbitrary<Mutation> = fc.tuple(position, fc.boolean()).map(([n, copy]) => (text) => {
  const names = [...text.matchAll(/<([A-Za-z_][\w.:-]*)[\s>/]/g)];
  if (names.length === 0) return text;
  const match = names[n % names.length]!;
  const close = `</${match[1]}>`;
  const end = text.indexOf(close, match.index);
  const selfClosing = text.indexOf('/>', match.index);
  const stop = end >= 0 ? end + close.length : selfClosing >= 0 ? selfClosing + 2 : -1;
  if (stop < 0) return text;
  const part = text.slice(match.index, stop);
  return copy ? text.slice(0, stop) + part + text.slice(stop) : text.slice(0, match.index) + text.slice(stop);
});

/** An attribute copied into the next start tag, or a tag's name changed at one end only. */
const tag: fc.Arbitrary<Mutation> = fc.tuple(position, fc.constantFrom('attribute', 'rename-start', 'rename-end')).map(([n, kind]) => (text) => {
  if (kind === 'attribute') {
    const attributes = [...text.matchAll(/\s[\w:.-]+\s*=\s*("[^"<]*"|'[^'<]*')/g)];
    if (attributes.length === 0) return text;
    const a = attributes[n % attributes.length]!;
    const i = a.index + a[0].length;
    return text.slice(0, i) + a[0] + text.slice(i);
  }
  const pattern = kind === 'rename-start' ? /<([A-Za-z_][\w.:-]*)/g : /<\/([A-Za-z_][\w.:-]*)/g;
  const tags = [...text.matchAll(pattern)];
  if (tags.length === 0) return text;
  const t = tags[n % tags.length]!;
  const i = t.index + t[0].length;
  return `${text.slice(0, i)}Z${text.slice(i)}`;
});

/** The XML declaration's encoding or version replaced, added or removed; byte-order marks added. */
const encoding: fc.Arbitrary<Mutation> = fc
  .tuple(fc.constantFrom(...ENCODINGS), fc.constantFrom(...VERSIONS), fc.constantFrom('encoding', 'version', 'declaration', 'none', 'bom', 'bom2', 'bom-late'))
  .map(([name, version, kind]) => (text) => {
    const body = text.replace(/^\ufeff?<\?xml[^?]*\?>/, '');
    switch (kind) {
      case 'encoding':
        return `<?xml version="1.0"${name === '' ? '' : ` encoding="${name}"`}?>${body}`;
      case 'version':
        return `<?xml version="${version}" encoding="utf-8"?>${body}`;
      case 'declaration':
        return `<?xml version='1.0' encoding='${name || 'utf-8'}' standalone='yes'?>${body}`;
      case 'none':
        return body;
      case 'bom':
        return `\ufeff${text}`;
      case 'bom2':
        return `\ufeff\ufeff${text}`;
      default:
        return text.replace('?>', '?>\ufeff');
    }
  });

/** One mutation, weighted so that about half the documents stay well-formed. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: insert(LEGAL) },
  { weight: 5, arbitrary: insert(BROKEN) },
  { weight: 2, arbitrary: remove },
  { weight: 2, arbitrary: duplicate },
  { weight: 1, arbitrary: swap },
  { weight: 3, arbitrary: element },
  { weight: 2, arbitrary: tag },
  { weight: 2, arbitrary: encoding },
);

/** A fixture document with one to three mutations, and the name of its seed. */
export const mutatedDocument: fc.Arbitrary<{ seed: string; text: string }> = fc
  .tuple(fc.constantFrom(...SEED_DOCUMENTS), fc.array(mutation, { minLength: 1, maxLength: 3 }))
  .map(([seed, mutations]) => ({ seed: seed.name, text: mutations.reduce((text, m) => m(text), seed.text) }));

/** Small documents built from scratch out of the same snippets, for the parsers' totality properties. */
export const snippetDocument: fc.Arbitrary<string> = fc
  .array(fc.constantFrom(...LEGAL, ...BROKEN, '<R>', '</R>', '<Version>', '</Version>'), { maxLength: 12 })
  .map((parts) => parts.join(''));
