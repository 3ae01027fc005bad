import { PlatformCommandError, PlatformTimeoutError, type AgentError } from '../../errors.ts';
import type { SessionExit } from './exec.ts';
import { readableStderr } from './clixml.ts';
import { scrubSecrets, secretTexts, toPlatformError } from './failure.ts';
import { executionPolicyError } from './execution-policy.ts';
import { epochMs } from '../../util/monotonic.ts';
import { helloLine, parseHostLine, requestLine } from './protocol.ts';
import { timingLine, type Outcome, type PowerShellSessionOptions, type RequestOptions } from './session-parts.ts';
import { Child } from './session-process.ts';
import { SessionHold } from './session-hold.ts';

export { timingLine, type LogFunction, type PowerShellSessionOptions, type ProcessHold, type RequestOptions } from './session-parts.ts';

/**
 * One PowerShell process for the whole run (start-up costs 0.5-1 s per process), driven over stdin with
 * the protocol of protocol.ts. Requests run one at a time, each with a timeout:
 * - no answer in time: the process is killed and the request fails; the next request starts a new one;
 * - the process dies (crash, exit) during a request: a new process is started and the request sent once
 *   more (every verb is idempotent). This happens once per session object, that is once per run; a
 *   second death fails the request. Later requests start a new process when they need one;
 * - the host cannot load its scripts: every request fails with PowerShell's text; no retry, since the
 *   same scripts would fail the same way.
 * What a process held (a ProcessHold: the run mutex) ends with it: a new process takes it again before
 * any other request, once the old one has exited (at once when it died between requests), and when it
 * cannot, every later request fails with the hold's error. A process that ends unexpectedly is a warning.
 * A stopped process's tree is stopped first where the platform can (stopTree: taskkill /T on Windows);
 * the runner lets go of a process that outlives its kill (exec.ts), so close() is bounded by closeTimeoutMs
 * plus stopTree's own limit.
 */

const MAX_LOGGED_LINE = 2_000;

/** A PowerShell host process that answers JSON requests. */
export class PowerShellSession {
  readonly #options: PowerShellSessionOptions;
  #child: Child | undefined;
  #nextId = 0;
  #restartsLeft = 1;
  #queue: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #startFailure: string | undefined;
  /** The bootstrap refused the session for a Group Policy execution policy (execution-policy.ts). */
  #startRefusal: AgentError | undefined;
  /** The run's deadline (setDeadline): no request outlives it, whatever its own timeout. */
  #deadline: number | undefined;
  /**
   * Every secret any request of this session carried. Kept until close(): PowerShell's stderr is a
   * stream of its own and may still print about a request after its answer arrived.
   */
  readonly #secrets = new Set<string>();
  /** Every process started and not yet exited, a stopped one included: its late output is still scrubbed. */
  readonly #children = new Set<Child>();
  /** What a request took that later processes take again (the run mutex): session-hold.ts. */
  readonly #held = new SessionHold({
    nextId: () => ++this.#nextId,
    holders: () => [...this.#children].filter((c) => c.holds),
    log: (level, message) => this.#log(level, message),
    clean: (text) => this.#clean(text),
  });
  /** Stops under way (the tree, then the kill): close() waits for them. */
  readonly #stopping = new Set<Promise<void>>();

  constructor(options: PowerShellSessionOptions) {
    this.#options = options;
  }

  /** Sends one request and resolves with its result, or rejects with a PlatformRejectedError/PlatformCommandError. */
  request(verb: string, params: Record<string, unknown>, options: RequestOptions = {}): Promise<unknown> {
    if (this.#closing !== undefined) return Promise.reject(new PlatformCommandError(verb, 'the PowerShell session is closed'));
    const queuedAt = epochMs();
    const run = this.#queue.then(() => this.#exchange(verb, params, options, queuedAt));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Every later request's timeout becomes min(its own, the time left until `deadline`). */
  setDeadline(deadline: number): void {
    this.#deadline = deadline;
  }

  /** Asks PowerShell to exit, waits briefly, then kills it. Safe to call more than once. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #exchange(verb: string, params: Record<string, unknown>, options: RequestOptions, queuedAt: number): Promise<unknown> {
    const own = options.timeoutMs ?? this.#options.requestTimeoutMs;
    const runDeadline = this.#deadline;
    for (const value of Object.values(options.secrets ?? {})) for (const text of secretTexts(value)) this.#secrets.add(text);
    for (;;) {
      if (this.#held.lost !== undefined) throw this.#held.lost;
      if (this.#startRefusal !== undefined) throw this.#startRefusal;
      if (this.#startFailure !== undefined) throw new PlatformCommandError(verb, this.#startFailure);
      // Issue "Hold up against a hostile or broken fabric": a request whose own timeout is longer than the
      // time the run has left must not hold the run past its deadline, nor may its second attempt after
      // PowerShell died (each attempt has its own timeout, the run's deadline bounds them all).
      const left = runDeadline === undefined ? Infinity : runDeadline - Date.now();
      if (left <= 0) throw new PlatformTimeoutError(verb, runDeadline!, { context: { timedOut: true } });
      const boundByRun = left < own;
      const timeoutMs = boundByRun ? Math.max(1, Math.ceil(left)) : own;
      const child = this.#child ?? this.#spawn();
      const deadline = Date.now() + timeoutMs;
      const start = await this.#ready(child, timeoutMs);
      if (start === 'refused') continue;
      let outcome = start ?? (await this.#held.retake(child, deadline));
      if (outcome === undefined) {
        const id = ++this.#nextId;
        const sentAt = epochMs();
        child.handle?.write(requestLine({ id, verb, params, secrets: options.secrets }));
        outcome = await child.outcome(id, Math.max(1, deadline - Date.now()));
        this.#log('debug', timingLine(`${verb} #${id}`, sentAt, epochMs(), sentAt - queuedAt));
      }
      if (outcome === undefined) continue;
      if (outcome.kind === 'answer') {
        if (outcome.answer.ok) {
          const hold = options.hold;
          if (hold !== undefined && hold.verdict({ result: outcome.answer.result }) === undefined) {
            this.#held.hold = hold;
            child.holds = true;
          }
          return outcome.answer.result;
        }
        throw toPlatformError(verb, outcome.answer.error, [...this.#secrets]);
      }
      if (outcome.kind === 'timeout') {
        this.#stop(child);
        if (boundByRun) throw new PlatformTimeoutError(verb, runDeadline!, { context: { timedOut: true, timeoutMs } });
        throw new PlatformCommandError(verb, `PowerShell did not answer within ${timeoutMs} ms; the session was stopped`, { context: { timedOut: true } });
      }
      if (this.#restartsLeft === 0) {
        throw new PlatformCommandError(verb, `the PowerShell session ended unexpectedly (${outcome.detail}); it had already been restarted once`);
      }
      this.#restartsLeft -= 1;
      this.#log('warn', `the PowerShell session ended unexpectedly (${outcome.detail}); starting a new one and sending ${verb} again`);
    }
  }

  /**
   * Waits for a new process's ready answer: undefined once it is ready, the outcome when it timed out or
   * ended first, 'refused' when it could not load its scripts (every later request fails with that).
   */
  async #ready(child: Child, timeoutMs: number): Promise<Outcome | 'refused' | undefined> {
    if (child.ready) return undefined;
    const outcome = await child.outcome(0, timeoutMs);
    if (outcome.kind !== 'answer') return outcome;
    if (!outcome.answer.ok) {
      this.#startRefusal = executionPolicyError(outcome.answer.error);
      this.#startFailure = `PowerShell could not load the winprov scripts: ${scrubSecrets(outcome.answer.error.message, [...this.#secrets])}`;
      this.#stop(child);
      return 'refused';
    }
    child.ready = true;
    this.#log('debug', `PowerShell session ready: ${JSON.stringify(outcome.answer.result)}`);
    this.#log('debug', timingLine('start', child.spawnedAt, epochMs()));
    return undefined;
  }

  /**
   * The hold's process died between requests: a new one takes it again now, not at the next request, which
   * may be minutes away (Ready sent again through the grace period). Meanwhile another run could take the
   * released mutex and, finding it not abandoned, the lock file too. Queued like a request.
   */
  #retakeSoon(): void {
    const run = this.#queue.then(async () => {
      const left = (this.#deadline ?? Infinity) - Date.now();
      if (this.#closing !== undefined || this.#held.lost !== undefined || this.#child?.holds === true || left <= 0) return;
      const child = this.#child ?? this.#spawn();
      const timeoutMs = Math.min(this.#options.requestTimeoutMs, left);
      const deadline = Date.now() + timeoutMs;
      // A process that does not start, or cannot take the hold, is for the next request to report.
      const outcome = (await this.#ready(child, timeoutMs)) ?? (await this.#held.retake(child, deadline));
      if (typeof outcome === 'object' && outcome.kind === 'timeout') this.#stop(child);
    });
    this.#queue = run.catch(() => undefined);
  }

  #spawn(): Child {
    const child = new Child();
    this.#child = child;
    this.#children.add(child);
    const { file, args, runner, library } = this.#options;
    this.#log('debug', `starting ${file}`);
    child.handle = runner.spawnSession(file, args, {
      stdout: (chunk) => {
        for (const line of child.stdout.push(chunk)) this.#onLine(child, line);
      },
      stderr: (chunk) => {
        for (const line of child.stderr.push(chunk)) this.#onStderr(child, line);
      },
      exit: (info) => this.#onExit(child, info),
    });
    if (child.ended === undefined) child.handle.write(helloLine(child.marker, library));
    return child;
  }

  #onLine(child: Child, line: string): void {
    const parsed = parseHostLine(line, child.marker);
    if (parsed.stray.trim() !== '') this.#log('debug', `PowerShell printed: ${this.#clean(parsed.stray)}`);
    if (parsed.kind === 'log') this.#log(parsed.level, `PowerShell: ${this.#clean(parsed.message)}`);
    if (parsed.kind !== 'answer') return;
    const waiter = child.waiter;
    if (waiter === undefined || waiter.id !== parsed.answer.id) {
      this.#log('debug', `PowerShell answered request ${parsed.answer.id}, which is no longer awaited`);
      return;
    }
    child.waiter = undefined;
    waiter.settle({ kind: 'answer', answer: parsed.answer });
  }

  /** Windows PowerShell's stderr is CLIXML under -EncodedCommand (clixml.ts): logged as the text it carries. */
  #onStderr(child: Child, line: string): void {
    for (const text of readableStderr(line)) {
      if (text.trim() === '') continue;
      const clean = this.#clean(text);
      child.keepStderr(clean);
      this.#log('warn', `PowerShell stderr: ${clean}`);
    }
  }

  #onExit(child: Child, info: SessionExit): void {
    const rest = child.stdout.flush();
    if (rest !== undefined) this.#onLine(child, rest);
    const err = child.stderr.flush();
    if (err !== undefined) this.#onStderr(child, err);
    child.ended = child.describeEnd(info);
    if (this.#child === child) this.#child = undefined;
    this.#children.delete(child);
    const waiter = child.waiter;
    child.waiter = undefined;
    // A death during a request is logged where the request is sent again; one between requests, or of
    // the process holding the run mutex, would otherwise go unseen until the next request.
    if (!child.stopped && (waiter === undefined || child.holds)) {
      const then = waiter === undefined ? 'between requests' : 'during a request';
      const again = waiter === undefined ? 'a new process takes again now' : 'the next process takes again before any other request';
      const next = child.holds ? `; it held ${this.#held.hold?.what}, which ${again}` : '; the next request starts a new one';
      this.#log('warn', `the PowerShell process ended unexpectedly ${then} (${child.ended})${next}`);
      if (child.holds && waiter === undefined && this.#closing === undefined) this.#retakeSoon();
    }
    waiter?.settle({ kind: 'ended', detail: child.ended });
    child.markExited();
  }

  /** Kills a child that is no longer wanted; its late events change nothing. */
  #stop(child: Child): void {
    if (this.#child === child) this.#child = undefined;
    child.waiter = undefined;
    if (child.ended !== undefined || child.stopped) return;
    child.stopped = true;
    if (child.holds) this.#log('warn', `the PowerShell process holding ${this.#held.hold?.what} was stopped; the next process takes it again before any other request`);
    const stopping = this.#kill(child);
    this.#stopping.add(stopping);
    void stopping.then(() => this.#stopping.delete(stopping));
  }

  /** Its tree first (taskkill /T needs the process alive to find its children), then the process. */
  async #kill(child: Child): Promise<void> {
    const pid = child.handle?.pid;
    const { stopTree } = this.#options;
    if (stopTree !== undefined && pid !== undefined && child.handle?.exited !== true && child.ended === undefined) await stopTree(pid);
    child.handle?.kill();
  }

  async #shutdown(): Promise<void> {
    await this.#queue;
    const child = this.#child;
    // Late output is still scrubbed until every process has exited, one stopped after a timeout too.
    void Promise.all([...this.#children].map((c) => c.exited)).then(() => this.#secrets.clear());
    this.#child = undefined;
    if (child !== undefined && child.ended === undefined) {
      // Asked to exit: host.ps1 releases the run mutex first, so its end is not an abandoned mutex.
      child.stopped = true;
      child.handle?.write(requestLine({ id: ++this.#nextId, verb: 'exit', params: {} }));
      child.handle?.end();
      let timer: NodeJS.Timeout | undefined;
      const exited = await Promise.race([
        child.exited.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), this.#options.closeTimeoutMs ?? 3_000);
        }),
      ]);
      clearTimeout(timer);
      if (!exited) await this.#kill(child);
    }
    await Promise.all(this.#stopping);
  }

  #clean(text: string): string {
    const scrubbed = scrubSecrets(text, [...this.#secrets]);
    return scrubbed.length > MAX_LOGGED_LINE ? `${scrubbed.slice(0, MAX_LOGGED_LINE)}…` : scrubbed;
  }

  #log(level: 'debug' | 'info' | 'warn', message: string): void {
    this.#options.log(level, message);
  }
}
