import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml, rootOf, textOf } from '../../src/protocol/xml.ts';

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

test('rootOf insists on one root element with the expected name', () => {
  assert.throws(() => rootOf(parseXml('<A/><B/>', fail), 'A', fail), /single root element A/);
  assert.throws(() => rootOf(parseXml('<B><x/></B>', fail), 'A', fail), /single root element A/);
  assert.throws(() => rootOf(parseXml('<A>text</A>', fail), 'A', fail), /must contain elements/);
});

test('malformed XML names no document content beyond the parser position', () => {
  assert.throws(() => parseXml('<R><P>secret</Q></R>', fail), /not well-formed/);
});
