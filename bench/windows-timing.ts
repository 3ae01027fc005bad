/**
 * The Windows path's timing: the PowerShell session's debug timing lines (src/platform/windows/session.ts
 * timingLine) read from the agent's console, and how the PowerShell work and the fabric work of one run
 * lie on the time axis. Pure: everything works on text and intervals.
 */

/** An interval on the run's axis: milliseconds from the agent's spawn. */
export interface Interval {
  startMs: number;
  endMs: number;
}

/** One PowerShell exchange: the session's start ("start") or a request (its verb). */
export interface PowerShellTiming extends Interval {
  what: string;
  /** Request number in the session; undefined for the start. */
  id: number | undefined;
  /** How long the request waited behind others (and the session's start) before it was sent. */
  queuedMs: number | undefined;
}

const TIMING = /PowerShell timing: (\S+)(?: #(\d+))? at (\d+(?:\.\d+)?) took (\d+(?:\.\d+)?) ms(?: \(queued (\d+(?:\.\d+)?) ms\))?/;

/** The timing lines in the agent's output, placed relative to `originEpochMs` (the spawn's wall-clock time). */
export function parsePowerShellTimings(output: string, originEpochMs: number): PowerShellTiming[] {
  const out: PowerShellTiming[] = [];
  for (const line of output.split('\n')) {
    const m = TIMING.exec(line);
    if (m === null) continue;
    const startMs = Number(m[3]) - originEpochMs;
    out.push({ what: m[1]!, id: m[2] === undefined ? undefined : Number(m[2]), startMs, endMs: startMs + Number(m[4]), queuedMs: m[5] === undefined ? undefined : Number(m[5]) });
  }
  return out;
}

/** The union of intervals, sorted and merged. */
export function union(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter((i) => i.endMs > i.startMs).sort((a, b) => a.startMs - b.startMs);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out.at(-1);
    if (last !== undefined && i.startMs <= last.endMs) last.endMs = Math.max(last.endMs, i.endMs);
    else out.push({ ...i });
  }
  return out;
}

/** Total length of a union. */
export function length(intervals: readonly Interval[]): number {
  return union(intervals).reduce((sum, i) => sum + (i.endMs - i.startMs), 0);
}

/** The length of the time both sets cover. */
export function overlapMs(a: readonly Interval[], b: readonly Interval[]): number {
  const ua = union(a);
  const ub = union(b);
  let total = 0;
  for (const x of ua) for (const y of ub) total += Math.max(0, Math.min(x.endMs, y.endMs) - Math.max(x.startMs, y.startMs));
  return total;
}

/**
 * Where the time from spawn to Ready went, every millisecond counted once: PowerShell alone, the fabric
 * alone, both at once, or neither (the agent's own: Node's start-up, loading the bundle, its JavaScript,
 * the journal's writes between the two).
 */
export interface TimeSplit {
  powershellOnlyMs: number;
  fabricOnlyMs: number;
  bothMs: number;
  agentOwnMs: number;
}

export function splitTime(readyMs: number, powershell: readonly Interval[], fabric: readonly Interval[]): TimeSplit {
  const clip = (set: readonly Interval[]) => set.map((i) => ({ startMs: Math.max(0, i.startMs), endMs: Math.min(readyMs, i.endMs) }));
  const ps = clip(powershell);
  const fab = clip(fabric);
  const both = overlapMs(ps, fab);
  const psTotal = length(ps);
  const fabTotal = length(fab);
  return { powershellOnlyMs: psTotal - both, fabricOnlyMs: fabTotal - both, bothMs: both, agentOwnMs: Math.max(0, readyMs - psTotal - fabTotal + both) };
}

/** The journal steps that are the fabric's work (network round trips, and opening the certificates they bring). */
export const FABRIC_STEPS = new Set(['discover', 'versions', 'goal-state', 'certificates', 'ready']);

/**
 * The PowerShell module (or Windows facility) a verb's first call loads: the first call of each family
 * pays for loading it, later calls of the family find it loaded.
 */
export const VERB_FAMILIES: Record<string, string> = {
  start: 'session start',
  ensureStateDirectory: 'ACL (Microsoft.PowerShell.Security)',
  enterRunMutex: '.NET Mutex',
  recordEvent: 'event log (.NET EventLog)',
  readVmId: 'CIM (CimCmdlets, WMI)',
  setComputerName: 'CIM (CimCmdlets, WMI)',
  readRdpCertificate: 'CIM (CimCmdlets, WMI)',
  readProvisioningMedia: 'drives (.NET DriveInfo)',
  findFabricInterface: 'NetTCPIP + NetAdapter (CDXML)',
  enableDhcp: 'NetTCPIP + NetAdapter (CDXML)',
  readDhcpInterfaceOptions: 'registry',
  warmUp: 'warm-up (module imports)',
  ensureAdminAccount: 'LocalAccounts',
  importCertificates: 'certificate store (.NET X509Store)',
  configureWinRm: 'WSMan + NetSecurity (CDXML)',
  extendOsVolume: 'Storage (CDXML)',
  writeCustomData: 'files + ACL',
  setTimeZone: 'time zone',
  writeAnswerFile: 'files + ACL',
  writeKvpReport: 'registry',
  setGuestAgentServices: 'services',
  readGuestAgentServices: 'services',
};
