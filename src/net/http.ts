import { connect } from 'node:net';
import { WireServerError } from '../errors.ts';
import { ResponseReadError, ResponseReader, type ResponseHead } from './http-response.ts';
import { CONTROL, printable } from '../util/escape.ts';
import { withRetry } from './retry.ts';
import { monotonicMs } from '../util/monotonic.ts';
import type { RetryableFailure, RetryEvent, RetryPolicy } from './retry.ts';

/**
 * The one HTTP client for the fabric: HTTP/1.1 written on a node:net socket and read by http-response.ts.
 * node:http cost a run about 10 ms of its main thread for six requests (its modules, and its request
 * and response machinery run in the interpreter), fetch more. It gives a connect timeout distinct from the
 * read timeout. Plain http: only (the WireServer has no TLS), no proxy, a fresh connection per request
 * closed afterwards (as WALA does), a capped head and body, and typed errors whose reasons name the
 * method and URL but never a header value (the certificates request carries a long one).
 */

/** One request and its three budgets: connect, read (idle) and the run's absolute deadline. */
export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  connectTimeoutMs: number;
  /** Idle time allowed between bytes, and before the first byte of the response. */
  readTimeoutMs: number;
  maxResponseBytes: number;
  /** Absolute ms epoch: the whole run's budget. */
  deadline: number;
  signal?: AbortSignal;
  /**
   * The status is the whole answer (a health report, the role properties): a 2xx head settles the request
   * unread, so a body over the cap, cut short or never ending cannot turn the fabric's acknowledgement into a failure.
   */
  statusOnly?: boolean;
}

/** A complete response: the body was read to its end and within the size cap. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: Buffer;
  durationMs: number;
}

// Node timers overflow above 2^31-1 ms (about 24.8 days); a deadline further away needs no timer.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Sends one request; resolves with the whole body or rejects with a WireServerError (or the abort reason). */
export async function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  const url = parseHttpUrl(req);
  const shown = displayUrl(url);
  const target = `${req.method} ${shown}`;
  const fail = (code: WireServerErrorCode, rule: string, failure?: RetryableFailure['kind'], extra: Extra = {}) =>
    new WireServerError(code, `${target}: ${rule}`, shown, {
      status: extra.status,
      cause: extra.cause,
      context: { method: req.method, failure, budget: extra.budget, errno: extra.errno },
    });

  req.signal?.throwIfAborted();
  const remaining = req.deadline - Date.now();
  if (remaining <= 0) throw fail('DEADLINE_EXCEEDED', `not sent: the run deadline ${iso(req.deadline)} has passed`);

  const head = requestHead(req, url, fail);
  const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
  const started = monotonicMs();
  return new Promise<HttpResponse>((resolve, reject) => {
    const timers: NodeJS.Timeout[] = [];
    let settled = false;
    const settle = (error: unknown, response?: HttpResponse): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (response) resolve(response);
      else reject(error);
    };
    const onAbort = (): void => settle(req.signal?.reason);

    const socket = connect({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port === '' ? 80 : Number(url.port), noDelay: true });
    /** Set once the request is written: from then on the fabric may have taken it (ready.ts answerLost). */
    let written = false;
    if (remaining <= MAX_TIMER_MS) {
      timers.push(
        setTimeout(() => settle(fail('DEADLINE_EXCEEDED', `the run deadline ${iso(req.deadline)} passed during the request`, undefined, written ? { budget: 'read' } : {})), remaining),
      );
    }
    const connectTimer = setTimeout(
      () => settle(fail('WIRESERVER_TIMEOUT', `no connection within ${req.connectTimeoutMs} ms (connect timeout)`, 'timeout', { budget: 'connect' })),
      req.connectTimeoutMs,
    );
    timers.push(connectTimer);
    req.signal?.addEventListener('abort', onAbort, { once: true });

    const reader = new ResponseReader(req.maxResponseBytes);
    const status = (): number | undefined => reader.head?.status;
    const unreadable = (err: unknown): WireServerError => {
      if (!(err instanceof ResponseReadError)) return fail('WIRESERVER_UNREACHABLE', 'the response could not be read', 'connection', { cause: err });
      const { problem } = err;
      if (problem.kind === 'too-large') return overLimit(reader.head!, problem.declared ?? `more than ${req.maxResponseBytes}`);
      if (problem.kind === 'truncated') {
        // The request was written: a close before any byte of the answer is what node:http called a socket
        // hang up (ECONNRESET), and ready.ts counts it as an attempt that may have reached the fabric.
        // (Bytes that never made a head are a malformed response, not this: http-response.ts end().)
        if (reader.head === undefined) return fail('WIRESERVER_UNREACHABLE', 'the connection closed before a complete answer (ECONNRESET: socket hang up)', 'connection', { errno: 'ECONNRESET' });
        const declared = reader.declaredLength ?? 'the chunked';
        return fail('WIRESERVER_UNREACHABLE', `the connection closed after ${reader.bodyBytes} of ${declared} body bytes (truncated response)`, 'connection', { status: status() });
      }
      return fail('WIRESERVER_UNREACHABLE', `the response is not valid HTTP/1.1: ${problem.rule}`, 'connection', { status: status() });
    };
    // The cap is met after the head: its status still decides. A 503 is retried as one and a 410 is
    // GOAL_STATE_CHANGED, whatever their bodies; a 2xx is refused for its body (a statusOnly request has settled).
    const overLimit = (responseHead: ResponseHead, size: number | string): WireServerError => {
      const rule = `response body of ${size} bytes is over the limit of ${req.maxResponseBytes}`;
      if (responseHead.status < 200 || responseHead.status >= 300) return statusError(req, responseHead, `the ${rule} (not read)`);
      return fail('WIRESERVER_HTTP', `HTTP ${responseHead.status}, but the ${rule}`, undefined, { status: responseHead.status });
    };
    const acknowledged = (): boolean => req.statusOnly === true && reader.head !== undefined && reader.head.status >= 200 && reader.head.status < 300;
    const finish = (): void => {
      const responseHead = reader.head!;
      settle(undefined, { status: responseHead.status, headers: responseHead.headers, body: reader.done ? reader.body : Buffer.alloc(0), durationMs: Math.round(monotonicMs() - started) });
    };

    socket.once('connect', () => {
      clearTimeout(connectTimer);
      // Idle timeout on the socket: it restarts on every byte in either direction.
      socket.setTimeout(req.readTimeoutMs, () =>
        settle(fail('WIRESERVER_TIMEOUT', `no data for ${req.readTimeoutMs} ms (read timeout)`, 'timeout', { budget: 'read' })),
      );
      // And the whole answer in twice that: a byte now and then (a slow drip, endless header or trailer
      // lines) restarts the idle timeout for ever, and would hold one attempt until the run's deadline.
      const answerLimitMs = 2 * req.readTimeoutMs;
      timers.push(setTimeout(
        () => settle(fail('WIRESERVER_TIMEOUT', `the answer was not complete within ${answerLimitMs} ms (twice the read timeout)`, 'timeout', { budget: 'read' })),
        answerLimitMs,
      ));
      socket.write(body === undefined ? head : Buffer.concat([head, body]));
      written = true;
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.feed(chunk);
      } catch (err) {
        return acknowledged() ? finish() : settle(unreadable(err));
      }
      if (reader.done || acknowledged()) finish();
    });
    socket.on('end', () => {
      try {
        reader.end();
      } catch (err) {
        return settle(unreadable(err));
      }
      finish();
    });
    socket.on('close', () => settle(unreadable(new ResponseReadError({ kind: 'truncated' }))));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const errno = err.code ?? 'unknown';
      // After the head, a reset is a truncated response, as node:http reported it.
      if (reader.head !== undefined) return settle(fail('WIRESERVER_UNREACHABLE', `the connection closed after ${reader.bodyBytes} body bytes (truncated response: ${errno})`, 'connection', { status: status(), cause: err, errno }));
      settle(fail('WIRESERVER_UNREACHABLE', `connection failed (${errno}: ${err.message})`, 'connection', { cause: err, errno }));
    });
  });
}

/** Header names are tokens and values hold no CR, LF or NUL (RFC 9110 5.5): a header cannot smuggle another line in. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE = /^[^\u0000\r\n]*$/;

/** The request line and headers: Host, the caller's headers, Connection: close and the body's length. */
function requestHead(req: HttpRequest, url: URL, fail: (code: WireServerErrorCode, rule: string) => WireServerError): Buffer {
  const lines = [`${req.method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    if (/^(connection|content-length|host|transfer-encoding)$/i.test(name)) continue;
    if (!HEADER_NAME.test(name)) throw fail('WIRESERVER_HTTP', `not sent: the header name ${JSON.stringify(name.slice(0, 40))} is not an HTTP token`);
    // The name only: a value may be a secret or a long certificate.
    if (!HEADER_VALUE.test(value)) throw fail('WIRESERVER_HTTP', `not sent: the value of header ${name} has a CR, LF or NUL`);
    lines.push(`${name}: ${value}`);
  }
  lines.push('Connection: close');
  if (req.body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(req.body, 'utf8')}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

type WireServerErrorCode = ConstructorParameters<typeof WireServerError>[0];
interface Extra {
  status?: number;
  cause?: unknown;
  budget?: 'connect' | 'read';
  errno?: string;
}

/** A fabric call: httpRequest under the one retry loop, with the fabric's status rules. */
export interface FabricRequest extends HttpRequest {
  policy: RetryPolicy;
  onRetry?: (info: RetryEvent) => void;
  /** Statuses that count as success; default any 2xx (role properties must answer 202). */
  okStatuses?: number[];
}

/**
 * Retries connection errors, timeouts and 429/500/502/503/504 (honouring Retry-After); returns a 2xx (or
 * okStatuses); 410 is GOAL_STATE_CHANGED at once (the caller refreshes the goal state); any other status is
 * WIRESERVER_HTTP at once, with up to 200 characters of the body.
 */
export async function fabricRequest(req: FabricRequest): Promise<HttpResponse> {
  const { policy, onRetry, okStatuses, ...request } = req;
  const isOk = (status: number): boolean => (okStatuses ? okStatuses.includes(status) : status >= 200 && status < 300);
  return withRetry(
    async () => {
      const response = await httpRequest(request);
      if (isOk(response.status)) return response;
      throw statusError(request, response, bodyExcerpt(response.body));
    },
    {
      policy,
      deadline: req.deadline,
      classify: classifyFabricError,
      retryAfterOf: (err) => (err instanceof WireServerError ? (err.context['retryAfter'] as string | undefined) : undefined),
      onRetry,
      what: `${req.method} ${safeDisplayUrl(req.url)}`,
      signal: req.signal,
    },
  );
}

/** The retry view of an error from httpRequest or fabricRequest; undefined = do not retry. */
export function classifyFabricError(err: unknown): RetryableFailure | undefined {
  if (!(err instanceof WireServerError)) return undefined;
  const failure = err.context['failure'];
  if (failure === 'connection' || failure === 'timeout') return { kind: failure };
  if (failure === 'status') return { kind: 'status', status: err.status };
  return undefined;
}

/** The error for a status that is not a success; `detail` is the body's excerpt, or why there is none. */
function statusError(req: HttpRequest, res: Pick<HttpResponse, 'status' | 'headers'>, detail: string): WireServerError {
  const shown = safeDisplayUrl(req.url);
  const target = `${req.method} ${shown}`;
  if (res.status === 410) {
    return new WireServerError('GOAL_STATE_CHANGED', `${target}: HTTP 410 Gone, the goal state changed`, shown, {
      status: 410,
      hint: 'the goal state is fetched again',
      context: { method: req.method },
    });
  }
  return new WireServerError('WIRESERVER_HTTP', `${target}: HTTP ${res.status}${detail ? `: ${detail}` : ''}`, shown, {
    status: res.status,
    context: { method: req.method, failure: 'status', retryAfter: res.headers['retry-after'] },
  });
}

const CONTROL_RUNS = new RegExp(`${CONTROL.source}+`, 'g');

/** Up to 200 characters of a body as text: control characters turned into single spaces, the rest printable (util/escape.ts). */
function bodyExcerpt(body: Buffer): string {
  return printable(body.subarray(0, 800).toString('utf8').replace(CONTROL_RUNS, ' ').trim(), 200);
}

function parseHttpUrl(req: HttpRequest): URL {
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    throw badUrl(req, 'is not a valid URL');
  }
  if (url.protocol !== 'http:') throw badUrl(req, `uses ${url.protocol} but only http: is supported (the WireServer speaks plain HTTP)`);
  return url;
}

function badUrl(req: HttpRequest, rule: string): WireServerError {
  const shown = safeDisplayUrl(req.url);
  return new WireServerError('WIRESERVER_UNREACHABLE', `${req.method} ${shown}: the URL ${rule}`, shown, {
    hint: 'the fabric address or a URL in the goal state is wrong',
    context: { method: req.method },
  });
}

/** The URL for messages: scheme, host, path and query; credentials dropped; at most 300 characters. */
function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search}`.slice(0, 300);
}

function safeDisplayUrl(raw: string): string {
  try {
    return displayUrl(new URL(raw));
  } catch {
    return raw.replace(new RegExp(CONTROL.source, 'g'), '').slice(0, 300);
  }
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}
