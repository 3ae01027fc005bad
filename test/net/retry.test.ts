import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeRetryDelay, parseRetryAfter, withRetry, READ_POLICY, REPORT_POLICY } from '../../src/net/retry.ts';
import type { RetryableFailure, RetryEvent, RetryPolicy } from '../../src/net/retry.ts';
import { WireServerError } from '../../src/errors.ts';

const NOW = Date.UTC(2025, 5, 2, 10, 0, 0); // Mon, 02 Jun 2025 10:00:00 GMT
const POLICY: RetryPolicy = { baseDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 6, jitter: 0 };
const JITTERY: RetryPolicy = { ...POLICY, jitter: 0.5 };
const conn: RetryableFailure = { kind: 'connection' };
const status = (code: number): RetryableFailure => ({ kind: 'status', status: code });

interface Row {
  name: string;
  attempt: number;
  failure: RetryableFailure;
  retryAfter?: string;
  now?: number;
  deadline?: number;
  policy?: RetryPolicy;
  random?: number;
  expect: { retry: true; delayMs: number; reason: string } | { retry: false; reason: string };
}

const rows: Row[] = [
  { name: 'first connection failure waits the base delay', attempt: 1, failure: conn, expect: { retry: true, delayMs: 100, reason: 'backoff' } },
  { name: 'the delay doubles per attempt', attempt: 2, failure: conn, expect: { retry: true, delayMs: 200, reason: 'backoff' } },
  { name: 'a timeout backs off like a connection error', attempt: 3, failure: { kind: 'timeout' }, expect: { retry: true, delayMs: 400, reason: 'backoff' } },
  { name: 'the backoff is capped at maxDelayMs', attempt: 5, failure: conn, expect: { retry: true, delayMs: 1_000, reason: 'backoff' } },
  { name: 'jitter with random 0 keeps the full delay', attempt: 3, failure: conn, policy: JITTERY, random: 0, expect: { retry: true, delayMs: 400, reason: 'backoff' } },
  { name: 'jitter with random near 1 takes off the jitter fraction', attempt: 3, failure: conn, policy: JITTERY, random: 0.999999, expect: { retry: true, delayMs: 200, reason: 'backoff' } },
  { name: 'jitter applies to the capped delay', attempt: 6, failure: conn, policy: { ...JITTERY, maxAttempts: 10 }, random: 0.5, expect: { retry: true, delayMs: 750, reason: 'backoff' } },
  { name: 'the last allowed attempt gives up', attempt: 6, failure: conn, expect: { retry: false, reason: 'attempt-limit' } },
  { name: '404 is not retried', attempt: 1, failure: status(404), expect: { retry: false, reason: 'not-retryable' } },
  { name: '400 is not retried', attempt: 1, failure: status(400), expect: { retry: false, reason: 'not-retryable' } },
  { name: '410 is not retried (the caller refreshes the goal state)', attempt: 1, failure: status(410), expect: { retry: false, reason: 'not-retryable' } },
  { name: 'a status failure without a status is not retried', attempt: 1, failure: { kind: 'status' }, expect: { retry: false, reason: 'not-retryable' } },
  { name: '500 is retried', attempt: 1, failure: status(500), expect: { retry: true, delayMs: 100, reason: 'backoff' } },
  { name: '502 is retried', attempt: 2, failure: status(502), expect: { retry: true, delayMs: 200, reason: 'backoff' } },
  { name: '504 is retried', attempt: 1, failure: status(504), expect: { retry: true, delayMs: 100, reason: 'backoff' } },
  { name: '429 with Retry-After seconds waits that long', attempt: 1, failure: status(429), retryAfter: '5', expect: { retry: true, delayMs: 5_000, reason: 'retry-after' } },
  { name: 'Retry-After with surrounding whitespace is read', attempt: 1, failure: status(503), retryAfter: ' 2 ', expect: { retry: true, delayMs: 2_000, reason: 'retry-after' } },
  { name: 'Retry-After shorter than the backoff keeps the backoff', attempt: 3, failure: status(503), retryAfter: '0', expect: { retry: true, delayMs: 400, reason: 'backoff' } },
  { name: 'Retry-After as IMF-fixdate', attempt: 1, failure: status(503), retryAfter: 'Mon, 02 Jun 2025 10:00:03 GMT', expect: { retry: true, delayMs: 3_000, reason: 'retry-after' } },
  { name: 'Retry-After as obsolete RFC 850 date', attempt: 1, failure: status(503), retryAfter: 'Monday, 02-Jun-25 10:00:04 GMT', expect: { retry: true, delayMs: 4_000, reason: 'retry-after' } },
  { name: 'Retry-After as asctime date (read as GMT)', attempt: 1, failure: status(503), retryAfter: 'Mon Jun  2 10:00:07 2025', expect: { retry: true, delayMs: 7_000, reason: 'retry-after' } },
  { name: 'Retry-After date in the past falls back to backoff', attempt: 2, failure: status(503), retryAfter: 'Mon, 02 Jun 2025 09:00:00 GMT', expect: { retry: true, delayMs: 200, reason: 'backoff' } },
  { name: 'Retry-After beyond the deadline is ignored for the backoff', attempt: 1, failure: status(503), retryAfter: '3600', deadline: NOW + 60_000, expect: { retry: true, delayMs: 100, reason: 'retry-after-past-deadline' } },
  { name: 'Retry-After beyond the deadline with no room for backoff gives up', attempt: 1, failure: status(429), retryAfter: '3600', deadline: NOW + 50, expect: { retry: false, reason: 'deadline' } },
  { name: 'Retry-After longer than the policy honours waits its longest', attempt: 1, failure: status(503), retryAfter: '1190', policy: { ...POLICY, maxRetryAfterMs: 60_000 }, expect: { retry: true, delayMs: 60_000, reason: 'retry-after' } },
  { name: 'without a longest Retry-After only the deadline bounds it', attempt: 1, failure: status(503), retryAfter: '1190', deadline: NOW + 3_600_000, policy: { baseDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 6, jitter: 0 }, expect: { retry: true, delayMs: 1_190_000, reason: 'retry-after' } },
  { name: 'reads honour Retry-After up to 30 s, so their attempts end well inside the run', attempt: 1, failure: status(503), retryAfter: '1190', policy: READ_POLICY, expect: { retry: true, delayMs: 30_000, reason: 'retry-after' } },
  { name: 'reports honour Retry-After up to 90 s', attempt: 1, failure: status(503), retryAfter: '1190', policy: REPORT_POLICY, expect: { retry: true, delayMs: 90_000, reason: 'retry-after' } },
  { name: 'garbage Retry-After falls back to backoff', attempt: 2, failure: status(503), retryAfter: 'soon', expect: { retry: true, delayMs: 200, reason: 'backoff' } },
  { name: 'fractional Retry-After is garbage', attempt: 1, failure: status(503), retryAfter: '1.5', expect: { retry: true, delayMs: 100, reason: 'backoff' } },
  { name: 'negative Retry-After is garbage', attempt: 1, failure: status(503), retryAfter: '-3', expect: { retry: true, delayMs: 100, reason: 'backoff' } },
  { name: 'an impossible date (31 Feb) is garbage', attempt: 1, failure: status(503), retryAfter: 'Mon, 31 Feb 2025 10:00:03 GMT', expect: { retry: true, delayMs: 100, reason: 'backoff' } },
  { name: 'a deadline already passed gives up', attempt: 1, failure: conn, now: NOW + 1, deadline: NOW, expect: { retry: false, reason: 'deadline' } },
  { name: 'a backoff that would pass the deadline gives up', attempt: 4, failure: conn, deadline: NOW + 500, expect: { retry: false, reason: 'deadline' } },
  { name: 'a backoff ending exactly at the deadline gives up', attempt: 1, failure: conn, deadline: NOW + 100, expect: { retry: false, reason: 'deadline' } },
];

for (const row of rows) {
  test(`computeRetryDelay: ${row.name}`, () => {
    const decision = computeRetryDelay({
      attempt: row.attempt,
      failure: row.failure,
      retryAfter: row.retryAfter,
      now: row.now ?? NOW,
      deadline: row.deadline ?? NOW + 600_000,
      policy: row.policy ?? POLICY,
      random: () => row.random ?? 0,
    });
    assert.deepEqual(decision, row.expect);
  });
}

test('computeRetryDelay stays within the jitter bounds for any random value', () => {
  for (let i = 0; i <= 100; i++) {
    const r = i / 100 - (i === 100 ? 1e-9 : 0);
    const decision = computeRetryDelay({ attempt: 4, failure: conn, now: NOW, deadline: NOW + 60_000, policy: { ...POLICY, jitter: 0.2 }, random: () => r });
    assert.equal(decision.retry, true);
    if (decision.retry) assert.ok(decision.delayMs >= 640 && decision.delayMs <= 800, `delay ${decision.delayMs} for random ${r}`);
  }
});

test('parseRetryAfter reads an RFC 850 two-digit year more than 50 years ahead as the past century', () => {
  // At 2025, "75" would be 2075 (50 years ahead, allowed) and "80" 2080 (more than 50: 1980, so 0 ms).
  assert.equal(parseRetryAfter('Monday, 02-Jun-80 10:00:00 GMT', NOW), 0);
  assert.ok((parseRetryAfter('Sunday, 02-Jun-75 10:00:00 GMT', NOW) ?? 0) > 0);
});

test('the presets retry reports harder than reads and both fit the 20-minute run budget shape', () => {
  assert.ok(REPORT_POLICY.maxAttempts > READ_POLICY.maxAttempts);
  const sleeps = (p: RetryPolicy) => Array.from({ length: p.maxAttempts - 1 }, (_, i) => Math.min(p.baseDelayMs * 2 ** i, p.maxDelayMs)).reduce((a, b) => a + b, 0);
  // Reads give up early enough to leave time for a failure report; reports outlast the run deadline.
  assert.ok(sleeps(READ_POLICY) > 60_000 && sleeps(READ_POLICY) < 5 * 60_000, `read sleeps ${sleeps(READ_POLICY)}`);
  assert.ok(sleeps(REPORT_POLICY) > 20 * 60_000, `report sleeps ${sleeps(REPORT_POLICY)}`);
});

/** A fake clock: sleep advances time instantly and records the delays. */
function fakeClock(start = NOW) {
  const clock = { t: start, sleeps: [] as number[] };
  return {
    clock,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
}

const unreachable = (n: number) => new WireServerError('WIRESERVER_UNREACHABLE', `GET http://127.0.0.1/x: refused #${n}`, 'http://127.0.0.1/x');
const classifyAll = (): RetryableFailure => ({ kind: 'connection' });

test('withRetry returns the first success and counts attempts', async () => {
  const { clock, now, sleep } = fakeClock();
  const events: RetryEvent[] = [];
  let calls = 0;
  const result = await withRetry(
    async (attempt) => {
      calls++;
      assert.equal(attempt, calls);
      if (attempt < 3) throw unreachable(attempt);
      return 'ok';
    },
    { policy: POLICY, deadline: NOW + 60_000, classify: classifyAll, onRetry: (e) => events.push(e), now, sleep, random: () => 0 },
  );
  assert.equal(result, 'ok');
  assert.equal(calls, 3);
  assert.deepEqual(clock.sleeps, [100, 200]);
  assert.deepEqual(
    events.map((e) => [e.attempt, e.delayMs, e.reason, e.until - NOW]),
    [
      [1, 100, 'backoff', 100],
      [2, 200, 'backoff', 300],
    ],
  );
  assert.match((events[0]!.error as Error).message, /refused #1/);
});

test('withRetry throws the last error when the attempt limit is reached', async () => {
  const { now, sleep } = fakeClock();
  let calls = 0;
  await assert.rejects(
    withRetry(async (attempt) => { calls++; throw unreachable(attempt); }, { policy: POLICY, deadline: NOW + 600_000, classify: classifyAll, now, sleep, random: () => 0 }),
    (err: unknown) => err instanceof WireServerError && err.code === 'WIRESERVER_UNREACHABLE' && /refused #6/.test(err.reason),
  );
  assert.equal(calls, POLICY.maxAttempts);
});

test('withRetry throws a non-retryable error at once, without sleeping', async () => {
  const { clock, now, sleep } = fakeClock();
  let calls = 0;
  const boom = new WireServerError('WIRESERVER_HTTP', 'GET http://127.0.0.1/x: HTTP 404', 'http://127.0.0.1/x', { status: 404 });
  await assert.rejects(
    withRetry(async () => { calls++; throw boom; }, { policy: POLICY, deadline: NOW + 60_000, classify: () => ({ kind: 'status', status: 404 }), now, sleep }),
    (err) => err === boom,
  );
  assert.equal(calls, 1);
  assert.deepEqual(clock.sleeps, []);
});

test('withRetry throws an unclassified error as it is', async () => {
  const { now, sleep } = fakeClock();
  const boom = new TypeError('bug');
  await assert.rejects(withRetry(async () => { throw boom; }, { policy: POLICY, deadline: NOW + 60_000, classify: () => undefined, now, sleep }), (err) => err === boom);
});

test('withRetry gives up with DEADLINE_EXCEEDED naming what it waited for and since when, the last error as cause', async () => {
  const { clock, now, sleep } = fakeClock();
  let last: unknown;
  const policy: RetryPolicy = { baseDelayMs: 1_000, maxDelayMs: 1_000, maxAttempts: 100, jitter: 0 };
  await assert.rejects(
    withRetry(
      async (attempt) => {
        clock.t += 500; // each attempt takes half a second
        last = unreachable(attempt);
        throw last;
      },
      { policy, deadline: NOW + 10_000, classify: classifyAll, what: 'GET http://127.0.0.1/machine/?comp=goalstate', now, sleep },
    ),
    (err: unknown) => {
      assert.ok(err instanceof WireServerError);
      assert.equal(err.code, 'DEADLINE_EXCEEDED');
      assert.equal(err.cause, last);
      assert.equal(err.url, 'http://127.0.0.1/x');
      assert.match(err.reason, /^GET http:\/\/127\.0\.0\.1\/machine\/\?comp=goalstate: /);
      assert.match(err.reason, /since 2025-06-02T10:00:00\.000Z/);
      assert.match(err.reason, /refused #7/);
      return true;
    },
  );
  // Attempts end at 0.5, 2, 3.5, 5, 6.5, 8, 9.5 s; a 1 s sleep after the 7th would pass 10 s.
  assert.equal(clock.sleeps.length, 6);
  assert.ok(clock.t <= NOW + 10_000);
});

test('withRetry waits the Retry-After the error carries', async () => {
  const { clock, now, sleep } = fakeClock();
  await withRetry(
    async (attempt) => {
      if (attempt === 1) throw unreachable(1);
      return 1;
    },
    { policy: POLICY, deadline: NOW + 60_000, classify: () => ({ kind: 'status', status: 503 }), retryAfterOf: () => '7', now, sleep },
  );
  assert.deepEqual(clock.sleeps, [7_000]);
});

test('withRetry stops when the signal aborts during a real sleep', async () => {
  const controller = new AbortController();
  const started = Date.now();
  setTimeout(() => controller.abort(new Error('stopped')), 30);
  await assert.rejects(
    withRetry(async () => { throw unreachable(1); }, { policy: { ...POLICY, baseDelayMs: 5_000, maxDelayMs: 5_000 }, deadline: Date.now() + 60_000, classify: classifyAll, signal: controller.signal }),
    /stopped/,
  );
  assert.ok(Date.now() - started < 1_000);
});
