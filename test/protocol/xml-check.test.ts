import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { XMLValidator } from 'fast-xml-parser';
import { findXmlFault, MAX_XML_ATTRIBUTES, MAX_XML_DEPTH } from '../../src/protocol/xml-check.ts';
import { parseXml, positionOf } from '../../src/protocol/xml.ts';
import { FabricDocumentError } from '../../src/errors.ts';

const fail = (field: string, rule: string): Error => new FabricDocumentError('Test', field, rule);

/** Documents fast-xml-parser accepted (XMLValidator too, for most) that XML 1.0 refuses: rule, field, line, column. */
const REFUSED: ReadonlyArray<[string, string, RegExp, string, number, number]> = [
  ['undefined entity', '<R><V>&nbsp;</V></R>', /"&" must start/, 'V', 1, 7],
  ['"&" alone', '<R><V>a & b</V></R>', /"&" must start/, 'V', 1, 9],
  ['"&" without ";"', '<R><V>&amp</V></R>', /"&" must start/, 'V', 1, 7],
  ['reference to U+0000', '<R><V>&#0;</V></R>', /character reference &#0;/, 'V', 1, 7],
  ['reference to a surrogate', '<R><V>&#xD800;</V></R>', /character reference &#xD800;/, 'V', 1, 7],
  ['reference past U+10FFFF', '<R><V>&#x110000;</V></R>', /character reference/, 'V', 1, 7],
  ['"<" in an attribute value', '<R a="x<y"/>', /"<" inside an attribute value/, '(document)', 1, 8],
  ['undefined entity in an attribute', '<R><V a="&x;"/></R>', /"&" must start/, 'V/@a', 1, 10],
  ['second XML declaration', '<?xml version="1.0"?>\n<?xml version="1.0"?><R/>', /only at the very start/, '(document)', 2, 1],
  ['XML declaration after the root', '<R/>\n<?xml version="1.0"?>', /only at the very start/, '(document)', 2, 1],
  ['PI named XML inside', '<R><?XmL x?></R>', /only at the very start/, '(document)', 1, 4],
  ['two byte-order marks', '\ufeff\ufeff<R/>', /byte-order mark is allowed only as the very first/, '(document)', 1, 1],
  ['byte-order mark after the declaration', '<?xml version="1.0"?>\ufeff<R/>', /byte-order mark/, '(document)', 1, 22],
  ['"--" in a comment', '<R><!-- a -- b --></R>', /"--" inside a comment/, '(document)', 1, 11],
  ['comment ending in --->', '<R><!-- a ---></R>', /"--" inside a comment/, '(document)', 1, 11],
  ['U+0001 in text', '<R>\n<V>a\u0001</V></R>', /U\+0001 is a character XML does not allow/, 'V', 2, 5],
  ['U+FFFE in text', '<R><V>\ufffe</V></R>', /U\+FFFE/, 'V', 1, 7],
  ['lone surrogate in text', '<R><V>\ud800x</V></R>', /U\+D800/, 'V', 1, 7],
  ['U+001B in an attribute', '<R><V a="\u001b"/></R>', /U\+001B/, 'V/@a', 1, 10],
  ['U+0000 in CDATA', '<R><V><![CDATA[\u0000]]></V></R>', /U\+0000/, 'V', 1, 16],
  ['"]]>" in text', '<R><V>a]]>b</V></R>', /"\]\]>" in text/, 'V', 1, 8],
  ['unclosed element', '<R><V></V>', /ends inside an element/, '(document)', 1, 11],
  ['mismatched end tag', '<R><V></W></R>', /end tag that does not match/, '(document)', 1, 7],
  ['attribute without quotes', '<R a=1/>', /must be in quotes/, '(document)', 1, 6],
  ['attribute without a value', '<R a/>', /needs = and a quoted value/, '(document)', 1, 5],
  ['attributes without space between', '<R a="1"b="2"/>', /separated from what precedes it/, '(document)', 1, 9],
  ['duplicate attribute', '<R a="1" a="2"/>', /the same attribute twice/, '(document)', 1, 10],
  ['text after the root', '<R/>x', /text after the root element/, '(document)', 1, 5],
  ['text before the root', 'x<R/>', /text before the root element/, '(document)', 1, 1],
  ['two roots', '<R/><S/>', /a second root element/, '(document)', 1, 5],
  ['CDATA outside the root', '<R/><![CDATA[x]]>', /markup declaration outside the root/, '(document)', 1, 5],
  ['element name starting with a digit', '<R><1V/></R>', /not a valid XML name/, '(document)', 1, 5],
  ['element name starting with "·"', '<R><\u00b7V/></R>', /not a valid XML name/, '(document)', 1, 5],
  ['PI without a target', '<R><? x?></R>', /processing instruction target is not a valid XML name/, '(document)', 1, 6],
  ['declaration without a version', '<?xml encoding="utf-8"?><R/>', /malformed XML declaration/, '(document)', 1, 1],
  ['declaration with standalone="maybe"', '<?xml version="1.0" standalone="maybe"?><R/>', /malformed XML declaration/, '(document)', 1, 1],
  ['declaration saying UTF-16', '<?xml version="1.0" encoding="UTF-16"?><R/>', /says encoding UTF-16; only UTF-8 is read/, '(document)', 1, 1],
  ['declaration saying windows-1252', "<?xml version='1.0' encoding='windows-1252'?><R/>", /only UTF-8 is read/, '(document)', 1, 1],
  ['declaration saying XML 1.1', '<?xml version="1.1"?><R/>', /only XML 1\.0 is read/, '(document)', 1, 1],
  ['no root element', '<!-- only a comment -->', /no root element/, '(document)', 1, 24],
];

for (const [name, xml, rule, field, line, column] of REFUSED) {
  test(`refuses ${name}, naming ${field} at ${line}:${column}`, () => {
    assert.throws(
      () => parseXml(xml, fail),
      (err: unknown) => {
        assert.ok(err instanceof FabricDocumentError);
        assert.equal(err.field, field);
        assert.match(err.reason, new RegExp(`^Test ${field.replace(/[()/]/g, '\\$&')}: is not well-formed XML \\(at line ${line}, column ${column}\\): `));
        assert.match(err.reason, rule);
        return true;
      },
    );
  });
}

test('fast-xml-parser\'s validator accepted most of these; the check refuses all of them', () => {
  const lenient = REFUSED.filter(([, xml]) => XMLValidator.validate(xml.replace(/^\ufeff/, '')) === true).map(([name]) => name);
  assert.ok(lenient.length >= 15, lenient.join(', '));
});

test('accepts what XML 1.0 allows, however unusual', () => {
  for (const xml of [
    '<R/>', '\ufeff<R/>', '<?xml version="1.0"?><R/>', "<?xml version='1.0' encoding='UTF-8' standalone='no' ?>\n<R/>", '<?xml version="1.0" encoding="utf-8"?><R/>',
    '<R></R >', '<R\n a = "1"\tb=\'2\' />', '<R a="&lt;&#65;&#x1F600;&#00065;"/>', '<R>&amp;&lt;&gt;&quot;&apos;</R>', '<R>a>b ]] ]></R>',
    '<R><![CDATA[<&>]]]]></R>', '<R><!----><!-- - --></R>', '<!-- a --><R/><!-- b --><?pi x?> \n', '<R><?pi?><?xml-stylesheet href="x"?></R>',
    '<a:R xmlns:a="u" a:b="1" b="2"/>', '<R:/>', '<\u00e9t\u00e9 \u00e0="1"/>', '<R>\ufeff\u0085\u2028\u{1F600}</R>', '<R>\r\n\t</R>', '<_.-R\u00b7/>',
    `${'<a>'.repeat(MAX_XML_DEPTH)}${'</a>'.repeat(MAX_XML_DEPTH)}`,
    `<R ${Array.from({ length: MAX_XML_ATTRIBUTES }, (_, i) => `a${i}="${i}"`).join(' ')}/>`,
  ]) {
    assert.equal(findXmlFault(xml.replace(/^\ufeff/, '')), undefined, JSON.stringify(xml));
    parseXml(xml, fail);
  }
});

test(`refuses elements nested more than ${MAX_XML_DEPTH} deep before fast-xml-parser sees them`, () => {
  const deep = `${'<a>'.repeat(MAX_XML_DEPTH + 1)}${'</a>'.repeat(MAX_XML_DEPTH + 1)}`;
  assert.throws(() => parseXml(deep, fail), /\(at line 1, column 301\): elements nested more than 100 deep/);
});

test(`refuses more than ${MAX_XML_ATTRIBUTES} attributes in a tag, at once even for a document full of them`, () => {
  const over = `<R ${Array.from({ length: MAX_XML_ATTRIBUTES + 1 }, (_, i) => `a${i}=""`).join(' ')}/>`;
  assert.throws(() => parseXml(over, fail), /more than 64 attributes in one start tag/);
  // 4 MiB of attributes in one tag (a certificates document's cap): the check stops at the 65th.
  const flood = `<CertificateFile><X ${Array.from({ length: 400_000 }, (_, i) => `a${i}=""`).join(' ')}/></CertificateFile>`;
  const started = performance.now();
  assert.match(findXmlFault(flood)?.rule ?? '', /more than 64 attributes/);
  assert.ok(performance.now() - started < 1_000, `${Math.round(performance.now() - started)} ms`);
});

test('the field a fault names is bounded: long names are cut, deep paths keep the root and the innermost levels', () => {
  const field = (xml: string): string => {
    try {
      parseXml(xml, fail);
    } catch (err) {
      return (err as FabricDocumentError).field;
    }
    assert.fail('no fault');
  };
  const long = 'N'.repeat(120_000);
  assert.equal(field(`<R><${long}>&bogus;</${long}></R>`), `${'N'.repeat(64)}...`);
  assert.equal(field(`<R><A b${'Z'.repeat(900_000)}="&x;"/></R>`), `A/@b${'Z'.repeat(63)}...`);
  const names = Array.from({ length: 99 }, (_, i) => `E${i}${'x'.repeat(5_000)}`);
  const deep = `<R>${names.map((n) => `<${n}>`).join('')}\u0001${names.reverse().map((n) => `</${n}>`).join('')}</R>`;
  const path = field(deep);
  assert.ok(path.length < 8 * 70, `${path.length} characters`);
  assert.match(path, /^\.\.\.\/E93x{61}\.\.\.\/.*\/E98x{61}\.\.\.$/);
  // A name of two-unit code points is cut between them, never inside one.
  assert.equal(field(`<R><${'\u{10000}'.repeat(70)}>&bogus;</${'\u{10000}'.repeat(70)}></R>`), `${'\u{10000}'.repeat(64)}...`);
});

test('processing instructions are cut out before fast-xml-parser, which misreads their data as attributes', () => {
  const doc = parseXml(`<R><?note it's "quoted?><V>a<?pi?>b</V></R>`, fail);
  assert.deepEqual(doc, { R: { V: 'ab' } });
});

test('positions count lines by LF, CR LF and CR (XML 1.0 2.11)', () => {
  assert.deepEqual(positionOf('a\nb\r\nc\rd', 7), { line: 4, column: 1 });
  assert.deepEqual(positionOf('abc', 2), { line: 1, column: 3 });
});

test('costs well under a millisecond per fixture document', (t) => {
  const folders = ['fabric', 'ovf'].map((f) => new URL(`../fixtures/${f}/`, import.meta.url));
  const documents = folders.flatMap((folder) => readdirSync(folder).filter((f) => f.endsWith('.xml')).map((f) => ({ f, text: readFileSync(new URL(f, folder), 'utf8') })));
  for (const { f, text } of documents) {
    assert.equal(findXmlFault(text), undefined, f);
    for (let i = 0; i < 200; i++) findXmlFault(text);
    const runs = 500;
    const started = performance.now();
    for (let i = 0; i < runs; i++) findXmlFault(text);
    const us = ((performance.now() - started) / runs) * 1000;
    t.diagnostic(`${f}: ${text.length} characters, ${us.toFixed(1)} µs`);
    assert.ok(us < 500, `${f}: ${us.toFixed(1)} µs`);
  }
});
