import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { WireServerError } from '../../src/errors.ts';
import { queryWireServerByDhcp } from '../../src/net/dhcp-query.ts';
import type { DhcpQueryOptions } from '../../src/net/dhcp-query.ts';

const MAC = Buffer.from([0x00, 0x0d, 0x3a, 0xaa, 0xbb, 0xcc]);
const LOOPBACK = '127.0.0.1';

interface Request {
  xid: number;
  chaddr: Buffer;
  type: number;
  ciaddr: string;
}

/** Reads the few request fields the fake servers need, by offset, independently of the codec under test. */
function readRequest(datagram: Buffer): Request {
  let type = 0;
  for (let at = 240; at < datagram.length && datagram[at] !== 255; ) {
    if (datagram[at] === 0) {
      at += 1;
      continue;
    }
    if (datagram[at] === 53) type = datagram[at + 2]!;
    at += 2 + datagram[at + 1]!;
  }
  return { xid: datagram.readUInt32BE(4), chaddr: datagram.subarray(28, 34), type, ciaddr: [...datagram.subarray(12, 16)].join('.') };
}

interface ReplySpec {
  xid: number;
  chaddr?: Buffer;
  op?: number;
  type?: number;
  /** Raw option 245 data; omitted means no option 245. */
  wireServer?: number[];
}

/** A hand-built BOOTREPLY (op 2, OFFER unless told) with server id, lease time and optionally 245. */
function reply(spec: ReplySpec): Buffer {
  const options = [53, 1, spec.type ?? 2, 54, 4, 127, 0, 0, 1, 51, 4, 0, 1, 0x51, 0x80];
  if (spec.wireServer) options.push(245, spec.wireServer.length, ...spec.wireServer);
  options.push(255);
  const packet = Buffer.alloc(300);
  packet[0] = spec.op ?? 2;
  packet[1] = 1;
  packet[2] = 6;
  packet.writeUInt32BE(spec.xid, 4);
  Buffer.from([127, 0, 0, 50]).copy(packet, 16);
  (spec.chaddr ?? MAC).copy(packet, 28);
  packet.writeUInt32BE(0x63825363, 236);
  Buffer.from(options).copy(packet, 240);
  return packet;
}

/** A UDP server on 127.0.0.1 (ephemeral port) that answers each request with the datagrams `answer` returns. */
async function fakeDhcpServer(answer: (request: Request) => Buffer[]): Promise<{ port: number; requests: Request[]; close: () => void }> {
  const socket = createSocket('udp4');
  const requests: Request[] = [];
  socket.on('message', (datagram, from) => {
    const request = readRequest(datagram);
    requests.push(request);
    for (const out of answer(request)) socket.send(out, from.port, from.address);
  });
  socket.bind(0, LOOPBACK);
  await once(socket, 'listening');
  return { port: socket.address().port, requests, close: () => socket.close() };
}

function options(serverPort: number, extra: Partial<DhcpQueryOptions> = {}): DhcpQueryOptions {
  return { mac: MAC, serverAddress: LOOPBACK, serverPort, clientPort: 0, bindAddress: LOOPBACK, timeoutMs: 300, attempts: 2, ...extra };
}

/** A UDP port on 127.0.0.1 that was free a moment ago. */
async function freePort(): Promise<number> {
  const probe = createSocket('udp4');
  probe.bind(0, LOOPBACK);
  await once(probe, 'listening');
  const { port } = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Binds without address reuse: succeeds only when no socket (ours included) still holds the port. */
async function bindExclusively(port: number): Promise<Socket> {
  const socket = createSocket({ type: 'udp4', reuseAddr: false });
  socket.bind(port, LOOPBACK);
  await once(socket, 'listening');
  return socket;
}

test('replies with another xid, op, chaddr, type, a bad 245 or garbage are ignored until the right OFFER', async () => {
  const server = await fakeDhcpServer((request) => [
    reply({ xid: (request.xid ^ 1) >>> 0, wireServer: [10, 0, 0, 1] }),
    reply({ xid: request.xid, op: 1, wireServer: [10, 0, 0, 2] }),
    reply({ xid: request.xid, chaddr: Buffer.from([1, 2, 3, 4, 5, 6]), wireServer: [10, 0, 0, 3] }),
    reply({ xid: request.xid, type: 6, wireServer: [10, 0, 0, 4] }),
    reply({ xid: request.xid, wireServer: [10, 0, 0, 5, 6, 7, 8, 9] }),
    Buffer.from('not dhcp'),
    reply({ xid: request.xid, wireServer: [127, 0, 0, 77] }),
  ]);
  const ignored: string[] = [];
  try {
    const address = await queryWireServerByDhcp(options(server.port, { log: (m) => ignored.push(m) }));
    assert.equal(address, '127.0.0.77');
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0]!.type, 1);
    assert.deepEqual(server.requests[0]!.chaddr, MAC);
    assert.equal(ignored.length, 6, ignored.join('\n'));
  } finally {
    server.close();
  }
});

test('a server that never answers gives undefined after the bounded attempts, each with a fresh xid', async () => {
  const server = await fakeDhcpServer(() => []);
  try {
    const started = Date.now();
    const address = await queryWireServerByDhcp(options(server.port, { timeoutMs: 60, attempts: 3 }));
    const elapsed = Date.now() - started;
    assert.equal(address, undefined);
    assert.equal(server.requests.length, 3);
    assert.equal(new Set(server.requests.map((r) => r.xid)).size, 3);
    assert.ok(elapsed >= 150 && elapsed < 1500, `took ${elapsed} ms`);
  } finally {
    server.close();
  }
});

test('an OFFER without option 245 ends the query at once with undefined', async () => {
  const server = await fakeDhcpServer((request) => [reply({ xid: request.xid })]);
  try {
    const started = Date.now();
    assert.equal(await queryWireServerByDhcp(options(server.port, { timeoutMs: 2000, attempts: 3 })), undefined);
    assert.ok(Date.now() - started < 1000);
    assert.equal(server.requests.length, 1);
  } finally {
    server.close();
  }
});

test('an INFORM sends ciaddr and takes the ACK, not an OFFER', async () => {
  const server = await fakeDhcpServer((request) => [
    reply({ xid: request.xid, type: 2, wireServer: [10, 0, 0, 1] }),
    reply({ xid: request.xid, type: 5, wireServer: [127, 0, 0, 78] }),
  ]);
  try {
    const address = await queryWireServerByDhcp(options(server.port, { kind: 'inform', clientAddress: '127.0.0.50' }));
    assert.equal(address, '127.0.0.78');
    assert.equal(server.requests[0]!.type, 8);
    assert.equal(server.requests[0]!.ciaddr, '127.0.0.50');
  } finally {
    server.close();
  }
});

test('the client port is free again after the query, answered or not', async () => {
  for (const answer of [(r: Request) => [reply({ xid: r.xid, wireServer: [127, 0, 0, 77] })], () => []]) {
    const server = await fakeDhcpServer(answer);
    const clientPort = await freePort();
    try {
      await queryWireServerByDhcp(options(server.port, { clientPort, timeoutMs: 40, attempts: 1 }));
      const again = await bindExclusively(clientPort);
      again.close();
    } finally {
      server.close();
    }
  }
});

test('a client port held without address reuse gives a clear bind error', async () => {
  const holder = await bindExclusively(0);
  const heldPort = holder.address().port;
  try {
    await assert.rejects(queryWireServerByDhcp(options(9, { clientPort: heldPort })), (err: unknown) => {
      assert.ok(err instanceof WireServerError);
      assert.match(err.reason, new RegExp(`cannot bind UDP 127\\.0\\.0\\.1:${heldPort} \\(EADDRINUSE\\)`));
      return true;
    });
  } finally {
    holder.close();
  }
});

test('an abort ends the wait with the signal reason and frees the port', async () => {
  const server = await fakeDhcpServer(() => []);
  const clientPort = await freePort();
  const controller = new AbortController();
  try {
    const pending = queryWireServerByDhcp(options(server.port, { clientPort, timeoutMs: 5000, attempts: 5, signal: controller.signal }));
    setTimeout(() => controller.abort(new Error('deadline')), 30);
    await assert.rejects(pending, /deadline/);
    assert.equal(server.requests.length, 1);
    const again = await bindExclusively(clientPort);
    again.close();
  } finally {
    server.close();
  }
});

// --- Interoperability: a fake Azure DHCP server built on the npm "dhcp" package (an implementation we did not write).

interface DhcpLibraryServer {
  _sock: Socket;
  _send(host: string, data: unknown): void;
  listen(port: number, host: string, callback?: () => void): void;
  close(callback?: () => void): void;
  on(event: 'error', listener: (err: unknown) => void): void;
}
interface DhcpLibrary {
  createServer(config: Record<string, unknown>): DhcpLibraryServer;
  addOption(code: number, option: { name: string; type: string; config: string }): void;
}
interface DhcpLibraryProtocol {
  format(data: unknown): { _data: Buffer; _w: number };
}

test('a DISCOVER gets option 245 from the OFFER of a DHCP server built on the npm dhcp package', async () => {
  const require = createRequire(import.meta.url);
  const dhcp = require('dhcp') as DhcpLibrary;
  const protocol = require('dhcp/lib/protocol.js') as DhcpLibraryProtocol;
  dhcp.addOption(245, { name: 'wireServer', type: 'IP', config: 'wireServer' });
  const server = dhcp.createServer({
    range: ['127.0.0.10', '127.0.0.99'],
    netmask: '255.255.255.0',
    router: ['127.0.0.1'],
    dns: ['127.0.0.1'],
    server: LOOPBACK,
    broadcast: '127.0.0.255',
    wireServer: '127.0.0.77',
    forceOptions: ['wireServer'],
  });
  const errors: unknown[] = [];
  server.on('error', (err) => errors.push(err));
  // The library sends to the hard-coded client port 68; send to the client's actual port on 127.0.0.1 instead.
  const clientPort = await freePort();
  server._send = function (_host: string, data: unknown): void {
    const formatted = protocol.format(data);
    this._sock.send(formatted._data, 0, formatted._w, clientPort, LOOPBACK);
  };
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const serverPort = server._sock.address().port;
  try {
    const address = await queryWireServerByDhcp(options(serverPort, { clientPort, timeoutMs: 1000, attempts: 2 }));
    assert.equal(address, '127.0.0.77');
    assert.deepEqual(errors, []);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
