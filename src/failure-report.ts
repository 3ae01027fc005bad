import { setTimeout as delay } from 'node:timers/promises';
import { toAgentError, type AgentError } from './errors.ts';
import { clock, enterGrace, sendReport, writeKvp, type Run } from './run.ts';

/**
 * The one NotReady/ProvisioningFailed report of a run that failed before its completion marker (after
 * the marker the only report is Ready: ready.ts), finding the fabric first if the run failed before it,
 * plus the KVP report, which reaches the host even when the fabric cannot be reached.
 */
export async function reportFailure(run: Run, error: AgentError): Promise<void> {
  const description = `${error.code}: ${error.describe()}`;
  // Every call of the failure report gets the grace time: the run's own deadline may be what failed.
  const until = enterGrace(run);
  await writeKvp(run, 'error', error);
  // The fabric keeps the last report it accepted: a Provisioning report still in flight must land first.
  await run.provisioningReport;
  run.log.info(`reporting ProvisioningFailed to the fabric, giving up by ${clock(until)}`);
  try {
    if (run.session.client === undefined) await run.session.discover(undefined);
    if (run.session.goalState === undefined) {
      if (run.session.client!.protocolVersion === '2012-11-30') await run.session.negotiateVersion().catch(() => undefined);
      await run.session.fetchGoalState();
    }
    await sendReport(run, { state: 'NotReady', subStatus: 'ProvisioningFailed', description });
    run.log.info('the fabric received the ProvisioningFailed report');
  } catch (err) {
    run.log.error(`the ProvisioningFailed report could not be delivered: ${toAgentError(err).reason}; the KVP report carries it`);
  }
}

/** How long a failed run waits for the media read to settle when deciding which error is the cause. */
const MEDIA_VERDICT_WAIT_MS = 2_000;

/**
 * No provisioning media is reported as the cause even when the fabric failed too: without the media the
 * VM was not deployed from a generalized image on Azure (or the media was not attached), which also
 * explains a fabric that cannot be found; and the fix (deploy it properly) is the user's, not the fabric's.
 */
export async function preferMediaNotFound(run: Run, error: AgentError): Promise<AgentError> {
  if (error.code === 'MEDIA_NOT_FOUND' || run.configuration === undefined) return error;
  const controller = new AbortController();
  const verdict = await Promise.race([
    run.configuration.then(() => undefined, (err: unknown) => toAgentError(err)),
    delay(MEDIA_VERDICT_WAIT_MS, undefined, { signal: controller.signal }).catch(() => undefined),
  ]);
  controller.abort();
  if (verdict?.code !== 'MEDIA_NOT_FOUND') return error;
  run.log.warn(`[${error.code}] ${error.describe()}; reported instead: there is no provisioning media, the cause to fix first`);
  return verdict;
}
