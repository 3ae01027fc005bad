import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Journal } from '../src/journal.ts';
import type { AgentState, Platform } from '../src/platform/platform.ts';
import type { Log } from '../src/util/log.ts';

/** A platform whose writeAgentState is held until the test releases it, recording each state written. */
function recordingPlatform() {
  const written: AgentState[] = [];
  const held: { release: () => void; fail: (err: Error) => void }[] = [];
  const platform = {
    writeAgentState: (state: AgentState) =>
      new Promise<void>((resolve, reject) => {
        held.push({
          release: () => {
            written.push(state);
            resolve();
          },
          fail: reject,
        });
      }),
  } as unknown as Platform;
  return { platform, written, held };
}

function recordingLog(): Log & { warnings: string[] } {
  const warnings: string[] = [];
  const nothing = () => {};
  return { warnings, debug: nothing, info: nothing, warn: (m: string) => void warnings.push(m), error: nothing, attachFile: nothing, close: nothing };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

test('records made together are saved by one write holding all of them', async () => {
  const { platform, written, held } = recordingPlatform();
  const journal = new Journal(platform, recordingLog(), '0.0.0');
  const saves = ['a', 'b', 'c'].map((name) => journal.applied('certificate', name));
  await tick();
  assert.equal(held.length, 1);
  held[0]!.release();
  await Promise.all(saves);
  assert.equal(written.length, 1);
  assert.deepEqual(written[0]!.applied.map((a) => a.detail), ['a', 'b', 'c']);
});

test('a save asked during a write waits for a second write that holds the newer state', async () => {
  const { platform, written, held } = recordingPlatform();
  const journal = new Journal(platform, recordingLog(), '0.0.0');
  let firstDone = false;
  const first = journal.applied('computer-name', 'first').then(() => void (firstDone = true));
  await tick();
  let secondDone = false;
  const second = journal.applied('admin-account', 'second').then(() => void (secondDone = true));
  await tick();
  // One write at a time: the second has not started while the first is in flight.
  assert.equal(held.length, 1);
  held[0]!.release();
  await first;
  assert.equal(secondDone, false, 'the second record is not saved by the write that started before it');
  await tick();
  assert.equal(held.length, 2);
  held[1]!.release();
  await second;
  assert.ok(firstDone);
  assert.deepEqual(written.map((state) => state.applied.map((a) => a.detail)), [['first'], ['first', 'second']]);
});

test('a failed write is one warning and does not stop later saves', async () => {
  const { platform, written, held } = recordingPlatform();
  const log = recordingLog();
  const journal = new Journal(platform, log, '0.0.0');
  const failed = Promise.all([journal.applied('x', '1'), journal.applied('x', '2')]);
  await tick();
  held[0]!.fail(new Error('disk full'));
  await failed;
  assert.equal(log.warnings.length, 1);
  assert.match(log.warnings[0]!, /journal could not be saved: disk full/);
  const later = journal.applied('x', '3');
  await tick();
  held[1]!.release();
  await later;
  assert.deepEqual(written[0]!.applied.map((a) => a.detail), ['1', '2', '3']);
});

test('after finish() nothing is written again: a step still settling does not overwrite a later run\'s journal', async () => {
  const { platform, written, held } = recordingPlatform();
  const journal = new Journal(platform, recordingLog(), '0.0.0');
  let endLateStep: () => void = () => {};
  const late = journal.step('media', () => new Promise<string>((resolve) => (endLateStep = () => resolve('D:\\')))).catch(() => undefined);
  const finished = journal.finish('failed');
  await tick();
  held.shift()!.release();
  await finished;
  assert.equal(written.length, 1);
  assert.equal(written[0]!.result, 'failed');
  endLateStep();
  await late;
  await tick();
  assert.equal(held.length, 0, 'the late step asked for no write');
  assert.equal(written.length, 1);
});
