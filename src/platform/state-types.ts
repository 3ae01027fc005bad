/**
 * The records winprov keeps in its state folder (state-files.ts writes and checks them): the completion
 * marker and the run's journal with its steps, changes and reports.
 */

/** Written before Ready; a second run on the same VM applies nothing and re-sends Ready. */
export interface CompletionMarker {
  vmId: string;
  provisionedAt: string;
  agentVersion: string;
  containerId: string;
  instanceId: string;
}

/**
 * The run's journal and what `winprov status` reads. Persisted after every step, so a run killed at any
 * point knows what it had applied.
 */
export interface AgentState {
  version: 1;
  vmId: string;
  agentVersion: string;
  runId: string;
  startedAt: string;
  finishedAt?: string;
  result?: 'ready' | 'failed' | 'running' | 'applied';
  failure?: { code: string; reason: string };
  fabric?: { endpoint: string; source: string; containerId?: string; instanceId?: string; incarnation?: string };
  steps: StepRecord[];
  applied: AppliedRecord[];
  reports: ReportRecord[];
  /** The account holding the admin role after the admin-account step (winprov status shows it). */
  adminAccount?: { name: string; sid: string };
  /** What a step could not do without failing the run (the OS volume not extended ...). */
  warnings?: { step: string; message: string; at: string }[];
  /**
   * The RDP listener's certificate thumbprint and whether the fabric took it (roleProperties); the last
   * run's, since every run that sends Ready posts it again.
   */
  rdpCertificate?: { thumbprint?: string; posted: boolean; httpStatus?: number; reason?: string; at: string };
}

export interface StepRecord {
  name: string;
  startedAt: string;
  durationMs?: number;
  outcome?: 'ok' | 'failed' | 'skipped';
  detail?: string;
}

export interface AppliedRecord {
  /** What was changed: computer-name, admin-account, certificate, custom-data, time-zone, guest-agent. */
  what: string;
  /** Secret-free description: "renamed to WEB01", "created azureuser". */
  detail: string;
  at: string;
}

export interface ReportRecord {
  state: 'Ready' | 'NotReady';
  subStatus?: 'Provisioning' | 'ProvisioningFailed';
  description?: string;
  at: string;
  /** HTTP status the fabric answered, or undefined when it could not be reached. */
  httpStatus?: number;
}
