import { setTimeout as delay } from 'node:timers/promises';
import { AgentError, WireServerError } from '../errors.ts';

/**
 * The one retry loop for every fabric call, and its delay policy as a pure function (the shape of got's
 * calculate-retry-delay.ts). Two budgets meet here: the policy bounds one call's attempts, the absolute
 * run deadline bounds everything; no retry is ever scheduled past the deadline.
 */

/** How one kind of call is retried: exponential backoff with jitter and an attempt limit. */
export interface RetryPolicy {
  /** Delay after the first failed attempt; doubled after each further one. */
  baseDelayMs: number;
  /** Cap on the backoff delay (a longer Retry-After may still be honoured). */
  maxDelayMs: number;
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** 0..1, fraction of the delay randomized: the delay falls in [backoff * (1 - jitter), backoff]. */
  jitter: number;
  /**
   * The longest Retry-After honoured: a server asking for longer is tried again after this, so one answer
   * cannot spend the run (a 503 with Retry-After: 1190 would have). Without it only the deadline bounds it.
   */
  maxRetryAfterMs?: number;
}

/**
 * Policy for GETs (versions, goal state, hosting config, certificates).
 * WALA tries 6 times with Fibonacci sleeps of 2, 3, 5, 8, 13 s (31 s in all), or 25 times 1 s apart when
 * throttled; cloud-init retries every 1 s for up to 20 min; azure-init at a fixed interval for 1200 s.
 * cloud-init #3001 saw the certificates endpoint fail for over a minute, so a read must outlast that:
 * 12 attempts sleep 1+2+4+8 s then 10 s seven times, about 85 s plus the attempts themselves. A read
 * still gives up well inside the 20-minute run deadline, so there is time left to report
 * ProvisioningFailed with the reason instead of letting the platform time out with none.
 */
export const READ_POLICY: RetryPolicy = Object.freeze({
  baseDelayMs: 1_000,
  maxDelayMs: 10_000,
  maxAttempts: 12,
  // Many VMs share a host's WireServer; after a host-wide hiccup jitter spreads their retries.
  jitter: 0.2,
  // Eleven waits of at most 30 s: still well inside the run's deadline, whatever the fabric asks for.
  maxRetryAfterMs: 30_000,
});

/**
 * Policy for health reports (Provisioning, Ready, ProvisioningFailed), retried harder: a lost Ready is the
 * classic OSProvisioningTimedOut. WALA posts health with max_retry 30 and retry_delay 15 s, and its
 * Fibonacci growth stretches later sleeps to minutes; cloud-init retries every 1 s until 20 min. Here
 * 60 attempts with sleeps capped at 30 s add up to about 27 min, more than the 20-minute run deadline,
 * so the deadline, not the count, ends the attempts: the report is tried for as long as the run may
 * last, and a recovered fabric is noticed within 30 s.
 */
export const REPORT_POLICY: RetryPolicy = Object.freeze({
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxAttempts: 60,
  jitter: 0.2,
  maxRetryAfterMs: 90_000,
});

/** What failed, as far as retrying cares: the transport, the clock or an HTTP status. */
export interface RetryableFailure {
  kind: 'connection' | 'timeout' | 'status';
  status?: number;
}

/** Statuses worth another attempt (DESIGN.md rules; WALA RETRY_CODES and THROTTLE_CODES agree on these). */
export const RETRYABLE_STATUSES: readonly number[] = Object.freeze([429, 500, 502, 503, 504]);

/**
 * The decision after a failed attempt. Reasons are fixed words: 'backoff', 'retry-after',
 * 'retry-after-past-deadline' (the header was ignored, backoff used) when retrying; 'not-retryable',
 * 'attempt-limit', 'deadline' when giving up.
 */
export type RetryDecision = { retry: true; delayMs: number; reason: string } | { retry: false; reason: string };

/** Decides whether and when to try again; pure (the clock and the randomness are inputs). */
export function computeRetryDelay(input: {
  /** 1 = the attempt that just failed. */
  attempt: number;
  failure: RetryableFailure;
  /** The raw Retry-After header of the failed response, if any. */
  retryAfter?: string;
  now: number;
  deadline: number;
  policy: RetryPolicy;
  random: () => number;
}): RetryDecision {
  const { attempt, failure, now, deadline, policy } = input;
  if (!isRetryable(failure)) return { retry: false, reason: 'not-retryable' };
  if (now >= deadline) return { retry: false, reason: 'deadline' };
  if (attempt >= policy.maxAttempts) return { retry: false, reason: 'attempt-limit' };

  const exponential = policy.baseDelayMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(exponential, policy.maxDelayMs);
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const backoff = Math.max(0, Math.round(capped * (1 - jitter * input.random())));
  const fits = (ms: number): boolean => now + ms < deadline;

  const asked = input.retryAfter === undefined ? undefined : parseRetryAfter(input.retryAfter, now);
  const requested = asked === undefined ? undefined : Math.min(asked, policy.maxRetryAfterMs ?? Infinity);
  if (requested !== undefined && requested > backoff) {
    if (fits(requested)) return { retry: true, delayMs: requested, reason: 'retry-after' };
    // The server asks for longer than the run has left: waiting would only end in the deadline.
    if (fits(backoff)) return { retry: true, delayMs: backoff, reason: 'retry-after-past-deadline' };
    return { retry: false, reason: 'deadline' };
  }
  if (!fits(backoff)) return { retry: false, reason: 'deadline' };
  return { retry: true, delayMs: backoff, reason: 'backoff' };
}

function isRetryable(failure: RetryableFailure): boolean {
  if (failure.kind !== 'status') return true;
  return failure.status !== undefined && RETRYABLE_STATUSES.includes(failure.status);
}

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const LONG_DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
const MONTH = `(${MONTHS.join('|')})`;
// RFC 9110 5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must accept.
const IMF_FIXDATE = new RegExp(`^(?:${DAYS.join('|')}), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^(?:${LONG_DAYS.join('|')}), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^(?:${DAYS.join('|')}) ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/**
 * Retry-After (RFC 9110 10.2.3) as milliseconds from now: delay-seconds or an HTTP-date (a past date is 0).
 * Anything else is undefined, so the caller falls back to backoff; Date.parse is not used because it
 * accepts garbage ("5" is the year 2005) and reads asctime as local time.
 */
export function parseRetryAfter(value: string, now: number): number | undefined {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : undefined;
  }
  const at = parseHttpDate(text, now);
  return at === undefined ? undefined : Math.max(0, at - now);
}

function parseHttpDate(text: string, now: number): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(Number(m[3]), m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!);
  m = RFC850_DATE.exec(text);
  if (m) {
    // RFC 9110 5.6.7: a two-digit year more than 50 years in the future is the most recent past such year.
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return utc(year, m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!);
  }
  m = ASCTIME_DATE.exec(text);
  if (m) return utc(Number(m[6]), m[1]!, Number(m[2]!.trim()), m[3]!, m[4]!, m[5]!);
  return undefined;
}

function utc(year: number, month: string, day: number, hh: string, mm: string, ss: string): number | undefined {
  const monthIndex = MONTHS.indexOf(month);
  const [h, mi, s] = [Number(hh), Number(mm), Number(ss)];
  if (h > 23 || mi > 59 || s > 60) return undefined;
  const time = Date.UTC(year, monthIndex, day, h, mi, Math.min(s, 59));
  // Reject days the month does not have (Date.UTC would roll 31 Feb into March).
  return new Date(time).getUTCDate() === day ? time : undefined;
}

/** What onRetry hears before each sleep; the caller logs it (the loop itself does not log). */
export interface RetryEvent {
  /** The attempt that just failed (1-based). */
  attempt: number;
  delayMs: number;
  reason: string;
  error: unknown;
  /** When the next attempt starts (ms epoch). */
  until: number;
}

/** Options of withRetry; now, sleep and random are injectable for tests. */
export interface RetryOptions {
  policy: RetryPolicy;
  /** Absolute end of the whole run's budget (ms epoch). */
  deadline: number;
  /** Maps an error to a retryable failure; undefined = do not retry, throw it as it is. */
  classify: (err: unknown) => RetryableFailure | undefined;
  retryAfterOf?: (err: unknown) => string | undefined;
  onRetry?: (info: RetryEvent) => void;
  /** What the loop waits for, e.g. "GET http://host/machine/?comp=goalstate"; named in the deadline error. */
  what?: string;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  signal?: AbortSignal;
}

const defaultSleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
  // Not unref'd: the pending retry is what keeps the run alive.
  try {
    await delay(ms, undefined, signal === undefined ? undefined : { signal });
  } catch (err) {
    // The caller's abort reason, as httpRequest and throwIfAborted give it, not timers' wrapper.
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
};

/**
 * Runs fn until it succeeds, the failure is not retryable, the policy's attempts are used up or the
 * deadline leaves no room for another attempt. Gives up by throwing the last error, or on the deadline
 * a WireServerError DEADLINE_EXCEEDED with the last error as its cause.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const since = now();
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      const failure = options.classify(error);
      if (failure === undefined) throw error;
      const at = now();
      const decision = computeRetryDelay({
        attempt,
        failure,
        retryAfter: options.retryAfterOf?.(error),
        now: at,
        deadline: options.deadline,
        policy: options.policy,
        random,
      });
      if (!decision.retry) {
        if (decision.reason === 'deadline') throw deadlineError(error, attempt, since, options);
        throw error;
      }
      options.onRetry?.({ attempt, delayMs: decision.delayMs, reason: decision.reason, error, until: at + decision.delayMs });
      await sleep(decision.delayMs, options.signal);
    }
  }
}

function deadlineError(last: unknown, attempts: number, since: number, options: RetryOptions): WireServerError {
  const url = last instanceof WireServerError ? last.url : '';
  const what = options.what ?? (url || 'the fabric');
  const detail = last instanceof AgentError ? last.reason : last instanceof Error ? last.message : String(last);
  const reason =
    `${what}: still failing after ${attempts} attempt(s) since ${iso(since)}, and the run deadline ` +
    `${iso(options.deadline)} leaves no time for another; last error: ${detail.slice(0, 200)}`;
  return new WireServerError('DEADLINE_EXCEEDED', reason, url, {
    cause: last,
    status: last instanceof WireServerError ? last.status : undefined,
    context: { attempts, since: iso(since), deadline: iso(options.deadline) },
  });
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}
