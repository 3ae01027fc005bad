import { toAgentError, type AgentError } from './errors.ts';
import type { Journal } from './journal.ts';
import type { FabricSession } from './fabric-session.ts';
import type { RunSettings } from './agent.ts';
import type { TransportKeyPair } from './crypto/transport-key.ts';
import type { ProvisioningConfig } from './protocol/ovf-env.ts';
import type { Platform, ProvisioningMedia } from './platform/platform.ts';
import { AGENT_VERSION } from './version.ts';
import type { Log } from './util/log.ts';

/**
 * What one provisioning run carries from step to step, and the small acts every ending shares: a health
 * report recorded in the journal, the KVP report, the event log entry, and the start of the grace period.
 */

/** Where Ready stands: never sent, acknowledged, refused by the fabric, or sent without an acknowledgement. */
export type ReadyStanding = 'not-sent' | 'acknowledged' | 'refused' | 'unconfirmed';

export interface Run {
  platform: Platform;
  log: Log;
  settings: RunSettings;
  journal: Journal;
  session: FabricSession;
  alreadyProvisioned: boolean;
  /**
   * True once the completion marker is written (or found for this VM): from then on the machine is
   * provisioned, and the only report the fabric may get is Ready (README, Reliability and security).
   */
  complete: boolean;
  ready: ReadyStanding;
  /** The provisioning configuration being read (started early, settled by the time it is awaited). */
  configuration: Promise<{ config: ProvisioningConfig; media: ProvisioningMedia }> | undefined;
  /**
   * The save of ovf-env.xml's redacted copy, which goes on beside the run once the media are read
   * (undefined before); it never rejects: a copy that cannot be saved is a warning.
   */
  ovfCopySaved: Promise<void> | undefined;
  /** The NotReady/Provisioning report while in flight; settled (never rejected) once the fabric answered or it gave up. */
  provisioningReport: Promise<void> | undefined;
  transportKey: Promise<TransportKeyPair> | undefined;
  /** End of the grace period once it has started (the final report's time), else undefined. */
  graceUntil: number | undefined;
}

export type ReportBody = { state: 'Ready' | 'NotReady'; subStatus?: 'Provisioning' | 'ProvisioningFailed'; description?: string };

/** Posts a health report and records it, with the fabric's answer, in the journal. */
export async function sendReport(run: Run, report: ReportBody, observe?: (error: unknown) => void): Promise<number> {
  try {
    const status = await run.session.report(report, observe);
    await run.journal.reported({ ...report, httpStatus: status });
    return status;
  } catch (err) {
    await run.journal.reported({ ...report, httpStatus: toAgentError(err).context['status'] as number | undefined });
    throw err;
  }
}

/**
 * Starts the grace period (once per run) and returns its end: the fabric calls and the platform's local
 * work (KVP, event log, PowerShell) are bounded by it instead of the run's deadline, which may be what
 * just passed.
 */
export function enterGrace(run: Run): number {
  if (run.graceUntil === undefined) {
    // A run that fails early keeps the rest of its own deadline when that is longer than the grace.
    run.graceUntil = Math.max(run.session.deadline, Date.now() + run.settings.failureReportGraceMs);
    run.session.extendDeadline(run.graceUntil);
    run.platform.setDeadline(run.graceUntil);
  }
  return run.graceUntil;
}

/** The event log is for operators; failing to write it must not change the run's outcome. */
export async function recordEvent(run: Run, kind: 'start' | 'success' | 'failure', message: string): Promise<void> {
  try {
    await run.platform.recordEvent({ kind, message });
  } catch (err) {
    run.log.warn(`the event log entry could not be written: ${toAgentError(err).reason}`);
  }
}

export async function writeKvp(run: Run, result: 'success' | 'applied' | 'error', error?: AgentError): Promise<void> {
  const fields = [
    `result=${result}`,
    ...(error ? [`reason=${error.code}: ${error.reason}`] : []),
    `agent=winprov/${AGENT_VERSION}`,
    `vm_id=${run.journal.state.vmId}`,
    `timestamp=${new Date().toISOString()}`,
  ];
  try {
    await run.platform.writeKvpReport(fields.map((f) => f.replace(/\|/g, '/')).join('|'));
  } catch (err) {
    run.log.warn(`the KVP report could not be written: ${toAgentError(err).reason}`);
  }
}

/** HH:MM:SS UTC of an epoch time, for the console. */
export function clock(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}
