import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { emulatedMachine, type EmulatedMachine, type MachineState } from '../test/powershell/emulated-machine.ts';
import { powerShellTools } from '../test/powershell/tools.ts';
import { finishRun, nodeArgs, type AgentCommand, type AgentRun } from './agent-run.ts';
import type { BenchFabric } from './fabric.ts';
import { spawnTimed } from './spawn-timed.ts';
import { parsePowerShellTimings, type PowerShellTiming } from './windows-timing.ts';

/**
 * One timed run of the bundled agent on the Windows path: `provision --platform windows` with the
 * PowerShell setting pointing at the emulation's launcher (pwsh running the real bootstrap and scripts on
 * an emulated Windows), on a fresh emulated machine seeded as the PowerShell tier seeds it
 * (test/powershell/emulated-machine.ts). Seeding runs pwsh and takes a second or two: it happens before
 * the clock starts. The agent runs with -v so that the session's debug timing lines reach its stdout.
 */

const RUN_TIMEOUT_MS = 120_000;

/** pwsh, or why the Windows rows are skipped. */
export function findPwsh(): { pwsh: string } | { skipped: string } {
  const tools = powerShellTools();
  if ('skipped' in tools) return tools;
  if (!existsSync(tools.pwsh)) return { skipped: `${tools.pwsh} (from .scratch/powershell/tools.json) does not exist` };
  return { pwsh: tools.pwsh };
}

/** A Windows run: what every run measures, and the PowerShell session's exchanges on the run's axis. */
export interface WindowsAgentRun extends AgentRun {
  powershell: PowerShellTiming[];
}

/** A seeded machine with the row's provisioning media on drive D, ready to be provisioned. */
export async function seedMachine(pwsh: string, fabric: BenchFabric): Promise<EmulatedMachine> {
  const machine = await emulatedMachine(pwsh, { mediaDir: '' });
  const mediaDir = join(machine.dir, 'D');
  await fabric.simulator.writeProvisioningMedia(mediaDir);
  await machine.editState((state) => {
    state['drives'].find((d: MachineState) => d['letter'] === 'D')['root'] = mediaDir;
  });
  return machine;
}

/** Provisions the seeded machine once; throws with the agent's output when it does not reach Ready. */
export async function runWindowsAgent(command: AgentCommand, fabric: BenchFabric, machine: EmulatedMachine): Promise<WindowsAgentRun> {
  const rssFile = join(machine.dir, 'maxrss');
  const ready = fabric.nextReady();
  const run = await spawnTimed(
    command.node,
    [...nodeArgs(command), 'provision', '--platform', 'windows', '--fabric', fabric.url, '--deadline', '100s', '-v'],
    { env: { ...process.env, ...command.env, ...machine.env, WINPROV_BENCH_RSS_FILE: rssFile }, timeoutMs: RUN_TIMEOUT_MS, keepStdout: true },
  );
  const result = await finishRun(run, ready, join(machine.env['ProgramData']!, 'winprov', 'state.json'), rssFile);
  const powershell = parsePowerShellTimings(run.stdout ?? '', performance.timeOrigin + run.startMs);
  if (!powershell.some((t) => t.what === 'start')) throw new Error(`no PowerShell timing lines in the agent's output (a bundle older than the session's timing records?):\n${run.output}`);
  return { ...result, powershell };
}

/** `pwsh -NoProfile -NonInteractive -Command exit`, spawn to exit: PowerShell's own start-up, the Windows floor's extra part. */
export async function timePwshExit(pwsh: string): Promise<number> {
  const run = await spawnTimed(pwsh, ['-NoProfile', '-NonInteractive', '-Command', 'exit'], { timeoutMs: 60_000 });
  if (run.code !== 0) throw new Error(`pwsh -Command exit exited with ${run.code ?? run.signal}: ${run.output}`);
  return run.exitMs - run.startMs;
}
