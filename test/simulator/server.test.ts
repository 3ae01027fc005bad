import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FabricSimulator, MEDIA_TAG_FILE } from '../../src/simulator/index.ts';
import { AGENT_HEADERS, elementText, goalStateUrls, httpRequest, postHealth, readyBody } from './support.ts';

const sim = new FabricSimulator({ scenario: { certificateCount: 2, computerName: 'vm-a&b' } });
await sim.start();
const noCerts = new FabricSimulator({ scenario: { certificateCount: 0 } });
await noCerts.start();
after(async () => {
  await sim.stop();
  await noCerts.stop();
});

test('url is http://127.0.0.1:PORT with the ephemeral port it listens on', () => {
  assert.match(sim.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(sim.url, noCerts.url);
});

test('GET /?comp=versions prefers 2015-04-05 and supports 2015-04-05 and 2012-11-30, without any header', async () => {
  const res = await httpRequest(`${sim.url}/?comp=versions`);
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'] ?? '', /xml/);
  assert.match(res.text, /<Preferred>\s*<Version>2015-04-05<\/Version>\s*<\/Preferred>/);
  const supported = /<Supported>([\s\S]*)<\/Supported>/.exec(res.text)![1]!;
  assert.deepEqual([...supported.matchAll(/<Version>([^<]+)<\/Version>/g)].map((m) => m[1]), ['2015-04-05', '2012-11-30']);
});

test('the goal state is refused with 400 without x-ms-agent-name or with an unlisted x-ms-version', async () => {
  const url = `${sim.url}/machine/?comp=goalstate`;
  const noAgent = await httpRequest(url, { headers: { 'x-ms-version': '2012-11-30' } });
  assert.equal(noAgent.status, 400);
  assert.match(noAgent.text, /x-ms-agent-name/);
  const noVersion = await httpRequest(url, { headers: { 'x-ms-agent-name': 'a' } });
  assert.equal(noVersion.status, 400);
  const oldVersion = await httpRequest(url, { headers: { 'x-ms-agent-name': 'a', 'x-ms-version': '2010-12-15' } });
  assert.equal(oldVersion.status, 400);
  assert.match(oldVersion.text, /2010-12-15/);
  const preferred = await httpRequest(url, { headers: { 'x-ms-agent-name': 'a', 'x-ms-version': '2015-04-05' } });
  assert.equal(preferred.status, 200);
});

test('the goal state names this VM and gives absolute, escaped URLs back to the simulator with the incarnation', async () => {
  const { xml, hostingEnvironmentConfig, sharedConfig, certificates } = await goalStateUrls(sim);
  assert.equal(elementText(xml, 'Incarnation'), '1');
  assert.equal(elementText(xml, 'ContainerId'), sim.expected.containerId);
  // The instance id carries the computer name, so it is escaped like any value.
  assert.equal(elementText(xml, 'InstanceId'), sim.expected.instanceId.replace('&', '&amp;'));
  const raw = /<HostingEnvironmentConfig>([^<]+)</.exec(xml)![1]!;
  assert.match(raw, /\?comp=config&amp;type=hostingEnvironmentConfig&amp;incarnation=1$/);
  for (const url of [hostingEnvironmentConfig, sharedConfig, certificates!]) {
    assert.ok(url.startsWith(`${sim.url}/machine/`), url);
    assert.match(url, /incarnation=1$/);
  }
  assert.match(certificates!, /\?comp=certificates&incarnation=1$/);
});

test('without certificates the goal state has no Certificates element and the certificates URL is 404', async () => {
  const { xml, hostingEnvironmentConfig } = await goalStateUrls(noCerts);
  assert.doesNotMatch(xml, /<Certificates>/);
  const certsUrl = hostingEnvironmentConfig.replace(/\?.*$/, '?comp=certificates&incarnation=1');
  const res = await httpRequest(certsUrl, { headers: AGENT_HEADERS });
  assert.equal(res.status, 404);
  const hec = await httpRequest(hostingEnvironmentConfig, { headers: AGENT_HEADERS });
  assert.doesNotMatch(hec.text, /<StoredCertificate /);
});

test('HostingEnvironmentConfig lists every certificate: My for the key owner, Root for the key-less last one', async () => {
  const { hostingEnvironmentConfig } = await goalStateUrls(sim);
  const res = await httpRequest(hostingEnvironmentConfig, { headers: AGENT_HEADERS });
  assert.equal(res.status, 200);
  const stored = [...res.text.matchAll(/<StoredCertificate [^>]*certificateId="sha1:([0-9A-F]{40})" storeName="(\w+)" configurationLevel="System"/g)];
  const expected = sim.expected.certificates;
  assert.equal(expected.length, 2);
  assert.deepEqual(
    stored.map((m) => [m[1], m[2]]),
    expected.map((c) => [c.thumbprint, c.storeName]),
  );
  assert.deepEqual(expected.map((c) => [c.hasPrivateKey, c.storeName]), [
    [true, 'My'],
    [false, 'Root'],
  ]);
});

test('SharedConfig is served for the current incarnation', async () => {
  const { sharedConfig } = await goalStateUrls(sim);
  const res = await httpRequest(sharedConfig, { headers: AGENT_HEADERS });
  assert.equal(res.status, 200);
  assert.match(res.text, /^<SharedConfig version="1.0.0.0" goalStateIncarnation="1">/);
});

test('config documents need the agent headers and the incarnation in the URL', async () => {
  const { hostingEnvironmentConfig } = await goalStateUrls(sim);
  assert.equal((await httpRequest(hostingEnvironmentConfig)).status, 400);
  const withoutIncarnation = await httpRequest(hostingEnvironmentConfig.replace('&incarnation=1', ''), { headers: AGENT_HEADERS });
  assert.equal(withoutIncarnation.status, 400);
  assert.match(withoutIncarnation.text, /incarnation/);
});

test('anything else is 404: unknown paths, a wrong container path, the wrong method, an unescaped &amp;', async () => {
  const { hostingEnvironmentConfig } = await goalStateUrls(sim);
  const wrongContainer = hostingEnvironmentConfig.replace(/\/machine\/[^/]+\//, '/machine/00000000/');
  const notUnescaped = hostingEnvironmentConfig.replaceAll('&', '&amp;');
  for (const [method, url] of [
    ['GET', `${sim.url}/nothing`],
    ['GET', `${sim.url}/machine/?comp=nothing`],
    ['POST', `${sim.url}/machine/?comp=goalstate`],
    ['GET', `${sim.url}/machine?comp=health`],
    ['GET', wrongContainer],
    ['GET', notUnescaped],
  ] as const) {
    const res = await httpRequest(url, { method, headers: AGENT_HEADERS });
    assert.equal(res.status, 404, `${method} ${url}`);
  }
});

test('every request is recorded with method, path, endpoint, shortened long headers and a time', async () => {
  const before = sim.requests.length;
  const longValue = 'A'.repeat(500);
  await httpRequest(`${sim.url}/machine/?comp=goalstate`, { headers: { ...AGENT_HEADERS, 'x-long': longValue } });
  await httpRequest(`${sim.url}/nowhere?x=1`);
  const [goal, nowhere] = sim.requests.slice(before);
  assert.equal(goal!.method, 'GET');
  assert.equal(goal!.path, '/machine/?comp=goalstate');
  assert.equal(goal!.endpoint, 'goalstate');
  assert.equal(goal!.headers['x-ms-agent-name'], 'winprov-test');
  assert.ok(goal!.headers['x-long']!.length < 100);
  assert.match(goal!.headers['x-long']!, /500 chars/);
  assert.ok(goal!.at >= 0);
  assert.equal(nowhere!.endpoint, undefined);
  assert.equal(nowhere!.path, '/nowhere?x=1');
  assert.ok(sim.requestsTo('goalstate').includes(goal!));
  assert.ok(sim.requestsTo('goalstate').every((r) => r.endpoint === 'goalstate'));
});

test('the health report is accepted on /machine?comp=health and /machine/?comp=health with 200 and an empty body', async () => {
  const before = sim.healthReports.length;
  for (const path of ['/machine?comp=health', '/machine/?comp=health']) {
    const res = await postHealth(sim, readyBody(sim), path);
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
  }
  const reports = sim.healthReports.slice(before);
  assert.deepEqual(
    reports.map((r) => [r.state, r.accepted, r.httpStatus, r.incarnation, r.containerId, r.instanceId]),
    Array(2).fill(['Ready', true, 200, '1', sim.expected.containerId, sim.expected.instanceId]),
  );
});

test('writeProvisioningMedia writes ovf-env.xml, the tag file and CustomData.bin with the raw bytes', async () => {
  const withData = new FabricSimulator({ scenario: { certificateCount: 0, customData: '#cloud-config\nÄ ok\n' } });
  const dir = await mkdtemp(join(tmpdir(), 'winprov-media-'));
  try {
    await withData.writeProvisioningMedia(dir);
    assert.deepEqual((await readdir(dir)).sort(), ['CustomData.bin', MEDIA_TAG_FILE, 'ovf-env.xml'].sort());
    assert.equal(await readFile(join(dir, 'CustomData.bin'), 'utf8'), '#cloud-config\nÄ ok\n');
    const ovf = await readFile(join(dir, 'ovf-env.xml'), 'utf8');
    assert.equal(elementText(ovf, 'CustomData'), Buffer.from('#cloud-config\nÄ ok\n').toString('base64'));
    assert.equal(elementText(ovf, 'AdminPassword'), withData.adminPassword.reveal());
    const plain = new FabricSimulator({ scenario: { certificateCount: 0 } });
    const dir2 = join(dir, 'nested', 'media');
    await plain.writeProvisioningMedia(dir2);
    assert.deepEqual((await readdir(dir2)).sort(), [MEDIA_TAG_FILE, 'ovf-env.xml'].sort());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the media names the same certificates the fabric serves (written before start generates them once)', async () => {
  const fresh = new FabricSimulator({ scenario: { certificateCount: 1, winRmHttps: true } });
  const dir = await mkdtemp(join(tmpdir(), 'winprov-media-'));
  try {
    await fresh.writeProvisioningMedia(dir);
    await fresh.start();
    const ovf = await readFile(join(dir, 'ovf-env.xml'), 'utf8');
    const [cert] = fresh.expected.certificates;
    assert.equal(elementText(ovf, 'CertificateThumbprint'), cert!.thumbprint);
    assert.equal(elementText(ovf, 'Thumbprint'), cert!.thumbprint);
    const { hostingEnvironmentConfig } = await goalStateUrls(fresh);
    const hec = await httpRequest(hostingEnvironmentConfig, { headers: AGENT_HEADERS });
    assert.match(hec.text, new RegExp(`sha1:${cert!.thumbprint}`));
  } finally {
    await fresh.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('start() twice is refused, and stop() is idempotent', async () => {
  const once = new FabricSimulator({ scenario: { certificateCount: 0 } });
  await once.start();
  await assert.rejects(once.start(), /started only once/);
  await once.stop();
  await once.stop();
  await assert.rejects(httpRequest(`${once.url}/?comp=versions`), { code: 'ECONNREFUSED' });
});

test('a process that ran a simulator with a hung request exits by itself after stop()', async () => {
  const index = fileURLToPath(new URL('../../src/simulator/index.ts', import.meta.url));
  const script = `
    import { request } from 'node:http';
    import { FabricSimulator } from ${JSON.stringify(index)};
    const sim = new FabricSimulator({ scenario: { certificateCount: 0 }, faults: { endpoints: { versions: [{ hang: true }] } } });
    await sim.start();
    const req = request(sim.url + '/?comp=versions');
    req.on('error', () => console.log('client saw the connection end'));
    req.end();
    while (sim.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    await sim.stop();
    console.log('stopped');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => child.kill(), 10_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  assert.equal(code, 0, output);
  assert.match(output, /stopped/);
  assert.match(output, /client saw the connection end/);
});

test('the admin password defaults to a fresh strong one and never shows when the simulator is printed', async () => {
  const a = new FabricSimulator({});
  const b = new FabricSimulator({});
  const password = a.adminPassword.reveal();
  assert.notEqual(password, b.adminPassword.reveal());
  assert.ok(password.length >= 12);
  for (const rule of [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/]) assert.match(password, rule);
  const { inspect } = await import('node:util');
  assert.ok(!inspect(a, { depth: 5 }).includes(password));
  assert.ok(!JSON.stringify(a.scenario).includes(password));
  assert.equal(a.scenario.computerName, 'winprov-demo');
  assert.equal(a.scenario.adminUsername, 'azureuser');
  assert.equal(a.scenario.certificateCount, 1);
  assert.equal(a.scenario.provisionGuestAgent, true);
});
