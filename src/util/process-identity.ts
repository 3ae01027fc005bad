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

/**
 * The start of process pid as an opaque token ("linux:<boot id>:<ticks>"), or undefined where the OS does
 * not say. The ticks count from boot, so the token names the boot too (/proc/sys/kernel/random/boot_id):
 * the same pid and ticks under another boot are another process, and a matching token is the same
 * process, whatever the wall clock (from which bootTime() is worked out) did meanwhile.
 */
export async function processStartToken(pid: number): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  try {
    const [stat, bootId] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile('/proc/sys/kernel/random/boot_id', 'utf8')]);
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19];
    const boot = bootId.trim();
    return ticks !== undefined && /^\d+$/.test(ticks) && /^[0-9a-f-]{36}$/.test(boot) ? `linux:${boot}:${ticks}` : undefined;
  } catch {
    return undefined;
  }
}

/** When this machine booted (ms epoch, to the second): a lock recorded under another boot has no live holder. */
export function bootTime(): number {
  return Math.round((Date.now() - uptime() * 1000) / 1000) * 1000;
}
