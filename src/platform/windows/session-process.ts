import type { Session, SessionExit } from './exec.ts';
import { epochMs } from '../../util/monotonic.ts';
import { LineSplitter, newMarker } from './protocol.ts';
import type { Outcome } from './session-parts.ts';

/**
 * One PowerShell process of the session (session.ts): its output split into lines, the request it waits
 * on, the tail of its stderr and how it ended.
 */

const STDERR_TAIL_LINES = 5;

export class Child {
  readonly marker = newMarker();
  readonly stdout = new LineSplitter();
  readonly stderr = new LineSplitter();
  readonly stderrTail: string[] = [];
  handle: Session | undefined;
  ready = false;
  /** When it was spawned (epochMs), for the start's timing line. */
  readonly spawnedAt = epochMs();
  ended: string | undefined;
  /** The session ended it on purpose (a timeout, close(), a bootstrap that failed): its end is no news. */
  stopped = false;
  /** It took the session's ProcessHold (the run mutex). */
  holds = false;
  waiter: { id: number; settle: (outcome: Outcome) => void } | undefined;
  readonly exited: Promise<void>;
  markExited!: () => void;

  constructor() {
    this.exited = new Promise((resolve) => {
      this.markExited = resolve;
    });
  }

  /** Keeps the last lines of stderr, for the description of its end. */
  keepStderr(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
  }

  /** How the process ended, and the last lines of its stderr: what `ended` says. */
  describeEnd(info: SessionExit): string {
    const how = info.spawnError !== undefined ? `could not start: ${info.spawnError}` : info.stillRunning ? 'still running after its kill, no longer waited for' : info.signal !== undefined ? `killed by ${info.signal}` : `exit code ${info.exitCode}`;
    return this.stderrTail.length > 0 ? `${how}; stderr: ${this.stderrTail.join(' | ')}` : how;
  }

  /** The answer to request `id`, the process's end, or a timeout after timeoutMs, whichever comes first. */
  outcome(id: number, timeoutMs: number): Promise<Outcome> {
    if (this.ended !== undefined) return Promise.resolve({ kind: 'ended', detail: this.ended });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.waiter?.id === id) this.waiter = undefined;
        resolve({ kind: 'timeout' });
      }, timeoutMs);
      this.waiter = {
        id,
        settle: (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        },
      };
    });
  }
}
