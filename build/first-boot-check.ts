import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FabricSimulator } from '../src/simulator/index.ts';
import { ImdsSimulator } from '../src/simulator/imds.ts';
import { SandboxPlatform } from '../src/platform/sandbox/index.ts';
import { RUNS_FILE } from '../src/platform/sandbox/first-boot.ts';
import { readFirstBootRecord } from '../src/first-boot/record.ts';
import type { Built } from './code-cache-check.ts';

/**
 * For `npm run check:build`: a built winprov runs the first-boot script on the sandbox. The sandbox's fake
 * interpreter is a child process of winprov; in the single executable node's -e is not processed, so it
 * is winprov itself (the internal `sandbox-interpreter` command, src/platform/sandbox/fake-interpreter.ts),
 * and only a run of the built file shows that it starts, runs, reports and is stopped at the timeout.
 * Custom data (#ps1, exit 3) and user data from an IMDS simulator (#ps1 that sleeps past firstBootTimeout).
 */

const CUSTOM_DATA = '#ps1\nWrite-Output "custom data ran"\nWrite-Error "to stderr"\nexit 3\n';
const USER_DATA = '#ps1\nWrite-Output "user data started"\nStart-Sleep -Seconds 60\n';

function run(built: Built, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(built.command, [...built.args, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, output: `${stdout}\n${stderr}` });
    });
  });
}

const tail = (output: string): string => output.trim().split('\n').slice(-6).join(' | ');

/** Problems found; empty when both scripts ran through the built winprov with the expected outcomes. */
export async function firstBootProblems(built: Built): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'winprov-first-boot-check-'));
  const simulator = new FabricSimulator({ scenario: { certificateCount: 0, customData: CUSTOM_DATA } });
  const imds = new ImdsSimulator({ userData: Buffer.from(USER_DATA, 'utf8').toString('base64') });
  try {
    await simulator.start();
    const imdsUrl = await imds.start();
    const sandbox = join(dir, 'sandbox');
    const platform = await SandboxPlatform.open(sandbox, { create: true });
    await simulator.writeProvisioningMedia(join(sandbox, 'drives', 'D'));
    const provisioned = await run(built, ['provision', '--platform', 'sandbox', '--sandbox', sandbox, '--fabric', simulator.url, '--deadline', '60s']);
    if (provisioned.code !== 0) return [`provision exited with ${provisioned.code}: ${tail(provisioned.output)}`];
    const config = join(dir, 'winprov.json');
    writeFileSync(config, JSON.stringify({ firstBootScript: 'both', firstBootTimeout: '3s', imdsAddress: imdsUrl, imdsBudget: '10s' }));
    const started = performance.now();
    const firstBoot = await run(built, ['first-boot-script', '--platform', 'sandbox', '--sandbox', sandbox, '--config', config]);
    const elapsed = performance.now() - started;
    if (firstBoot.code !== 0) return [`first-boot-script exited with ${firstBoot.code}: ${tail(firstBoot.output)}`];

    const problems: string[] = [];
    const record = await readFirstBootRecord(platform.stateDirectory);
    const custom = record?.scripts.find((s) => s.source === 'customData');
    const user = record?.scripts.find((s) => s.source === 'userData');
    if (custom?.outcome !== 'failed' || custom.exitCode !== 3) problems.push(`custom data: ${custom?.outcome ?? 'no record'}${custom?.exitCode === undefined ? '' : ` exit ${custom.exitCode}`}${custom?.reason === undefined ? '' : ` (${custom.reason})`}, not failed with exit 3`);
    if (JSON.stringify(custom?.tail) !== JSON.stringify(['custom data ran', 'to stderr'])) problems.push(`custom data output: ${JSON.stringify(custom?.tail)}, not its two lines`);
    if (user?.outcome !== 'timed-out') problems.push(`user data: ${user?.outcome ?? 'no record'}${user?.reason === undefined ? '' : ` (${user.reason})`}, not timed-out`);
    if (JSON.stringify(user?.tail) !== JSON.stringify(['user data started'])) problems.push(`user data output: ${JSON.stringify(user?.tail)}, not "user data started"`);
    if (imds.requests.length !== 1 || imds.requests[0]?.metadataHeader !== 'true') problems.push(`IMDS was asked ${imds.requests.length} time(s), not once with Metadata: true`);
    const runs = (existsSync(join(sandbox, RUNS_FILE)) ? readFileSync(join(sandbox, RUNS_FILE), 'utf8') : '').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { interpreter: string; pid: number });
    if (runs.length !== 2 || runs.some((r) => r.interpreter !== 'powershell')) problems.push(`${RUNS_FILE}: ${runs.length} run(s), not two powershell runs`);
    for (const r of runs) {
      try {
        process.kill(r.pid, 0);
        problems.push(`the interpreter ${r.pid} still runs after first-boot-script returned`);
        process.kill(r.pid, 'SIGKILL');
      } catch {
        // Gone, as it must be.
      }
    }
    if (elapsed > 30_000) problems.push(`first-boot-script took ${Math.round(elapsed)} ms with a 3 s script timeout`);
    return problems;
  } finally {
    await imds.stop().catch(() => undefined);
    await simulator.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
