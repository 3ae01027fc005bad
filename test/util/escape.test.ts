import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeUnsafe } from '../../src/util/escape.ts';

test('control, invisible and direction-changing characters are written as \\uXXXX, once', () => {
  const cases: [string, string][] = [
    ['\x1b[2J\r\t\x00\x7f\x85\x9b', '\\u001b[2J\\u000d\\u0009\\u0000\\u007f\\u0085\\u009b'],
    ['\u200e\u200f\u202a\u202e\u2066\u2069\u2028\u2029\u200b\ufeff\u00a0', '\\u200e\\u200f\\u202a\\u202e\\u2066\\u2069\\u2028\\u2029\\u200b\\ufeff\\u00a0'],
    ['tag \u{e0041} and a lone \ud800', 'tag \\udb40\\udc41 and a lone \\ud800'],
    ['plain text, é, 😀 and a backslash \\u0041', 'plain text, é, 😀 and a backslash \\u0041'],
  ];
  for (const [text, shown] of cases) {
    assert.equal(escapeUnsafe(text), shown);
    assert.equal(escapeUnsafe(shown), shown, 'escaping again changes nothing');
  }
});
