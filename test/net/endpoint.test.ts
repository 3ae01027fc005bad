import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { ConfigError, WireServerError } from '../../src/errors.ts';
import { discoverFabric, unusableAddressReason } from '../../src/net/endpoint.ts';
import type { DiscoverFabricInput } from '../../src/net/endpoint.ts';

/** Fake sources that record every call, in order, in one journal. */
function sources(spec: {
  cache?: string | Error;
  query?: string | Error;
  answering?: string[];
  fallbackAddress?: string;
}): { input: DiscoverFabricInput; calls: string[]; logs: string[] } {
  const calls: string[] = [];
  const logs: string[] = [];
  const source = (name: string, result: string | Error | undefined) => async (): Promise<string | undefined> => {
    calls.push(name);
    if (result instanceof Error) throw result;
    return result;
  };
  const input: DiscoverFabricInput = {
    readCache: source('cache', spec.cache),
    queryDhcp: source('query', spec.query),
    probe: async (baseUrl) => {
      calls.push(`probe ${baseUrl}`);
      return (spec.answering ?? []).includes(baseUrl);
    },
    fallbackAddress: spec.fallbackAddress ?? '127.0.0.9',
    log: (message) => logs.push(message),
  };
  return { input, calls, logs };
}

test('a configured URL wins without touching the DHCP sources or the probe', async () => {
  const { input, calls, logs } = sources({ cache: '127.0.0.2', query: '127.0.0.3', answering: ['http://127.0.0.2'] });
  const found = await discoverFabric({ ...input, configured: 'http://127.0.0.5:8080/' });
  assert.deepEqual(found, { baseUrl: 'http://127.0.0.5:8080', source: 'configured', confirmed: false });
  assert.deepEqual(calls, []);
  assert.match(logs.join('\n'), /configured endpoint http:\/\/127\.0\.0\.5:8080/);
});

test('the DHCP cache is used first when its address answers; nothing else is asked', async () => {
  const { input, calls, logs } = sources({ cache: '127.0.0.2', query: '127.0.0.3', answering: ['http://127.0.0.2', 'http://127.0.0.3'] });
  const found = await discoverFabric(input);
  assert.deepEqual(found, { baseUrl: 'http://127.0.0.2', source: 'dhcp-cache', confirmed: true });
  assert.deepEqual(calls, ['cache', 'probe http://127.0.0.2']);
  assert.match(logs.at(-1)!, /DHCP client cache, confirmed/);
});

test('a cache that throws is logged and skipped; the DHCP query is used', async () => {
  const broken = new WireServerError('WIRESERVER_UNREACHABLE', 'registry read failed', 'registry');
  const { input, calls, logs } = sources({ cache: broken, query: '127.0.0.3', answering: ['http://127.0.0.3'] });
  const found = await discoverFabric(input);
  assert.deepEqual(found, { baseUrl: 'http://127.0.0.3', source: 'dhcp-query', confirmed: true });
  assert.deepEqual(calls, ['cache', 'query', 'probe http://127.0.0.3']);
  assert.match(logs.join('\n'), /DHCP client cache failed.*registry read failed/);
});

test('a cache without option 245 moves on to the DHCP query', async () => {
  const { input, calls } = sources({ query: '127.0.0.3', answering: ['http://127.0.0.3'] });
  assert.equal((await discoverFabric(input)).source, 'dhcp-query');
  assert.deepEqual(calls, ['cache', 'query', 'probe http://127.0.0.3']);
});

test('a cached address that does not answer moves on to the DHCP query', async () => {
  const { input, calls } = sources({ cache: '127.0.0.2', query: '127.0.0.3', answering: ['http://127.0.0.3'] });
  assert.equal((await discoverFabric(input)).baseUrl, 'http://127.0.0.3');
  assert.deepEqual(calls, ['cache', 'probe http://127.0.0.2', 'query', 'probe http://127.0.0.3']);
});

test('a failing DHCP query falls back to the default address once it answers', async () => {
  const { input, calls, logs } = sources({ query: new Error('EACCES'), answering: ['http://127.0.0.9'] });
  const found = await discoverFabric(input);
  assert.deepEqual(found, { baseUrl: 'http://127.0.0.9', source: 'fallback', confirmed: true });
  assert.deepEqual(calls, ['cache', 'query', 'probe http://127.0.0.9']);
  assert.match(logs.join('\n'), /DHCP query failed.*EACCES/);
});

test('unusable addresses from DHCP are rejected without a probe', async () => {
  for (const bad of ['0.0.0.0', '255.255.255.255', '224.0.0.1', '239.1.2.3', '250.0.0.1', '1.2.3']) {
    const { input, calls, logs } = sources({ cache: bad, query: bad, answering: [`http://${bad}`, 'http://127.0.0.9'] });
    const found = await discoverFabric(input);
    assert.equal(found.source, 'fallback', bad);
    assert.deepEqual(calls, ['cache', 'query', 'probe http://127.0.0.9'], bad);
    assert.match(logs[0]!, /skipped/);
  }
  assert.equal(unusableAddressReason('127.0.0.1'), undefined);
  assert.equal(unusableAddressReason('10.0.1.4'), undefined);
});

test('an address that already failed its probe is not probed twice', async () => {
  const { input, calls } = sources({ cache: '127.0.0.9', query: '127.0.0.9' });
  const found = await discoverFabric(input);
  assert.deepEqual(calls, ['cache', 'probe http://127.0.0.9', 'query']);
  assert.deepEqual(found, { baseUrl: 'http://127.0.0.9', source: 'fallback', confirmed: false });
});

test('when nothing answers, the fallback is returned unconfirmed and the log names every source tried', async () => {
  const { input, calls, logs } = sources({ cache: '127.0.0.2', query: new Error('timeout') });
  const found = await discoverFabric(input);
  assert.deepEqual(found, { baseUrl: 'http://127.0.0.9', source: 'fallback', confirmed: false });
  assert.deepEqual(calls, ['cache', 'probe http://127.0.0.2', 'query', 'probe http://127.0.0.9']);
  assert.match(logs.at(-1)!, /DHCP client cache \(http:\/\/127\.0\.0\.2\).*DHCP query \(failed\).*default address \(http:\/\/127\.0\.0\.9\).*unconfirmed/);
});

test('a probe that throws counts as not answering', async () => {
  const { input, calls } = sources({ cache: '127.0.0.2' });
  const probe = async (baseUrl: string): Promise<boolean> => {
    calls.push(`probe ${baseUrl}`);
    if (baseUrl === 'http://127.0.0.2') throw new Error('ECONNRESET');
    return true;
  };
  assert.equal((await discoverFabric({ ...input, probe })).source, 'fallback');
});

test('the default fallback is the well-known WireServer address', async () => {
  const { input, calls } = sources({});
  const found = await discoverFabric({ ...input, fallbackAddress: undefined });
  assert.equal(found.baseUrl, 'http://168.63.129.16');
  assert.equal(calls.at(-1), 'probe http://168.63.129.16');
});

test('an unusable fallback setting is a configuration error', async () => {
  const { input } = sources({ fallbackAddress: '0.0.0.0' });
  await assert.rejects(discoverFabric(input), ConfigError);
});

test('a real probe confirms a WireServer on loopback after the cached address refuses the connection', async () => {
  const versions = await readFile(new URL('../fixtures/fabric/versions.xml', import.meta.url));
  const seen: string[] = [];
  const server = createServer((request, response) => {
    seen.push(request.url ?? '');
    if (request.url === '/?comp=versions') response.writeHead(200, { 'content-type': 'text/xml' }).end(versions);
    else response.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const probe = async (baseUrl: string): Promise<boolean> => {
      try {
        const response = await fetch(`${baseUrl}/?comp=versions`, { signal: AbortSignal.timeout(1000) });
        await response.arrayBuffer();
        return response.ok;
      } catch {
        return false; // refused or timed out: not a WireServer
      }
    };
    const logs: string[] = [];
    const found = await discoverFabric({
      readCache: async () => '127.0.0.2', // same port, nobody listening on that address
      queryDhcp: async () => undefined,
      probe,
      fallbackAddress: '127.0.0.1',
      wireServerPort: port,
      log: (message) => logs.push(message),
    });
    assert.deepEqual(found, { baseUrl: `http://127.0.0.1:${port}`, source: 'fallback', confirmed: true });
    assert.deepEqual(seen, ['/?comp=versions']);
  } finally {
    server.close();
  }
});
