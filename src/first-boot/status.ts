import { readFirstBootRecord, describeScript, type ScriptRecord } from './record.ts';
import type { FirstBootMode } from '../config.ts';
import { escapeUnsafe } from '../util/escape.ts';
import { lockHeld } from '../run-lock.ts';

/** What `winprov status` shows of the first-boot script: the image's switch and this VM's record. */
export interface FirstBootStatus {
  mode: FirstBootMode;
  scripts: ScriptRecord[];
}

/**
 * The record of this VM only (one of the captured VM is not this VM's). A script still "started" while no run
 * holds the lock ended without an end being recorded: SetupComplete.cmd runs once, so after a script that
 * restarts Windows (or a kill) only the startup task registered while it ran (run.ts), or a
 * `winprov first-boot-script` run by hand, records it as interrupted.
 */
export async function readFirstBootStatus(mode: FirstBootMode, stateDirectory: string, vmId: string): Promise<FirstBootStatus> {
  const record = await readFirstBootRecord(stateDirectory).catch(() => undefined);
  const scripts = record?.vmId === vmId ? record.scripts : [];
  if (!scripts.some((s) => s.outcome === 'started') || (await lockHeld(stateDirectory))) return { mode, scripts };
  return {
    mode,
    scripts: scripts.map((s) => s.outcome !== 'started' ? s : {
      ...s,
      reason: `no run is in progress: it ended without an end being recorded (a restart or a kill); ${s.resumeTask === true ? 'the startup task winprov registered records it as interrupted at the next start of Windows, or ' : ''}run "winprov first-boot-script" to record it as interrupted and remove its script file`,
    }),
  };
}

export function formatFirstBootStatus(status: FirstBootStatus): string[] {
  const lines = [`  first boot     ${status.mode === 'off' ? 'off (winprov.json "firstBootScript")' : `${status.mode}${status.scripts.length ? '' : ', not run yet'}`}`];
  for (const s of status.scripts) {
    lines.push(`    ${describeScript(s)}`);
    // Escaped again: a record written before tails were escaped must not act on the terminal either.
    for (const t of s.tail?.slice(-5) ?? []) lines.push(`      | ${escapeUnsafe(t)}`);
  }
  return lines;
}
