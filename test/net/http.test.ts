import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { inspect } from 'node:util';
import { httpRequest, fabricRequest } from '../../src/net/http.ts';
import type { HttpRequest } from '../../src/net/http.ts';
import type { RetryEvent, RetryPolicy } from '../../src/net/retry.ts';
import { WireServerError } from '../../src/errors.ts';
import { answerLost } from '../../src/ready.ts';

const FAST: RetryPolicy = { baseDelayMs: 10, maxDelayMs: 40, maxAttempts: 10, jitter: 0 };

function base(url: string, overrides: Partial<HttpRequest> = {}): HttpRequest {
  return {
    method: 'GET',
    url,
    connectTimeoutMs: 1_000,
    readTimeoutMs: 1_000,
    maxResponseBytes: 64 * 1024,
    deadline: Date.now() + 5_000,
    ...overrides,
  };
}

/** A real HTTP server on 127.0.0.1:0 that counts requests. */
async function httpServer(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  let count = 0;
  const server = http.createServer((req, res) => handler(req, res, ++count));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    count: () => count,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A raw TCP server on 127.0.0.1:0 for misbehaving peers (stalls, truncation). */
async function tcpServer(onSocket: (socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Expects a WireServerError with this code whose reason names the URL; returns it. */
async function expectError(promise: Promise<unknown>, code: string, url: string): Promise<WireServerError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof WireServerError, `expected a WireServerError, got ${inspect(err)}`);
    assert.equal(err.code, code, err.reason);
    assert.ok(err.reason.includes(url), `reason "${err.reason}" should name ${url}`);
    return err;
  }
  assert.fail(`expected ${code}, but the request succeeded`);
}

test('a 200 response is returned whole, and the request says Connection: close', async (t) => {
  let seen: { method?: string; url?: string; connection?: string; length?: string; body: string } = { body: '' };
  const server = await httpServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen = { method: req.method, url: req.url, connection: req.headers.connection, length: req.headers['content-length'], body };
      res.setHeader('x-ms-latest-goal-state-incarnation-number', '3');
      res.end('<Health>ok</Health>');
    });
  });
  t.after(server.close);
  const response = await httpRequest(base(server.url('/machine?comp=health'), { method: 'POST', body: 'é<Health/>', headers: { 'Content-Type': 'text/xml;charset=utf-8', connection: 'keep-alive' } }));
  assert.equal(response.status, 200);
  assert.equal(response.body.toString(), '<Health>ok</Health>');
  assert.equal(response.headers['x-ms-latest-goal-state-incarnation-number'], '3');
  assert.ok(response.durationMs >= 0 && response.durationMs < 2_000);
  assert.deepEqual(seen, { method: 'POST', url: '/machine?comp=health', connection: 'close', length: String(Buffer.byteLength('é<Health/>')), body: 'é<Health/>' });
});

test('a refused connection is WIRESERVER_UNREACHABLE naming the URL and the OS code', async () => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  const url = `http://127.0.0.1:${port}/?comp=versions`;
  const err = await expectError(httpRequest(base(url)), 'WIRESERVER_UNREACHABLE', `GET ${url}`);
  assert.match(err.reason, /ECONNREFUSED/);
  assert.equal(err.context['failure'], 'connection');
});

test('a listener that never accepts hits the connect timeout within its bound', async (t) => {
  // A listener with backlog 1 in a worker whose event loop is blocked: once the accept queue is full the
  // kernel drops further SYNs, so the next connect hangs, which is what an unreachable host looks like.
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const net = require('node:net'); const { parentPort, workerData } = require('node:worker_threads');
     const server = net.createServer();
     server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       Atomics.wait(workerData, 0, 0, 10000);
     });`,
    { eval: true, workerData: flag },
  );
  const fillers: net.Socket[] = [];
  t.after(async () => {
    for (const s of fillers) s.destroy();
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    await worker.terminate();
  });
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  for (let i = 0; i < 16; i++) {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    fillers.push(socket);
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 100);
      socket.once('connect', () => (clearTimeout(timer), resolve(true)));
    });
    if (!connected) break;
  }
  const url = `http://127.0.0.1:${port}/?comp=versions`;
  const started = Date.now();
  const err = await expectError(httpRequest(base(url, { connectTimeoutMs: 150, readTimeoutMs: 5_000 })), 'WIRESERVER_TIMEOUT', url);
  const elapsed = Date.now() - started;
  assert.equal(err.context['budget'], 'connect');
  assert.ok(elapsed >= 140 && elapsed < 1_000, `took ${elapsed} ms`);
});

test('a server that accepts and never answers hits the read timeout within its bound', async (t) => {
  const server = await tcpServer(() => {});
  t.after(server.close);
  const url = server.url('/machine/?comp=goalstate');
  const started = Date.now();
  const err = await expectError(httpRequest(base(url, { readTimeoutMs: 150 })), 'WIRESERVER_TIMEOUT', url);
  const elapsed = Date.now() - started;
  assert.equal(err.context['budget'], 'read');
  assert.ok(elapsed >= 140 && elapsed < 1_000, `took ${elapsed} ms`);
});

test('a server that stalls mid-body hits the read timeout', async (t) => {
  const server = await tcpServer((socket) => {
    socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789'));
  });
  t.after(server.close);
  const url = server.url('/machine/?comp=certificates&incarnation=1');
  const started = Date.now();
  const err = await expectError(httpRequest(base(url, { readTimeoutMs: 150 })), 'WIRESERVER_TIMEOUT', url);
  assert.equal(err.context['budget'], 'read');
  assert.ok(Date.now() - started < 1_000);
});

test('a declared body over the cap is refused before it is read', async (t) => {
  const server = await httpServer((_req, res) => res.end(Buffer.alloc(2_000, 'a')));
  t.after(server.close);
  const url = server.url('/big');
  const err = await expectError(httpRequest(base(url, { maxResponseBytes: 1_000 })), 'WIRESERVER_HTTP', url);
  assert.match(err.reason, /2000 bytes is over the limit of 1000/);
});

test('a status over the size cap still decides: 503 is retried with its Retry-After, 410 is GOAL_STATE_CHANGED, 400 fails at once', async (t) => {
  const answers: string[] = [];
  let requests = 0;
  const server = await tcpServer((socket) => socket.once('data', () => socket.end(answers[requests++] ?? 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')));
  t.after(server.close);
  const url = server.url('/machine/?comp=goalstate');
  const huge = (status: string): string => `HTTP/1.1 ${status}\r\nRetry-After: 0\r\nContent-Length: 99999999999\r\n\r\n`;
  answers.push(huge('503 Service Unavailable'), huge('503 Service Unavailable'));
  const events: RetryEvent[] = [];
  const response = await fabricRequest({ ...base(url), policy: FAST, onRetry: (e) => events.push(e) });
  assert.equal(response.body.toString(), 'ok');
  assert.equal(requests, 3);
  assert.deepEqual(events.map((e) => [e.reason, (e.error as WireServerError).status]), [['backoff', 503], ['backoff', 503]]);
  assert.match((events[0]!.error as WireServerError).reason, /HTTP 503: the response body of 99999999999 bytes is over the limit of 65536 \(not read\)$/);
  assert.equal((events[0]!.error as WireServerError).context['retryAfter'], '0');

  for (const [status, code] of [['410 Gone', 'GOAL_STATE_CHANGED'], ['400 Bad Request', 'WIRESERVER_HTTP']] as const) {
    requests = 0;
    answers.splice(0, answers.length, huge(status));
    const err = await expectError(fabricRequest({ ...base(url), policy: FAST }), code, url);
    assert.equal(err.status, Number(status.slice(0, 3)));
    assert.equal(requests, 1, status);
  }
});

test('a 2xx over the size cap fails at once for a request that reads its body', async (t) => {
  let requests = 0;
  const server = await tcpServer((socket) => socket.once('data', () => (requests++, socket.end('HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n'))));
  t.after(server.close);
  const url = server.url('/machine/?comp=goalstate');
  const err = await expectError(fabricRequest({ ...base(url), policy: FAST }), 'WIRESERVER_HTTP', url);
  assert.match(err.reason, /HTTP 200, but the response body of 99999999999 bytes is over the limit of 65536$/);
  assert.equal(err.status, 200);
  assert.equal(requests, 1);
});

test('a report (statusOnly) is acknowledged by its 2xx head: a body over the cap, cut short or endless is not read', async (t) => {
  const answers: Array<(socket: net.Socket) => void> = [
    (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n'),
    (socket) => socket.end('HTTP/1.1 202 Accepted\r\nContent-Length: 100\r\n\r\nonly part of it'),
    (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
      const drip = setInterval(() => socket.write('1\r\nx\r\n'), 20);
      socket.on('close', () => clearInterval(drip));
    },
  ];
  let requests = 0;
  const server = await tcpServer((socket) => socket.once('data', () => answers[requests++]!(socket)));
  t.after(server.close);
  const url = server.url('/machine?comp=health');
  const report = () => fabricRequest({ ...base(url, { method: 'POST', body: '<Health/>', statusOnly: true, readTimeoutMs: 5_000 }), policy: FAST });
  for (const status of [200, 202, 200]) {
    const started = Date.now();
    const response = await report();
    assert.equal(response.status, status);
    assert.equal(response.body.byteLength, 0);
    assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
  }
  assert.equal(requests, 3, 'each answered by one request, none retried');
  // The same head that is not a 2xx is still read and judged by its status.
  answers.push((socket) => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nnope!'));
  const err = await expectError(report(), 'WIRESERVER_HTTP', `POST ${url}`);
  assert.match(err.reason, /HTTP 400: nope!$/);
});

test('an endless chunked body is cut off at the cap', async (t) => {
  let written = 0;
  const server = await httpServer((_req, res) => {
    const pump = (): void => {
      while (!res.destroyed && written < 50_000_000) {
        written += 16_384;
        if (!res.write(Buffer.alloc(16_384, 'b'))) return void res.once('drain', pump);
      }
    };
    pump();
  });
  t.after(server.close);
  const url = server.url('/endless');
  const err = await expectError(httpRequest(base(url, { maxResponseBytes: 100_000 })), 'WIRESERVER_HTTP', url);
  assert.match(err.reason, /over the limit of 100000/);
  assert.ok(written < 50_000_000, 'the server was stopped long before it finished');
});

test('a body sent in 1-byte chunks is read whole within the framing allowance, and refused past it', async (t) => {
  const oneByteChunks = (count: number): string => `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${'1\r\nX\r\n'.repeat(count)}0\r\n\r\n`;
  let count = 10_000;
  const server = await tcpServer((socket) => socket.once('data', () => socket.end(oneByteChunks(count))));
  t.after(server.close);
  const url = server.url('/machine/?comp=certificates&incarnation=1');
  const response = await httpRequest(base(url, { maxResponseBytes: 64 * 1024 }));
  assert.equal(response.body.toString(), 'X'.repeat(10_000));
  // 14000 chunks: 70000 bytes of framing around 14000 body bytes.
  count = 14_000;
  const err = await expectError(httpRequest(base(url, { maxResponseBytes: 64 * 1024 })), 'WIRESERVER_UNREACHABLE', url);
  assert.match(err.reason, /not valid HTTP\/1\.1: the chunked framing \(size lines, extensions, CRLFs, trailers\) is over 65536 bytes/);
  assert.equal(err.context['failure'], 'connection');
});

test('a chunked response is read whole, and the request goes out as one HTTP/1.1 head with Host', async (t) => {
  let head = '';
  const server = await tcpServer((socket) => {
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/xml\r\n\r\n');
      setTimeout(() => socket.end('6\r\n<Goal>\r\n7\r\n</Goal>\r\n0\r\n\r\n'), 10);
    });
  });
  t.after(server.close);
  const url = server.url('/machine/?comp=goalstate');
  const response = await httpRequest(base(url, { headers: { 'x-ms-version': '2012-11-30', Host: 'ignored' } }));
  assert.equal(response.body.toString(), '<Goal></Goal>');
  assert.equal(response.headers['content-type'], 'text/xml');
  const port = new URL(url).port;
  assert.equal(head, `GET /machine/?comp=goalstate HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nx-ms-version: 2012-11-30\r\nConnection: close\r\n\r\n`);
});

test('a response that is not HTTP/1.1 is WIRESERVER_UNREACHABLE naming the rule, and fabricRequest retries it', async (t) => {
  let connections = 0;
  const server = await tcpServer((socket) => {
    connections += 1;
    const n = connections;
    socket.once('data', () => socket.end(n === 1 ? 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc' : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  });
  t.after(server.close);
  const url = server.url('/?comp=versions');
  const err = await expectError(httpRequest(base(url)), 'WIRESERVER_UNREACHABLE', url);
  assert.match(err.reason, /not valid HTTP\/1\.1: Content-Length has differing values \(2, 3\)/);
  assert.equal(err.context['failure'], 'connection');
  connections = 0;
  const response = await fabricRequest({ ...base(url), policy: FAST });
  assert.equal(response.body.toString(), 'ok');
  assert.equal(connections, 2);
});

test('a head that never ends (bare LF, HTTP/0.9) is a malformed response, not a lost answer as a close before any byte is (ready.ts)', async (t) => {
  const answers = ['HTTP/1.1 200 OK\nContent-Length: 2\n\nhi', 'hello world', ''];
  const server = await tcpServer((socket) => socket.once('data', () => socket.end(answers.shift()!)));
  t.after(server.close);
  const url = server.url('/machine?comp=health');
  const post = (): Promise<unknown> => httpRequest(base(url, { method: 'POST', body: '<Health/>' }));
  for (const rule of [/never ended with CRLF CRLF \(37 bytes received, with bare LF line ends\)$/, /never ended with CRLF CRLF \(11 bytes received, not starting with "HTTP\/"\)$/]) {
    const err = await expectError(post(), 'WIRESERVER_UNREACHABLE', `POST ${url}`);
    assert.match(err.reason, /not valid HTTP\/1\.1: the response head/);
    assert.match(err.reason, rule);
    assert.equal(err.context['failure'], 'connection');
    assert.equal(answerLost(err), false);
  }
  const hangUp = await expectError(post(), 'WIRESERVER_UNREACHABLE', `POST ${url}`);
  assert.match(hangUp.reason, /closed before a complete answer \(ECONNRESET: socket hang up\)/);
  assert.equal(answerLost(hangUp), true);
});

test('a header value with CR or LF is refused before anything is sent, and the reason does not carry it', async (t) => {
  let connections = 0;
  const server = await tcpServer(() => (connections += 1));
  t.after(server.close);
  const url = server.url('/machine?comp=health');
  const secret = 'value\r\nInjected: yes';
  const err = await expectError(httpRequest(base(url, { headers: { 'x-ms-container': secret } })), 'WIRESERVER_HTTP', url);
  assert.match(err.reason, /not sent: the value of header x-ms-container has a CR, LF or NUL/);
  assert.ok(!err.reason.includes('Injected'));
  await expectError(httpRequest(base(url, { headers: { 'bad name': 'x' } })), 'WIRESERVER_HTTP', url);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(connections, 0);
});

test('a body shorter than its Content-Length is a truncation error', async (t) => {
  const server = await tcpServer((socket) => {
    socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789'));
  });
  t.after(server.close);
  const url = server.url('/machine/?comp=goalstate');
  const err = await expectError(httpRequest(base(url)), 'WIRESERVER_UNREACHABLE', url);
  assert.match(err.reason, /after 10 of 100 body bytes/);
  assert.equal(err.context['failure'], 'connection');
});

test('only http: URLs are accepted', async () => {
  const err = await expectError(httpRequest(base('https://127.0.0.1/?comp=versions')), 'WIRESERVER_UNREACHABLE', 'https://127.0.0.1/?comp=versions');
  assert.match(err.reason, /only http: is supported/);
  await expectError(fabricRequest({ ...base('ftp://127.0.0.1/x'), policy: FAST }), 'WIRESERVER_UNREACHABLE', 'ftp://127.0.0.1/x');
});

test('reasons keep path and query but drop credentials and never carry header values', async (t) => {
  const server = await httpServer((_req, res) => {
    res.statusCode = 400;
    res.end('bad\r\n\u0000request\tbody');
  });
  t.after(server.close);
  const url = server.url('/machine/?comp=certificates&incarnation=2').replace('http://', 'http://user:pw0rd@');
  const promise = fabricRequest({ ...base(url, { headers: { 'x-ms-guest-agent-public-x509-cert': 'MIIcertificatevalue' } }), policy: FAST });
  const err = await expectError(promise, 'WIRESERVER_HTTP', server.url('/machine/?comp=certificates&incarnation=2'));
  for (const text of [String(err), err.reason, JSON.stringify(err), inspect(err, { depth: 9 })]) {
    assert.doesNotMatch(text, /pw0rd|MIIcertificatevalue/);
  }
});

test('fabricRequest retries 503 with Retry-After: 0 and succeeds on the third request', async (t) => {
  const server = await httpServer((_req, res, n) => {
    if (n < 3) {
      res.writeHead(503, { 'Retry-After': '0' });
      return void res.end('busy');
    }
    res.end('<Versions/>');
  });
  t.after(server.close);
  const events: RetryEvent[] = [];
  const response = await fabricRequest({ ...base(server.url('/?comp=versions')), policy: FAST, onRetry: (e) => events.push(e) });
  assert.equal(response.body.toString(), '<Versions/>');
  assert.equal(server.count(), 3);
  assert.deepEqual(events.map((e) => [e.attempt, e.reason, (e.error as WireServerError).status]), [[1, 'backoff', 503], [2, 'backoff', 503]]);
});

test('fabricRequest retries a reset connection', async (t) => {
  let n = 0;
  const server = await tcpServer((socket) => {
    n++;
    socket.once('data', () => (n === 1 ? socket.resetAndDestroy() : socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')));
  });
  t.after(server.close);
  const response = await fabricRequest({ ...base(server.url('/x')), policy: FAST });
  assert.equal(response.body.toString(), 'ok');
  assert.equal(n, 2);
});

test('fabricRequest turns 410 into GOAL_STATE_CHANGED after exactly one request', async (t) => {
  const server = await httpServer((_req, res) => {
    res.statusCode = 410;
    res.end();
  });
  t.after(server.close);
  const url = server.url('/machine/?comp=hostingEnvironmentConfig&incarnation=1');
  const err = await expectError(fabricRequest({ ...base(url), policy: FAST }), 'GOAL_STATE_CHANGED', url);
  assert.equal(err.status, 410);
  assert.equal(server.count(), 1);
});

test('fabricRequest fails fast on 400 with the status and a clean body excerpt', async (t) => {
  const server = await httpServer((_req, res) => {
    res.statusCode = 400;
    res.end(`Invalid\u0007\r\nContainer${'x'.repeat(500)}`);
  });
  t.after(server.close);
  const url = server.url('/machine?comp=health');
  const err = await expectError(fabricRequest({ ...base(url, { method: 'POST', body: '<Health/>' }), policy: FAST }), 'WIRESERVER_HTTP', `POST ${url}`);
  assert.equal(err.status, 400);
  assert.equal(server.count(), 1);
  assert.match(err.reason, /HTTP 400: Invalid Containerx+$/);
  assert.equal(err.reason.split('HTTP 400: ')[1]!.length, 200);
});

test('reasons show a response only as printable ASCII: C1 in a header, bidi overrides and line separators in a body are escaped', async (t) => {
  const body = Buffer.from('denied\u202E)txt.exe\u2028INFO forged\u2029\u200E\u200F\u202A\u202B\u202C\u202D\u2066\u2067\u2068\u2069 caf\u00e9\\', 'utf8');
  const answers = [
    Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\x9b2K FORGED\r\n\r\n', 'latin1'),
    Buffer.concat([Buffer.from(`HTTP/1.1 403 Forbidden\r\nContent-Length: ${body.length}\r\n\r\n`), body]),
  ];
  const server = await tcpServer((socket) => socket.once('data', () => socket.end(answers.shift()!)));
  t.after(server.close);
  const url = server.url('/machine/?comp=goalstate');
  const header = await expectError(httpRequest(base(url)), 'WIRESERVER_UNREACHABLE', url);
  assert.match(header.reason, /Content-Length has differing values \(1, 2\\x9b2K FORGED\)$/);
  const excerpt = await expectError(fabricRequest({ ...base(url), policy: FAST }), 'WIRESERVER_HTTP', url);
  assert.equal(
    excerpt.reason.split('HTTP 403: ')[1],
    'denied\\u{202e})txt.exe\\u{2028}INFO forged\\u{2029}\\u{200e}\\u{200f}\\u{202a}\\u{202b}\\u{202c}\\u{202d}\\u{2066}\\u{2067}\\u{2068}\\u{2069} caf\\xe9\\\\',
  );
  for (const err of [header, excerpt]) assert.match(err.reason, /^[\x20-\x7e]*$/);
});

test('fabricRequest with okStatuses treats another 2xx as an error', async (t) => {
  const server = await httpServer((_req, res) => res.end());
  t.after(server.close);
  const url = server.url('/machine?comp=roleProperties');
  const err = await expectError(fabricRequest({ ...base(url, { method: 'POST', body: '<x/>' }), policy: FAST, okStatuses: [202] }), 'WIRESERVER_HTTP', url);
  assert.equal(err.status, 200);
  assert.equal(server.count(), 1);
});

test('fabricRequest gives up with DEADLINE_EXCEEDED when the deadline passes during retries', async (t) => {
  const server = await httpServer((_req, res) => {
    res.writeHead(503, { 'Retry-After': '3600' });
    res.end();
  });
  t.after(server.close);
  const url = server.url('/machine/?comp=goalstate');
  // Date and setTimeout (httpRequest's deadline timer) are mocked, and the clock moves only by the waits
  // the loop announces, never while a request is under way. On the real clock a loaded machine makes
  // each request slow: the deadline could pass during an attempt (the next test's case: that attempt's
  // own DEADLINE_EXCEEDED, with no 503 behind it) and fewer attempts fit. Here the attempts and waits are
  // the same however slow the machine is; the read timeout, which stays on the real clock, is made long.
  t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: Date.now() });
  const started = Date.now();
  const waits: RetryEvent[] = [];
  const stop = new AbortController();
  const onRetry = (info: RetryEvent): void => {
    waits.push(info);
    // The loop sleeps with node:timers/promises as retry.ts imported it, which the mock may not reach: a
    // wait longer than FAST's backoff (the hour of Retry-After) ends the call here instead of holding the test.
    if (info.delayMs > FAST.maxDelayMs) stop.abort(new Error(`a wait of ${info.delayMs} ms (${info.reason})`));
    // After the loop has started its wait (right after this callback returns).
    else queueMicrotask(() => t.mock.timers.tick(info.delayMs));
  };
  const request = { ...base(url, { readTimeoutMs: 30_000, deadline: started + 300, signal: stop.signal }), policy: { ...FAST, maxAttempts: 1_000 }, onRetry };
  const err = await expectError(fabricRequest(request), 'DEADLINE_EXCEEDED', url);
  // Retry-After: 3600 is past the deadline, so FAST's backoff is used (10, 20, then 40 ms) for as long as
  // another wait ends before the deadline: after the attempt at 270 ms, 40 ms more would reach 310.
  assert.deepEqual(waits.map((w) => w.delayMs), [10, 20, 40, 40, 40, 40, 40, 40]);
  assert.ok(waits.every((w) => w.reason === 'retry-after-past-deadline'), waits.map((w) => w.reason).join());
  assert.equal(server.count(), 9);
  assert.equal(Date.now() - started, 270, 'it gave up without waiting for the deadline itself');
  assert.ok(err.cause instanceof WireServerError && err.cause.status === 503);
});

test('the deadline passing mid-request is DEADLINE_EXCEEDED, not a timeout', async (t) => {
  const server = await tcpServer(() => {});
  t.after(server.close);
  const url = server.url('/machine/?comp=goalstate');
  const started = Date.now();
  await expectError(fabricRequest({ ...base(url, { readTimeoutMs: 5_000, deadline: started + 150 }), policy: FAST }), 'DEADLINE_EXCEEDED', url);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 140 && elapsed < 1_000, `took ${elapsed} ms`);
});

test('a deadline already passed sends nothing', async (t) => {
  const server = await httpServer((_req, res) => res.end());
  t.after(server.close);
  const url = server.url('/x');
  await expectError(httpRequest(base(url, { deadline: Date.now() - 1 })), 'DEADLINE_EXCEEDED', url);
  assert.equal(server.count(), 0);
});

test('a slow drip, a byte now and then, is cut at twice the read timeout, not held until the deadline', async (t) => {
  const server = await tcpServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
    const drip = setInterval(() => socket.write('x'), 40);
    socket.on('close', () => clearInterval(drip));
  });
  t.after(server.close);
  const url = server.url('/machine/?comp=goalstate');
  const started = Date.now();
  const err = await expectError(httpRequest(base(url, { readTimeoutMs: 150, deadline: started + 10_000 })), 'WIRESERVER_TIMEOUT', url);
  assert.match(err.message, /the answer was not complete within 300 ms \(twice the read timeout\)/);
  assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
});

test('the deadline passing while a written request awaits its answer is marked as a lost answer (ready.ts)', async (t) => {
  const server = await tcpServer(() => {});
  t.after(server.close);
  const url = server.url('/machine/?comp=health');
  const err = await expectError(httpRequest(base(url, { method: 'POST', body: '<Health/>', readTimeoutMs: 5_000, deadline: Date.now() + 150 })), 'DEADLINE_EXCEEDED', url);
  assert.equal(err.context['budget'], 'read');
  assert.equal(answerLost(err), true);
});
