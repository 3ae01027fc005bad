import { ReadyUnconfirmedError, WireServerError, toAgentError, type AgentError } from './errors.ts';
import { clock, enterGrace, recordEvent, sendReport, writeKvp, type Run } from './run.ts';

/**
 * Ready is final (issue "Hold up against a hostile or broken fabric"). Once the completion marker is
 * written the machine is provisioned, and the fabric keeps the last report it accepted: a
 * ProvisioningFailed sent after a Ready whose answer was lost would overwrite a Ready the fabric had
 * taken. So after the marker the only report is Ready:
 *
 * - Ready is sent within the run's deadline; when its answer is lost or late (reset, timeout, 5xx, the
 *   deadline), it is sent again through the grace period that a ProvisioningFailed would have had.
 * - A definitive refusal (a 4xx other than 429) is not repeated: the fabric answered, and kept its state.
 * - No acknowledgement at all: READY_UNCONFIRMED. When an attempt reached the fabric and only its answer
 *   was lost, the fabric probably holds Ready, and the guest agent is handed over as after an
 *   acknowledged Ready (left disabled, a VM the fabric shows Running would never get its extensions).
 *   When no attempt reached it, the fabric still holds Provisioning: the guest agent stays as it is (one
 *   running before Ready fails the deployment), and a later run sends Ready again.
 * - Any failure after the marker is logged, written to KVP and the event log, never reported.
 */

/** Sends Ready; throws the fabric's refusal, or READY_UNCONFIRMED when no answer arrived by the end of the grace. */
export async function deliverReady(run: Run): Promise<number> {
  const started = Date.now();
  let attempts = 0;
  let lost = 0;
  const observe = (error: unknown): void => {
    if (!isHealthPost(error)) return;
    attempts += 1;
    if (answerLost(error)) lost += 1;
  };
  try {
    return await acknowledged(run, observe);
  } catch (first) {
    if (isRefusal(first)) throw refused(run, first);
    const until = enterGrace(run);
    run.log.warn(`Ready was not acknowledged (${toAgentError(first).reason}); the VM is provisioned, so Ready, not ProvisioningFailed, is sent again until ${clock(until)}`);
    try {
      return await acknowledged(run, observe);
    } catch (second) {
      if (isRefusal(second)) throw refused(run, second);
      run.ready = 'unconfirmed';
      const reason =
        `Ready was sent ${attempts} time(s) from ${clock(started)} and no acknowledgement arrived by ${clock(until)}; ` +
        (lost > 0 ? `${lost} attempt(s) reached the fabric and lost only the answer` : 'no attempt is known to have reached the fabric');
      throw new ReadyUnconfirmedError(reason, lost > 0, { cause: second });
    }
  }
}

async function acknowledged(run: Run, observe: (error: unknown) => void): Promise<number> {
  const status = await sendReport(run, { state: 'Ready' }, observe);
  run.ready = 'acknowledged';
  return status;
}

function refused(run: Run, error: unknown): unknown {
  run.ready = 'refused';
  return error;
}

/**
 * The end of a run that failed after the completion marker: no ProvisioningFailed. KVP, the event log and
 * the journal say what happened; the guest agent is handed over when Ready was probably accepted.
 */
export async function finishAfterMarker(run: Run, error: AgentError): Promise<void> {
  enterGrace(run);
  await writeKvp(run, 'error', error);
  run.log.warn(`the VM is provisioned (completion marker), so no ProvisioningFailed is reported; the fabric keeps the last report it accepted (${lastAccepted(run)})`);
  if (error instanceof ReadyUnconfirmedError && error.probablyAccepted) {
    const config = await run.configuration?.catch(() => undefined);
    if (config === undefined) {
      run.log.warn('the guest agent is not handed over: the provisioning configuration could not be read');
    } else {
      run.log.warn('Ready was probably accepted (an attempt reached the fabric and only its answer was lost): handing over to the guest agent as after an acknowledged Ready');
      await run.journal
        .step('guest-agent', () => run.platform.setGuestAgentServices(config.config.platform.provisionGuestAgent), (s) =>
          s.installed.length === 0 ? 'no guest agent installed' : s.installed.map((x) => `${x.name} ${x.startMode}`).join(', '))
        .catch((err: unknown) => run.log.error(`the guest agent hand-off failed: ${toAgentError(err).describe()}`));
    }
  } else if (run.ready !== 'acknowledged') {
    run.log.warn('the guest agent is left as it is: the fabric has not taken Ready, and a guest agent running before Ready fails the deployment; run "winprov provision" again to send Ready (nothing is applied again)');
  }
  await recordEvent(run, 'failure', `the VM is provisioned, but the run ended in [${error.code}]: ${error.describe()}`);
}

function lastAccepted(run: Run): string {
  if (run.ready === 'acknowledged') return 'Ready';
  if (run.ready === 'unconfirmed') return 'probably Ready, unconfirmed';
  const accepted = run.journal.state.reports.filter((r) => r.httpStatus !== undefined && r.httpStatus >= 200 && r.httpStatus < 300).at(-1);
  return accepted === undefined ? 'none from this run' : `${accepted.state}${accepted.subStatus ? `/${accepted.subStatus}` : ''}`;
}

/** A fabric answer that is final: 4xx other than 429 (and 410, which the session already followed). */
function isRefusal(error: unknown): boolean {
  if (!(error instanceof WireServerError) || error.code !== 'WIRESERVER_HTTP') return false;
  const status = error.status ?? 0;
  return status >= 400 && status < 500 && status !== 429;
}

/** The failures of the health POST itself (the goal state refreshes in between are GETs). */
function isHealthPost(error: unknown): boolean {
  const last = lastAttempt(error);
  return last instanceof WireServerError && last.context['method'] === 'POST';
}

/**
 * Whether a failed attempt may have reached the fabric: the connection was open, the (small) report was
 * written, and the answer never came (read timeout, the deadline while it was awaited, reset). A 2xx head
 * is an acknowledgement whatever follows it (http.ts statusOnly). A refused or unreachable connection, a
 * connect timeout or an HTTP error status are answers or non-deliveries, not lost answers.
 */
export function answerLost(error: unknown): boolean {
  const last = lastAttempt(error);
  if (!(last instanceof WireServerError)) return false;
  // A read timeout, or the run's deadline passing while the answer was awaited (http.ts marks both 'read').
  if (last.code === 'WIRESERVER_TIMEOUT' || last.code === 'DEADLINE_EXCEEDED') return last.context['budget'] === 'read';
  if (last.code !== 'WIRESERVER_UNREACHABLE') return false;
  // After a 2xx head, a body cut short or malformed is a lost answer (a statusOnly request has settled
  // at that head: http.ts). A response unreadable before its status (bare LF line ends, HTTP/0.9:
  // http-response.ts) came from something, but says nothing of whether the fabric took the report: it
  // carries neither a status nor an errno, and is not counted.
  if (last.status !== undefined) return isSuccess(last.status);
  return ['ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes(String(last.context['errno']));
}

function isSuccess(status: number | undefined): boolean {
  return status !== undefined && status >= 200 && status < 300;
}

/** The error of the attempt itself: the retry loop's DEADLINE_EXCEEDED carries it as its cause. */
function lastAttempt(error: unknown): unknown {
  if (error instanceof WireServerError && error.code === 'DEADLINE_EXCEEDED' && error.context['attempts'] !== undefined) return error.cause;
  return error;
}
