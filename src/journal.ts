import { randomUUID } from 'node:crypto';
import { monotonicMs } from './util/monotonic.ts';
import type { AgentError } from './errors.ts';
import type { Log } from './util/log.ts';
import type { AgentState, AppliedRecord, Platform, ReportRecord, StepRecord } from './platform/platform.ts';

/**
 * The run's journal: every step with its start, duration and outcome, everything applied, every report
 * sent. It is saved after each change, so a run killed at any point leaves a record of what it had
 * done, and `winprov status` reads it.
 */
export class Journal {
  readonly state: AgentState;
  readonly #platform: Platform;
  readonly #log: Log;
  readonly #now: () => number;
  /** The last write, started or waiting to start. */
  #tail: Promise<void> = Promise.resolve();
  /** A write waiting to start, which later saves join; undefined once it has started. */
  #pending: Promise<void> | undefined;
  /** Set by finish(): no save after the final one. */
  #closed = false;

  constructor(platform: Platform, log: Log, agentVersion: string, now: () => number = Date.now) {
    this.#platform = platform;
    this.#log = log;
    this.#now = now;
    this.state = {
      version: 1,
      vmId: '',
      agentVersion,
      runId: randomUUID(),
      startedAt: new Date(now()).toISOString(),
      result: 'running',
      steps: [],
      applied: [],
      reports: [],
    };
  }

  /** Runs one step: logs its start and end with the duration, records the outcome, saves the journal. */
  async step<T>(name: string, work: () => Promise<T>, describe?: (result: T) => string | undefined): Promise<T> {
    const record: StepRecord = { name, startedAt: new Date(this.#now()).toISOString() };
    this.state.steps.push(record);
    const started = monotonicMs();
    this.#log.info(`> ${name}`, { step: name, event: 'start' });
    try {
      const result = await work();
      record.durationMs = Math.round(monotonicMs() - started);
      record.outcome = 'ok';
      const detail = describe?.(result);
      if (detail) record.detail = detail;
      this.#log.info(`< ${name} ok in ${record.durationMs} ms${detail ? `: ${detail}` : ''}`, { step: name, event: 'end', durationMs: record.durationMs, outcome: 'ok' });
      // Not awaited: a step's "ok" is bookkeeping, and waiting for each fsync'd write would put every
      // write on the critical path. What must be durable is awaited where it is recorded (applied(),
      // reported(), finish()), and writes are serialized, so those saves carry this record too.
      void this.save();
      return result;
    } catch (err) {
      record.durationMs = Math.round(monotonicMs() - started);
      record.outcome = 'failed';
      this.#log.info(`< ${name} failed after ${record.durationMs} ms`, { step: name, event: 'end', durationMs: record.durationMs, outcome: 'failed' });
      await this.save();
      throw err;
    }
  }

  /**
   * Records a step that was not needed (already provisioned, nothing to do). Bookkeeping, like a step's
   * "ok": the save is not waited for (a run without certificates skips six steps in a row, and six
   * fsync'd writes in a row were 7-9 ms of every such run); the next durable save carries it.
   */
  async skip(name: string, why: string): Promise<void> {
    this.state.steps.push({ name, startedAt: new Date(this.#now()).toISOString(), durationMs: 0, outcome: 'skipped', detail: why });
    this.#log.info(`- ${name} skipped: ${why}`, { step: name, event: 'skip' });
    void this.save();
  }

  /**
   * The step's warning for `status`, in place of any an earlier run left for the same step (a re-run
   * carries the provisioning run's over): the latest run's word is the true one. None clears it.
   * Bookkeeping: saved with the next save.
   */
  setWarning(step: string, message: string | undefined, at: string = new Date(this.#now()).toISOString()): void {
    const others = (this.state.warnings ?? []).filter((w) => w.step !== step);
    const warnings = message === undefined ? others : [...others, { step, message, at }];
    if (warnings.length === 0) delete this.state.warnings;
    else this.state.warnings = warnings;
  }

  /** Records a change to the machine before the step that made it returns. */
  async applied(what: string, detail: string): Promise<void> {
    const record: AppliedRecord = { what, detail, at: new Date(this.#now()).toISOString() };
    this.state.applied.push(record);
    this.#log.info(`applied ${what}: ${detail}`, { applied: what });
    await this.save();
  }

  async reported(report: Omit<ReportRecord, 'at'>): Promise<void> {
    this.state.reports.push({ ...report, at: new Date(this.#now()).toISOString() });
    await this.save();
  }

  async finish(result: 'ready' | 'applied' | 'failed', error?: AgentError): Promise<void> {
    this.state.result = result;
    this.state.finishedAt = new Date(this.#now()).toISOString();
    if (error) this.state.failure = { code: error.code, reason: error.reason };
    const last = this.save();
    this.#closed = true;
    await last;
  }

  /**
   * Saves the journal: resolves once a write that holds the state as it is now has finished. Writes are
   * serialized so an older state never overwrites a newer one; a save asked while a write waits to start
   * joins that write (it takes the state when it starts), so records made together cost one write.
   */
  save(): Promise<void> {
    // Closed by finish(): a step still settling after the run ended (a read the deadline abandoned) must
    // not write this run's journal again, over the journal of a run that has taken the lock since.
    if (this.#closed) return Promise.resolve();
    this.#pending ??= this.#queueWrite();
    return this.#pending;
  }

  #queueWrite(): Promise<void> {
    const write = (): Promise<void> => {
      this.#pending = undefined;
      return this.#platform.writeAgentState(structuredClone(this.state));
    };
    this.#tail = this.#tail.then(write, write);
    return this.#tail.catch((err: unknown) => {
      // The journal is for operators; losing one save must not fail provisioning.
      this.#log.warn(`journal could not be saved: ${(err as Error).message}`);
    });
  }
}
