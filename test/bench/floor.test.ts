import { test } from 'node:test';
import assert from 'node:assert/strict';
import { floorMs, growsLinearly, ratio, rowFloorParts, slopes } from '../../bench/floor.ts';

const measured = { nodeStartupMs: 30, fabricRoundTripsMs: 6, keyGenerationMs: 40, decryptMs: 9 };

test('the floor is the sum of node start-up, round trips, key generation and decryption', () => {
  assert.equal(floorMs(measured), 85);
  assert.equal(ratio(170, floorMs(measured)), 2);
  assert.ok(Number.isNaN(ratio(100, 0)));
});

test('a row without certificates needs neither a transport key nor decryption in its floor', () => {
  assert.deepEqual(rowFloorParts(0, measured), { ...measured, keyGenerationMs: 0, decryptMs: 0 });
  assert.deepEqual(rowFloorParts(1, measured), measured);
  assert.equal(floorMs(rowFloorParts(0, measured)), 36);
});

test('slopes are the cost per added certificate between consecutive counts, in count order', () => {
  assert.deepEqual(slopes([{ count: 10, ms: 300 }, { count: 1, ms: 210 }, { count: 50, ms: 700 }]), [
    { from: 1, to: 10, msPerUnit: 10 },
    { from: 10, to: 50, msPerUnit: 10 },
  ]);
});

test('linear growth passes; growth whose last step costs far more per certificate than the average fails', () => {
  const linear = growsLinearly([{ count: 1, ms: 200 }, { count: 10, ms: 290 }, { count: 50, ms: 690 }]);
  assert.equal(linear.linear, true);
  assert.equal(linear.firstMsPerUnit, 10);
  assert.equal(linear.lastMsPerUnit, 10);
  // Fixed costs amortizing (each certificate cheaper than the last) is linear too.
  assert.equal(growsLinearly([{ count: 1, ms: 230 }, { count: 10, ms: 300 }, { count: 50, ms: 450 }]).linear, true);
  // Quadratic: 0.5 ms x n^2 on top of a fixed 200 ms.
  const points = [1, 10, 50].map((count) => ({ count, ms: 200 + 0.5 * count * count }));
  assert.equal(growsLinearly(points).linear, false);
  // A single point (or none) cannot show growth.
  assert.equal(growsLinearly([{ count: 1, ms: 200 }]).linear, true);
});
