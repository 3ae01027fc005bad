import { DhcpDisabledError, toAgentError, type AgentError } from './errors.ts';
import { Journal } from './journal.ts';
import { FabricSession, type FabricSettings } from './fabric-session.ts';
import { applyConfiguration } from './apply.ts';
import { fetchCertificates } from './certificates.ts';
import { WorkBudget } from './crypto/work-budget.ts';
import { createTransportCertificate } from './crypto/transport-cert.ts';
import { keyStartsWithRun, startTransportKeyPair, type TransportKeyPair } from './crypto/transport-key.ts';
import { readOvfEnv, type ProvisioningConfig } from './protocol/ovf-env.ts';
import { AGENT_VERSION } from './version.ts';
import { silentLog, type Log } from './util/log.ts';
import { recordEvent, sendReport, writeKvp, type Run } from './run.ts';
import { deliverReady, finishAfterMarker } from './ready.ts';
import { postRdpCertificate } from './rdp-certificate.ts';
import { preferMediaNotFound, reportFailure } from './failure-report.ts';
import type { AgentState, FabricInterface, Platform, ProvisioningMedia } from './platform/platform.ts';

/**
 * The provisioning run, in order: DHCP -> discovery -> versions -> goal state (identity and provisioning
 * configuration read meanwhile) -> NotReady/Provisioning -> certificates -> apply
 * -> completion marker -> Ready -> guest agent hand-off. Each step is timed and journaled. A failure
 * before the completion marker ends in one NotReady/ProvisioningFailed report naming the reason; after
 * it, the only report is Ready (ready.ts). Every failure has a distinct exit code.
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
  /** Start the transport key with the run (true), or once the goal state lists certificates: transport-key.ts keyStartsWithRun. */
  transportKeyWithRun: boolean;
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
  transportKeyWithRun: keyStartsWithRun(),
};

export interface ProvisionOptions {
  platform: Platform;
  /** A transport key generation already under way (main starts it before the agent's modules load, keyStartsWithRun). */
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
  // Local work (media reads, PowerShell requests) is bounded by the same deadline as the fabric calls.
  platform.setDeadline(deadline);
  const journal = new Journal(platform, log, AGENT_VERSION);
  const session = new FabricSession(settings, platform, log, AGENT_VERSION, deadline);
  const run: Run = {
    platform, log, settings, journal, session, alreadyProvisioned: false, complete: false, ready: 'not-sent',
    configuration: undefined, ovfCopySaved: undefined, provisioningReport: undefined, transportKey: options.transportKey ?? (settings.transportKeyWithRun ? startTransportKeyPair() : undefined), graceUntil: undefined,
  };
  log.info(`winprov ${AGENT_VERSION} provisioning on the ${platform.kind} platform`);
  log.debug(run.transportKey === undefined ? 'transport key: generated only if the goal state lists certificates (not started with the run: transportKeyWithRun)' : 'transport key: generating since the run started');
  // Written once DHCP is settled (provisionSteps): on Windows it would otherwise hold the network back
  // behind one more PowerShell request. Awaited before any other entry, so the log keeps its order.
  let started = Promise.resolve();
  const startEvent = (): Promise<void> => {
    started = recordEvent(run, 'start', `winprov ${AGENT_VERSION} started provisioning (run ${journal.state.runId})`);
    return started;
  };
  try {
    const outcome = await provisionSteps(run, startEvent);
    await started;
    await journal.finish(outcome);
    await writeKvp(run, outcome === 'ready' ? 'success' : 'applied');
    await recordEvent(run, 'success', outcome === 'ready' ? 'provisioning succeeded; the fabric acknowledged Ready' : 'provisioning applied; Ready deferred to SetupComplete');
    log.info(outcome === 'ready' ? 'provisioning succeeded: the fabric acknowledged Ready' : 'provisioning applied; Ready is deferred to the next run');
    return { outcome, exitCode: 0, error: undefined, alreadyProvisioned: run.alreadyProvisioned, state: journal.state };
  } catch (err) {
    await started;
    let error = toAgentError(err);
    // Before the marker, missing provisioning media is the cause to report. preferMediaNotFound waits a
    // bounded time for a media read still under way, and a read that ends meanwhile starts the copy's save.
    if (!run.complete) error = await preferMediaNotFound(run, error);
    // Whatever failed, a redacted ovf-env.xml copy being saved is on disk before the failure is reported.
    // A media read still pending (a hung drive) has started none, and is not waited for.
    await run.ovfCopySaved;
    log.error(`provisioning failed [${error.code}]: ${error.describe()}`, { code: error.code });
    if (run.complete) {
      // After the completion marker the only report is Ready (ready.ts).
      await finishAfterMarker(run, error);
    } else {
      await reportFailure(run, error);
      await recordEvent(run, 'failure', `provisioning failed [${error.code}]: ${error.describe()}`);
    }
    await journal.finish('failed', error);
    return { outcome: 'failed', exitCode: error.exitCode, error, alreadyProvisioned: run.alreadyProvisioned, state: journal.state };
  }
}

async function provisionSteps(run: Run, startEvent: () => Promise<void>): Promise<'ready' | 'applied'> {
  const { platform, journal, session, settings } = run;

  // Read before this run's journal replaces it: a re-run on a provisioned machine applies nothing, and
  // carries over what the provisioning run learned (the admin account's SID, warnings) for `status`.
  // Carried at once, with the VM id they belong to, since this run's first save (after DHCP) comes before
  // the VM id and the completion marker are read: a re-run killed in between must not lose them. They
  // are dropped once this run turns out not to be a re-run on that VM.
  const previous = await platform.readAgentState().catch(() => undefined);
  if (previous !== undefined && (previous.adminAccount !== undefined || previous.warnings !== undefined)) {
    Object.assign(journal.state, { vmId: previous.vmId }, carriedOver(previous));
  }

  // The network waits only for DHCP, so it goes first: on Windows one PowerShell session answers one
  // request at a time, and the identity and the provisioning configuration are read while the fabric
  // steps run. They start once DHCP is settled (either way), so that each step's time is its own.
  const dhcp = journal.step('dhcp', () => ensureDhcp(run), (i) => `${i.name}: DHCP ${i.dhcpEnabled ? 'enabled' : 'disabled'}`);
  const dhcpSettled = dhcp.then(() => undefined, () => undefined);
  const identity = dhcpSettled.then(() => journal.step('identity', () => platform.readVmId(), (id) => `VM ${id}`)).then((id) => {
    journal.state.vmId = id;
    return id;
  });
  identity.catch(() => {});
  // Local and independent of the network: its errors surface where it is awaited.
  const configuration = dhcpSettled.then(() => journal.step('provisioning-config', () => readConfiguration(run), ({ config, media }) => `${config.computerName}, ${config.adminUsername}, from ${media.location}`));
  configuration.catch(() => {});
  run.configuration = configuration;
  const started = dhcpSettled.then(startEvent);
  // A local read the goal state does not change: done by the time the goal state is in, not after it.
  const markerRead = dhcpSettled.then(() => platform.readCompletionMarker());
  markerRead.catch(() => {});

  const iface = await dhcp;
  const endpoint = await journal.step('discover', () => session.discover(iface), (e) => `${e.baseUrl} (${e.source})`);
  journal.state.fabric = { endpoint: endpoint.baseUrl, source: endpoint.source };
  await journal.step('versions', () => session.negotiateVersion(), (v) => `protocol ${v}`);
  const goalState = await journal.step('goal-state', () => session.fetchGoalState(), (g) => `incarnation ${g.incarnation}, container ${g.containerId}`);
  Object.assign(journal.state.fabric, { containerId: goalState.containerId, instanceId: goalState.roleInstance.instanceId, incarnation: goalState.incarnation });

  const vmId = await identity;
  // Settled before anything changes the machine.
  await started;
  const marker = await markerRead;
  run.alreadyProvisioned = marker?.vmId === vmId;
  run.complete = run.alreadyProvisioned;
  if (!run.alreadyProvisioned || previous?.vmId !== vmId) {
    delete journal.state.adminAccount;
    delete journal.state.warnings;
  }
  if (marker !== undefined && !run.alreadyProvisioned) {
    run.log.warn(`the completion marker belongs to VM ${marker.vmId}, not this one (${vmId}): this is a new VM from a captured image; provisioning it`);
  }
  // The apply steps' modules load while the certificates are fetched: only then is there network time
  // to hide them behind, and a re-run applies nothing. The transport certificate is signed only for
  // certificates to fetch. With a processor to spare its key has been generating on the thread pool since
  // the run started (main.ts, or provision() for callers that pass none), the costliest local work hidden
  // behind start-up and the network steps; with one processor it starts here (keyStartsWithRun).
  const transport = !run.alreadyProvisioned && goalState.roleInstance.certificatesUrl !== undefined ? createTransportCertificate(run.transportKey ?? startTransportKeyPair()) : undefined;
  transport?.catch(() => {});
  if (transport !== undefined) platform.warmUp?.();

  // The portal shows "provisioning" while we work; a failure of this report is not fatal by itself.
  // A machine already provisioned sends no Provisioning: after the marker the only report is Ready.
  const provisioningReport = run.complete
    ? Promise.resolve()
    : sendReport(run, { state: 'NotReady', subStatus: 'Provisioning', description: 'winprov is provisioning the VM' }).then(() => undefined, (err: unknown) => {
      run.log.warn(`the Provisioning report was not accepted: ${toAgentError(err).reason}`);
    });
  run.provisioningReport = provisioningReport;

  const { config, media } = await configuration;
  // Azure sends this for every VM; the image's own Windows Update policy stays in force.
  if (config.enableAutomaticUpdates !== undefined) run.log.debug(`automatic updates are left as the image has them (ovf-env.xml: ${config.enableAutomaticUpdates ? 'on' : 'off'})`);
  if (run.alreadyProvisioned) {
    await run.ovfCopySaved;
    await journal.skip('apply', `VM ${vmId} was provisioned at ${marker!.provisionedAt} by winprov ${marker!.agentVersion}; nothing is applied again`);
  } else {
    const certificatesUrl = goalState.roleInstance.certificatesUrl;
    const bundle = certificatesUrl === undefined || transport === undefined
      ? await journal.skip('certificates', 'the goal state lists no certificates').then(() => undefined)
      : await journal.step(
        'certificates',
        () => {
          // One budget however often a refreshed goal state has the certificates fetched again.
          const budget = new WorkBudget({ deadline: session.deadline });
          return session.withFreshGoalState((gs, client) => fetchCertificates(client, {
            certificatesUrl: gs.roleInstance.certificatesUrl ?? certificatesUrl,
            hostingEnvironmentConfigUrl: gs.roleInstance.hostingEnvironmentConfigUrl,
          }, transport, run.log, budget));
        },
        (b) => (b === undefined ? 'none' : `${b.placements.length} placements`),
      );
    await applyConfiguration(platform, journal, config, media, bundle, run.log);
    // The run's records are complete before the machine is declared provisioned.
    await run.ovfCopySaved;
    await journal.step('marker', () => platform.writeCompletionMarker({
      vmId,
      provisionedAt: new Date().toISOString(),
      agentVersion: AGENT_VERSION,
      containerId: goalState.containerId,
      instanceId: goalState.roleInstance.instanceId,
    }));
    run.complete = true;
  }
  // The fabric keeps the last report it accepted: Provisioning must land before Ready.
  await provisioningReport;
  if (settings.phase === 'apply') return 'applied';

  // Before every Ready this agent sends, never fatal (rdp-certificate.ts says when and why).
  await postRdpCertificate(run);
  await journal.step('ready', () => deliverReady(run), (status) => `HTTP ${status}`);
  // Only after Ready: a guest agent seen running before it fails the deployment (OSProvisioningClientError).
  await journal.step('guest-agent', () => platform.setGuestAgentServices(config.platform.provisionGuestAgent), (s) =>
    s.installed.length === 0 ? 'no guest agent installed' : s.installed.map((x) => `${x.name} ${x.startMode}`).join(', '));
  return 'ready';
}

async function readConfiguration(run: Run): Promise<{ config: ProvisioningConfig; media: ProvisioningMedia }> {
  const { platform, log } = run;
  const media = await platform.readProvisioningMedia();
  const ovfEnv = readOvfEnv(media.ovfEnv.reveal());
  // The redacted copy is for operators, like the journal: a document that fails validation is saved before
  // the failure is reported, so it can be inspected; a valid one is saved while the run goes on (its five
  // file system round trips were on every run's critical path, issue 13), settled before the completion
  // marker. A copy that cannot be saved is a warning, not a failed provisioning.
  const copySaved = platform.saveOvfEnvCopy(ovfEnv.redacted).catch((err: unknown) => {
    log.warn(`the redacted copy of ovf-env.xml could not be saved: ${toAgentError(err).reason}`);
  });
  run.ovfCopySaved = copySaved;
  let config: ProvisioningConfig;
  try {
    config = ovfEnv.config();
  } catch (err) {
    await copySaved;
    throw err;
  }
  return { config, media };
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

/** What a re-run keeps of the provisioning run's journal for `status`: the admin account and the warnings. */
function carriedOver(previous: AgentState): Pick<AgentState, 'adminAccount' | 'warnings'> {
  return {
    ...(previous.adminAccount === undefined ? {} : { adminAccount: previous.adminAccount }),
    ...(previous.warnings === undefined ? {} : { warnings: previous.warnings }),
  };
}
