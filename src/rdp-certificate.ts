import { toAgentError } from './errors.ts';
import { normalizeThumbprint } from './protocol/role-properties.ts';
import type { AgentState } from './platform/platform.ts';
import type { Run } from './run.ts';

/**
 * Posts the RDP listener's certificate thumbprint to the fabric (POST /machine?comp=roleProperties,
 * fabric-protocol.md 2.9), as Azure's Windows agents do (cloudbase-init's RDP thumbprint plugin posts the
 * same document WALinuxAgent builds). Never fatal: a VM without an RDP listener, a CIM error or a fabric
 * refusal is logged and written to the journal (a warning and state.rdpCertificate), and the run goes on
 * to Ready.
 *
 * When: before every Ready this agent sends, so
 * - the default mode posts it at the end of specialize, after the certificates and apply steps;
 * - the deferred mode posts it from the SetupComplete run, not from specialize: Ready is sent there, and
 *   after OOBE Remote Desktop Services runs and its listener names the certificate it presents (during
 *   specialize it may name none yet: an empty or all-zero hash, which is not posted);
 * - a run on a VM already provisioned posts it again: Azure's agent posts on every goal state and the
 *   fabric keeps the last value, so posting again is harmless and catches a renewed certificate.
 */

export async function postRdpCertificate(run: Run): Promise<void> {
  const { journal, log } = run;
  const record = await journal.step('rdp-certificate', () => attempt(run), (r) =>
    r.posted ? `${r.thumbprint} posted (HTTP ${r.httpStatus})` : `not posted: ${r.reason}`);
  journal.state.rdpCertificate = record;
  // Each Ready posts it again (a re-run too): this run's outcome replaces the warning an earlier one left.
  journal.setWarning('rdp-certificate', record.posted ? undefined : record.reason ?? 'not posted', record.at);
  if (!record.posted) log.warn(`the RDP certificate thumbprint was not posted to the fabric: ${record.reason}`);
  // Bookkeeping: Ready follows at once and its own saves carry this record; waiting for an fsync'd
  // write here would put it between every run and its Ready.
  void journal.save();
}

type RdpRecord = NonNullable<AgentState['rdpCertificate']>;

async function attempt(run: Run): Promise<RdpRecord> {
  const at = (): string => new Date().toISOString();
  let raw: string | undefined;
  try {
    raw = await run.platform.readRdpCertificateThumbprint();
  } catch (err) {
    return { posted: false, reason: `the RDP listener's certificate could not be read: ${toAgentError(err).reason}`, at: at() };
  }
  if (raw === undefined) return { posted: false, reason: 'this machine has no RDP listener (RDP-Tcp)', at: at() };
  const thumbprint = normalizeThumbprint(raw);
  if (thumbprint === undefined) return { posted: false, reason: 'the RDP listener names no certificate yet (SSLCertificateSHA1Hash is empty or not a SHA-1 thumbprint)', at: at() };
  try {
    const httpStatus = await run.session.withFreshGoalState((goalState, client) => client.roleProperties(
      { containerId: goalState.containerId, instanceId: goalState.roleInstance.instanceId, certificateThumbprint: thumbprint },
      run.session.deadline,
    ));
    return { thumbprint, posted: true, httpStatus, at: at() };
  } catch (err) {
    const error = toAgentError(err);
    const status = error.context['status'];
    return { thumbprint, posted: false, ...(typeof status === 'number' ? { httpStatus: status } : {}), reason: `the fabric did not take it: ${error.reason}`, at: at() };
  }
}
