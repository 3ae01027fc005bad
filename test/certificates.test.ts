import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CertificateRefusedError } from '../src/errors.ts';
import { fetchCertificates } from '../src/certificates.ts';
import { WorkBudget } from '../src/crypto/work-budget.ts';
import { createTransportCertificate } from '../src/crypto/transport-cert.ts';
import { WireClient } from '../src/net/wire-client.ts';
import { FabricSimulator } from '../src/simulator/index.ts';
import { silentLog } from '../src/util/log.ts';

test('the certificates step\'s work budget is the caller\'s: one spent by an earlier fetch refuses the next', async (t) => {
  const simulator = new FabricSimulator({ scenario: { certificateCount: 1 } });
  await simulator.start();
  t.after(() => simulator.stop());
  const client = new WireClient({ baseUrl: simulator.url, agentVersion: 'test', connectTimeoutMs: 2_000, readTimeoutMs: 5_000, maxResponseBytes: 8 * 1024 * 1024, deadline: Date.now() + 30_000 });
  const goalState = await client.goalState();
  const urls = { certificatesUrl: goalState.roleInstance.certificatesUrl!, hostingEnvironmentConfigUrl: goalState.roleInstance.hostingEnvironmentConfigUrl };
  const transport = createTransportCertificate();

  // Enough for one fetch of this blob, not for two: as when a refreshed goal state has the step fetch again.
  const probe = new WorkBudget();
  const bundle = await fetchCertificates(client, urls, transport, silentLog(), probe);
  assert.equal(bundle?.placements.length, 1);
  const shared = new WorkBudget({ work: probe.used + probe.used / 2 });
  assert.equal((await fetchCertificates(client, urls, transport, silentLog(), shared))?.placements.length, 1);
  await assert.rejects(fetchCertificates(client, urls, transport, silentLog(), shared), (err) => err instanceof CertificateRefusedError && /budget/.test(err.message));
});
