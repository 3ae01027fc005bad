import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WireServerError } from '../errors.ts';
import { withRetry } from './retry.ts';
import type { RetryableFailure, RetryEvent, RetryPolicy } from './retry.ts';

/**
 * The one HTTP client for the fabric, on node:http rather than fetch: it loads faster and gives a connect
 * timeout distinct from the read timeout. Plain http: only (the WireServer has no TLS), no proxy, a fresh
 * connection per request closed afterwards (as WALA does), a capped body, and typed errors whose reasons
 * name the method and URL but never a header value (the certificates request carries a long one).
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

  const started = performance.now();
  return new Promise<HttpResponse>((resolve, reject) => {
    const timers: NodeJS.Timeout[] = [];
    let settled = false;
    const settle = (error: unknown, response?: HttpResponse): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      request.destroy();
      if (response) resolve(response);
      else reject(error);
    };
    const onAbort = (): void => settle(req.signal?.reason);

    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers ?? {})) {
      if (!/^(connection|content-length)$/i.test(name)) headers[name] = value;
    }
    headers['Connection'] = 'close';
    if (req.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(req.body, 'utf8'));

    const request = http.request({
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? 80 : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: req.method,
      headers,
      // A private agent per request: no keep-alive pool and no proxy even under NODE_USE_ENV_PROXY.
      agent: false,
    });

    if (remaining <= MAX_TIMER_MS) {
      timers.push(
        setTimeout(() => settle(fail('DEADLINE_EXCEEDED', `the run deadline ${iso(req.deadline)} passed during the request`)), remaining),
      );
    }
    const connectTimer = setTimeout(
      () => settle(fail('WIRESERVER_TIMEOUT', `no connection within ${req.connectTimeoutMs} ms (connect timeout)`, 'timeout', { budget: 'connect' })),
      req.connectTimeoutMs,
    );
    timers.push(connectTimer);
    req.signal?.addEventListener('abort', onAbort, { once: true });

    request.on('socket', (socket: Socket) => {
      const armRead = (): void => {
        clearTimeout(connectTimer);
        // Idle timeout on the socket: it restarts on every byte in either direction.
        socket.setTimeout(req.readTimeoutMs, () =>
          settle(fail('WIRESERVER_TIMEOUT', `no data for ${req.readTimeoutMs} ms (read timeout)`, 'timeout', { budget: 'read' })),
        );
      };
      if (socket.connecting) socket.once('connect', armRead);
      else armRead();
    });
    request.on('error', (err: NodeJS.ErrnoException) => {
      const errno = err.code ?? 'unknown';
      settle(fail('WIRESERVER_UNREACHABLE', `connection failed (${errno}: ${err.message})`, 'connection', { cause: err, errno }));
    });
    request.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const declared = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
      const tooLarge = (size: number | string) =>
        fail('WIRESERVER_HTTP', `response body of ${size} bytes is over the limit of ${req.maxResponseBytes}`, undefined, { status });
      if (declared !== undefined && declared > req.maxResponseBytes) return settle(tooLarge(declared));

      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        // Checked per chunk, so an endless body never sits in memory beyond one chunk over the cap.
        if (received > req.maxResponseBytes) return settle(tooLarge(`more than ${req.maxResponseBytes}`));
        chunks.push(chunk);
      });
      const truncated = (cause?: unknown) =>
        fail(
          'WIRESERVER_UNREACHABLE',
          `the connection closed after ${received} of ${declared ?? 'the chunked'} body bytes (truncated response)`,
          'connection',
          { status, cause },
        );
      res.on('error', (err) => settle(truncated(err)));
      res.on('close', () => {
        if (!res.complete) settle(truncated());
      });
      res.on('end', () => {
        if (!res.complete) return settle(truncated());
        settle(undefined, {
          status,
          headers: flattenHeaders(res.headers),
          body: Buffer.concat(chunks, received),
          durationMs: Math.round(performance.now() - started),
        });
      });
    });
    request.end(req.body);
  });
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
      throw statusError(request, response);
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

function statusError(req: HttpRequest, res: HttpResponse): WireServerError {
  const shown = safeDisplayUrl(req.url);
  const target = `${req.method} ${shown}`;
  if (res.status === 410) {
    return new WireServerError('GOAL_STATE_CHANGED', `${target}: HTTP 410 Gone, the goal state changed`, shown, {
      status: 410,
      hint: 'the goal state is fetched again',
      context: { method: req.method },
    });
  }
  const text = bodyExcerpt(res.body);
  return new WireServerError('WIRESERVER_HTTP', `${target}: HTTP ${res.status}${text ? `: ${text}` : ''}`, shown, {
    status: res.status,
    context: { method: req.method, failure: 'status', retryAfter: res.headers['retry-after'] },
  });
}

/** Up to 200 characters of a body as text, control characters turned into single spaces. */
function bodyExcerpt(body: Buffer): string {
  return body.subarray(0, 800).toString('utf8').replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim().slice(0, 200);
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
    return raw.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').slice(0, 300);
  }
}

function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string | undefined> {
  const flat: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}
