import { createPlatform } from '../platform/index.ts';
import { createLog } from '../util/log.ts';
import { EXIT_CODES, toAgentError } from '../errors.ts';
import { answerFilePasswords } from '../answer-file-clear.ts';
import type { AgentConfig } from '../config.ts';
import type { AgentState, CompletionMarker, GuestAgentServices, Platform } from '../platform/platform.ts';
import type { CommandIo } from './io.ts';
import { formatTimeline } from '../timeline.ts';
import { formatFirstBootStatus, readFirstBootStatus, type FirstBootStatus } from '../first-boot/status.ts';

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
  /** The account holding the admin role, by SID (the built-in Administrator's ends in -500). */
  adminAccount: AgentState['adminAccount'] | undefined;
  lastReport: AgentState['reports'][number] | undefined;
  /** The RDP listener's certificate thumbprint and whether the fabric took it (roleProperties). */
  rdpCertificate: AgentState['rdpCertificate'] | undefined;
  steps: { name: string; durationMs: number | undefined; outcome: string | undefined; detail: string | undefined }[];
  /**
   * What the provisioning run warned about (the OS volume not grown, the RDP thumbprint not posted, the
   * answer file keeping its password), kept by a re-run that applied nothing; absent when there were none.
   */
  warnings?: NonNullable<AgentState['warnings']>;
  guestAgent: GuestAgentServices['installed'];
  /** The image's first-boot script switch and what became of this VM's script (src/first-boot/). */
  firstBootScript?: FirstBootStatus;
  /**
   * The answer file Setup reads (%WINDIR%\Panther\Unattend\unattend.xml) and how many passwords it still
   * holds (answer-file-clear.ts), read from the file itself; absent when there is none.
   */
  answerFile?: { path: string; passwords: number } | { path: string; unreadable: string };
}

export async function statusCommand(config: Readonly<AgentConfig>, io: CommandIo): Promise<number> {
  const log = createLog({ consoleLevel: 'warn', write: io.err });
  const platform = await createPlatform(config, log);
  let report: StatusReport;
  let timeline = '';
  try {
    const read = await readStatus(config, platform);
    report = read.report;
    const { state, vmId } = read;
    // The journal is the last run's on this VM: a re-run that only sent Ready again replaces it.
    if (config.timeline) timeline = state?.vmId === vmId ? formatTimeline(state) : 'timeline: no run of this VM in the journal\n';
  } finally {
    await platform.close();
  }
  io.out(config.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatus(report)}${timeline}`);
  return statusExitCode(report.status);
}

/** Everything `status` reports, read from the machine; collect-logs saves the same as status.json. */
export async function readStatus(config: Readonly<AgentConfig>, platform: Platform): Promise<{ report: StatusReport; state: AgentState | undefined; vmId: string }> {
  const [vmId, marker, state, guestAgent] = await Promise.all([
    platform.readVmId(),
    platform.readCompletionMarker(),
    platform.readAgentState(),
    platform.readGuestAgentServices(),
  ]);
  const report = buildStatus(vmId, marker, state, guestAgent);
  const firstBootScript = await readFirstBootStatus(config.firstBoot.mode, platform.stateDirectory, vmId);
  if (firstBootScript !== undefined) report.firstBootScript = firstBootScript;
  const answerFile = await readAnswerFileStatus(platform);
  if (answerFile !== undefined) report.answerFile = answerFile;
  return { report, state, vmId };
}

export function buildStatus(vmId: string, marker: CompletionMarker | undefined, state: AgentState | undefined, guestAgent: GuestAgentServices): StatusReport {
  const current = marker?.vmId === vmId ? marker : undefined;
  const stateHere = state?.vmId === vmId ? state : undefined;
  // A run on a provisioned machine that has not finished (or was killed) leaves it provisioned: its
  // last run shows "running". Without the marker, the machine is not provisioned yet: "running".
  const status: StatusReport['status'] = stateHere?.result === 'failed' ? 'failed'
    : current !== undefined ? 'provisioned'
      : stateHere?.result === 'running' ? 'running' : 'not-provisioned';
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
    adminAccount: stateHere?.adminAccount,
    lastReport: stateHere?.reports.at(-1),
    rdpCertificate: stateHere?.rdpCertificate,
    steps: (stateHere?.steps ?? []).map((s) => ({ name: s.name, durationMs: s.durationMs, outcome: s.outcome, detail: s.detail })),
    guestAgent: guestAgent.installed,
    ...(stateHere?.warnings?.length ? { warnings: stateHere.warnings } : {}),
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
  if (report.adminAccount) {
    const builtin = /^S-1-5-21-\d+-\d+-\d+-500$/.test(report.adminAccount.sid) ? ', the built-in Administrator' : '';
    lines.push(`  admin account  ${report.adminAccount.name} (${report.adminAccount.sid}${builtin})`);
  }
  if (report.rdpCertificate) {
    const r = report.rdpCertificate;
    lines.push(`  rdp cert       ${r.thumbprint ?? '(none)'}${r.posted ? ` posted to the fabric (HTTP ${r.httpStatus})` : ` not posted: ${r.reason ?? 'unknown'}`}`);
  }
  if (report.lastReport) {
    const r = report.lastReport;
    lines.push(`  last report    ${r.state}${r.subStatus ? `/${r.subStatus}` : ''} at ${r.at}: ${r.httpStatus === undefined ? 'not delivered' : `HTTP ${r.httpStatus}`}`);
  }
  if (report.steps.length) {
    lines.push('  steps');
    for (const s of report.steps) lines.push(`    ${s.name.padEnd(20)} ${s.outcome === 'skipped' ? 'skipped' : `${s.outcome ?? 'running'} ${s.durationMs ?? '?'} ms`}${s.detail ? `  ${s.detail}` : ''}`);
  }
  if (report.warnings) {
    lines.push('  warnings');
    for (const w of report.warnings) lines.push(`    ${w.step.padEnd(20)} ${w.message}`);
  }
  if (report.firstBootScript) lines.push(...formatFirstBootStatus(report.firstBootScript));
  if (report.answerFile) {
    const a = report.answerFile;
    const what = 'unreadable' in a ? `unreadable: ${a.unreadable}`
      : a.passwords === 0 ? 'holds no password' : `holds ${a.passwords === 1 ? 'a password' : `${a.passwords} passwords`} (clear-answer-file removes them after OOBE)`;
    lines.push(`  answer file    ${a.path} ${what}`);
  }
  lines.push(`  guest agent    ${report.guestAgent.length ? report.guestAgent.map((s) => `${s.name} ${s.startMode}${s.running ? ' running' : ''}`).join(', ') : 'not installed'}`);
  return `${lines.join('\n')}\n`;
}

/** The answer file's passwords as the file has them now; a file that cannot be read is said so, never fatal. */
async function readAnswerFileStatus(platform: Pick<Platform, 'readAnswerFile'>): Promise<StatusReport['answerFile']> {
  let current: { path: string; xml: string } | undefined;
  try {
    current = await platform.readAnswerFile();
  } catch (err) {
    return { path: '%WINDIR%\\Panther\\Unattend\\unattend.xml', unreadable: toAgentError(err).reason };
  }
  if (current === undefined) return undefined;
  try {
    return { path: current.path, passwords: answerFilePasswords(current.xml) };
  } catch (err) {
    return { path: current.path, unreadable: toAgentError(err).reason };
  }
}
