import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loaderStartFlags } from '../build/code-cache-loader.ts';
import { join } from 'node:path';
import { SandboxPlatform } from '../src/platform/sandbox/index.ts';
import type { BenchFabric } from './fabric.ts';
import { spawnTimed, type TimedExit } from './spawn-timed.ts';

/**
 * One timed provisioning run of the bundled agent: a fresh sandbox with the simulator's media, the agent
 * spawned as `node --require rss-preload.cjs dist/winprov.cjs provision --platform sandbox ...`, the time
 * from just before spawn to the acknowledged Ready, the step durations from the journal the run leaves
 * (ProgramData/winprov/state.json), and the peak RSS the preload wrote at exit.
 */

/** How to start the agent. */
export interface AgentCommand {
  node: string;
  bundle: string;
  preload: string;
  /** A folder for the run's sandbox (removed afterwards). */
  workDir: string;
  /** Added to the agent's environment (WINPROV_CODE_CACHE=off to measure without the cache). */
  env?: Record<string, string>;
}

/** What one run measured. */
export interface AgentRun {
  timeToReadyMs: number;
  exitMs: number;
  peakRssMb: number;
  /** The code cache's status in the run (used, absent, mismatch, rejected, off): bench/rss-preload.cjs. */
  codeCache: string;
  /** Step name -> duration (ms), skipped steps left out. */
  steps: Record<string, number>;
  /** The steps on the run's axis (ms from spawn), for the timeline picture. */
  bars: StepBar[];
}

/** A step of one run: start (ms from the agent's spawn) and duration, from the journal. */
export interface StepBar {
  name: string;
  startMs: number;
  durationMs: number;
}

const RUN_TIMEOUT_MS = 60_000;

const flagsOfBundle = new Map<string, string[]>();

/** node's arguments before the bundle: its V8 flags, as winprov.exe has them from its execArgv (build/bundle.ts), then the RSS preload. */
export function nodeArgs(command: AgentCommand): string[] {
  let flags = flagsOfBundle.get(command.bundle);
  if (flags === undefined) flagsOfBundle.set(command.bundle, (flags = loaderStartFlags(readFileSync(command.bundle, 'latin1'))));
  return [...flags, '--require', command.preload, command.bundle];
}

/** Runs the agent once against the fabric; throws with the agent's output when it does not reach Ready. */
export async function runAgent(command: AgentCommand, fabric: BenchFabric): Promise<AgentRun> {
  const root = await mkdtemp(join(command.workDir, 'run-'));
  try {
    const sandbox = join(root, 'sandbox');
    await SandboxPlatform.open(sandbox, { create: true });
    await fabric.simulator.writeProvisioningMedia(join(sandbox, 'drives', 'D'));
    const rssFile = join(root, 'maxrss');
    const ready = fabric.nextReady();
    const run = await spawnTimed(
      command.node,
      [...nodeArgs(command), 'provision', '--platform', 'sandbox', '--sandbox', sandbox, '--fabric', fabric.url, '--deadline', '60s'],
      { env: { ...process.env, ...command.env, WINPROV_BENCH_RSS_FILE: rssFile }, timeoutMs: RUN_TIMEOUT_MS },
    );
    return await finishRun(run, ready, join(sandbox, 'ProgramData', 'winprov', 'state.json'), rssFile);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** What a finished run left: the time to Ready, the journal's steps, the peak RSS; throws without an accepted Ready. */
export async function finishRun(run: TimedExit, ready: ReturnType<BenchFabric['nextReady']>, stateFile: string, rssFile: string): Promise<AgentRun> {
  // The Ready callback ran before the simulator answered, so it has fired by the time the agent exited.
  ready.cancel();
  const readyAt = await ready.at.catch(() => undefined);
  if (run.code !== 0 || readyAt === undefined) {
    throw new Error(`the agent exited with ${run.code ?? run.signal}${readyAt === undefined ? ' without an accepted Ready' : ''}:\n${run.output}`);
  }
  const state = JSON.parse(await readFile(stateFile, 'utf8')) as { steps: { name: string; startedAt: string; durationMs?: number; outcome?: string }[] };
  // Journal times are wall-clock; the spawn's wall-clock time puts them on the run's axis.
  const spawnEpoch = performance.timeOrigin + run.startMs;
  const steps: Record<string, number> = {};
  const bars: StepBar[] = [];
  for (const step of state.steps) {
    if (step.outcome !== 'ok' || step.durationMs === undefined) continue;
    steps[step.name] = step.durationMs;
    bars.push({ name: step.name, startMs: Date.parse(step.startedAt) - spawnEpoch, durationMs: step.durationMs });
  }
  const preloaded = readPreloadFile(await readFile(rssFile, 'utf8'));
  return { timeToReadyMs: readyAt - run.startMs, exitMs: run.exitMs - run.startMs, peakRssMb: preloaded.peakRssMb, codeCache: preloaded.codeCache, steps, bars };
}

/** What bench/rss-preload.cjs wrote: the peak RSS (ru_maxrss is in KiB on Linux; reported in MB, 10^6 bytes, the unit of the target) and the code cache's status. */
export function readPreloadFile(text: string): { peakRssMb: number; codeCache: string } {
  const [kib, status] = text.trim().split(' ');
  const peakRssMb = (Number(kib) * 1024) / 1e6;
  if (!Number.isFinite(peakRssMb) || peakRssMb <= 0) throw new Error(`bench/rss-preload.cjs wrote "${text}", not a peak RSS`);
  return { peakRssMb, codeCache: status ?? 'none' };
}
