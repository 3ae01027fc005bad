import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KVP_MAX_BYTES, fitKvpValue } from '../../src/platform/kvp-value.ts';

test('a KVP value is cut to 1024 bytes of UTF-8, never inside a character', () => {
  assert.equal(KVP_MAX_BYTES, 1024);
  assert.equal(fitKvpValue('short'), 'short');
  assert.equal(fitKvpValue('a'.repeat(1024)), 'a'.repeat(1024));
  assert.equal(fitKvpValue('a'.repeat(1030)), 'a'.repeat(1024));
  // 'é' is two bytes, '€' three, '𝄞' four: a cut through any of them ends before it.
  for (const [char, size] of [['é', 2], ['€', 3], ['𝄞', 4]] as const) {
    for (let offset = 1; offset < size; offset++) {
      const text = 'a'.repeat(1024 - offset) + char + 'tail';
      const cut = fitKvpValue(text);
      assert.equal(cut, 'a'.repeat(1024 - offset), `${char} cut ${offset} bytes in`);
      assert.ok(Buffer.byteLength(cut) <= 1024);
    }
    // A character that ends exactly at the limit stays.
    assert.equal(fitKvpValue('a'.repeat(1024 - size) + char + 'tail'), 'a'.repeat(1024 - size) + char);
  }
  // A trailing U+FFFD that was in the text is kept (only a split character is dropped).
  assert.equal(fitKvpValue('\uFFFD'.repeat(400)), '\uFFFD'.repeat(341));
});
