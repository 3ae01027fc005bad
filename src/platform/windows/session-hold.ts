import type { AgentError } from '../../errors.ts';
import { requestLine } from './protocol.ts';
import type { Outcome, ProcessHold } from './session-parts.ts';
import type { Child } from './session-process.ts';

/** What SessionHold needs of its session. */
export interface HoldingSession {
  nextId: () => number;
  /** Processes that took the hold and may not have exited yet. */
  holders: () => Child[];
  log: (level: 'info' | 'warn', message: string) => void;
  /** A PowerShell text with this session's secrets scrubbed. */
  clean: (text: string) => string;
}

/**
 * What a session's process took that ends with the process (a ProcessHold: the run mutex, run-mutex.ts),
 * for session.ts: which hold it is once a request took it, and taking it again in a new process. Once a
 * new process cannot, the hold is lost and the session fails every later request with its error.
 */
export class SessionHold {
  /** What a request took that later processes take again, once one did. */
  hold: ProcessHold | undefined;
  /** Set when a new process could not take the hold again. */
  lost: AgentError | undefined;
  readonly #session: HoldingSession;

  constructor(session: HoldingSession) {
    this.#session = session;
  }

  /**
   * In a process that does not hold what an earlier one held, takes it again before the request, once
   * every earlier holder has exited (until then Windows still counts it as the owner). Undefined when the
   * request may go ahead; the outcome when the process timed out or ended meanwhile; throws the hold's
   * error (and keeps it in `lost`) when the process could not take it.
   */
  async retake(child: Child, deadline: number): Promise<Outcome | undefined> {
    const hold = this.hold;
    if (hold === undefined || child.holds) return undefined;
    const holders = this.#session.holders().map((c) => c.exited);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(holders), new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
    clearTimeout(timer);
    const id = this.#session.nextId();
    child.handle?.write(requestLine({ id, verb: hold.again.verb, params: hold.again.params }));
    const outcome = await child.outcome(id, Math.max(1, deadline - Date.now()));
    if (outcome.kind !== 'answer') return outcome;
    const lost = hold.verdict(outcome.answer.ok ? { result: outcome.answer.result } : { failure: this.#session.clean(outcome.answer.error.message) });
    if (lost !== undefined) {
      this.lost = lost;
      this.#session.log('warn', `the new PowerShell process could not take ${hold.what} again; every later request fails: ${lost.message}`);
      throw lost;
    }
    child.holds = true;
    this.#session.log('info', `the new PowerShell process took ${hold.what} again`);
    return undefined;
  }
}
