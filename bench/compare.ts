import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runAgent, type AgentRun } from './agent-run.ts';
import { splitTime, type PowerShellTiming } from './windows-timing.ts';
import { busy, fabricWork } from './windows-report.ts';
import { BenchFabric } from './fabric.ts';
import { selectRows } from './rows.ts';
import { findPwsh, runWindowsAgent, seedMachine } from './windows-run.ts';
import { summarize } from './stats.ts';
import { describeCacheUse, ensureCodeCache } from './code-cache.ts';
import { formatTable, type Cell } from './table.ts';

/**
 * `node bench/compare.ts --bundle A.cjs --bundle B.cjs [--runs N] [--rows certs-1,certs-50] [--windows] [--no-cache]`:
 * time to Ready of two or more agent builds, interleaved run by run (the order rotating each round), so
 * that the effect of one change is measured under the same noise. The first bundle is the baseline.
 * --windows measures the Windows path instead (pwsh with Windows emulated, a fresh machine per run).
 */

const PRELOAD = resolve(import.meta.dirname, 'rss-preload.cjs');

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { bundle: { type: 'string', multiple: true }, runs: { type: 'string', default: '15' }, rows: { type: 'string' }, windows: { type: 'boolean' }, 'no-cache': { type: 'boolean' } },
    strict: true,
  });
  const bundles = (values.bundle ?? []).map((b) => resolve(b));
  if (bundles.length < 2) throw new Error('name at least two --bundle files; the first is the baseline');
  for (const bundle of bundles) if (!existsSync(bundle)) throw new Error(`${bundle} does not exist`);
  const cache = values['no-cache'] !== true;
  // Each build with its own code cache, as a VM runs it (made now where the one beside it does not fit).
  if (cache) for (const bundle of bundles) await ensureCodeCache(bundle, (line) => process.stderr.write(`${line}\n`));
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  const rows = selectRows(values.rows ?? 'certs-1');
  const found = values.windows ? findPwsh() : undefined;
  if (found !== undefined && 'skipped' in found) throw new Error(`--windows needs pwsh: ${found.skipped}`);
  const pwsh = found?.pwsh;

  const workDir = await mkdtemp(join(os.tmpdir(), 'winprov-compare-'));
  const fabrics = await Promise.all(rows.map((row) => BenchFabric.start(row)));
  const samples = rows.map(() => bundles.map(() => ({ ready: [] as number[], rss: [] as number[], afterStart: [] as number[], spawnedAt: [] as number[], agentOwn: [] as number[], cache: [] as string[] })));
  try {
    for (let round = 0; round <= runs; round++) {
      for (const [r, fabric] of fabrics.entries()) {
        for (let k = 0; k < bundles.length; k++) {
          const b = (k + round) % bundles.length;
          const command = { node: process.execPath, bundle: bundles[b]!, preload: PRELOAD, workDir, ...(cache ? {} : { env: { WINPROV_CODE_CACHE: 'off' } }) };
          // Seeding the emulated machine happens before the run's clock starts.
          const machine = pwsh === undefined ? undefined : await seedMachine(pwsh, fabric);
          const run: AgentRun & { powershell?: PowerShellTiming[] } = machine === undefined ? await runAgent(command, fabric) : await runWindowsAgent(command, fabric, machine).finally(() => machine.close());
          // Round 0 warms the simulators and the file cache; it is not recorded.
          if (round === 0) continue;
          samples[r]![b]!.ready.push(run.timeToReadyMs);
          samples[r]![b]!.rss.push(run.peakRssMb);
          samples[r]![b]!.cache.push(run.codeCache);
          // PowerShell's start-up varies by hundreds of ms on a busy machine; what follows it is the agent's.
          const start = run.powershell?.find((t) => t.what === 'start');
          if (start !== undefined) samples[r]![b]!.afterStart.push(run.timeToReadyMs - start.endMs);
          if (start !== undefined) samples[r]![b]!.spawnedAt.push(start.startMs);
          if (run.powershell !== undefined) samples[r]![b]!.agentOwn.push(splitTime(run.timeToReadyMs, busy(run.powershell), fabricWork(run.bars)).agentOwnMs);
        }
      }
      if (round > 0) process.stderr.write(`round ${round}/${runs}\n`);
    }
  } finally {
    for (const fabric of fabrics) await fabric.stop();
    await rm(workDir, { recursive: true, force: true });
  }
  // Builds are told apart by file name, or by folder and name when two share a name (before/winprov.cjs, after/winprov.cjs).
  const label = (bundle: string) => (bundles.filter((b) => basename(b) === basename(bundle)).length > 1 ? join(basename(dirname(bundle)), basename(bundle)) : basename(bundle));
  const table: Cell[][] = [];
  for (const [r, row] of rows.entries()) {
    const baseline = summarize(samples[r]![0]!.ready).median;
    const afterBaseline = summarize(samples[r]![0]!.afterStart).median;
    for (const [b, bundle] of bundles.entries()) {
      const ready = summarize(samples[r]![b]!.ready);
      const after = summarize(samples[r]![b]!.afterStart);
      const s = samples[r]![b]!;
      // Windows path only: when PowerShell was spawned, and the time neither it nor a fabric step was busy.
      const windows = pwsh === undefined ? [] : [summarize(s.spawnedAt).median, summarize(s.agentOwn).median];
      table.push([row.name, label(bundle), ready.median, ready.p90, ready.median - baseline, summarize(s.rss).median, after.median, after.median - afterBaseline, ...windows]);
    }
  }
  const headings = ['row', 'bundle', 'Ready median ms', 'Ready p90 ms', 'vs first ms', 'peak RSS MB', 'Ready after session start ms', 'vs first ms', ...(pwsh === undefined ? [] : ['spawned at ms', 'agent own ms'])];
  process.stdout.write(`${formatTable({ headings, rows: table, digits: [0, 0, 0, 0, 0, 1, 0, 0, 0, 0] })}\n`);
  for (const [b, bundle] of bundles.entries()) {
    process.stdout.write(`${label(bundle)}: code cache ${cache ? describeCacheUse(samples.flatMap((row) => row[b]!.cache)) : 'off (--no-cache)'}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`compare failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
