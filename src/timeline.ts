import type { AgentState } from './platform/platform.ts';

/**
 * A run drawn on a time axis: each journal step as a bar from its start, so that the steps that ran at
 * the same time (the configuration read beside DHCP, the Provisioning report beside the certificates)
 * show side by side. `winprov status --timeline` prints it as text; the benchmark draws the same model
 * as SVG (bench/timeline-svg.ts).
 */

/** One bar: milliseconds from the run's start. */
export interface TimelineBar {
  name: string;
  startMs: number;
  /** undefined: the step had not finished when the journal was last saved. */
  durationMs: number | undefined;
  outcome: string | undefined;
}

/** The bars of a run: steps that ran (skipped steps take no time and are listed apart). */
export interface RunTimeline {
  bars: TimelineBar[];
  skipped: string[];
  /** From the run's start to its end (or to the end of the last bar when it did not finish). */
  spanMs: number;
}

/** The journal's steps, relative to the run's start (state.startedAt). */
export function runTimeline(state: Pick<AgentState, 'startedAt' | 'finishedAt' | 'steps'>): RunTimeline {
  const origin = Date.parse(state.startedAt);
  const bars: TimelineBar[] = [];
  const skipped: string[] = [];
  for (const step of state.steps) {
    if (step.outcome === 'skipped') {
      skipped.push(step.name);
      continue;
    }
    bars.push({ name: step.name, startMs: Math.max(0, Date.parse(step.startedAt) - origin), durationMs: step.durationMs, outcome: step.outcome });
  }
  // A loop, not Math.max(...bars): spreading a long list overflows the call stack.
  const lastEnd = bars.reduce((end, b) => Math.max(end, b.startMs + (b.durationMs ?? 0)), 0);
  const finished = state.finishedAt === undefined ? 0 : Date.parse(state.finishedAt) - origin;
  return { bars, skipped, spanMs: Math.max(lastEnd, finished) };
}

/**
 * Lanes for bars that overlap in time: each bar goes to the first lane whose last bar has ended, so work
 * done in parallel lands side by side and sequential work stays on one line. Returns each bar's lane.
 */
export function assignLanes(bars: readonly { startMs: number; durationMs: number | undefined }[], spanMs = Infinity): number[] {
  const laneEnds: number[] = [];
  return bars.map((bar) => {
    const end = bar.startMs + (bar.durationMs ?? spanMs);
    let lane = laneEnds.findIndex((laneEnd) => laneEnd <= bar.startMs);
    if (lane === -1) lane = laneEnds.push(end) - 1;
    else laneEnds[lane] = end;
    return lane;
  });
}

const NAME_WIDTH = 20;

/**
 * The text picture: one line per step, its bar placed on a shared axis of `columns` characters, then its
 * start and duration. ASCII only: the serial console and old terminals show it as it is.
 */
export function formatTimeline(state: Pick<AgentState, 'runId' | 'startedAt' | 'finishedAt' | 'result' | 'steps'>, columns = 50): string {
  const timeline = runTimeline(state);
  const span = Math.max(timeline.spanMs, 1);
  const scale = niceScale(span / columns);
  const width = Math.max(1, Math.ceil(span / scale));
  const lines = [`timeline of run ${state.runId} (${state.result ?? 'running'}): ${Math.round(timeline.spanMs)} ms, one column = ${scale} ms`];
  for (const bar of timeline.bars) {
    const from = Math.min(width - 1, Math.floor(bar.startMs / scale));
    const end = bar.durationMs === undefined ? width : Math.ceil((bar.startMs + bar.durationMs) / scale);
    const to = Math.min(width, Math.max(from + 1, end));
    const fill = bar.outcome === 'failed' ? 'x' : bar.durationMs === undefined ? '>' : '#';
    const drawn = `${' '.repeat(from)}${fill.repeat(to - from)}${' '.repeat(width - to)}`;
    const took = bar.durationMs === undefined ? 'running' : `${bar.durationMs} ms${bar.outcome === 'failed' ? ' failed' : ''}`;
    lines.push(`  ${bar.name.padEnd(NAME_WIDTH)} |${drawn}| ${String(Math.round(bar.startMs)).padStart(6)} ms  ${took}`);
  }
  if (timeline.skipped.length > 0) lines.push(`  skipped: ${timeline.skipped.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** The smallest of 1, 2, 5, 10, 20, 50 ... ms per column that is at least `raw`. */
export function niceScale(raw: number): number {
  // Not a finite number (a damaged time): no scale is at least it, and the search would never end.
  if (!Number.isFinite(raw)) return 1;
  let decade = 1;
  for (;;) {
    for (const step of [1, 2, 5]) if (step * decade >= raw) return step * decade;
    decade *= 10;
  }
}
