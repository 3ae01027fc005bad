import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_RECORDED_HEADER, readBody, recordableHeaders, sendAnswer, sendMalformed, sendTruncated } from '../../src/simulator/replies.ts';
import { httpRequest, parseRaw, rawExchange } from './support.ts';

let handler: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
const server = createServer((req, res) => handler(req, res));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const answer = { status: 201, body: '<a>é</a>', contentType: 'text/xml; charset=utf-8', headers: { 'x-extra': '1' } };

test('sendAnswer sends status, headers and the body with its exact byte length', async () => {
  handler = (_req, res) => sendAnswer(res, answer);
  const res = await httpRequest(url);
  assert.equal(res.status, 201);
  assert.equal(res.text, '<a>é</a>');
  assert.equal(res.headers['content-length'], String(Buffer.byteLength('<a>é</a>')));
  assert.equal(res.headers['x-extra'], '1');
});

test('sendTruncated sends half the body under the full Content-Length and closes; an empty body still gets a promise', async () => {
  for (const body of ['0123456789abcdef', '']) {
    handler = (_req, res) => sendTruncated(res, { ...answer, body });
    const { status, headers, body: got } = parseRaw((await rawExchange(url, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).bytes);
    assert.equal(status, 201);
    assert.ok(Number(headers['content-length']) > got.length);
    if (body) assert.equal(got.toString(), body.slice(0, 8));
  }
});

test('sendMalformed keeps the status and breaks the XML', async () => {
  handler = (_req, res) => sendMalformed(res, answer);
  const res = await httpRequest(url);
  assert.equal(res.status, 201);
  assert.notEqual(res.text, '<a>é</a>');
  assert.match(res.text, /<Broken/);
});

test('readBody returns the body, or undefined once it passes the cap', async () => {
  const seen: (number | undefined)[] = [];
  handler = (req, res) => {
    void readBody(req, 100).then((body) => {
      seen.push(body?.length);
      sendAnswer(res, { status: 200, body: '', contentType: 'text/plain' });
    });
  };
  await httpRequest(url, { method: 'POST', body: 'x'.repeat(100) });
  await httpRequest(url, { method: 'POST', body: 'x'.repeat(101) });
  assert.deepEqual(seen, [100, undefined]);
});

test('recordableHeaders joins repeated values and shortens long ones', () => {
  const long = 'M'.repeat(MAX_RECORDED_HEADER + 1);
  const out = recordableHeaders({ a: ['1', '2'], b: long, c: 'short', d: undefined });
  assert.equal(out.a, '1, 2');
  assert.equal(out.c, 'short');
  assert.equal('d' in out, false);
  assert.ok(out.b!.length < long.length);
  assert.match(out.b!, new RegExp(`^M+\\.\\.\\.\\(${long.length} chars\\)$`));
  assert.equal(recordableHeaders({ e: 'N'.repeat(MAX_RECORDED_HEADER) }).e!.length, MAX_RECORDED_HEADER);
});
