import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImdsSimulator } from '../../src/simulator/imds.ts';

test('the IMDS simulator answers as IMDS does: Metadata header required, no proxy, known api-versions', async () => {
  const imds = new ImdsSimulator({ userData: 'I3BzMQ==', vmId: 'abc' });
  const url = await imds.start();
  try {
    const path = '/metadata/instance/compute/userData?api-version=2021-01-01&format=text';
    assert.equal((await fetch(`${url}${path}`)).status, 400);
    assert.equal((await fetch(`${url}${path}`, { headers: { Metadata: 'true', 'X-Forwarded-For': '10.0.0.1' } })).status, 403);
    assert.equal((await fetch(`${url}/metadata/instance/compute/userData?api-version=1999-01-01&format=text`, { headers: { Metadata: 'true' } })).status, 400);
    const ok = await fetch(`${url}${path}`, { headers: { Metadata: 'true' } });
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'I3BzMQ==');
    const instance = (await (await fetch(`${url}/metadata/instance?api-version=2021-02-01`, { headers: { Metadata: 'true' } })).json()) as { compute: { vmId: string; userData: string } };
    assert.equal(instance.compute.vmId, 'abc');
    assert.equal(instance.compute.userData, 'I3BzMQ==');
  } finally {
    await imds.stop();
  }
});
