import type { AgentError } from '../../errors.ts';
import type { CommandRunner } from './exec.ts';
import type { HostAnswer } from './protocol.ts';

/**
 * The parts of the PowerShell session (session.ts): its options, and what it keeps across its processes
 * (one process's state is session-process.ts).
 */

export type LogFunction = (level: 'debug' | 'info' | 'warn', message: string) => void;

export interface PowerShellSessionOptions {
  file: string;
  args: readonly string[];
  /** The static library scripts the bootstrap loads from the first stdin line. */
  library: readonly { name: string; text: string }[];
  runner: CommandRunner;
  log: LogFunction;
  requestTimeoutMs: number;
  /** How long close() waits for PowerShell to exit by itself before killing it. */
  closeTimeoutMs?: number;
  /**
   * Stops the processes PowerShell started, before PowerShell itself is killed (the Windows platform:
   * taskkill /T, process-tree.ts); bounded, never rejects. Only for a process with an id.
   */
  stopTree?: (pid: number) => Promise<void>;
}

export interface RequestOptions {
  /** Overrides the session's request timeout (a verb that waits on purpose needs longer). */
  timeoutMs?: number;
  /**
   * Secret values, sent on lines of their own (protocol.ts) and removed from any text this request makes
   * PowerShell print or fail with: text as it is and as base64, bytes as base64.
   */
  secrets?: Readonly<Record<string, string | Uint8Array>>;
  /** What this request takes in the process, to be taken again in every later one (ProcessHold). */
  hold?: ProcessHold;
}

/**
 * The debug timing line of the session's start or of one request (bench/windows-timing.ts reads it): its
 * times are wall-clock milliseconds with a fraction (monotonic.ts epochMs), so that the benchmark can place
 * the session's work beside the journal's steps.
 */
export function timingLine(what: string, startedAt: number, endedAt: number, queuedMs?: number): string {
  const queued = queuedMs === undefined ? '' : ` (queued ${queuedMs.toFixed(1)} ms)`;
  return `PowerShell timing: ${what} at ${startedAt.toFixed(1)} took ${(endedAt - startedAt).toFixed(1)} ms${queued}`;
}

export type Outcome = { kind: 'answer'; answer: HostAnswer } | { kind: 'ended'; detail: string } | { kind: 'timeout' };

/**
 * Something a request takes that lives in the PowerShell process and must outlast it: the run mutex
 * (run-mutex.ts), which Windows gives up when its holder dies. Once a request carrying it succeeded, every
 * later process of the session sends `again` before any other request.
 */
export interface ProcessHold {
  /** What is held, for the log: "the run mutex Global\winprov-run". */
  what: string;
  /** The request that takes it in a new process; it must not wait (another holder means it is lost). */
  again: { verb: string; params: Record<string, unknown> };
  /**
   * Undefined when this answer (of the first request or of `again`) shows it held; otherwise the error
   * that fails the request, and every later request of the session: the run no longer holds it.
   */
  verdict(answer: { result: unknown } | { failure: string }): AgentError | undefined;
}
