import { createPlatform } from '../platform/index.ts';
import { createLog } from '../util/log.ts';
import { EXIT_CODES } from '../errors.ts';
import type { AgentConfig } from '../config.ts';
import type { AgentState, CompletionMarker, GuestAgentServices } from '../platform/platform.ts';
import type { CommandIo } from './io.ts';

/**
 * `winprov status`: was this machine provisioned, when, by which version, what the fabric last heard,
 * each step's duration and the guest agent's state. The exit code lets image pipelines detect the agent:
 * 0 provisioned, 6 not provisioned (never ran, or ran on the VM the image was captured from), 7 failed.
 */

export interface StatusReport {
  status: 'provisioned' | 'not-provisioned' | 'failed' | 'running';
  vmId: string;
  provisionedAt: string | undefined;
  agentVersion: string | undefined;
  containerId: string | undefined;
  instanceId: string | undefined;
  fabric: AgentState['fabric'] | undefined;
  lastRun: { runId: string; startedAt: string; finishedAt: string | undefined; result: string | undefined } | undefined;
  failure: AgentState['failure'] | undefined;
  lastReport: AgentState['reports'][number] | undefined;
  steps: { name: string; durationMs: number | undefined; outcome: string | undefined; detail: string | undefined }[];
  guestAgent: GuestAgentServices['installed'];
}

export async function statusCommand(config: Readonly<AgentConfig>, io: CommandIo): Promise<number> {
  const log = createLog({ consoleLevel: 'warn', write: io.err });
  const platform = await createPlatform(config, log);
  let report: StatusReport;
  try {
    const [vmId, marker, state, guestAgent] = await Promise.all([
      platform.readVmId(),
      platform.readCompletionMarker(),
      platform.readAgentState(),
      platform.readGuestAgentServices(),
    ]);
    report = buildStatus(vmId, marker, state, guestAgent);
  } finally {
    await platform.close();
  }
  io.out(config.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
  return statusExitCode(report.status);
}

export function buildStatus(vmId: string, marker: CompletionMarker | undefined, state: AgentState | undefined, guestAgent: GuestAgentServices): StatusReport {
  const current = marker?.vmId === vmId ? marker : undefined;
  const stateHere = state?.vmId === vmId ? state : undefined;
  const status: StatusReport['status'] = stateHere?.result === 'failed' ? 'failed'
    : stateHere?.result === 'running' ? 'running'
      : current !== undefined ? 'provisioned' : 'not-provisioned';
  return {
    status,
    vmId,
    provisionedAt: current?.provisionedAt,
    agentVersion: current?.agentVersion ?? stateHere?.agentVersion,
    containerId: current?.containerId ?? stateHere?.fabric?.containerId,
    instanceId: current?.instanceId ?? stateHere?.fabric?.instanceId,
    fabric: stateHere?.fabric,
    lastRun: stateHere && { runId: stateHere.runId, startedAt: stateHere.startedAt, finishedAt: stateHere.finishedAt, result: stateHere.result },
    failure: stateHere?.failure,
    lastReport: stateHere?.reports.at(-1),
    steps: (stateHere?.steps ?? []).map((s) => ({ name: s.name, durationMs: s.durationMs, outcome: s.outcome, detail: s.detail })),
    guestAgent: guestAgent.installed,
  };
}

export function statusExitCode(status: StatusReport['status']): number {
  if (status === 'provisioned') return EXIT_CODES.ok;
  if (status === 'failed') return EXIT_CODES.lastRunFailed;
  return EXIT_CODES.notProvisioned;
}

export function formatStatus(report: StatusReport): string {
  const lines = [`winprov status: ${report.status}`, `  VM             ${report.vmId}`];
  if (report.provisionedAt) lines.push(`  provisioned    ${report.provisionedAt} by winprov ${report.agentVersion}`);
  if (report.fabric) lines.push(`  fabric         ${report.fabric.endpoint} (${report.fabric.source})`);
  if (report.containerId) lines.push(`  container      ${report.containerId}`, `  instance       ${report.instanceId}`);
  if (report.lastRun) lines.push(`  last run       ${report.lastRun.startedAt} -> ${report.lastRun.finishedAt ?? '(did not finish)'}: ${report.lastRun.result}`);
  if (report.failure) lines.push(`  failure        ${report.failure.code}: ${report.failure.reason}`);
  if (report.lastReport) {
    const r = report.lastReport;
    lines.push(`  last report    ${r.state}${r.subStatus ? `/${r.subStatus}` : ''} at ${r.at}: ${r.httpStatus === undefined ? 'not delivered' : `HTTP ${r.httpStatus}`}`);
  }
  if (report.steps.length) {
    lines.push('  steps');
    for (const s of report.steps) lines.push(`    ${s.name.padEnd(20)} ${s.outcome === 'skipped' ? 'skipped' : `${s.outcome ?? 'running'} ${s.durationMs ?? '?'} ms`}${s.detail ? `  ${s.detail}` : ''}`);
  }
  lines.push(`  guest agent    ${report.guestAgent.length ? report.guestAgent.map((s) => `${s.name} ${s.startMode}${s.running ? ' running' : ''}`).join(', ') : 'not installed'}`);
  return `${lines.join('\n')}\n`;
}
