import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timingLine } from '../../src/platform/windows/session.ts';
import { overlapMs, parsePowerShellTimings, splitTime, union } from '../../bench/windows-timing.ts';
import { windowsRowResult } from '../../bench/windows-report.ts';

test('the session timing lines are read back onto the run axis', () => {
  const origin = 1_765_000_000_000;
  const output = [
    '07:00:00.001 DEBUG starting powershell',
    `07:00:00.900 DEBUG ${timingLine('start', origin + 100, origin + 900.5)}`,
    `07:00:00.950 DEBUG ${timingLine('readVmId #1', origin + 910, origin + 950.25, 810)}`,
  ].join('\n');
  assert.deepEqual(parsePowerShellTimings(output, origin), [
    { what: 'start', id: undefined, startMs: 100, endMs: 900.5, queuedMs: undefined },
    { what: 'readVmId', id: 1, startMs: 910, endMs: 950.3, queuedMs: 810 },
  ]);
});

test('interval arithmetic: union, overlap, and the split of the time to Ready', () => {
  assert.deepEqual(union([{ startMs: 5, endMs: 10 }, { startMs: 0, endMs: 6 }, { startMs: 20, endMs: 30 }]), [{ startMs: 0, endMs: 10 }, { startMs: 20, endMs: 30 }]);
  assert.equal(overlapMs([{ startMs: 0, endMs: 10 }, { startMs: 20, endMs: 30 }], [{ startMs: 5, endMs: 25 }]), 10);
  // PowerShell 0-50 and 60-80, fabric 40-70, Ready at 100: both 10 + 10, PowerShell alone 50, fabric alone 10, neither 20.
  assert.deepEqual(splitTime(100, [{ startMs: 0, endMs: 50 }, { startMs: 60, endMs: 80 }], [{ startMs: 40, endMs: 70 }]), { powershellOnlyMs: 50, fabricOnlyMs: 10, bothMs: 20, agentOwnMs: 20 });
});

test('a Windows row: session start, first and later calls per verb, overlap with the fabric steps', () => {
  const run = {
    timeToReadyMs: 1000,
    powershell: [
      { what: 'start', id: undefined, startMs: 100, endMs: 600, queuedMs: undefined },
      { what: 'recordEvent', id: 1, startMs: 600, endMs: 640, queuedMs: 400 },
      { what: 'findFabricInterface', id: 2, startMs: 640, endMs: 700, queuedMs: 1 },
      { what: 'recordEvent', id: 3, startMs: 800, endMs: 805, queuedMs: 0 },
    ],
    bars: [{ name: 'versions', startMs: 690, durationMs: 20 }, { name: 'identity', startMs: 600, durationMs: 40 }],
  };
  const row = windowsRowResult('windows/certs-0', [run], 10);
  assert.equal(row.sessionStartMs.median, 500);
  assert.equal(row.sessionSpawnAtMs.median, 100);
  const recordEvent = row.verbs.find((v) => v.verb === 'recordEvent')!;
  assert.deepEqual([recordEvent.firstMs.median, recordEvent.laterMs.median], [40, 5]);
  assert.equal(row.overlapMs.median, 10);
  assert.equal(row.overlapShare.median, 0.5);
  assert.equal(row.beyondMs.median, 1000 - 500 - 10);
});
