import { DhcpDisabledError, toAgentError, type AgentError } from './errors.ts';
import { Journal } from './journal.ts';
import { FabricSession, type FabricSettings } from './fabric-session.ts';
import { applyConfiguration } from './apply.ts';
import { fetchCertificates } from './certificates.ts';
import { createTransportCertificate } from './crypto/transport-cert.ts';
import type { TransportKeyPair } from './crypto/transport-key.ts';
import { readOvfEnv, type ProvisioningConfig } from './protocol/ovf-env.ts';
import { AGENT_VERSION } from './version.ts';
import { silentLog, type Log } from './util/log.ts';
import type { AgentState, FabricInterface, Platform, ProvisioningMedia } from './platform/platform.ts';

/**
 * The provisioning run, in order: identity -> provisioning configuration (read while the network steps
 * run) -> DHCP -> discovery -> versions -> goal state -> NotReady/Provisioning -> certificates -> apply
 * -> completion marker -> Ready -> guest agent hand-off. Each step is timed and journaled. Any failure
 * ends in one NotReady/ProvisioningFailed report naming the reason, and a distinct exit code.
 */

export type Phase = 'full' | 'apply';

export interface RunSettings extends FabricSettings {
  repairDhcp: boolean;
  /** How long to wait for an address after turning DHCP on. */
  dhcpWaitMs: number;
  /** Budget of the whole run. */
  deadlineMs: number;
  /** Extra time allowed for the ProvisioningFailed report when the run failed because time ran out. */
  failureReportGraceMs: number;
  phase: Phase;
}

export const DEFAULT_RUN_SETTINGS: RunSettings = {
  fabricUrl: undefined,
  fabricPort: 80,
  fallbackAddress: '168.63.129.16',
  connectTimeoutMs: 5_000,
  readTimeoutMs: 60_000,
  maxResponseBytes: 8 * 1024 * 1024,
  dhcpQuery: false,
  repairDhcp: true,
  dhcpWaitMs: 60_000,
  deadlineMs: 20 * 60_000,
  failureReportGraceMs: 60_000,
  phase: 'full',
};

export interface ProvisionOptions {
  platform: Platform;
  /** A transport key generation already under way (main starts it before the agent's modules load). */
  transportKey?: Promise<TransportKeyPair>;
  log?: Log;
  settings?: Partial<RunSettings>;
}

export interface ProvisionResult {
  /** ready: the fabric acknowledged Ready; applied: everything applied, Ready deferred; failed. */
  outcome: 'ready' | 'applied' | 'failed';
  exitCode: number;
  error: AgentError | undefined;
  /** True when this VM had been provisioned before: nothing was applied, Ready was sent again. */
  alreadyProvisioned: boolean;
  state: AgentState;
}

/** Provisions the machine behind `platform`; never throws: failures are reported and returned. */
export async function provision(options: ProvisionOptions): Promise<ProvisionResult> {
  const settings: RunSettings = { ...DEFAULT_RUN_SETTINGS, ...options.settings };
  const { platform } = options;
  const log = options.log ?? silentLog();
  const deadline = Date.now() + settings.deadlineMs;
  const journal = new Journal(platform, log, AGENT_VERSION);
  const session = new FabricSession(settings, platform, log, AGENT_VERSION, deadline);
  const run: Run = { platform, log, settings, journal, session, alreadyProvisioned: false, provisioningReport: undefined, transportKey: options.transportKey };
  log.info(`winprov ${AGENT_VERSION} provisioning on the ${platform.kind} platform`);
  await recordEvent(run, 'start', `winprov ${AGENT_VERSION} started provisioning (run ${journal.state.runId})`);
  try {
    const outcome = await provisionSteps(run);
    await journal.finish(outcome);
    await writeKvp(run, outcome === 'ready' ? 'success' : 'applied');
    await recordEvent(run, 'success', outcome === 'ready' ? 'provisioning succeeded; the fabric acknowledged Ready' : 'provisioning applied; Ready deferred to SetupComplete');
    log.info(outcome === 'ready' ? 'provisioning succeeded: the fabric acknowledged Ready' : 'provisioning applied; Ready is deferred to the next run');
    return { outcome, exitCode: 0, error: undefined, alreadyProvisioned: run.alreadyProvisioned, state: journal.state };
  } catch (err) {
    const error = toAgentError(err);
    log.error(`provisioning failed [${error.code}]: ${error.describe()}`, { code: error.code });
    await reportFailure(run, error);
    await journal.finish('failed', error);
    await recordEvent(run, 'failure', `provisioning failed [${error.code}]: ${error.describe()}`);
    return { outcome: 'failed', exitCode: error.exitCode, error, alreadyProvisioned: run.alreadyProvisioned, state: journal.state };
  }
}

interface Run {
  platform: Platform;
  log: Log;
  settings: RunSettings;
  journal: Journal;
  session: FabricSession;
  alreadyProvisioned: boolean;
  /** The NotReady/Provisioning report while in flight; settled (never rejected) once the fabric answered or it gave up. */
  provisioningReport: Promise<void> | undefined;
  transportKey: Promise<TransportKeyPair> | undefined;
}

async function provisionSteps(run: Run): Promise<'ready' | 'applied'> {
  const { platform, journal, session, settings } = run;
  // Key generation is the costliest local work; it runs on the thread pool while the network steps run.
  const transport = createTransportCertificate(run.transportKey);
  transport.catch(() => {});

  const vmId = await journal.step('identity', () => platform.readVmId(), (id) => `VM ${id}`);
  journal.state.vmId = vmId;
  const marker = await platform.readCompletionMarker();
  run.alreadyProvisioned = marker?.vmId === vmId;
  if (marker !== undefined && !run.alreadyProvisioned) {
    run.log.warn(`the completion marker belongs to VM ${marker.vmId}, not this one (${vmId}): this is a new VM from a captured image; provisioning it`);
  }

  // Local and independent of the network: read while DHCP and discovery run; its errors surface below.
  const configuration = journal.step('provisioning-config', () => readConfiguration(platform), ({ config, media }) => `${config.computerName}, ${config.adminUsername}, from ${media.location}`);
  configuration.catch(() => {});

  const iface = await journal.step('dhcp', () => ensureDhcp(run), (i) => `${i.name}: DHCP ${i.dhcpEnabled ? 'enabled' : 'disabled'}`);
  const endpoint = await journal.step('discover', () => session.discover(iface), (e) => `${e.baseUrl} (${e.source})`);
  journal.state.fabric = { endpoint: endpoint.baseUrl, source: endpoint.source };
  await journal.step('versions', () => session.negotiateVersion(), (v) => `protocol ${v}`);
  const goalState = await journal.step('goal-state', () => session.fetchGoalState(), (g) => `incarnation ${g.incarnation}, container ${g.containerId}`);
  Object.assign(journal.state.fabric, { containerId: goalState.containerId, instanceId: goalState.roleInstance.instanceId, incarnation: goalState.incarnation });

  // The portal shows "provisioning" while we work; a failure of this report is not fatal by itself.
  const provisioningReport = sendReport(run, { state: 'NotReady', subStatus: 'Provisioning', description: 'winprov is provisioning the VM' }).then(() => undefined, (err: unknown) => {
    run.log.warn(`the Provisioning report was not accepted: ${toAgentError(err).reason}`);
  });
  run.provisioningReport = provisioningReport;

  const { config, media } = await configuration;
  for (const request of notAppliedRequests(config)) run.log.warn(`ovf-env.xml asks for ${request}, which winprov does not apply; configure it in the image or with an extension`);
  // Azure sends this for every VM; the image's own Windows Update policy stays in force.
  if (config.enableAutomaticUpdates !== undefined) run.log.debug(`automatic updates are left as the image has them (ovf-env.xml: ${config.enableAutomaticUpdates ? 'on' : 'off'})`);
  if (run.alreadyProvisioned) {
    await journal.skip('apply', `VM ${vmId} was provisioned at ${marker!.provisionedAt} by winprov ${marker!.agentVersion}; nothing is applied again`);
  } else {
    const certificatesUrl = goalState.roleInstance.certificatesUrl;
    const bundle = certificatesUrl === undefined
      ? await journal.skip('certificates', 'the goal state lists no certificates').then(() => undefined)
      : await journal.step(
        'certificates',
        () => session.withFreshGoalState((gs, client) => fetchCertificates(client, {
          certificatesUrl: gs.roleInstance.certificatesUrl ?? certificatesUrl,
          hostingEnvironmentConfigUrl: gs.roleInstance.hostingEnvironmentConfigUrl,
        }, transport, run.log)),
        (b) => (b === undefined ? 'none' : `${b.placements.length} placements`),
      );
    await applyConfiguration(platform, journal, config, media, bundle);
    await journal.step('marker', () => platform.writeCompletionMarker({
      vmId,
      provisionedAt: new Date().toISOString(),
      agentVersion: AGENT_VERSION,
      containerId: goalState.containerId,
      instanceId: goalState.roleInstance.instanceId,
    }));
  }
  await provisioningReport;
  if (settings.phase === 'apply') return 'applied';

  await journal.step('ready', () => sendReport(run, { state: 'Ready' }), (status) => `HTTP ${status}`);
  // Only after Ready: a guest agent seen running before it fails the deployment (OSProvisioningClientError).
  await journal.step('guest-agent', () => platform.setGuestAgentServices(config.platform.provisionGuestAgent), (s) =>
    s.installed.length === 0 ? 'no guest agent installed' : s.installed.map((x) => `${x.name} ${x.startMode}`).join(', '));
  return 'ready';
}

/** What the provisioning configuration may ask for that winprov does not apply (README: "Not applied"). */
function notAppliedRequests(config: ProvisioningConfig): string[] {
  const requests: string[] = [];
  if (config.additionalUnattendContent.length > 0) requests.push(`additional unattend content (${config.additionalUnattendContent.map((c) => c.settingName).join(', ')})`);
  return requests;
}

async function readConfiguration(platform: Platform): Promise<{ config: ProvisioningConfig; media: ProvisioningMedia }> {
  const media = await platform.readProvisioningMedia();
  const ovfEnv = readOvfEnv(media.ovfEnv.reveal());
  // The redacted copy is saved first, so a document that fails validation can still be inspected.
  await platform.saveOvfEnvCopy(ovfEnv.redacted);
  return { config: ovfEnv.config(), media };
}

/** Azure needs DHCP inside the guest (a static address is a classic OSProvisioningTimedOut). */
async function ensureDhcp(run: Run): Promise<FabricInterface> {
  const iface = await run.platform.findFabricInterface(run.settings.fallbackAddress);
  if (iface.dhcpEnabled) return iface;
  if (!run.settings.repairDhcp) throw new DhcpDisabledError(iface.name);
  run.log.warn(`DHCP is disabled on ${iface.name}; enabling it and waiting up to ${Math.round(run.settings.dhcpWaitMs / 1000)} s for an address (Azure assigns addresses by DHCP; set static addresses on the NIC in Azure instead)`);
  const repaired = await run.platform.enableDhcp(iface, run.settings.dhcpWaitMs);
  await run.journal.applied('dhcp', `enabled DHCP on ${iface.name}`);
  return repaired;
}

async function sendReport(run: Run, report: { state: 'Ready' | 'NotReady'; subStatus?: 'Provisioning' | 'ProvisioningFailed'; description?: string }, deadline?: number): Promise<number> {
  try {
    const status = await run.session.report(report, deadline);
    await run.journal.reported({ ...report, httpStatus: status });
    return status;
  } catch (err) {
    await run.journal.reported({ ...report, httpStatus: toAgentError(err).context['status'] as number | undefined });
    throw err;
  }
}

/** One ProvisioningFailed report (finding the fabric first if the run failed before it), plus KVP. */
async function reportFailure(run: Run, error: AgentError): Promise<void> {
  const description = `${error.code}: ${error.describe()}`;
  await writeKvp(run, 'error', error);
  // The fabric keeps the last report it accepted: a Provisioning report still in flight must land first.
  await run.provisioningReport;
  // Every call of the failure report gets the grace time: the run's own deadline may be what failed.
  const deadline = Date.now() + run.settings.failureReportGraceMs;
  try {
    if (run.session.client === undefined) await run.session.discover(undefined, deadline);
    if (run.session.goalState === undefined) {
      const client = run.session.client!;
      if (client.protocolVersion === '2012-11-30') await client.negotiateVersion(deadline).catch(() => undefined);
      await run.session.fetchGoalState(deadline);
    }
    await sendReport(run, { state: 'NotReady', subStatus: 'ProvisioningFailed', description }, deadline);
    run.log.info('the fabric received the ProvisioningFailed report');
  } catch (err) {
    run.log.error(`the ProvisioningFailed report could not be delivered: ${toAgentError(err).reason}; the KVP report carries it`);
  }
}

/** The event log is for operators; failing to write it must not change the run's outcome. */
async function recordEvent(run: Run, kind: 'start' | 'success' | 'failure', message: string): Promise<void> {
  try {
    await run.platform.recordEvent({ kind, message });
  } catch (err) {
    run.log.warn(`the event log entry could not be written: ${toAgentError(err).reason}`);
  }
}

async function writeKvp(run: Run, result: 'success' | 'applied' | 'error', error?: AgentError): Promise<void> {
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
