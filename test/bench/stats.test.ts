import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, p90, quantile, summarize } from '../../bench/stats.ts';

test('the median of an odd count is the middle value, of an even count the mean of the two middle ones', () => {
  assert.equal(median([9, 1, 5]), 5);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
});

test('p90 interpolates between the closest ranks (type 7): 1..10 gives 9.1', () => {
  assert.equal(p90([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]), 9.1);
  assert.equal(p90([100, 200]), 190);
  assert.equal(quantile([5, 1, 3], 0), 1);
  assert.equal(quantile([5, 1, 3], 1), 5);
});

test('order statistics do not reorder the caller\'s samples', () => {
  const samples = [3, 1, 2];
  median(samples);
  assert.deepEqual(samples, [3, 1, 2]);
});

test('no samples give NaN, and a quantile outside 0..1 is refused', () => {
  assert.ok(Number.isNaN(median([])));
  assert.ok(Number.isNaN(summarize([]).max));
  assert.throws(() => quantile([1], 1.5), RangeError);
});

test('summarize gives count, median, p90, min and max together', () => {
  assert.deepEqual(summarize([4, 8, 6, 2, 10]), { n: 5, median: 6, p90: 9.2, min: 2, max: 10 });
});
