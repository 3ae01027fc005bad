import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseReadError, ResponseReader, type ResponseProblem } from '../../src/net/http-response.ts';

const MAX = 1024;

/** Feeds the response in pieces of `step` bytes (1 = byte by byte), then the connection's end when asked. */
function read(text: string | Buffer, options: { step?: number; end?: boolean; max?: number } = {}): ResponseReader {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const reader = new ResponseReader(options.max ?? MAX);
  const step = options.step ?? bytes.length;
  for (let i = 0; i < bytes.length; i += step) reader.feed(bytes.subarray(i, i + step));
  if (options.end) reader.end();
  return reader;
}

function problem(fn: () => unknown): ResponseProblem {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ResponseReadError, `expected a ResponseReadError, got ${String(err)}`);
    return err.problem;
  }
  assert.fail('expected the response to be refused');
}

function malformed(text: string, rule: RegExp, max = MAX): void {
  for (const step of [1, 7, text.length]) {
    const p = problem(() => read(text, { step, end: true, max }));
    assert.equal(p.kind, 'malformed', `${JSON.stringify(text.slice(0, 60))} in steps of ${step}`);
    assert.match((p as { rule: string }).rule, rule);
  }
}

test('a Content-Length body is read whole however the bytes are split, and bytes after it are ignored', () => {
  const text = 'HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 11\r\nX-Two: a\r\nx-two: b\r\n\r\n<Versions/>trailing garbage';
  for (const step of [1, 2, 5, 1000]) {
    const reader = read(text, { step });
    assert.equal(reader.done, true, `step ${step}`);
    assert.equal(reader.head?.status, 200);
    assert.equal(reader.head?.headers['content-type'], 'text/xml');
    assert.equal(reader.head?.headers['x-two'], 'a, b');
    assert.equal(reader.body.toString(), '<Versions/>');
  }
});

test('a chunked body with extensions and trailers is read whole however the bytes are split', () => {
  const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\nA\r\n, world...\r\n0\r\nX-Trailer: t\r\n\r\n';
  for (const step of [1, 3, 1000]) {
    const reader = read(text, { step });
    assert.equal(reader.done, true, `step ${step}`);
    assert.equal(reader.body.toString(), 'hello, world...');
  }
});

test('a body without length runs until the connection closes', () => {
  const reader = read('HTTP/1.0 200 OK\r\n\r\nall of it', { step: 4 });
  assert.equal(reader.done, false);
  reader.end();
  assert.equal(reader.done, true);
  assert.equal(reader.body.toString(), 'all of it');
});

test('interim 1xx responses are skipped; 204 and Content-Length: 0 have no body', () => {
  const reader = read('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX: y\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok', { step: 3 });
  assert.equal(reader.head?.status, 202);
  assert.equal(reader.body.toString(), 'ok');
  assert.equal(read('HTTP/1.1 204 No Content\r\n\r\n').done, true);
  assert.equal(read('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').body.length, 0);
  // A status line without a reason phrase is allowed (RFC 9112 4).
  assert.equal(read('HTTP/1.1 410\r\nContent-Length: 0\r\n\r\n').head?.status, 410);
});

test('a malformed head is refused, naming the rule it breaks', () => {
  malformed('HTTP/2 200 OK\r\n\r\n', /status line "HTTP\/2 200 OK" is not/);
  malformed('HTTP/1.1 20 OK\r\n\r\n', /status line/);
  malformed('<html>hello</html>\r\n\r\n', /status line/);
  malformed('HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n', /folded/);
  malformed('HTTP/1.1 200 OK\r\nBad Name: a\r\n\r\n', /not "name: value"/);
  malformed('HTTP/1.1 200 OK\r\nX: a\u0000b\r\n\r\n', /not "name: value"/);
  malformed('HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n', /not "name: value"/);
  malformed('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', /differing values/);
  malformed('HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd', /differing values/);
  malformed('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /not a number of bytes/);
  malformed('HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n', /not a number of bytes/);
  malformed('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', /transfer coding "gzip, chunked" is not supported/);
  malformed('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n', /both Transfer-Encoding and Content-Length/);
  malformed('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n', /never asked to upgrade/);
  malformed(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(17 * 1024)}\r\n\r\n`, /head is over 16384 bytes/);
  malformed('HTTP/1.1 100 Continue\r\n\r\n'.repeat(9), /more than 8 interim \(1xx\) responses/);
});

test('header text in a rule is printable ASCII: C1 bytes (0x80-0x9F), other high bytes and controls are escaped', () => {
  const printableOnly = /^[\x20-\x7e]*$/;
  const cases: [string, RegExp][] = [
    ['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\x9b2J\x9b31mFORGED\r\n\r\n', /differing values \(1, 2\\x9b2J\\x9b31mFORGED\)$/],
    ['HTTP/1.1 200 OK\r\nContent-Length: 2\x85\r\n\r\n', /Content-Length "2\\x85" is not a number of bytes/],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: \x9b2Kgzip\\\r\n\r\n', /transfer coding "\\x9b2Kgzip\\\\" is not supported/],
    ['HTTP/1.1 200 \x9b31mOK\x00\r\n\r\n', /status line "HTTP\/1\.1 200 \\x9b31mOK\\x00" is not/],
    ['HTTP/1.1 200 OK\r\nX: a\x07\xff\r\n\r\n', /header line "X: a\\x07\\xff" is not/],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\x9bzz\r\n', /chunk-size line "\\x9bzz" is not/],
  ];
  for (const [text, rule] of cases) {
    malformed(text, rule);
    const p = problem(() => read(text, { end: true }));
    assert.match((p as { rule: string }).rule, printableOnly, text);
  }
  // Long values are cut at 40 characters, never inside an escape.
  const long = problem(() => read(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${'\x9b'.repeat(30)}\r\n\r\n`));
  assert.match((long as { rule: string }).rule, /coding "(\\x9b){10}" is not/);
});

test('a malformed chunked body is refused', () => {
  const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
  malformed(`${head}zz\r\n`, /chunk-size line "zz" is not a hexadecimal size/);
  malformed(`${head}3\r\nabcX\r\n0\r\n\r\n`, /does not end with CRLF/);
  malformed(`${head}${'1'.repeat(2000)}\r\n`, /chunk-size line is over 1024 bytes/);
  malformed(`${head}0\r\nnot a trailer\r\n\r\n`, /trailer line/);
  // Short trailer lines without end: counted against the head's cap, though each is dropped.
  malformed(`${head}0\r\n${'X: y\r\n'.repeat(4000)}`, /trailer section is over 16384 bytes/);
});

test('a body of 1-byte chunks is read whole while its framing stays within 64 KiB, and refused past that', () => {
  const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
  // 10000 chunks of "1\r\nX\r\n": 10000 body bytes and 50000 bytes of framing.
  const small = read(`${head}${'1\r\nX\r\n'.repeat(10_000)}0\r\n\r\n`, { max: 64 * 1024, step: 4096 });
  assert.equal(small.done, true);
  assert.equal(small.body.toString(), 'X'.repeat(10_000));
  // 14000 of them put 70000 bytes of framing around a body far under the cap.
  malformed(`${head}${'1\r\nX\r\n'.repeat(14_000)}0\r\n\r\n`, /chunked framing \(size lines, extensions, CRLFs, trailers\) is over 65536 bytes/, 64 * 1024);
  // Long extensions on 1-byte chunks: 70 of them are enough.
  malformed(`${head}${`1;${'e'.repeat(1000)}\r\nX\r\n`.repeat(70)}0\r\n\r\n`, /chunked framing .* is over 65536 bytes/, 64 * 1024);
});

test('a body over the cap is refused: declared, in a chunk size, or while it runs until close', () => {
  assert.deepEqual(problem(() => read('HTTP/1.1 200 OK\r\nContent-Length: 1025\r\n\r\n')), { kind: 'too-large', declared: 1025 });
  assert.deepEqual(problem(() => read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n' + 'a'.repeat(512) + '\r\n201\r\n')), { kind: 'too-large', declared: undefined });
  assert.deepEqual(problem(() => read(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), Buffer.alloc(1025)]), { step: 100 })), { kind: 'too-large', declared: undefined });
  // Exactly at the cap is fine.
  assert.equal(read(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n'), Buffer.alloc(1024)])).done, true);
});

test('a connection that ends early is a truncated response', () => {
  assert.deepEqual(problem(() => read('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc', { end: true })), { kind: 'truncated' });
  assert.deepEqual(problem(() => read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel', { end: true })), { kind: 'truncated' });
  assert.deepEqual(problem(() => read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n', { end: true })), { kind: 'truncated' });
  assert.deepEqual(problem(() => read('', { end: true })), { kind: 'truncated' });
  assert.deepEqual(problem(() => read('HTTP/1.1 100 Continue\r\n\r\n', { end: true })), { kind: 'truncated' });
});

test('a head that never ends before the connection closes is malformed, not truncated', () => {
  malformed('HTTP/1.1 200 OK\nContent-Length: 2\n\nhi', /^the response head never ended with CRLF CRLF \(37 bytes received, with bare LF line ends\)$/);
  malformed('hello world', /^the response head never ended with CRLF CRLF \(11 bytes received, not starting with "HTTP\/"\)$/);
  malformed('HTTP/1.1 200 OK\r\nContent-Le', /^the response head never ended with CRLF CRLF \(27 bytes received\)$/);
  malformed('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\n\n', /never ended with CRLF CRLF \(17 bytes received, with bare LF/);
});
