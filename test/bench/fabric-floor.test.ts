import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTransportCertificate } from '../../src/crypto/transport-cert.ts';
import { BenchFabric, customData } from '../../bench/fabric.ts';
import { fabricSequence } from '../../bench/fabric-floor.ts';
import { timeDecrypt, timeKeyGeneration } from '../../bench/local-floor.ts';

test('the raw fabric client makes the agent\'s requests, gets both reports accepted and an envelope that decrypts', async () => {
  const fabric = await BenchFabric.start({ certificates: 2, customDataBytes: 0 });
  try {
    const transport = await createTransportCertificate();
    const ready = fabric.nextReady();
    const sequence = await fabricSequence(fabric.url, transport.headerValue);
    assert.ok(sequence.ms > 0);
    assert.ok((await ready.at) > 0, 'the Ready report was accepted');
    assert.deepEqual(fabric.simulator.requests.map((r) => r.endpoint).sort(), ['certificates', 'goalstate', 'health', 'health', 'hostingEnvironmentConfig', 'versions']);
    assert.deepEqual(fabric.simulator.healthReports.map((r) => [r.state, r.accepted]), [['NotReady', true], ['Ready', true]]);
    assert.ok(timeDecrypt(sequence.certificateData!, { keyPem: transport.keyPem, certPem: transport.certPem }) >= 0);
  } finally {
    await fabric.stop();
  }
});

test('without certificates the client skips the certificate documents, as the agent does', async () => {
  const fabric = await BenchFabric.start({ certificates: 0, customDataBytes: 0 });
  try {
    const sequence = await fabricSequence(fabric.url, 'unused');
    assert.equal(sequence.certificateData, undefined);
    assert.deepEqual(fabric.simulator.requests.map((r) => r.endpoint), ['versions', 'goalstate', 'health', 'health']);
  } finally {
    await fabric.stop();
  }
});

test('custom data of the asked size is printable text', () => {
  const text = customData(65_535);
  assert.equal(Buffer.byteLength(text, 'utf8'), 65_535);
  assert.match(text, /^[\x20-\x7e\n]+$/);
});

test('the key generation floor times each key of a round on its own', async () => {
  const samples = await timeKeyGeneration(3);
  assert.equal(samples.length, 3);
  for (const ms of samples) assert.ok(ms > 0 && ms < 30_000, `a key in ${ms} ms`);
});
