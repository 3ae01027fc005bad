import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FabricDocumentError } from '../../src/errors.ts';
import { childrenNamed, parseMiniXml } from '../../src/simulator/mini-xml.ts';

const parse = (text: string): ReturnType<typeof parseMiniXml> => parseMiniXml(text, 'test document');

test('reads elements by local name, with text, entities, CDATA, comments and attributes', () => {
  const root = parse(`\ufeff<?xml version="1.0"?>
<!-- lead -->
<a:Root xmlns:a="urn:x" b='1'>
  <Item k="v">one &amp; &lt;two&gt; &#65;&#x42;</Item>
  <Item><![CDATA[<raw> & text]]></Item>
  <Empty/>
  <Empty />
</a:Root>
<!-- trail -->`);
  assert.equal(root.name, 'Root');
  const items = childrenNamed(root, 'Item');
  assert.deepEqual(items.map((i) => i.text), ['one & <two> AB', '<raw> & text']);
  assert.equal(childrenNamed(root, 'Empty').length, 2);
  assert.equal(childrenNamed(root, 'Empty')[0]!.text, '');
});

test('rejects what is not well-formed, naming the document', () => {
  const cases: [string, RegExp][] = [
    ['', /no root element/],
    ['<a><b></a>', /mismatched closing tag/],
    ['<a>', /ends inside <a>/],
    ['<a/><b/>', /more than one root/],
    ['text<a/>', /text outside/],
    ['<a>&bogus;</a>', /unknown entity/],
    ['<a>a & b</a>', /"&"/],
    ['<a>&#0;</a>', /unknown entity/],
    ['<a b=1/>', /not well-formed/],
    ['<a><!-- x</a>', /unterminated comment/],
    ['<!DOCTYPE a><a/>', /DOCTYPE/],
    ['<a><![CDATA[x</a>', /CDATA/],
  ];
  for (const [text, reason] of cases) {
    assert.throws(() => parse(text), (err: unknown) => err instanceof FabricDocumentError && reason.test(err.reason) && err.document === 'test document', text);
  }
});

test('refuses nesting deeper than 32 elements', () => {
  const deep = '<a>'.repeat(40) + '</a>'.repeat(40);
  assert.throws(() => parse(deep), /deeper than 32/);
  const ok = '<a>'.repeat(32) + '</a>'.repeat(32);
  assert.equal(parse(ok).name, 'a');
});
