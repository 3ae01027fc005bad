import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCell, formatTable } from '../../bench/table.ts';

test('a table is Markdown with padded columns; numeric columns are right-aligned and rounded per column', () => {
  const text = formatTable({ headings: ['row', 'ms', 'ratio'], rows: [['1 cert', 212.4, 1.456], ['50 certs', 1003.6, 2]], digits: [0, 0, 2] });
  assert.equal(text, [
    '| row      |   ms | ratio |',
    '| -------- | ---: | ----: |',
    '| 1 cert   |  212 |  1.46 |',
    '| 50 certs | 1004 |  2.00 |',
  ].join('\n'));
});

test('missing and non-finite values print as "-" and keep a numeric column right-aligned', () => {
  assert.equal(formatCell(undefined), '-');
  assert.equal(formatCell(Number.NaN, 2), '-');
  const lines = formatTable({ headings: ['step', 'a'], rows: [['ready', 4], ['certificates', undefined]] }).split('\n');
  assert.equal(lines[3], '| certificates |   - |');
  assert.equal(lines[1], '| ------------ | --: |');
});

test('a row with the wrong number of cells is an error', () => {
  assert.throws(() => formatTable({ headings: ['a', 'b'], rows: [['x']] }), RangeError);
});
