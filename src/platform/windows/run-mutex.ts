import { HostResult } from './results.ts';

/** The named mutex Global\winprov-run (lock.ps1), held by the run's PowerShell process. */

export const RUN_MUTEX = 'Global\\winprov-run';

export type RunMutexState = 'held' | 'abandoned' | 'busy';

/** enterRunMutex's answer: taken, and whether its last holder ended without releasing it (abandoned). */
export function toRunMutexState(result: unknown): RunMutexState {
  const r = new HostResult('enterRunMutex', result);
  if (!r.boolean('acquired')) return 'busy';
  return r.boolean('abandoned') ? 'abandoned' : 'held';
}
