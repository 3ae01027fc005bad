import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildXml, parseXml, rootOf, textOf } from '../../src/protocol/xml.ts';

const fail = (field: string, rule: string) => Object.assign(new Error(`${field}: ${rule}`), { field });

test('values stay verbatim strings: no number parsing, no trimming', () => {
  const doc = parseXml('<a:R xmlns:a="u"><N>0012</N><P>  1e5 &lt;&amp;&gt; </P></a:R>', fail);
  const root = rootOf(doc, 'R', fail);
  assert.equal(textOf(root.N, 'N', fail), '0012');
  assert.equal(textOf(root.P, 'P', fail), '  1e5 <&> ');
});

test('numeric character references are decoded when XML allows the character', () => {
  const root = rootOf(parseXml('<R><P>&#65;&#x42;&#x1F600;</P></R>', fail), 'R', fail);
  assert.equal(textOf(root.P, 'P', fail), 'AB😀');
});

test('a reference to a character XML forbids is an error naming its element, not a silently changed value', () => {
  for (const ref of ['&#0;', '&#x1B;', '&#xD800;', '&#xFFFE;', '&#1114112;']) {
    assert.throws(() => parseXml(`<R><AdminPassword>Pass${ref}word1!</AdminPassword></R>`, fail), (err: Error & { field?: string }) => err.field === 'AdminPassword' && /character reference/.test(err.message), ref);
  }
});

test('DOCTYPE, entity declarations, invalid UTF-8, emptiness and oversize are refused before parsing', () => {
  assert.throws(() => parseXml('<!DOCTYPE R [<!ENTITY x "y">]><R/>', fail), /DOCTYPE/);
  assert.throws(() => parseXml('<R><!ENTITY x "y"></R>', fail), /entities/);
  assert.throws(() => parseXml(new Uint8Array([0x3c, 0x52, 0x3e, 0xc3, 0x28, 0x3c, 0x2f, 0x52, 0x3e]), fail), /UTF-8/);
  assert.throws(() => parseXml('   ', fail), /empty/);
  assert.throws(() => parseXml(`<R>${'x'.repeat(2048)}</R>`, fail, { maxBytes: 1024 }), /over the limit of 1024/);
});

test('one root element with the expected name', () => {
  assert.throws(() => parseXml('<A/><B/>', fail), /a second root element/);
  assert.throws(() => rootOf(parseXml('<B><x/></B>', fail), 'A', fail), /single root element A/);
  assert.throws(() => rootOf(parseXml('<A>text</A>', fail), 'A', fail), /must contain elements/);
});

test('malformed XML names no document content beyond the parser position', () => {
  assert.throws(() => parseXml('<R><P>secret</Q></R>', fail), /not well-formed/);
});

test('anything thrown inside the parsing comes out as the caller\'s named error, never bare', () => {
  const arrays = { [Symbol.iterator]: () => { throw new TypeError('boom'); } } as unknown as string[];
  assert.throws(() => parseXml('<R/>', fail, { arrays }), (err: Error & { field?: string }) => err.field === '(document)' && /is not well-formed XML: boom/.test(err.message));
  // fast-xml-parser's own refusal (its prototype-pollution guard) is named the same way.
  assert.throws(() => parseXml('<R><constructor/></R>', fail), (err: Error & { field?: string }) => err.field === '(document)' && /is not well-formed XML: .*constructor/.test(err.message));
});

test('one byte-order mark is dropped, from text or bytes; a second one is refused', () => {
  const bom = [0xef, 0xbb, 0xbf];
  const body = [...new TextEncoder().encode('<R><V>x</V></R>')];
  assert.equal(textOf(rootOf(parseXml(new Uint8Array([...bom, ...body]), fail), 'R', fail).V, 'V', fail), 'x');
  assert.equal(textOf(rootOf(parseXml('\ufeff<R><V>x</V></R>', fail), 'R', fail).V, 'V', fail), 'x');
  assert.throws(() => parseXml(new Uint8Array([...bom, ...bom, ...body]), fail), /\(at line 1, column 1\): a byte-order mark/);
  assert.throws(() => parseXml('\ufeff\ufeff<R/>', fail), /byte-order mark/);
});

test('UTF-16 is named as such: with either byte-order mark, or without one', () => {
  const text = '<?xml version="1.0" encoding="utf-16"?><R/>';
  for (const bytes of [Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]), Buffer.from(text, 'utf16le')]) {
    assert.throws(() => parseXml(bytes, fail), /is not valid UTF-8: it is UTF-16, and only UTF-8 is read/);
  }
});

test('the builder refuses a value XML cannot carry, naming its element below the root', () => {
  const built = buildXml({ R: { A: { B: 'ok', '@_c': 'x' } } }, fail);
  assert.equal(built, '<?xml version="1.0" encoding="utf-8"?><R><A c="x"><B>ok</B></A></R>');
  assert.throws(() => buildXml({ R: { A: { B: 'a\u0000' } } }, fail), (err: Error & { field?: string }) => err.field === 'A/B' && /holds U\+0000 at position 2/.test(err.message));
  assert.throws(() => buildXml({ R: { A: { '@_c': '\ud800' } } }, fail), (err: Error & { field?: string }) => err.field === 'A/@c');
});
