import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FabricSimulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { SandboxPlatform } from '../../src/platform/sandbox/index.ts';
import { loadMachine, saveMachine, type SandboxMachine } from '../../src/platform/sandbox/machine.ts';
import { provision, type ProvisionResult, type RunSettings } from '../../src/agent.ts';
import { createLog, type Log } from '../../src/util/log.ts';
import type { RetryPolicy } from '../../src/net/retry.ts';

/** Retry policies shortened for tests: the same rules, milliseconds instead of seconds. */
export const FAST_READ: RetryPolicy = { baseDelayMs: 5, maxDelayMs: 40, maxAttempts: 8, jitter: 0 };
export const FAST_REPORT: RetryPolicy = { baseDelayMs: 5, maxDelayMs: 40, maxAttempts: 12, jitter: 0 };

/** A simulator on 127.0.0.1, a fresh sandbox with the simulator's media in drive D, and a way to provision it. */
export interface ProvisioningFixture {
  simulator: FabricSimulator;
  root: string;
  sandboxRoot: string;
  platform: SandboxPlatform;
  /** Lines the agent logged on its console (all levels). */
  lines: string[];
  run(settings?: Partial<RunSettings>): Promise<ProvisionResult>;
  machine(): Promise<SandboxMachine>;
  editMachine(edit: (machine: SandboxMachine) => void): Promise<void>;
  close(): Promise<void>;
}

export async function provisioningFixture(options: SimulatorOptions = {}): Promise<ProvisioningFixture> {
  const root = await mkdtemp(join(tmpdir(), 'winprov-test-'));
  const sandboxRoot = join(root, 'sandbox');
  const simulator = new FabricSimulator(options);
  await simulator.start();
  const platform = await SandboxPlatform.open(sandboxRoot, { create: true });
  await simulator.writeProvisioningMedia(join(sandboxRoot, 'drives', 'D'));
  const lines: string[] = [];
  const log: Log = createLog({ consoleLevel: 'debug', write: (line) => void lines.push(line) });
  log.attachFile(join(platform.stateDirectory, 'winprov.log'));
  return {
    simulator,
    root,
    sandboxRoot,
    platform,
    lines,
    run: (settings = {}) => provision({
      platform,
      log,
      settings: { fabricUrl: simulator.url, deadlineMs: 20_000, readPolicy: FAST_READ, reportPolicy: FAST_REPORT, failureReportGraceMs: 5_000, ...settings },
    }),
    machine: async () => (await loadMachine(sandboxRoot))!,
    editMachine: async (edit) => {
      const machine = (await loadMachine(sandboxRoot))!;
      edit(machine);
      await saveMachine(sandboxRoot, machine);
    },
    close: async () => {
      log.close();
      await simulator.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
