import { floorMs, growsLinearly, ratio, rowFloorParts, slopes, type CountPoint, type FloorParts, type Slope } from './floor.ts';
import { summarize, type Summary } from './stats.ts';
import { formatTable, type Cell } from './table.ts';

/**
 * The benchmark's results as data (written to JSON) and as text (the tables printed and quoted in the
 * README), and the check of the performance targets. Pure: everything here works on collected samples.
 */

/** The targets of the performance budget (1 certificate, loopback simulator, one run). */
/** Issue 13's targets: time to Ready against the floor, peak RSS without and with many certificates. */
export const TARGETS = { maxRatio: 1.5, maxRatioNoCertificates: 3, maxPeakRssMbNoCertificates: 70, maxPeakRssMb: 90 } as const;

/** One benchmark row: a scenario and its samples. */
export interface RowSamples {
  name: string;
  /** sandbox when absent. */
  platform?: 'sandbox' | 'windows';
  certificates: number;
  customDataBytes: number;
  timeToReadyMs: number[];
  exitMs: number[];
  peakRssMb: number[];
  steps: Record<string, number>[];
  fabricRoundTripsMs: number[];
  decryptMs: number[];
}

/** Samples that belong to no row. */
export interface SharedSamples {
  nodeStartupMs: number[];
  nodeWithPreloadMs: number[];
  nodePeakRssMb: number[];
  versionMs: number[];
  keyGenerationMs: number[];
  /** pwsh -Command exit, measured in the rounds that have Windows rows. */
  pwshExitMs?: number[];
}

/** A row's summaries, its floor and its ratio. */
export interface RowResult {
  name: string;
  platform: 'sandbox' | 'windows';
  certificates: number;
  customDataBytes: number;
  timeToReadyMs: Summary;
  exitMs: Summary;
  peakRssMb: Summary;
  steps: Record<string, Summary>;
  fabricRoundTripsMs: Summary;
  decryptMs: Summary;
  floorParts: FloorParts;
  floorMs: number;
  /** median time to Ready / floor. */
  ratio: number;
}

/** One target, its limit, what was measured and whether it is met. */
export interface TargetCheck {
  target: string;
  limit: string;
  measured: string;
  met: boolean;
}

/** Everything a run produced (the JSON file). */
export interface BenchResult {
  startedAt: string;
  durationS: number;
  runs: number;
  /** Whether the measured runs used the bundle's code cache: "used in 40 of 40 runs", or "off (--no-cache)". */
  codeCache: string;
  machine: Record<string, string | number>;
  method: Record<string, string>;
  startup: { nodeMs: Summary; nodeWithPreloadMs: Summary; preloadOverheadMs: number; nodePeakRssMb: Summary; versionMs: Summary; pwshExitMs: Summary };
  keyGenerationMs: Summary;
  rows: RowResult[];
  growth: { points: CountPoint[]; slopes: Slope[]; linear: boolean };
  targets: TargetCheck[];
}

/** Summarizes the samples, computes each row's floor (from medians) and ratio, and checks the targets. */
export function buildResult(rows: RowSamples[], shared: SharedSamples, context: Pick<BenchResult, 'startedAt' | 'durationS' | 'runs' | 'codeCache' | 'machine' | 'method'>): BenchResult {
  const startup = {
    nodeMs: summarize(shared.nodeStartupMs),
    nodeWithPreloadMs: summarize(shared.nodeWithPreloadMs),
    preloadOverheadMs: summarize(shared.nodeWithPreloadMs).median - summarize(shared.nodeStartupMs).median,
    nodePeakRssMb: summarize(shared.nodePeakRssMb),
    versionMs: summarize(shared.versionMs),
    pwshExitMs: summarize(shared.pwshExitMs ?? []),
  };
  const keyGenerationMs = summarize(shared.keyGenerationMs);
  const results = rows.map((row): RowResult => {
    const fabricRoundTripsMs = summarize(row.fabricRoundTripsMs);
    const decryptMs = summarize(row.decryptMs);
    const floorParts = rowFloorParts(row.certificates, {
      nodeStartupMs: startup.nodeMs.median,
      fabricRoundTripsMs: fabricRoundTripsMs.median,
      keyGenerationMs: keyGenerationMs.median,
      decryptMs: row.decryptMs.length === 0 ? 0 : decryptMs.median,
      ...(row.platform === 'windows' ? { powershellStartupMs: startup.pwshExitMs.median } : {}),
    });
    const timeToReadyMs = summarize(row.timeToReadyMs);
    const floor = floorMs(floorParts);
    return {
      name: row.name,
      platform: row.platform ?? 'sandbox',
      certificates: row.certificates,
      customDataBytes: row.customDataBytes,
      timeToReadyMs,
      exitMs: summarize(row.exitMs),
      peakRssMb: summarize(row.peakRssMb),
      steps: summarizeSteps(row.steps),
      fabricRoundTripsMs,
      decryptMs,
      floorParts,
      floorMs: floor,
      ratio: ratio(timeToReadyMs.median, floor),
    };
  });
  // Growth with the certificate count, from 1 certificate up (0 skips the certificate work altogether).
  const points = results
    .filter((r) => r.platform === 'sandbox' && r.customDataBytes === 0 && r.certificates >= 1)
    .map((r) => ({ count: r.certificates, ms: r.timeToReadyMs.median }));
  const growth = { points, slopes: slopes(points), linear: points.length < 2 || growsLinearly(points).linear };
  const base = { ...context, startup, keyGenerationMs, rows: results, growth };
  return { ...base, targets: checkTargets(base) };
}

function summarizeSteps(runs: Record<string, number>[]): Record<string, Summary> {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(names.map((name) => [name, summarize(runs.flatMap((r) => (r[name] === undefined ? [] : [r[name]!])))]));
}

/**
 * The targets, each judged on its sandbox row without custom data (a row the run did not have is left
 * out): the ratio with 1 certificate and with none, peak RSS with none and with the most certificates,
 * and linear growth.
 */
export function checkTargets(result: Pick<BenchResult, 'rows' | 'growth'>): TargetCheck[] {
  const plain = result.rows.filter((r) => r.platform === 'sandbox' && r.customDataBytes === 0);
  const one = plain.find((r) => r.certificates === 1);
  const none = plain.find((r) => r.certificates === 0);
  const most = plain.filter((r) => r.certificates > 1).sort((a, b) => b.certificates - a.certificates)[0];
  const checks: TargetCheck[] = [];
  if (one !== undefined) checks.push({ target: 'time to Ready / floor (1 certificate)', limit: `<= ${TARGETS.maxRatio}`, measured: one.ratio.toFixed(2), met: one.ratio <= TARGETS.maxRatio });
  if (none !== undefined) {
    checks.push({ target: 'time to Ready / floor (0 certificates)', limit: `<= ${TARGETS.maxRatioNoCertificates}`, measured: none.ratio.toFixed(2), met: none.ratio <= TARGETS.maxRatioNoCertificates });
    checks.push(rssTarget('peak RSS (0 certificates, median)', none, TARGETS.maxPeakRssMbNoCertificates));
  }
  if (most !== undefined) checks.push(rssTarget(`peak RSS (${most.certificates} certificates, median)`, most, TARGETS.maxPeakRssMb));
  if (one === undefined && most === undefined) return checks;
  const last = result.growth.slopes.at(-1);
  checks.push({
    target: 'growth with certificates',
    limit: 'linear',
    measured: result.growth.slopes.map((s) => `${s.from}->${s.to}: ${s.msPerUnit.toFixed(1)} ms/cert`).join(', ') || 'n/a',
    met: result.growth.linear && (last === undefined || Number.isFinite(last.msPerUnit)),
  });
  return checks;
}

function rssTarget(target: string, row: RowResult, limitMb: number): TargetCheck {
  return { target, limit: `<= ${limitMb} MB`, measured: `${row.peakRssMb.median.toFixed(1)} MB`, met: row.peakRssMb.median <= limitMb };
}

/** A row's label for the tables: "1 cert", "10 certs", "1 cert + 64 KiB custom data". */
export function rowLabel(row: Pick<RowResult, 'certificates' | 'customDataBytes'> & { platform?: RowResult['platform'] }): string {
  const certs = `${row.certificates} cert${row.certificates === 1 ? '' : 's'}`;
  const label = row.customDataBytes > 0 ? `${certs} + ${Math.round(row.customDataBytes / 1024)} KiB custom data` : certs;
  return row.platform === 'windows' ? `${label}, Windows` : label;
}

/** The text report: results, floor parts, steps, start-up, targets. */
export function renderReport(result: BenchResult): string {
  const rows = result.rows;
  const main = formatTable({
    headings: ['row', 'Ready median ms', 'Ready p90 ms', 'floor ms', 'ratio', 'exit median ms', 'peak RSS median MB', 'peak RSS p90 MB'],
    rows: rows.map((r) => [rowLabel(r), r.timeToReadyMs.median, r.timeToReadyMs.p90, r.floorMs, r.ratio, r.exitMs.median, r.peakRssMb.median, r.peakRssMb.p90]),
    digits: [0, 0, 0, 0, 2, 0, 1, 1],
  });
  // PowerShell's start-up is a part of the floor only on the Windows path.
  const pwshColumn = rows.some((r) => r.platform === 'windows');
  const floor = formatTable({
    headings: ['row', 'node start-up', ...(pwshColumn ? ['pwsh start-up'] : []), 'fabric round trips', 'RSA-2048 keygen', 'decrypt + PKCS#12', 'floor'],
    rows: rows.map((r) => [rowLabel(r), r.floorParts.nodeStartupMs, ...(pwshColumn ? [r.floorParts.powershellStartupMs] : []), r.floorParts.fabricRoundTripsMs, r.floorParts.keyGenerationMs, r.floorParts.decryptMs, r.floorMs]),
    digits: [0, 1, ...(pwshColumn ? [1] : []), 1, 1, 1, 1],
  });
  const stepNames = [...new Set(rows.flatMap((r) => Object.keys(r.steps)))];
  const steps = formatTable({
    headings: ['step (median ms)', ...rows.map(rowLabel)],
    rows: stepNames.map((name): Cell[] => [name, ...rows.map((r) => r.steps[name]?.median)]),
  });
  const s = result.startup;
  const startup = formatTable({
    headings: ['measure', 'median ms', 'p90 ms'],
    rows: [
      ['node -e 0', s.nodeMs.median, s.nodeMs.p90],
      ['node --require rss-preload.cjs -e 0', s.nodeWithPreloadMs.median, s.nodeWithPreloadMs.p90],
      ['node dist/winprov.cjs --version', s.versionMs.median, s.versionMs.p90],
      ['RSA-2048 generateKeyPair', result.keyGenerationMs.median, result.keyGenerationMs.p90],
      ...(s.pwshExitMs.n > 0 ? [['pwsh -NoProfile -NonInteractive -Command exit', s.pwshExitMs.median, s.pwshExitMs.p90] as Cell[]] : []),
    ],
    digits: [0, 1, 1],
  });
  const targets = formatTable({
    headings: ['target', 'limit', 'measured', 'met'],
    rows: result.targets.map((t) => [t.target, t.limit, t.measured, t.met ? 'yes' : 'NO']),
  });
  const m = result.machine;
  return [
    `winprov benchmark: ${result.runs} runs per row, interleaved; ${m['cpu']} x${m['nproc']}, node ${m['node']}, ${result.startedAt}; code cache: ${result.codeCache}`,
    '',
    main,
    '',
    'Floor parts (medians, ms; key generation and decryption only for rows with certificates)',
    floor,
    '',
    'Agent steps (journal durationMs)',
    steps,
    '',
    `Start-up (peak RSS of node -e 0: ${s.nodePeakRssMb.median.toFixed(1)} MB; the RSS preload adds ${s.preloadOverheadMs.toFixed(1)} ms)`,
    startup,
    '',
    'Targets',
    targets,
    '',
  ].join('\n');
}
