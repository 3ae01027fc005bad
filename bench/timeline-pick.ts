import type { RowResult } from './report.ts';
import { rowLabel } from './report.ts';
import type { TimelinePanel } from './timeline-svg.ts';
import type { WindowsRunSample } from './windows-report.ts';

/**
 * The run the picture shows for each row: the recorded run whose time to Ready is closest to the row's
 * median (a real run, not an average of runs, so its bars add up), with the row's floor parts.
 */
export function medianRunPanels(rows: readonly RowResult[], runs: readonly (readonly WindowsRunSample[])[]): TimelinePanel[] {
  return rows.flatMap((row, i) => {
    const samples = runs[i] ?? [];
    if (samples.length === 0) return [];
    const median = row.timeToReadyMs.median;
    const run = samples.reduce((best, r) => (Math.abs(r.timeToReadyMs - median) < Math.abs(best.timeToReadyMs - median) ? r : best));
    const p = row.floorParts;
    return [{
      label: rowLabel(row),
      readyMs: run.timeToReadyMs,
      steps: run.bars,
      ...(run.powershell.length > 0 ? { powershell: run.powershell } : {}),
      floor: [
        { name: 'node start-up', ms: p.nodeStartupMs },
        { name: 'pwsh start-up', ms: p.powershellStartupMs ?? 0 },
        { name: 'fabric', ms: p.fabricRoundTripsMs },
        { name: 'RSA keygen', ms: p.keyGenerationMs },
        { name: 'decrypt', ms: p.decryptMs },
      ],
    }];
  });
}
