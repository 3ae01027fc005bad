import { test } from 'node:test';
import assert from 'node:assert/strict';
import { provisioningFixture } from '../helpers/provisioning.ts';
import { runCli } from '../helpers/cli.ts';
import { EXIT_CODES } from '../../src/errors.ts';

test('status of a fresh image: not provisioned, exit code 6', async () => {
  const fx = await provisioningFixture();
  try {
    const { code, out } = await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.equal(code, EXIT_CODES.notProvisioned);
    assert.match(out, /winprov status: not-provisioned/);
    assert.match(out, /guest agent +RdAgent Disabled, WindowsAzureGuestAgent Disabled/);
  } finally {
    await fx.close();
  }
});

test('status after a run: provisioned, exit code 0, with ids, steps and the last report', async () => {
  const fx = await provisioningFixture({ scenario: { certificateCount: 1 } });
  try {
    assert.equal((await fx.run()).outcome, 'ready');
    const { code, out } = await runCli(['status', '--json', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.equal(code, 0);
    const report = JSON.parse(out);
    assert.equal(report.status, 'provisioned');
    assert.equal(report.containerId, fx.simulator.expected.containerId);
    assert.equal(report.instanceId, fx.simulator.expected.instanceId);
    assert.equal(report.lastReport.state, 'Ready');
    assert.equal(report.lastReport.httpStatus, 200);
    assert.ok(report.steps.some((s: { name: string; durationMs: number }) => s.name === 'certificates' && s.durationMs >= 0));
    assert.deepEqual(report.guestAgent.map((s: { startMode: string }) => s.startMode), ['Automatic', 'Automatic']);
    const human = await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.match(human.out, /last report +Ready at .*: HTTP 200/);
  } finally {
    await fx.close();
  }
});

test('status after a failed run: failed, exit code 7, with the failure', async () => {
  const fx = await provisioningFixture({ scenario: { computerName: '12345' } });
  try {
    assert.equal((await fx.run()).outcome, 'failed');
    const { code, out } = await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.equal(code, EXIT_CODES.lastRunFailed);
    assert.match(out, /failure +OVF_INVALID: ovf-env.xml ComputerName/);
  } finally {
    await fx.close();
  }
});

test('status on a VM made from a captured image is not provisioned: the marker belongs to another VM', async () => {
  const fx = await provisioningFixture();
  try {
    assert.equal((await fx.run()).outcome, 'ready');
    await fx.editMachine((m) => void (m.vmId = '00000000-0000-4000-8000-000000000001'));
    const { code } = await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.equal(code, EXIT_CODES.notProvisioned);
  } finally {
    await fx.close();
  }
});

test('a run on a provisioned machine that did not finish (killed) leaves it provisioned; without the marker it is "running"', async () => {
  const fx = await provisioningFixture();
  try {
    assert.equal((await fx.run()).outcome, 'ready');
    const state = (await fx.platform.readAgentState())!;
    // What a re-run killed before it finished leaves: its journal, result still "running".
    await fx.platform.writeAgentState({ ...state, result: 'running', finishedAt: undefined });
    const provisioned = await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.equal(provisioned.code, 0);
    assert.match(provisioned.out, /winprov status: provisioned/);
    assert.match(provisioned.out, /last run +.* -> \(did not finish\): running/);
    await fx.platform.writeCompletionMarker({ ...(await fx.platform.readCompletionMarker())!, vmId: '00000000-0000-0000-0000-000000000000' });
    const running = await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.equal(running.code, EXIT_CODES.notProvisioned);
    assert.match(running.out, /winprov status: running/);
  } finally {
    await fx.close();
  }
});
