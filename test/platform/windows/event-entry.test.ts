import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlatformRejectedError } from '../../../src/errors.ts';
import type { AgentEvent } from '../../../src/platform/platform.ts';
import { EVENT_MESSAGE_MAX_CHARS, toEventEntry } from '../../../src/platform/windows/event-entry.ts';

test('start and success are Information entries 1000 and 1001, failure is an Error entry 1002', () => {
  assert.deepEqual(toEventEntry({ kind: 'start', message: 'started' }), { eventId: 1000, entryType: 'Information', message: 'started' });
  assert.deepEqual(toEventEntry({ kind: 'success', message: 'done' }), { eventId: 1001, entryType: 'Information', message: 'done' });
  assert.deepEqual(toEventEntry({ kind: 'failure', message: 'failed' }), { eventId: 1002, entryType: 'Error', message: 'failed' });
});

test('a message over the event log limit is cut below it, says so, and keeps its beginning', () => {
  const head = 'provisioning failed [PLATFORM_COMMAND_FAILED]: ';
  const entry = toEventEntry({ kind: 'failure', message: head + 'x'.repeat(40_000) });
  assert.ok(entry.message.length <= EVENT_MESSAGE_MAX_CHARS);
  assert.ok(EVENT_MESSAGE_MAX_CHARS <= 31_839, 'within the documented ReportEventW limit');
  assert.ok(entry.message.startsWith(head));
  assert.match(entry.message, /x \[cut to the event log limit\]$/);
  const exact = 'y'.repeat(EVENT_MESSAGE_MAX_CHARS);
  assert.equal(toEventEntry({ kind: 'start', message: exact }).message, exact, 'a message at the limit is kept whole');
});

test('the cut never splits a surrogate pair, and NUL characters do not end the message early', () => {
  for (let shift = 0; shift < 4; shift += 1) {
    const message = 'a'.repeat(shift) + '😀'.repeat(20_000);
    const cut = toEventEntry({ kind: 'success', message }).message;
    assert.equal(cut, Buffer.from(cut, 'utf8').toString('utf8'), 'no lone surrogate');
    assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(cut));
  }
  assert.equal(toEventEntry({ kind: 'start', message: 'a\0b' }).message, 'a b');
});

test('an unknown kind is refused instead of writing an entry with no id', () => {
  assert.throws(() => toEventEntry({ kind: 'restart', message: 'x' } as unknown as AgentEvent), PlatformRejectedError);
  assert.throws(() => toEventEntry({ kind: 'toString', message: 'x' } as unknown as AgentEvent), /not one of start, success, failure/);
});
