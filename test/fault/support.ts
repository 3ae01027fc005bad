import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile, type ScenarioFile } from '../../src/simulator/index.ts';
import { passwordMatches } from '../../src/platform/sandbox/index.ts';
import { ADMINISTRATORS_SID, type SandboxMachine } from '../../src/platform/sandbox/machine.ts';
import type { AgentState } from '../../src/platform/platform.ts';
import type { FabricSimulator } from '../../src/simulator/index.ts';

/**
 * What every fault, crash and hostile-input test checks about how a run ended: Ready with everything
 * applied, or one ProvisioningFailed with a named code, no completion marker, and a journal that knows
 * every change the platform made.
 */

/** The scenario files folder (test/fixtures/scenarios/). */
export const SCENARIOS = fileURLToPath(new URL('../fixtures/scenarios/', import.meta.url));
/** The repository root, the working folder of child processes. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The CLI entry point, run as `node src/main.ts`. */
export const MAIN = join(REPO_ROOT, 'src', 'main.ts');

/** Loads a scenario file by name, strictly (loadScenarioFile). */
export function scenarioFile(name: string): ScenarioFile {
  return loadScenarioFile(join(SCENARIOS, name));
}

/** A DhcpInterfaceOptions value (base64) whose one standard option 245 record names `address`. */
export function option245Cache(address: string): string {
  const octets = address.split('.').map(Number);
  const record = Buffer.alloc(24);
  record.writeUInt32LE(245, 0);
  record.writeUInt32LE(4, 8);
  record.writeUInt32LE(Math.floor(Date.now() / 1000) + 86_400, 16);
  Buffer.from(octets).copy(record, 20);
  // A subnet mask record first, as a real lease stores several options.
  const mask = Buffer.alloc(24);
  mask.writeUInt32LE(1, 0);
  mask.writeUInt32LE(4, 8);
  Buffer.from([255, 255, 255, 0]).copy(mask, 20);
  return Buffer.concat([mask, record]).toString('base64');
}

/** The journal entry each change the sandbox records must have: applied records, or an ok step. */
const JOURNAL_OF_VERB: Record<string, { applied?: string; step?: string }> = {
  enableDhcp: { applied: 'dhcp' },
  setComputerName: { applied: 'computer-name' },
  ensureAdminAccount: { applied: 'admin-account' },
  importCertificates: { applied: 'certificate' },
  writeCustomData: { applied: 'custom-data' },
  setTimeZone: { applied: 'time-zone' },
  writeCompletionMarker: { step: 'marker' },
  setGuestAgentServices: { step: 'guest-agent' },
};

/** Every mutating verb that changed the machine is known to the journal of the run (nothing half-applied unknown). */
export function assertJournalKnowsChanges(machine: SandboxMachine, state: AgentState): void {
  for (const change of machine.changes) {
    const expected = JOURNAL_OF_VERB[change.verb];
    if (expected === undefined) continue;
    if (expected.applied !== undefined) {
      assert.ok(state.applied.some((a) => a.what === expected.applied), `the journal records ${expected.applied} for the change "${change.detail}"`);
    } else {
      assert.ok(state.steps.some((s) => s.name === expected.step && s.outcome === 'ok'), `the journal has the ${expected.step} step for "${change.detail}"`);
    }
  }
}

/** The machine holds everything the simulator's scenario asks for. */
export async function assertFullyApplied(simulator: FabricSimulator, sandboxRoot: string, machine: SandboxMachine): Promise<void> {
  const scenario = simulator.scenario;
  assert.equal(machine.pendingComputerName ?? machine.computerName, scenario.computerName, 'computer name');
  const user = machine.users.find((u) => u.name === scenario.adminUsername);
  assert.ok(user, `account ${scenario.adminUsername} exists`);
  assert.equal(machine.users.filter((u) => u.name.toLowerCase() === scenario.adminUsername.toLowerCase()).length, 1, 'one account');
  assert.ok(passwordMatches(user.passwordDigest, simulator.adminPassword.reveal()), 'the password from ovf-env.xml was set');
  assert.ok(machine.groups[ADMINISTRATORS_SID]!.members.includes(user.sid), 'the account is an administrator');
  for (const certificate of simulator.expected.certificates) {
    const stored = machine.certificateStores[certificate.storeName]?.filter((c) => c.thumbprint === certificate.thumbprint) ?? [];
    assert.equal(stored.length, 1, `${certificate.thumbprint} is in LocalMachine\\${certificate.storeName} once`);
  }
  if (scenario.customData !== undefined) {
    assert.equal(await readFile(join(sandboxRoot, 'SystemDrive', 'AzureData', 'CustomData.bin'), 'utf8'), scenario.customData);
  }
  if (scenario.timeZone !== undefined) assert.equal(machine.timeZone, scenario.timeZone);
  const mode = scenario.provisionGuestAgent ? 'Automatic' : 'Disabled';
  assert.ok(machine.services.every((s) => s.startMode === mode), `guest agent services ${mode}`);
}

/** How a run is expected to end. */
export interface EndExpectation {
  outcome: 'ready' | 'failed';
  /** For failed runs: the error code and a pattern the reason must match (it names the field or the rule). */
  code?: string;
  reason?: RegExp;
  /** For failed runs: whether the fabric could be told (default true). */
  reported?: boolean;
  /**
   * For a run that failed after everything was applied (Ready refused or unconfirmed): the marker stays,
   * and no ProvisioningFailed is sent at all (after the marker the only report is Ready).
   */
  markerKept?: boolean;
  /** How many Ready reports the fabric accepted: 1 by default for Ready, 0 for a failure (a lost answer makes more). */
  readyAccepted?: number;
}

interface RunView {
  outcome: string;
  exitCode: number;
  error?: { code: string; reason: string } | undefined;
}

/** Checks how a run ended, against the simulator, the sandbox and the journal. */
export async function assertEnd(
  simulator: FabricSimulator,
  sandbox: { root: string; machine: () => Promise<SandboxMachine>; state: () => Promise<AgentState | undefined>; marker: () => Promise<unknown> },
  result: RunView,
  expect: EndExpectation,
): Promise<void> {
  const machine = await sandbox.machine();
  const state = await sandbox.state();
  assert.ok(state, 'the journal (state.json) exists');
  const marker = await sandbox.marker();
  const reports = simulator.healthReports;
  const failedReports = reports.filter((r) => r.subStatus === 'ProvisioningFailed' && r.accepted);
  assertJournalKnowsChanges(machine, state);
  if (expect.outcome === 'ready') {
    assert.equal(result.outcome, 'ready', result.error ? `${result.error.code}: ${result.error.reason}` : 'ready');
    assert.equal(result.exitCode, 0);
    assert.equal(state.result, 'ready');
    assert.equal(state.failure, undefined);
    assert.ok(marker, 'the completion marker is written');
    const ready = reports.filter((r) => r.state === 'Ready' && r.accepted);
    assert.equal(ready.length, expect.readyAccepted ?? 1, 'one Ready was accepted (more when an answer was lost)');
    assert.equal(ready.at(-1)!.incarnation, simulator.expected.incarnation, 'Ready names the current incarnation');
    assert.equal(failedReports.length, 0, 'no ProvisioningFailed');
    await assertFullyApplied(simulator, sandbox.root, machine);
    return;
  }
  assert.equal(result.outcome, 'failed');
  assert.equal(result.error?.code, expect.code, result.error ? `${result.error.code}: ${result.error.reason}` : 'an error');
  if (expect.reason) assert.match(result.error!.reason, expect.reason);
  assert.notEqual(result.exitCode, 0);
  assert.equal(state.result, 'failed');
  assert.equal(state.failure?.code, expect.code, 'the journal names the failure');
  if (expect.markerKept) assert.ok(marker, 'everything was applied before the failure: the marker stays');
  else assert.equal(marker, undefined, 'a failed run leaves no completion marker');
  assert.equal(reports.filter((r) => r.state === 'Ready' && r.accepted).length, expect.readyAccepted ?? 0, 'Ready accepted as expected');
  if (expect.markerKept) {
    // Ready is final: after the marker no ProvisioningFailed is even sent.
    assert.equal(reports.filter((r) => r.subStatus === 'ProvisioningFailed').length, 0, 'no ProvisioningFailed after the completion marker');
    const last = reports.filter((r) => r.accepted).at(-1);
    assert.equal(last?.state, (expect.readyAccepted ?? 0) > 0 ? 'Ready' : 'NotReady', 'the fabric keeps the last report it accepted');
  } else if (expect.reported === false) {
    assert.equal(failedReports.length, 0);
  } else {
    assert.equal(failedReports.length, 1, 'one ProvisioningFailed was accepted');
    const description = failedReports[0]!.description ?? '';
    assert.ok(description.startsWith(`${expect.code}: `), description);
    if (expect.reason) assert.match(description.slice(expect.code!.length + 2), expect.reason);
    assert.ok(description.length <= 512, 'the reason fits the fabric (512 characters)');
    // The fabric's last word about this VM must be the failure, not a late Provisioning report.
    const last = reports.filter((r) => r.accepted).at(-1);
    assert.equal(last?.subStatus, 'ProvisioningFailed', 'the failure is the last report the fabric accepted');
  }
  assert.match(machine.kvp.PROVISIONING_REPORT ?? '', new RegExp(`^result=error\\|reason=${expect.code}: `), 'the KVP report names the failure');
}
