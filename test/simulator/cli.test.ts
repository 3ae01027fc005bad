import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatHealthReport, formatRequest, runSimulateCommand } from '../../src/simulator/cli.ts';
import { AGENT_HEADERS, httpRequest, waitFor } from './support.ts';

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
