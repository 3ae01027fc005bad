import { RunLockedError } from '../../errors.ts';
import { HostResult } from './results.ts';
import type { ProcessHold } from './session.ts';

/**
 * The named mutex Global\winprov-run (lock.ps1), held by the run's PowerShell process. Windows gives it up
 * when that process ends, and the session starts a new process after a timeout or a crash, while the run
 * goes on: so the session takes it again in the new process, at once when the old one died between
 * requests, else before its next request (session.ts, session-hold.ts). Not
 * taking it then means another run has it, and may already be past its lock file (a winprov without the
 * abandoned-mutex rule of exclusive-run.ts takes any lock file over): this run stops changing the machine.
 */

export const RUN_MUTEX = 'Global\\winprov-run';

export type RunMutexState = 'held' | 'abandoned' | 'busy';

/** enterRunMutex's answer: taken, and whether its last holder ended without releasing it (abandoned). */
export function toRunMutexState(result: unknown): RunMutexState {
  const r = new HostResult('enterRunMutex', result);
  if (!r.boolean('acquired')) return 'busy';
  return r.boolean('abandoned') ? 'abandoned' : 'held';
}

export const runMutexHold: ProcessHold = {
  what: `the run mutex ${RUN_MUTEX}`,
  again: { verb: 'enterRunMutex', params: { waitMs: 0 } },
  verdict(answer) {
    let why: string;
    if ('failure' in answer) {
      why = `PowerShell could not take it: ${answer.failure}`;
    } else {
      try {
        if (toRunMutexState(answer.result) !== 'busy') return undefined;
        why = 'another winprov run holds it, or the process that held it has not ended yet';
      } catch (err) {
        why = err instanceof Error ? err.message : String(err);
      }
    }
    return new RunLockedError(`this run held the named mutex ${RUN_MUTEX}, and its PowerShell process ended; the new process could not take the mutex again (${why}), so this run stops without changing anything more`);
  },
};
