import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createTransportCertificate } from '../src/crypto/transport-cert.ts';
import { readPreloadFile, runAgent, type AgentCommand, type AgentRun } from './agent-run.ts';
import type { PowerShellTiming } from './windows-timing.ts';
import { buildBundle, bundleState, type BundleState } from './bundle.ts';
import { programFileOf } from '../build/code-cache-loader.ts';
import { describeCacheUse, ensureCodeCache } from './code-cache.ts';
import { BenchFabric } from './fabric.ts';
import { fabricSequence } from './fabric-floor.ts';
import { KEYS_PER_ROUND, timeDecrypt, timeKeyGeneration } from './local-floor.ts';
import { buildResult, renderReport, rowLabel, type RowSamples, type SharedSamples } from './report.ts';
import { selectRows } from './rows.ts';
import { spawnTimed } from './spawn-timed.ts';
import { medianRunPanels } from './timeline-pick.ts';
import { timelineSvg } from './timeline-svg.ts';
import { findPwsh, runWindowsAgent, seedMachine, timePwshExit } from './windows-run.ts';
import { renderWindowsReport, windowsRowResult, type WindowsRunSample } from './windows-report.ts';

/**
 * `npm run bench [-- --runs N] [--out FILE] [--rebuild | --no-build] [--rows a,b] [--bundle FILE] [--windows | --windows-only] [--no-cache]`: the bundled agent against fabric
 * simulators in this process, N timed runs per row, the rows' runs interleaved (A B C A B C ...) so that
 * noise on a shared machine hits every row alike, with the floor's parts measured in the same rounds.
 * Prints the tables and writes the JSON (default bench/results/latest.json) and the timeline of each row's
 * median run (bench/results/timeline.svg). --windows adds the same rows on the Windows path (pwsh with
 * Windows emulated, bench/windows-run.ts); they are skipped, with a message, when pwsh is not restored.
 * The agent runs with its code cache, made first when the one beside the bundle does not fit it
 * (bench/code-cache.ts); --no-cache measures it without.
 */

const ROOT = resolve(import.meta.dirname, '..');
const BUNDLE = join(ROOT, 'dist', 'winprov.cjs');
const PRELOAD = join(ROOT, 'bench', 'rss-preload.cjs');

interface Options {
  runs: number;
  out: string;
  build: 'if-needed' | 'always' | 'never';
  /** The bundle to measure; another than dist/winprov.cjs is measured as it is (never built). */
  bundle: string;
  rows: string | undefined;
  platforms: ('sandbox' | 'windows')[];
  svg: string;
  /** Measure with the bundle's code cache (made first when it does not fit the bundle), as a VM runs it. */
  cache: boolean;
}

function readOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '20' },
      out: { type: 'string' },
      rebuild: { type: 'boolean' },
      'no-build': { type: 'boolean' },
      bundle: { type: 'string' },
      rows: { type: 'string' },
      windows: { type: 'boolean' },
      'windows-only': { type: 'boolean' },
      svg: { type: 'string' },
      'no-cache': { type: 'boolean' },
    },
    strict: true,
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new Error(`--runs must be an integer 1-1000, got ${values.runs}`);
  if (values.rebuild && values['no-build']) throw new Error('--rebuild and --no-build exclude each other');
  const bundle = resolve(values.bundle ?? BUNDLE);
  return {
    runs,
    out: resolve(values.out ?? join(ROOT, 'bench', 'results', 'latest.json')),
    build: bundle !== BUNDLE ? 'never' : values.rebuild ? 'always' : values['no-build'] ? 'never' : 'if-needed',
    bundle,
    rows: values.rows,
    // The sandbox rows alone by default: the CI smoke run stays fast and needs no PowerShell.
    platforms: values['windows-only'] ? ['windows'] : values.windows ? ['sandbox', 'windows'] : ['sandbox'],
    svg: resolve(values.svg ?? join(ROOT, 'bench', 'results', 'timeline.svg')),
    cache: values['no-cache'] !== true,
  };
}

function prepareBundle(build: Options['build'], bundle: string): void {
  if (bundle !== BUNDLE) {
    // Measured as it is: a build of this checkout has its program file beside it, an older build may be one file.
    if (bundleState(bundle, []) === 'missing') throw new Error(`${bundle} does not exist`);
    return;
  }
  // The checkout's bundle is its loader and the program file beside it (build/code-cache-loader.ts).
  const state: BundleState = existsSync(programFileOf(BUNDLE)) ? bundleState(BUNDLE, [join(ROOT, 'src'), join(ROOT, 'build', 'entry.ts'), join(ROOT, 'package-lock.json')]) : 'missing';
  if (build === 'never') {
    if (state === 'missing') throw new Error(`${relative(ROOT, BUNDLE)} is missing (run without --no-build to build it)`);
    if (state === 'stale') progress(`note: ${relative(ROOT, BUNDLE)} is older than src/; measuring it as it is`);
    return;
  }
  if (build === 'always' || state !== 'current') {
    progress(`building ${relative(ROOT, BUNDLE)} (${build === 'always' ? 'asked' : state}) with node build/bundle.ts`);
    buildBundle(ROOT);
  }
}

function machine(): Record<string, string | number> {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {
    // Not Linux: os.cpus() names it.
  }
  return {
    nproc: os.availableParallelism(),
    cpu,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    loadAverageAtStart: os.loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}

const METHOD = {
  timeToReady: 'performance.now() just before spawn() to the simulator callback for the accepted Ready report, both in the benchmark process',
  steps: 'steps[].durationMs of ProgramData/winprov/state.json left by each run',
  peakRss: 'node --require bench/rss-preload.cjs: process.resourceUsage().maxRSS (getrusage high-water mark) written at exit; its cost is the start-up difference with and without it',
  floor: `median node -e 0 + median raw-HTTP fabric sequence (versions, goal state, hosting env config + certificates + NotReady report, Ready) + median RSA-2048 generateKeyPair (${KEYS_PER_ROUND} per round) + median in-process decryptEnvelopedData + readPkcs12 of the same envelope (the last two only for rows with certificates)`,
  interleaving: `each round runs every row once, then the start-up probes and ${KEYS_PER_ROUND} key generations`,
};

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2));
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const context = machine();
  prepareBundle(options.build, options.bundle);
  if (options.cache) await ensureCodeCache(options.bundle, progress);
  const scenarios = selectRows(options.rows);
  let platforms = options.platforms;
  const pwshFound = platforms.includes('windows') ? findPwsh() : undefined;
  if (pwshFound !== undefined && 'skipped' in pwshFound) {
    progress(`skipping the Windows rows: ${pwshFound.skipped}`);
    platforms = platforms.filter((p) => p !== 'windows');
  }
  const pwsh = pwshFound !== undefined && 'pwsh' in pwshFound ? pwshFound.pwsh : undefined;
  const selected = platforms.flatMap((platform) => scenarios.map((row) => ({ ...row, platform })));

  const workDir = await mkdtemp(join(os.tmpdir(), 'winprov-bench-'));
  const fabrics: BenchFabric[] = [];
  try {
    progress(`starting ${selected.length} fabric simulators (tenant certificates are generated now, before any timing)`);
    for (const row of selected) fabrics.push(await BenchFabric.start(row));
    const transport = await createTransportCertificate();
    const recipient = { keyPem: transport.keyPem, certPem: transport.certPem };
    const command: AgentCommand = { node: process.execPath, bundle: options.bundle, preload: PRELOAD, workDir, ...(options.cache ? {} : { env: { WINPROV_CODE_CACHE: 'off' } }) };
    const cacheUse: string[] = [];

    const rows: RowSamples[] = selected.map((row) => ({ ...row, name: row.platform === 'windows' ? `windows/${row.name}` : row.name, timeToReadyMs: [], exitMs: [], peakRssMb: [], steps: [], fabricRoundTripsMs: [], decryptMs: [] }));
    const pwshExitMs: number[] = [];
    const shared: SharedSamples = { nodeStartupMs: [], nodeWithPreloadMs: [], nodePeakRssMb: [], versionMs: [], keyGenerationMs: [], pwshExitMs };
    // Per row, each recorded run's steps on its axis (and PowerShell's exchanges): the timeline picture and the Windows tables.
    const runs: WindowsRunSample[][] = rows.map(() => []);

    const round = async (record: boolean): Promise<void> => {
      for (const [i, row] of rows.entries()) {
        const fabric = fabrics[i]!;
        // A fresh emulated machine per run, seeded before the clock starts.
        const machine = row.platform === 'windows' ? await seedMachine(pwsh!, fabric) : undefined;
        const run: AgentRun & { powershell?: PowerShellTiming[] } = machine === undefined ? await runAgent(command, fabric) : await runWindowsAgent(command, fabric, machine).finally(() => machine.close());
        const sequence = await fabricSequence(fabric.url, transport.headerValue);
        const decryptMs = sequence.certificateData === undefined ? undefined : timeDecrypt(sequence.certificateData, recipient);
        if (!record) continue;
        row.timeToReadyMs.push(run.timeToReadyMs);
        row.exitMs.push(run.exitMs);
        row.peakRssMb.push(run.peakRssMb);
        cacheUse.push(run.codeCache);
        row.steps.push(run.steps);
        runs[i]!.push({ timeToReadyMs: run.timeToReadyMs, bars: run.bars, powershell: run.powershell ?? [] });
        row.fabricRoundTripsMs.push(sequence.ms);
        if (decryptMs !== undefined) row.decryptMs.push(decryptMs);
      }
      const startup = await startupProbes(workDir, options.bundle);
      const keyGenerationMs = await timeKeyGeneration();
      const pwshExitSample = pwsh === undefined ? undefined : await timePwshExit(pwsh);
      if (!record) return;
      if (pwshExitSample !== undefined) pwshExitMs.push(pwshExitSample);
      shared.nodeStartupMs.push(startup.nodeMs);
      shared.nodeWithPreloadMs.push(startup.nodeWithPreloadMs);
      shared.nodePeakRssMb.push(startup.nodePeakRssMb);
      shared.versionMs.push(startup.versionMs);
      shared.keyGenerationMs.push(...keyGenerationMs);
    };

    progress('warm-up round (not recorded)');
    await round(false);
    for (let r = 1; r <= options.runs; r++) {
      await round(true);
      progress(`round ${r}/${options.runs}: ${rows.map((row) => `${row.name} ${Math.round(row.timeToReadyMs.at(-1)!)} ms`).join(', ')}`);
    }

    const result = buildResult(rows, shared, {
      startedAt,
      durationS: Math.round((performance.now() - started) / 100) / 10,
      runs: options.runs,
      codeCache: options.cache ? describeCacheUse(cacheUse) : 'off (--no-cache)',
      machine: { ...context, loadAverageAtEnd: os.loadavg().map((l) => l.toFixed(2)).join(' ') },
      method: METHOD,
    });
    const windows = result.rows.flatMap((r, i) => (r.platform === 'windows'
      ? [{ ...windowsRowResult(r.name, runs[i]!, r.fabricRoundTripsMs.median), label: rowLabel(r), readyMs: r.timeToReadyMs.median }]
      : []));
    process.stdout.write(renderReport(result));
    process.stdout.write(renderWindowsReport(windows));
    await mkdir(dirname(options.out), { recursive: true });
    await writeFile(options.out, `${JSON.stringify({ ...result, windows }, null, 2)}\n`);
    const panels = medianRunPanels(result.rows, runs);
    await mkdir(dirname(options.svg), { recursive: true });
    await writeFile(options.svg, timelineSvg(`winprov: the median run of each row (${result.startedAt}, load ${context['loadAverageAtStart']})`, panels));
    progress(`wrote ${relative(process.cwd(), options.out)} and ${relative(process.cwd(), options.svg)} in ${result.durationS} s`);
  } finally {
    for (const fabric of fabrics) await fabric.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** node -e 0, the same with the RSS preload (its cost, and Node's own peak RSS), and the bundle's --version. */
async function startupProbes(workDir: string, bundle: string): Promise<{ nodeMs: number; nodeWithPreloadMs: number; nodePeakRssMb: number; versionMs: number }> {
  const timeoutMs = 30_000;
  const plain = await spawnTimed(process.execPath, ['-e', '0'], { timeoutMs });
  const rssFile = join(workDir, 'node-maxrss');
  const preloaded = await spawnTimed(process.execPath, ['--require', PRELOAD, '-e', '0'], { timeoutMs, env: { ...process.env, WINPROV_BENCH_RSS_FILE: rssFile } });
  const version = await spawnTimed(process.execPath, [bundle, '--version'], { timeoutMs });
  for (const [what, run] of [['node -e 0', plain], ['node --require preload -e 0', preloaded], ['winprov --version', version]] as const) {
    if (run.code !== 0) throw new Error(`${what} exited with ${run.code ?? run.signal}: ${run.output}`);
  }
  return {
    nodeMs: plain.exitMs - plain.startMs,
    nodeWithPreloadMs: preloaded.exitMs - preloaded.startMs,
    nodePeakRssMb: readPreloadFile(readFileSync(rssFile, 'utf8')).peakRssMb,
    versionMs: version.exitMs - version.startMs,
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
