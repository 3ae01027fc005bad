import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { provisioningFixture } from '../helpers/provisioning.ts';
import { SandboxPlatform } from '../../src/platform/sandbox/index.ts';
import { loadMachine } from '../../src/platform/sandbox/machine.ts';
import { BASE, CASES, QUICK, type MatrixCase } from './matrix-cases.ts';
import { MAIN, REPO_ROOT, SCENARIOS, assertEnd, scenarioFile } from './support.ts';

/**
 * The fault matrix: each scenario file in test/fixtures/scenarios/ played by the simulator against the real
 * agent on the sandbox, with its expected end (Ready, or ProvisioningFailed with a named code), a bound on
 * wall time, and the invariants of assertEnd (nothing half-applied, the journal names the failure).
 * Scenarios that wait on a clock run four at a time, then those that wait on none one at a time.
 */

async function runCase(c: MatrixCase): Promise<void> {
  const file = scenarioFile(c.file);
  const fx = await provisioningFixture({ scenario: file.scenario, faults: file.faults, ...c.simulator });
  try {
    await c.setup?.(fx);
    const started = performance.now();
    const result = await fx.run({ ...BASE, ...c.settings?.(fx) });
    const elapsed = performance.now() - started;
    await assertEnd(
      fx.simulator,
      { root: fx.sandboxRoot, machine: fx.machine, state: () => fx.platform.readAgentState(), marker: () => fx.platform.readCompletionMarker() },
      result,
      c.expect,
    );
    const maxMs = c.maxMs ?? QUICK;
    assert.ok(elapsed <= maxMs, `ended in ${Math.round(elapsed)} ms, bound ${maxMs} ms`);
    if (c.minMs !== undefined) assert.ok(elapsed >= c.minMs, `took ${Math.round(elapsed)} ms, at least ${c.minMs} ms expected`);
    await c.check?.(fx, result);
  } finally {
    await fx.close();
  }
}

test('the matrix covers every scenario file and has at least 25 scenarios', async () => {
  const files = (await readdir(SCENARIOS)).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual([...new Set(CASES.map((c) => c.file))].sort(), files);
  assert.ok(CASES.length >= 25);
});

function caseTest(c: MatrixCase): void {
  const end = c.expect.outcome === 'ready' ? 'Ready' : c.expect.markerKept ? `${c.expect.code}, no ProvisioningFailed after the marker` : `ProvisioningFailed ${c.expect.code}`;
  test(`${c.file.replace(/\.json$/, '')} ends in ${end} within ${(c.maxMs ?? QUICK) / 1000} s`, { timeout: 60_000 }, () => runCase(c));
}

// Each scenario's wall time counts the work of every other scenario running beside it on the one event
// loop, which a loaded machine stretches: eight at once put scenarios that wait on no clock past QUICK and
// the others near their bounds. So those that wait on a clock (a minMs or a bound of their own) run four
// at a time, the slowest first, their time mostly waiting; then the others one at a time, each 20 to 250
// ms of work alone.
const waiting = CASES.filter((c) => c.minMs !== undefined || c.maxMs !== undefined).sort((a, b) => (b.minMs ?? 0) - (a.minMs ?? 0));
const quick = CASES.filter((c) => c.minMs === undefined && c.maxMs === undefined);

describe('fault matrix: scenarios that wait on a clock', { concurrency: 4 }, () => waiting.forEach(caseTest));
describe('fault matrix: scenarios that wait on no clock', { concurrency: 1 }, () => quick.forEach(caseTest));

test('a scenario file played by "winprov simulate" provisions a sandbox through the CLI', { timeout: 60_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'winprov-matrix-cli-'));
  const simulator = spawn(process.execPath, [MAIN, 'simulate', '--port', '0', '--scenario', join(SCENARIOS, 'health-500-twice.json'), '--media', join(root, 'sandbox', 'drives', 'D')], { cwd: REPO_ROOT });
  try {
    let output = '';
    simulator.stdout.setEncoding('utf8');
    const url = await new Promise<string>((resolve, reject) => {
      simulator.stdout.on('data', (text: string) => {
        output += text;
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]!);
      });
      simulator.once('exit', () => reject(new Error(`simulate exited: ${output}`)));
    });
    await SandboxPlatform.open(join(root, 'sandbox'), { create: true });
    const agent = spawn(process.execPath, [MAIN, 'provision', '--platform', 'sandbox', '--sandbox', join(root, 'sandbox'), '--fabric', url, '--deadline', '30s'], { cwd: REPO_ROOT, stdio: 'ignore' });
    const [code] = (await once(agent, 'exit')) as [number | null];
    assert.equal(code, 0);
    const machine = await loadMachine(join(root, 'sandbox'));
    assert.equal(machine?.pendingComputerName, 'winprov-demo');
    // The simulator printed the two refused reports and the accepted Ready (its pipe may lag the agent's exit).
    for (let waited = 0; !/health report Ready/.test(output) && waited < 5_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((output.match(/health report NotReady\/Provisioning .*refused 500/g) ?? []).length, 2);
    assert.match(output, /health report Ready for incarnation 1: accepted \(200\)/);
  } finally {
    simulator.kill('SIGTERM');
    await once(simulator, 'exit').catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
});
