import { readFirstBootRecord, describeScript, type ScriptRecord } from './record.ts';
import type { FirstBootMode } from '../config.ts';
import { escapeUnsafe } from '../util/escape.ts';

/** What `winprov status` shows of the first-boot script: the image's switch and this VM's record. */
export interface FirstBootStatus {
  mode: FirstBootMode;
  scripts: ScriptRecord[];
}

/** The record of this VM only (one of the captured VM is not this VM's). */
export async function readFirstBootStatus(mode: FirstBootMode, stateDirectory: string, vmId: string): Promise<FirstBootStatus> {
  const record = await readFirstBootRecord(stateDirectory).catch(() => undefined);
  return { mode, scripts: record?.vmId === vmId ? record.scripts : [] };
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
