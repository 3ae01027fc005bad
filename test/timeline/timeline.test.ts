import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignLanes, formatTimeline, niceScale, runTimeline } from '../../src/timeline.ts';
import { KNOWN_TIMELINE, knownJournal } from './known-journal.ts';

test('the text timeline of a known journal: one line per step on a shared axis, parallel steps in the same columns', () => {
  assert.deepEqual(formatTimeline(knownJournal()).split('\n'), [...KNOWN_TIMELINE, '']);
});

test('runTimeline places steps from the run start and lists skipped steps apart', () => {
  const timeline = runTimeline(knownJournal());
  assert.equal(timeline.spanMs, 500);
  assert.deepEqual(timeline.skipped, ['winrm']);
  assert.deepEqual(timeline.bars.slice(1, 3).map((b) => [b.name, b.startMs, b.durationMs]), [['provisioning-config', 10, 40], ['dhcp', 12, 20]]);
});

test('assignLanes puts overlapping bars side by side and reuses a lane once it is free', () => {
  const lanes = assignLanes([
    { startMs: 0, durationMs: 10 },
    { startMs: 5, durationMs: 10 },
    { startMs: 10, durationMs: 10 },
    { startMs: 12, durationMs: 1 },
    { startMs: 16, durationMs: undefined },
  ], 100);
  assert.deepEqual(lanes, [0, 1, 0, 2, 1]);
});

test('niceScale rounds up to 1, 2 or 5 times a power of ten', () => {
  assert.deepEqual([0.3, 1, 1.5, 3, 7, 10, 11, 240].map(niceScale), [1, 1, 2, 5, 10, 10, 20, 500]);
  // A damaged time makes NaN: a scale at once, not a search without end.
  assert.deepEqual([Number.NaN, Number.POSITIVE_INFINITY].map(niceScale), [1, 1]);
});
