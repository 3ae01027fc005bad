import type { StepBar } from './agent-run.ts';
import { summarize, type Summary } from './stats.ts';
import { formatTable, type Cell } from './table.ts';
import { FABRIC_STEPS, overlapMs, splitTime, union, VERB_FAMILIES, type Interval, type PowerShellTiming, type TimeSplit } from './windows-timing.ts';

/**
 * The Windows rows' own measures: the PowerShell session's start, each verb's round trip (its first call
 * loads the module its family needs), how much PowerShell work ran while the fabric work did, and where
 * the time to Ready went. Pure: works on the runs' samples.
 */

/** What one Windows run recorded for this report. */
export interface WindowsRunSample {
  timeToReadyMs: number;
  powershell: PowerShellTiming[];
  bars: StepBar[];
}

/** A verb's round trips (sent to answered) over the runs: its first call in a run, and its later calls. */
export interface VerbResult {
  verb: string;
  family: string;
  firstMs: Summary;
  laterMs: Summary;
  queuedMs: Summary;
}

export interface WindowsRowResult {
  name: string;
  sessionStartMs: Summary;
  /** When the session was spawned, from the agent's spawn (Node's start-up and the agent's modules before it). */
  sessionSpawnAtMs: Summary;
  verbs: VerbResult[];
  /** PowerShell busy (start + requests) while a fabric step ran, ms, and as a share of the fabric steps' time. */
  overlapMs: Summary;
  overlapShare: Summary;
  split: Record<keyof TimeSplit, Summary>;
  /** Time to Ready - session start - the fabric floor's round trips: the target is at most 150 ms. */
  beyondMs: Summary;
}

/** Summarizes one Windows row; `fabricRoundTripsMs` is the row's raw-HTTP floor median. */
export function windowsRowResult(name: string, runs: readonly WindowsRunSample[], fabricRoundTripsMs: number): WindowsRowResult {
  const verbs = new Map<string, { first: number[]; later: number[]; queued: number[] }>();
  const overlap: number[] = [];
  const share: number[] = [];
  const splits: TimeSplit[] = [];
  const beyond: number[] = [];
  const starts: number[] = [];
  const spawnAt: number[] = [];
  for (const run of runs) {
    const seen = new Set<string>();
    for (const t of run.powershell) {
      if (t.what === 'start') {
        starts.push(t.endMs - t.startMs);
        spawnAt.push(t.startMs);
        continue;
      }
      const entry = verbs.get(t.what) ?? { first: [], later: [], queued: [] };
      verbs.set(t.what, entry);
      (seen.has(t.what) ? entry.later : entry.first).push(t.endMs - t.startMs);
      if (t.queuedMs !== undefined) entry.queued.push(t.queuedMs);
      seen.add(t.what);
    }
    const ps = busy(run.powershell);
    const fabric = fabricWork(run.bars);
    const both = overlapMs(ps, fabric);
    const fabricTotal = union(fabric).reduce((sum, i) => sum + i.endMs - i.startMs, 0);
    overlap.push(both);
    share.push(fabricTotal > 0 ? both / fabricTotal : 0);
    splits.push(splitTime(run.timeToReadyMs, ps, fabric));
    const start = run.powershell.find((t) => t.what === 'start');
    beyond.push(run.timeToReadyMs - (start === undefined ? 0 : start.endMs - start.startMs) - fabricRoundTripsMs);
  }
  return {
    name,
    sessionStartMs: summarize(starts),
    sessionSpawnAtMs: summarize(spawnAt),
    verbs: [...verbs.entries()].map(([verb, v]) => ({ verb, family: VERB_FAMILIES[verb] ?? 'other', firstMs: summarize(v.first), laterMs: summarize(v.later), queuedMs: summarize(v.queued) })),
    overlapMs: summarize(overlap),
    overlapShare: summarize(share),
    split: {
      powershellOnlyMs: summarize(splits.map((s) => s.powershellOnlyMs)),
      fabricOnlyMs: summarize(splits.map((s) => s.fabricOnlyMs)),
      bothMs: summarize(splits.map((s) => s.bothMs)),
      agentOwnMs: summarize(splits.map((s) => s.agentOwnMs)),
    },
    beyondMs: summarize(beyond),
  };
}

/** PowerShell's busy time: the session's start and every request from sent to answered. */
export function busy(powershell: readonly PowerShellTiming[]): Interval[] {
  return powershell.map((t) => ({ startMs: t.startMs, endMs: t.endMs }));
}

/** The fabric steps of a run as intervals. */
export function fabricWork(bars: readonly StepBar[]): Interval[] {
  return bars.filter((b) => FABRIC_STEPS.has(b.name)).map((b) => ({ startMs: b.startMs, endMs: b.startMs + b.durationMs }));
}

/** The Windows tables: per row, then per verb (first call = the module's first use). */
export function renderWindowsReport(rows: readonly (WindowsRowResult & { label: string; readyMs: number })[]): string {
  if (rows.length === 0) return '';
  const main = formatTable({
    headings: ['row (Windows path)', 'Ready median ms', 'session start ms', 'spawned at ms', 'PS x fabric overlap ms', 'overlap / fabric', 'PS only', 'fabric only', 'both', 'agent own', 'Ready - start - fabric ms'],
    rows: rows.map((r): Cell[] => [r.label, r.readyMs, r.sessionStartMs.median, r.sessionSpawnAtMs.median, r.overlapMs.median, `${Math.round(r.overlapShare.median * 100)}%`,
      r.split.powershellOnlyMs.median, r.split.fabricOnlyMs.median, r.split.bothMs.median, r.split.agentOwnMs.median, r.beyondMs.median]),
  });
  const verbNames = [...new Set(rows.flatMap((r) => r.verbs.map((v) => v.verb)))];
  const verbs = formatTable({
    headings: ['verb (first call median ms; later calls)', 'module / facility', ...rows.map((r) => r.label)],
    rows: verbNames.map((verb): Cell[] => [verb, VERB_FAMILIES[verb] ?? 'other', ...rows.map((r) => {
      const v = r.verbs.find((x) => x.verb === verb);
      if (v === undefined) return undefined;
      return v.laterMs.n > 0 ? `${v.firstMs.median.toFixed(0)}; ${v.laterMs.median.toFixed(0)}` : v.firstMs.median.toFixed(0);
    })]),
  });
  return [
    'Windows path (pwsh 7 on Linux with Windows emulated; medians; "agent own" = neither PowerShell nor a fabric step busy)',
    main,
    '',
    'PowerShell round trips per verb, sent to answered (first call of a family loads its module)',
    verbs,
    '',
  ].join('\n');
}
