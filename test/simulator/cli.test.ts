import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../src/errors.ts';
import { formatHealthReport, formatRequest, runSimulateCommand } from '../../src/simulator/cli.ts';
import { runCli } from '../helpers/cli.ts';
import { AGENT_HEADERS, httpRequest, waitFor } from './support.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

const dir = await mkdtemp(join(tmpdir(), 'winprov-sim-cli-'));
after(() => rm(dir, { recursive: true, force: true }));
const scenarioFile = fileURLToPath(new URL('../fixtures/scenarios/goalstate-503-retry-after.json', import.meta.url));

test('simulate prints the URL, one line per request and report, writes the media, and stops on the signal', async () => {
  const lines: string[] = [];
  const controller = new AbortController();
  const media = join(dir, 'media');
  const run = runSimulateCommand(
    { host: '127.0.0.1', port: 0, scenarioFile, mediaDir: media, scenario: { computerName: 'cli-vm', certificateCount: 0, timeZone: undefined } },
    (line) => lines.push(line),
    controller.signal,
  );
  await waitFor(() => lines.some((l) => l.includes('listening on')));
  const url = /listening on (http:\/\/\S+)/.exec(lines.join('\n'))![1]!;
  assert.match(lines.join('\n'), /scenario: The goal state answers 503/);
  assert.match(lines.join('\n'), /VM cli-vm, admin azureuser/);
  assert.deepEqual((await readdir(media)).sort(), ['E6DA6616-8EC4-48E0-BE93-58CE6ACE3CFB.tag', 'ovf-env.xml']);
  assert.equal((await httpRequest(`${url}/machine/?comp=goalstate`, { headers: AGENT_HEADERS })).status, 503);
  await httpRequest(`${url}/machine?comp=health`, { method: 'POST', body: '<nope/>' });
  controller.abort();
  await run;
  const text = lines.join('\n');
  assert.match(text, /\+\d+ms GET \/machine\/\?comp=goalstate \(goalstate\) \[fault: status 503 \(Retry-After: 1\)\]/);
  assert.match(text, /health report \(unreadable\) for incarnation \?: refused 400/);
  assert.equal(lines.at(-1), 'fabric simulator stopped');
  await assert.rejects(httpRequest(`${url}/?comp=versions`), { code: 'ECONNREFUSED' });
  assert.ok(!text.includes('Wp#'), 'no password printed');
});

test('an already aborted signal returns at once; a bad scenario file fails before starting', async () => {
  const lines: string[] = [];
  await runSimulateCommand({ host: '127.0.0.1', port: 0 }, (l) => lines.push(l), AbortSignal.abort());
  assert.deepEqual(lines, []);
  await assert.rejects(
    runSimulateCommand({ host: '127.0.0.1', port: 0, scenarioFile: join(dir, 'none.json') }, () => undefined, new AbortController().signal),
    /none\.json: cannot be read/,
  );
});

test('request and report lines are one line each and shorten long descriptions', () => {
  assert.equal(
    formatRequest({ method: 'GET', path: '/x', endpoint: undefined, headers: {}, at: 5 }),
    '+5ms GET /x (no such endpoint: 404)',
  );
  const line = formatHealthReport({
    state: 'NotReady',
    subStatus: 'ProvisioningFailed',
    description: `first\nsecond ${'z'.repeat(300)}`,
    incarnation: '2',
    containerId: 'c',
    instanceId: 'i',
    accepted: true,
    httpStatus: 200,
    at: 9,
  });
  assert.doesNotMatch(line, /\n/);
  assert.match(line, /^\+9ms health report NotReady\/ProvisioningFailed "first second z+\.\.\." for incarnation 2: accepted \(200\)$/);
  assert.ok(line.length < 260);
});

/** `winprov simulate` as a child process; resolves once both URLs are printed. */
async function simulateChild(args: string[]): Promise<{ child: ChildProcessWithoutNullStreams; fabric: string; imds: string; output: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [MAIN, 'simulate', ...args], { stdio: 'pipe' });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (text: string) => void (output += text));
  child.stderr.on('data', (text: string) => void (output += text));
  let ended = false;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    ended = true;
    resolve(code);
  }));
  await waitFor(() => /IMDS simulator listening on/.test(output) || ended, 30_000);
  assert.ok(!ended, `simulate exited: ${output}`);
  const fabric = /fabric simulator listening on (http:\/\/\S+)/.exec(output)![1]!;
  const imds = /IMDS simulator listening on (http:\/\/\S+)/.exec(output)![1]!;
  return { child, fabric, imds, output: () => output, exited };
}

const USER_DATA_PATH = '/metadata/instance/compute/userData?api-version=2021-01-01&format=text';

test('simulate serves IMDS on its own loopback port: the scenario file\'s user data, vmId and faults; a sandbox VM runs that user data', { timeout: 90_000 }, async () => {
  const vmId = '6a1d2c5e-0b7f-4c1e-9a53-2f0e8b7d4c11';
  const script = '#ps1\nWrite-Output "user data from winprov simulate"\n';
  const file = join(dir, 'imds-scenario.json');
  await writeFile(file, JSON.stringify({ description: 'IMDS answers 503 once, then the user data', scenario: { certificateCount: 0 }, imds: { userData: script, vmId, faults: [{ status: 503 }] } }));
  const sandbox = join(dir, 'imds-sandbox');
  const sim = await simulateChild(['--port', '0', '--imds-port', '0', '--scenario', file, '--media', join(sandbox, 'drives', 'D')]);
  try {
    assert.notEqual(new URL(sim.imds).port, new URL(sim.fabric).port);
    assert.equal(new URL(sim.imds).hostname, '127.0.0.1');
    assert.match(sim.output(), /IMDS simulator listening on http:\/\/127\.0\.0\.1:\d+ \(user data of \d+ base64 characters, 1 scripted fault\(s\)/);
    const faulted = await httpRequest(`${sim.imds}${USER_DATA_PATH}`, { headers: { Metadata: 'true' } });
    assert.equal(faulted.status, 503, 'the scripted fault first');
    const answered = await httpRequest(`${sim.imds}${USER_DATA_PATH}`, { headers: { Metadata: 'true' } });
    assert.equal(answered.status, 200);
    assert.equal(Buffer.from(answered.text, 'base64').toString('utf8'), script);
    assert.equal((await httpRequest(`${sim.imds}${USER_DATA_PATH}`)).status, 400, 'no Metadata: true, no answer');
    const instance = JSON.parse((await httpRequest(`${sim.imds}/metadata/instance?api-version=2021-02-01`, { headers: { Metadata: 'true' } })).text) as { compute: { vmId: string } };
    assert.equal(instance.compute.vmId, vmId);
    await waitFor(() => /IMDS GET \/metadata\/instance\?api-version=2021-02-01: 200/.test(sim.output()));
    const text = sim.output();
    assert.match(text, /\+\d+ms IMDS GET \/metadata\/instance\/compute\/userData\?api-version=2021-01-01&format=text: 503 \[fault: status 503\]\n/);
    assert.match(text, /\+\d+ms IMDS GET \/metadata\/instance\/compute\/userData\?api-version=2021-01-01&format=text: 200\n/);
    assert.ok(!text.includes('user data from winprov simulate'), 'the user data itself is not printed');

    // The agent against both simulators: provisioned to Ready, then the user data script runs on the sandbox.
    const provisioned = await runCli(['provision', '--platform', 'sandbox', '--sandbox', sandbox, '--fabric', sim.fabric, '--deadline', '30s']);
    assert.equal(provisioned.code, 0, provisioned.out + provisioned.err);
    const config = join(dir, 'imds-winprov.json');
    await writeFile(config, JSON.stringify({ firstBootScript: 'userData', imdsAddress: sim.imds }));
    const firstBoot = await runCli(['first-boot-script', '--platform', 'sandbox', '--sandbox', sandbox, '--config', config]);
    assert.equal(firstBoot.code, 0, firstBoot.out + firstBoot.err);
    const record = JSON.parse(await readFile(join(sandbox, 'ProgramData', 'winprov', 'first-boot.json'), 'utf8')) as { scripts: { outcome: string; tail: string[] }[] };
    assert.equal(record.scripts[0]?.outcome, 'succeeded', JSON.stringify(record));
    assert.deepEqual(record.scripts[0]?.tail, ['user data from winprov simulate']);
  } finally {
    sim.child.kill('SIGINT');
  }
  assert.equal(await sim.exited, 0);
  assert.match(sim.output(), /fabric simulator stopped/);
  await assert.rejects(httpRequest(`${sim.imds}${USER_DATA_PATH}`, { headers: { Metadata: 'true' } }), { code: 'ECONNREFUSED' });
});

test('--imds-port takes the port given; a port in use is a usage error naming it, and nothing is left listening', async () => {
  const free = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const lines: string[] = [];
  const controller = new AbortController();
  const run = runSimulateCommand({ host: '127.0.0.1', port: 0, imdsPort: free }, (l) => lines.push(l), controller.signal);
  await waitFor(() => lines.some((l) => l.startsWith('IMDS simulator')));
  assert.ok(lines.includes(`IMDS simulator listening on http://127.0.0.1:${free} (no user data; winprov.json "imdsAddress": "http://127.0.0.1:${free}")`), lines.join('\n'));
  const empty = await httpRequest(`http://127.0.0.1:${free}${USER_DATA_PATH}`, { headers: { Metadata: 'true' } });
  assert.equal(empty.status, 200);
  assert.equal(empty.text, '', 'a VM without user data: an empty answer');

  const fabricLines: string[] = [];
  await assert.rejects(
    runSimulateCommand({ host: '127.0.0.1', port: 0, imdsPort: free }, (l) => fabricLines.push(l), new AbortController().signal),
    (err: unknown) => err instanceof UsageError && new RegExp(`the IMDS simulator cannot listen on 127\\.0\\.0\\.1:${free} \\(EADDRINUSE\\)`).test(err.reason),
  );
  assert.deepEqual(fabricLines, [], 'nothing printed: the fabric simulator was stopped before it said anything');
  controller.abort();
  await run;
});
