import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XMLValidator } from 'fast-xml-parser';
import forge from 'node-forge';
import { FabricSimulator, type FaultScript } from '../../src/simulator/index.ts';
import { FaultQueues, describeStep, validateFaultScript } from '../../src/simulator/faults.ts';
import {
  AGENT_HEADERS,
  elementText,
  goalStateUrls,
  healthBody,
  httpRequest,
  makeTransportPair,
  parseRaw,
  postHealth,
  rawExchange,
  readyBody,
  waitFor,
} from './support.ts';

async function withSim(faults: FaultScript, run: (sim: FabricSimulator) => Promise<void>, certificateCount = 0): Promise<void> {
  const sim = new FabricSimulator({ scenario: { certificateCount }, faults });
  await sim.start();
  try {
    await run(sim);
  } finally {
    await sim.stop();
  }
}

const goalState = (sim: FabricSimulator): ReturnType<typeof httpRequest> => httpRequest(`${sim.url}/machine/?comp=goalstate`, { headers: AGENT_HEADERS });
const rawGoalState = (sim: FabricSimulator): ReturnType<typeof rawExchange> =>
  rawExchange(sim.url, 'GET /machine/?comp=goalstate HTTP/1.1\r\nHost: x\r\nx-ms-agent-name: t\r\nx-ms-version: 2012-11-30\r\nConnection: close\r\n\r\n');

const fail = (key: string, rule: string): Error => new Error(`${key} ${rule}`);

test('a status step answers its status, Retry-After and body once, then the endpoint behaves normally', async () => {
  await withSim({ endpoints: { goalstate: [{ status: 503, retryAfter: '2', body: 'busy' }, { status: 429 }] } }, async (sim) => {
    const first = await goalState(sim);
    assert.equal(first.status, 503);
    assert.equal(first.headers['retry-after'], '2');
    assert.equal(first.text, 'busy');
    const second = await goalState(sim);
    assert.equal(second.status, 429);
    assert.equal(second.headers['retry-after'], undefined);
    assert.equal((await goalState(sim)).status, 200);
    assert.deepEqual(
      sim.requestsTo('goalstate').map((r) => r.fault),
      ['status 503 (Retry-After: 2)', 'status 429', undefined],
    );
  });
});

test('steps are per endpoint: a fault on one endpoint leaves the others alone', async () => {
  await withSim({ endpoints: { versions: [{ status: 500 }] } }, async (sim) => {
    assert.equal((await goalState(sim)).status, 200);
    assert.equal((await httpRequest(`${sim.url}/?comp=versions`)).status, 500);
    assert.equal((await httpRequest(`${sim.url}/?comp=versions`)).status, 200);
  });
});

test('a delay step answers normally after the delay', async () => {
  await withSim({ endpoints: { goalstate: [{ delayMs: 150 }] } }, async (sim) => {
    const started = Date.now();
    const res = await goalState(sim);
    assert.equal(res.status, 200);
    assert.ok(Date.now() - started >= 140, `took ${Date.now() - started} ms`);
    const quick = Date.now();
    await goalState(sim);
    assert.ok(Date.now() - quick < 140);
  });
});

test('a reset step destroys the connection without an answer', async () => {
  await withSim({ endpoints: { goalstate: [{ reset: true }] } }, async (sim) => {
    await assert.rejects(goalState(sim), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET');
    assert.equal((await goalState(sim)).status, 200);
    assert.equal(sim.requestsTo('goalstate')[0]!.fault, 'reset');
  });
});

test('a hang step accepts and never answers until stop() closes the connection', async () => {
  const sim = new FabricSimulator({ scenario: { certificateCount: 0 }, faults: { endpoints: { goalstate: [{ hang: true }] } } });
  await sim.start();
  let settled = false;
  const pending = goalState(sim).finally(() => (settled = true));
  await waitFor(() => sim.requests.length === 1);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(settled, false, 'no answer while hung');
  await sim.stop();
  await assert.rejects(pending, (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET');
});

test('a truncate step announces a longer Content-Length than it sends, then closes', async () => {
  await withSim({ endpoints: { goalstate: [{ truncate: true }] } }, async (sim) => {
    const { bytes } = await rawGoalState(sim);
    const { status, headers, body } = parseRaw(bytes);
    assert.equal(status, 200);
    assert.ok(body.length > 0);
    assert.ok(Number(headers['content-length']) > body.length, `${headers['content-length']} > ${body.length}`);
    const whole = parseRaw((await rawGoalState(sim)).bytes);
    assert.equal(Number(whole.headers['content-length']), whole.body.length);
  });
});

test('a malformed step answers 200 with a body that is not well-formed XML', async () => {
  await withSim({ endpoints: { goalstate: [{ malformed: true }], versions: [{ malformed: true }] } }, async (sim) => {
    for (const res of [await goalState(sim), await httpRequest(`${sim.url}/?comp=versions`)]) {
      assert.equal(res.status, 200);
      assert.notEqual(XMLValidator.validate(res.text), true);
    }
    assert.equal(XMLValidator.validate((await goalState(sim)).text), true);
  });
});

test('an oversize step answers a 4 MiB body', async () => {
  await withSim({ endpoints: { sharedConfig: [{ oversize: true }] } }, async (sim) => {
    const { sharedConfig } = await goalStateUrls(sim);
    const res = await httpRequest(sharedConfig, { headers: AGENT_HEADERS });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 4 * 1024 * 1024);
    assert.equal(Number(res.headers['content-length']), res.body.length);
  });
});

test('a noRoleInstance step serves a goal state without RoleInstance once', async () => {
  await withSim({ endpoints: { goalstate: [{ noRoleInstance: true }] } }, async (sim) => {
    const first = await goalState(sim);
    assert.equal(first.status, 200);
    assert.doesNotMatch(first.text, /<RoleInstance>/);
    assert.equal(elementText(first.text, 'ContainerId'), sim.expected.containerId);
    assert.match((await goalState(sim)).text, /<RoleInstance>/);
  });
});

test('bumpIncarnation raises the incarnation; documents and reports of the old one answer 410', async () => {
  await withSim({ endpoints: { goalstate: [{ delayMs: 0 }, { bumpIncarnation: true }] } }, async (sim) => {
    const old = await goalStateUrls(sim);
    assert.equal(elementText(old.xml, 'Incarnation'), '1');
    const oldReport = readyBody(sim);
    const fresh = await goalStateUrls(sim);
    assert.equal(elementText(fresh.xml, 'Incarnation'), '2');
    assert.equal(sim.expected.incarnation, '2');
    assert.equal((await httpRequest(old.hostingEnvironmentConfig, { headers: AGENT_HEADERS })).status, 410);
    assert.equal((await httpRequest(fresh.hostingEnvironmentConfig, { headers: AGENT_HEADERS })).status, 200);
    assert.equal((await postHealth(sim, oldReport)).status, 410);
    assert.equal((await postHealth(sim, readyBody(sim))).status, 200);
  });
});

test('bumpIncarnation on the health endpoint makes the report in flight stale (410)', async () => {
  await withSim({ endpoints: { health: [{ bumpIncarnation: true }] } }, async (sim) => {
    const res = await postHealth(sim, readyBody(sim));
    assert.equal(res.status, 410);
    assert.equal(sim.healthReports[0]!.accepted, false);
    assert.equal((await postHealth(sim, readyBody(sim))).status, 200);
  });
});

test('a corruptCertificates step serves Data that is random bytes, not an envelope', async () => {
  await withSim(
    { endpoints: { certificates: [{ corruptCertificates: true }] } },
    async (sim) => {
      const { certificates } = await goalStateUrls(sim);
      const headers = { ...AGENT_HEADERS, 'x-ms-guest-agent-public-x509-cert': makeTransportPair().header };
      const res = await httpRequest(certificates!, { headers });
      assert.equal(res.status, 200);
      assert.equal(elementText(res.text, 'Format'), 'Pkcs7BlobWithPfxContents');
      const data = Buffer.from(/<Data>([^<]*)</.exec(res.text)![1]!.replace(/\s/g, ''), 'base64');
      assert.ok(data.length > 0);
      const isEnvelope = (() => {
        try {
          const info = forge.asn1.fromDer(data.toString('binary'));
          return forge.asn1.derToOid((info.value as forge.asn1.Asn1[])[0]!.value as string) === '1.2.840.113549.1.7.3';
        } catch {
          return false;
        }
      })();
      assert.equal(isEnvelope, false);
    },
    1,
  );
});

test('a wrongRecipient step addresses the envelope to another certificate', async () => {
  await withSim(
    { endpoints: { certificates: [{ wrongRecipient: true }] } },
    async (sim) => {
      const pair = makeTransportPair();
      const { certificates } = await goalStateUrls(sim);
      const headers = { ...AGENT_HEADERS, 'x-ms-guest-agent-public-x509-cert': pair.header };
      const ski = async (): Promise<string> => {
        const res = await httpRequest(certificates!, { headers });
        assert.equal(res.status, 200);
        const der = Buffer.from(/<Data>([^<]*)</.exec(res.text)![1]!.replace(/\s/g, ''), 'base64');
        const env = ((forge.asn1.fromDer(der.toString('binary')).value as forge.asn1.Asn1[])[1]!.value as forge.asn1.Asn1[])[0]!;
        const ktri = ((env.value as forge.asn1.Asn1[])[1]!.value as forge.asn1.Asn1[])[0]!;
        return forge.util.bytesToHex((ktri.value as forge.asn1.Asn1[])[1]!.value as string);
      };
      const wrong = await ski();
      assert.notEqual(wrong, pair.subjectKeyIdentifier);
      assert.equal(wrong.length, pair.subjectKeyIdentifier.length);
      assert.equal(await ski(), pair.subjectKeyIdentifier);
    },
    1,
  );
});

test('health answering 500 k times: k scripted refusals are recorded, then the report is accepted', async () => {
  await withSim({ endpoints: { health: [{ status: 500 }, { status: 500 }] } }, async (sim) => {
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await postHealth(sim, readyBody(sim))).status);
    assert.deepEqual(statuses, [500, 500, 200]);
    assert.deepEqual(
      sim.healthReports.map((r) => [r.state, r.accepted, r.httpStatus]),
      [
        ['Ready', false, 500],
        ['Ready', false, 500],
        ['Ready', true, 200],
      ],
    );
  });
});

test('a truncated health answer still records the report as received', async () => {
  await withSim({ endpoints: { health: [{ truncate: true }] } }, async (sim) => {
    const { incarnation, containerId, instanceId } = sim.expected;
    const body = healthBody({ incarnation, containerId, instanceId, state: 'Ready' });
    await assert.rejects(postHealth(sim, body));
    assert.equal(sim.healthReports.length, 1);
    assert.equal(sim.healthReports[0]!.accepted, true);
  });
});

test('unavailableForMs refuses connections at first, then the simulator answers', async () => {
  await withSim({ unavailableForMs: 250 }, async (sim) => {
    // Held free below the ephemeral ranges, so no port-0 bind elsewhere can take it during the window.
    const port = Number(new URL(sim.url).port);
    assert.ok(port >= 20_000 && port < 32_768, `port ${port}`);
    await assert.rejects(httpRequest(`${sim.url}/?comp=versions`), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
    await sim.whenListening();
    const res = await httpRequest(`${sim.url}/?comp=versions`);
    assert.equal(res.status, 200);
    assert.equal(sim.requests.length, 1);
    assert.ok(sim.requests[0]!.at >= 240, `first request at ${sim.requests[0]!.at} ms`);
  });
});

test('stop() during the unavailable window never starts listening', async () => {
  const sim = new FabricSimulator({ scenario: { certificateCount: 0 }, faults: { unavailableForMs: 100 } });
  await sim.start();
  const url = sim.url;
  await sim.stop();
  await new Promise((r) => setTimeout(r, 150));
  await assert.rejects(httpRequest(`${url}/?comp=versions`), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
});

test('fault scripts are validated strictly and errors name the key', () => {
  const cases: [unknown, RegExp][] = [
    [[], /^faults must be an object/],
    [{ unavailable: 5 }, /^faults\.unavailable is not a key/],
    [{ unavailableForMs: -1 }, /^faults\.unavailableForMs must be/],
    [{ unavailableForMs: '5000' }, /^faults\.unavailableForMs must be/],
    [{ endpoints: { goalState: [] } }, /^faults\.endpoints\.goalState is not an endpoint/],
    [{ endpoints: { goalstate: {} } }, /^faults\.endpoints\.goalstate must be an array/],
    [{ endpoints: { goalstate: [{ status: 99 }] } }, /^faults\.endpoints\.goalstate\[0\]\.status must be/],
    [{ endpoints: { goalstate: [{ status: 503, retryAfter: 2 }] } }, /^faults\.endpoints\.goalstate\[0\]\.retryAfter must be a string/],
    [{ endpoints: { goalstate: [{ status: 503, retry: '2' }] } }, /^faults\.endpoints\.goalstate\[0\]\.retry is not a key/],
    [{ endpoints: { goalstate: [{ delayMs: 1.5 }] } }, /^faults\.endpoints\.goalstate\[0\]\.delayMs must be/],
    [{ endpoints: { goalstate: [{ hang: false }] } }, /^faults\.endpoints\.goalstate\[0\]\.hang must be true/],
    [{ endpoints: { goalstate: [{ hang: true, reset: true }] } }, /^faults\.endpoints\.goalstate\[0\] must have exactly one/],
    [{ endpoints: { goalstate: [{ explode: true }] } }, /^faults\.endpoints\.goalstate\[0\]\.explode is not a fault step/],
    [{ endpoints: { health: [{ noRoleInstance: true }] } }, /^faults\.endpoints\.health\[0\]\.noRoleInstance applies only to goalstate/],
    [{ endpoints: { goalstate: [{ delayMs: 0 }, { wrongRecipient: true }] } }, /^faults\.endpoints\.goalstate\[1\]\.wrongRecipient applies only to certificates/],
    [{ endpoints: { versions: ['reset'] } }, /^faults\.endpoints\.versions\[0\] must be an object/],
  ];
  for (const [script, message] of cases) {
    assert.throws(() => validateFaultScript(script, fail), { message }, JSON.stringify(script));
  }
  const ok = { unavailableForMs: 10, endpoints: { certificates: [{ wrongRecipient: true }, { status: 503, retryAfter: '1' }] } };
  assert.deepEqual(validateFaultScript(ok, fail), ok);
});

test('the simulator constructor rejects a bad fault script naming the key', () => {
  assert.throws(
    () => new FabricSimulator({ faults: { endpoints: { goalstate: [{ delayMs: -5 }] } } }),
    /simulator option faults\.endpoints\.goalstate\[0\]\.delayMs: must be/,
  );
});

test('FaultQueues plays each endpoint\'s steps in order, once, and describeStep names them', () => {
  const queues = new FaultQueues({ endpoints: { versions: [{ status: 500 }, { reset: true }] } });
  assert.equal(queues.remaining('versions'), 2);
  assert.deepEqual(queues.next('versions'), { status: 500 });
  assert.equal(queues.next('goalstate'), undefined);
  assert.equal(describeStep(queues.next('versions')!), 'reset');
  assert.equal(queues.next('versions'), undefined);
  assert.equal(describeStep({ delayMs: 20 }), 'delay 20 ms');
});
