import { join } from 'node:path';
import { StateError } from '../errors.ts';
import { readJsonFile, writeJsonFile } from '../util/files.ts';
import { FIRST_BOOT_RECORD_FILE } from '../platform/state-names.ts';
import type { ScriptFormat } from './formats.ts';

/**
 * first-boot.json in the state folder: what became of each first-boot script on this VM, keyed by the
 * VM id. It is what makes the script run once: "started" is written (atomically, synced) before the
 * interpreter starts, and a run that finds "started" without an end reports the script as interrupted
 * (killed, crashed, rebooted) and never starts it again; the startup task registered while a script runs
 * (run.ts) makes that run happen at the next start of Windows. A record of another VM id (an image captured
 * with the file in it) is ignored. prepare-image removes it with the rest of the state folder.
 */

export type FirstBootSource = 'customData' | 'userData';

export type ScriptOutcome =
  /** The interpreter was started; no end was recorded (yet). */
  | 'started'
  | 'succeeded'
  | 'failed'
  | 'timed-out'
  /** Found "started" without an end on a later run: killed, crashed or rebooted; not run again. */
  | 'interrupted'
  /** Nothing to run, or not a recognised format, too large, IMDS absent: the reason says which. */
  | 'not-run'
  /** Its source could not be read this time (IMDS failing past its budget, a read error): a later run tries again. */
  | 'unavailable';

export interface ScriptRecord {
  source: FirstBootSource;
  outcome: ScriptOutcome;
  /** Secret-free: why it was not run, or how it ended. */
  reason?: string;
  format?: ScriptFormat;
  bytes?: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  exitCode?: number;
  /** The last lines of its output, redacted. */
  tail?: string[];
  /** The output log file. */
  outputLog?: string;
  /** The startup task that records an end at the next start of Windows was registered before it started. */
  resumeTask?: boolean;
}

export interface FirstBootRecord {
  version: 1;
  vmId: string;
  scripts: ScriptRecord[];
}

export const RECORD_FILE = FIRST_BOOT_RECORD_FILE;

export async function readFirstBootRecord(stateDirectory: string): Promise<FirstBootRecord | undefined> {
  return readJsonFile<FirstBootRecord>(join(stateDirectory, RECORD_FILE), (why) => new StateError(`${RECORD_FILE} ${why}`));
}

/** Atomic and synced (writeFileAtomic): a "started" on disk is what keeps a script from running twice. */
export async function writeFirstBootRecord(stateDirectory: string, record: FirstBootRecord): Promise<void> {
  await writeJsonFile(join(stateDirectory, RECORD_FILE), record);
}

/** One line for the console, the event log and KVP. */
export function describeScript(s: ScriptRecord): string {
  const parts = [`${s.source}: ${s.outcome}`];
  if (s.format) parts.push(`format ${s.format}`);
  if (s.exitCode !== undefined) parts.push(`exit ${s.exitCode}`);
  if (s.durationMs !== undefined) parts.push(`${s.durationMs} ms`);
  if (s.reason) parts.push(s.reason);
  return parts.join(', ');
}
