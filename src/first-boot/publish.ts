import { toAgentError } from '../errors.ts';
import { AGENT_VERSION } from '../version.ts';
import { fitKvpValue } from '../platform/kvp-value.ts';
import { escapeUnsafe } from '../util/escape.ts';
import type { FirstBootContext } from './run.ts';
import { describeScript, type FirstBootRecord, type ScriptRecord } from './record.ts';

/**
 * Tells operators how a first-boot script ended, in each place they look: the log (and with it the
 * console and the serial port, boot diagnostics), the Application event log (source winprov) and the
 * Hyper-V KVP value FIRST_BOOT_SCRIPT, which the host relays. Only redacted output lines ever leave the
 * machine's state folder, with their control characters escaped (escapeUnsafe: a record written before
 * tails were escaped is shown the same way). A place that cannot be written is a warning: this never
 * fails anything.
 */

const KVP_TAIL_LINES = 3;

export async function publishScript(ctx: FirstBootContext, record: FirstBootRecord, script: ScriptRecord): Promise<void> {
  const { platform, log } = ctx;
  const line = `first-boot script ${describeScript(script)}`;
  const bad = script.outcome === 'failed' || script.outcome === 'timed-out' || script.outcome === 'interrupted';
  if (bad || script.outcome === 'unavailable') log.warn(line);
  else log.info(line);
  const tail = (script.tail ?? []).map(escapeUnsafe);
  for (const t of tail.slice(-KVP_TAIL_LINES)) log.info(`  | ${t}`);
  // An event for a script that ran, or that was refused; not for one with nothing to run or not read yet.
  const ranOrRefused = (script.outcome !== 'not-run' && script.outcome !== 'unavailable') || script.reason?.startsWith('not a script') === true;
  if (ranOrRefused) {
    try {
      await platform.recordEvent({ kind: bad ? 'failure' : 'success', message: [line, ...tail.slice(-10)].join('\n') });
    } catch (err) {
      log.warn(`the event log entry could not be written: ${toAgentError(err).reason}`);
    }
  }
  try {
    await platform.writeKvpValue('FIRST_BOOT_SCRIPT', kvpValue(record));
  } catch (err) {
    log.warn(`the KVP value FIRST_BOOT_SCRIPT could not be written: ${toAgentError(err).reason}`);
  }
}

/** `source=...|outcome=...|exit=...|duration_ms=...|tail=...` per script, `;` between scripts, cut to 1 KB. */
export function kvpValue(record: FirstBootRecord): string {
  const parts = record.scripts.map((s) => {
    const fields = [`source=${s.source}`, `outcome=${s.outcome}`];
    if (s.exitCode !== undefined) fields.push(`exit=${s.exitCode}`);
    if (s.durationMs !== undefined) fields.push(`duration_ms=${s.durationMs}`);
    if (s.reason) fields.push(`reason=${s.reason}`);
    if (s.tail?.length) fields.push(`tail=${s.tail.slice(-KVP_TAIL_LINES).map(escapeUnsafe).join(' / ')}`);
    return fields.map((f) => f.replace(/[|;]/g, '/')).join('|');
  });
  const text = [`agent=winprov/${AGENT_VERSION}`, `vm_id=${record.vmId}`, ...parts].join(';');
  return fitKvpValue(text);
}
