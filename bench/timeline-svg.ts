import { assignLanes, niceScale } from '../src/timeline.ts';
import type { StepBar } from './agent-run.ts';
import { FABRIC_STEPS, type PowerShellTiming } from './windows-timing.ts';

/**
 * The benchmark's picture: for each row, its median run on a time axis from the agent's spawn. Each
 * journal step is a bar; steps that ran at the same time get lanes of their own (src/timeline.ts
 * assignLanes). Windows rows add the PowerShell session: its start and each request. Below, the floor's
 * parts laid end to end as the reference line, and dashed lines where the floor and Ready fall.
 */

export interface TimelinePanel {
  label: string;
  readyMs: number;
  steps: StepBar[];
  powershell?: PowerShellTiming[];
  /** The floor's parts in order (name, ms); drawn end to end. */
  floor: { name: string; ms: number }[];
}

const WIDTH = 1100;
const LEFT = 150;
// Room after the axis for the labels of the last bars.
const RIGHT = 170;
const LANE = 20;
const BAR = 15;
const CHAR = 6.9;

const COLORS = { fabric: '#4a7fd4', local: '#8a8f98', powershell: '#d9822b', session: '#b05cc6', floor: ['#2e7d32', '#7cb342', '#00897b', '#9e9d24', '#558b2f'] };

/** The SVG document for the panels. */
export function timelineSvg(title: string, panels: readonly TimelinePanel[]): string {
  const parts: string[] = [];
  let y = 40;
  for (const panel of panels) {
    const drawn = drawPanel(panel, y);
    parts.push(drawn.svg);
    y = drawn.bottom + 30;
  }
  const height = y;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">`,
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function drawPanel(panel: TimelinePanel, top: number): { svg: string; bottom: number } {
  const floorTotal = panel.floor.reduce((sum, p) => sum + p.ms, 0);
  const ends = [panel.readyMs, floorTotal, ...panel.steps.map((s) => s.startMs + s.durationMs), ...(panel.powershell ?? []).map((p) => p.endMs)];
  const span = Math.max(1, ...ends);
  const tick = niceScale(span / 10);
  const axisEnd = Math.ceil(span / tick) * tick;
  const x = (ms: number) => LEFT + (Math.max(0, ms) / axisEnd) * (WIDTH - LEFT - RIGHT);
  const out: string[] = [];
  const floorText = panel.floor.filter((p) => p.ms > 0).map((p) => `${p.name} ${Math.round(p.ms)}`).join(' + ');
  out.push(`<text x="10" y="${top}" font-size="13" font-weight="bold">${esc(panel.label)}: Ready at ${Math.round(panel.readyMs)} ms<tspan font-weight="normal" fill="#555">  (floor ${Math.round(floorTotal)} ms = ${esc(floorText)})</tspan></text>`);
  let y = top + 12;
  const msPerPx = axisEnd / (WIDTH - LEFT - RIGHT);

  // Before the first step: Node's start-up, loading the bundle, the configuration, the state folder and the run lock (no journal yet).
  const firstStart = Math.min(...panel.steps.map((s) => s.startMs), ...(panel.powershell ?? []).map((p) => p.startMs));
  if (Number.isFinite(firstStart) && firstStart > 0) {
    out.push(`<rect class="startup" x="${f(x(0))}" y="${y}" width="${f(x(firstStart) - x(0))}" height="${BAR}" rx="2" fill="#d6d8dc"><title>${esc(`process start-up before the first step: ${firstStart.toFixed(1)} ms`)}</title></rect>`);
    out.push(`<text x="${f(x(0) + 3)}" y="${y + BAR - 4}" fill="#444">${x(firstStart) - x(0) > 200 ? 'start-up (Node, bundle, lock)' : ''}</text>`);
  }

  // Steps, in lanes by start time; a bar's label counts as part of it, so that no label is hidden.
  const steps = [...panel.steps].sort((a, b) => a.startMs - b.startMs);
  out.push(`<text x="10" y="${y + BAR - 3}" fill="#333">steps (journal)</text>`);
  y = drawLanes(out, 'step', steps.map((s) => ({ name: s.name, startMs: s.startMs, durationMs: s.durationMs, color: FABRIC_STEPS.has(s.name) ? COLORS.fabric : COLORS.local })), y, x, msPerPx);

  // The PowerShell session: one process answering one request at a time.
  if (panel.powershell !== undefined && panel.powershell.length > 0) {
    out.push(`<text x="10" y="${y + BAR - 3}" fill="#333">PowerShell session</text>`);
    const ps = [...panel.powershell].sort((a, b) => a.startMs - b.startMs);
    y = drawLanes(out, 'powershell', ps.map((p) => ({ name: p.what === 'start' ? 'session start' : p.what, startMs: p.startMs, durationMs: p.endMs - p.startMs, color: p.what === 'start' ? COLORS.session : COLORS.powershell })), y, x, msPerPx);
  }

  // The floor's parts end to end: the reference line.
  out.push(`<text x="10" y="${y + 9}" fill="#333">floor (reference)</text>`);
  let at = 0;
  panel.floor.forEach((part, i) => {
    if (part.ms <= 0) return;
    const color = COLORS.floor[i % COLORS.floor.length]!;
    out.push(`<line class="floor" x1="${f(x(at))}" y1="${y + 6}" x2="${f(x(at + part.ms))}" y2="${y + 6}" stroke="${color}" stroke-width="5"><title>${esc(`${part.name}: ${part.ms.toFixed(1)} ms`)}</title></line>`);
    const w = x(at + part.ms) - x(at);
    const text = `${part.name} ${Math.round(part.ms)}`;
    if (w > text.length * CHAR) out.push(`<text x="${f(x(at) + 2)}" y="${y + 20}" fill="${color}">${esc(text)}</text>`);
    at += part.ms;
  });
  y += 26;

  // Axis with ticks, and the floor's and Ready's times across the whole panel.
  out.push(`<line x1="${LEFT}" y1="${y}" x2="${f(x(axisEnd))}" y2="${y}" stroke="#444"/>`);
  for (let t = 0; t <= axisEnd; t += tick) {
    out.push(`<line x1="${f(x(t))}" y1="${y}" x2="${f(x(t))}" y2="${y + 4}" stroke="#444"/><text x="${f(x(t))}" y="${y + 15}" text-anchor="middle" fill="#444">${t}</text>`);
  }
  out.push(`<text x="${f(x(axisEnd))}" y="${y + 28}" text-anchor="end" fill="#444">ms from the agent's spawn</text>`);
  out.push(`<line class="floor-total" x1="${f(x(floorTotal))}" y1="${top + 6}" x2="${f(x(floorTotal))}" y2="${y}" stroke="${COLORS.floor[0]}" stroke-dasharray="4 3"><title>floor ${floorTotal.toFixed(1)} ms</title></line>`);
  out.push(`<line class="ready" x1="${f(x(panel.readyMs))}" y1="${top + 6}" x2="${f(x(panel.readyMs))}" y2="${y}" stroke="#c62828" stroke-dasharray="4 3"><title>Ready ${panel.readyMs.toFixed(1)} ms</title></line>`);
  return { svg: `<g class="panel">\n${out.join('\n')}\n</g>`, bottom: y + 30 };
}

interface LaneBar {
  name: string;
  startMs: number;
  durationMs: number;
  color: string;
}

/** Draws bars in lanes (a bar and its label never cover another); returns the y below the last lane. */
function drawLanes(out: string[], kind: string, bars: readonly LaneBar[], top: number, x: (ms: number) => number, msPerPx: number): number {
  // A label that does not fit inside its bar is written after it: the bar's extent then includes it.
  const extents = bars.map((b) => {
    const labelMs = (labelOf(b).length * CHAR + 8) * msPerPx;
    return { startMs: b.startMs, durationMs: b.durationMs >= labelMs ? b.durationMs : b.durationMs + labelMs };
  });
  const lanes = assignLanes(extents);
  bars.forEach((b, i) => out.push(bar(kind, b, top + lanes[i]! * LANE, x)));
  return top + Math.max(1, ...lanes.map((l) => l + 1)) * LANE + 6;
}

function labelOf(b: LaneBar): string {
  return `${b.name} ${Math.round(b.durationMs)}`;
}

/** A bar with its name and duration inside when they fit, else just after it. */
function bar(kind: string, b: LaneBar, y: number, x: (ms: number) => number): string {
  const { name, startMs, durationMs, color } = b;
  const x0 = x(startMs);
  const w = Math.max(1.5, x(startMs + durationMs) - x0);
  const label = labelOf(b);
  const text = w >= label.length * CHAR + 4
    ? `<text x="${f(x0 + 3)}" y="${y + BAR - 4}" fill="#fff">${esc(label)}</text>`
    : `<text x="${f(x0 + w + 3)}" y="${y + BAR - 4}" fill="#222">${esc(label)}</text>`;
  return `<rect class="${kind}" x="${f(x0)}" y="${y}" width="${f(w)}" height="${BAR}" rx="2" fill="${color}"><title>${esc(`${name}: ${startMs.toFixed(1)} ms + ${durationMs.toFixed(1)} ms`)}</title></rect>${text}`;
}

function f(n: number): string {
  return n.toFixed(1);
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
