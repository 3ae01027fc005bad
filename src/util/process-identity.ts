import { readFile } from 'node:fs/promises';
import { uptime } from 'node:os';

/**
 * Who a process id is: pids are reused, so a lock left by a killed run must name its holder by pid and
 * start time. Linux gives any process's start time in /proc/<pid>/stat (field 22, clock ticks since
 * boot); elsewhere only the boot time is known here, and a holder from an earlier boot is gone.
 */

/** True when a process with this pid exists (EPERM: it exists, owned by someone else). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The start time of process pid as an opaque token ("linux:<ticks>"), or undefined where the OS does not say. */
export async function processStartToken(pid: number): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19];
    return ticks !== undefined && /^\d+$/.test(ticks) ? `linux:${ticks}` : undefined;
  } catch {
    return undefined;
  }
}

/** When this machine booted (ms epoch, to the second): a lock recorded under another boot has no live holder. */
export function bootTime(): number {
  return Math.round((Date.now() - uptime() * 1000) / 1000) * 1000;
}
