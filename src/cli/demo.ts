import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provision } from '../agent.ts';
import { FabricSimulator } from '../simulator/index.ts';
import { SandboxPlatform } from '../platform/sandbox/index.ts';
import { LOG_FILE } from '../platform/state-names.ts';
import { createLog } from '../util/log.ts';
import type { AgentConfig } from '../config.ts';
import type { CommandIo } from './io.ts';

/**
 * `npm start` / `winprov demo`: a fabric simulator on an ephemeral loopback port, a sandbox in a
 * temporary folder, one real provisioning run between them, and a short summary of what happened.
 */
export async function demoCommand(config: Readonly<AgentConfig>, io: CommandIo): Promise<number> {
  const root = await mkdtemp(join(tmpdir(), 'winprov-demo-'));
  const simulator = new FabricSimulator({
    scenario: { computerName: 'winprov-demo', adminUsername: 'azureuser', adminPassword: demoPassword(), certificateCount: 2, provisionGuestAgent: true, customData: 'echo hello from custom data', timeZone: 'W. Europe Standard Time' },
  });
  await simulator.start();
  try {
    const platform = await SandboxPlatform.open(join(root, 'sandbox'), { create: true });
    await simulator.writeProvisioningMedia(join(root, 'sandbox', 'drives', 'D'));
    io.out(`fabric simulator on ${simulator.url}; sandbox in ${join(root, 'sandbox')}\n\n`);
    const log = createLog({ consoleLevel: config.consoleLevel === 'debug' ? 'debug' : 'warn', write: io.out });
    log.attachFile(join(platform.stateDirectory, LOG_FILE));
    const started = performance.now();
    const result = await provision({ platform, log, settings: { fabricUrl: simulator.url, deadlineMs: 60_000 } });
    const elapsed = performance.now() - started;
    log.close();

    io.out('Steps\n');
    for (const step of result.state.steps) {
      const time = step.outcome === 'skipped' ? '       -' : `${String(step.durationMs ?? 0).padStart(5)} ms`;
      io.out(`  ${time}  ${step.name.padEnd(20)} ${step.outcome ?? ''}${step.detail ? `  ${step.detail}` : ''}\n`);
    }
    io.out('\nApplied to the sandbox machine\n');
    for (const applied of result.state.applied) io.out(`  ${applied.what.padEnd(14)} ${applied.detail}\n`);
    io.out('\nReports the fabric received\n');
    for (const report of simulator.healthReports) {
      io.out(`  ${report.state}${report.subStatus ? `/${report.subStatus}` : ''}  HTTP ${report.httpStatus}${report.description ? `  "${report.description}"` : ''}\n`);
    }
    io.out(`\n${result.outcome === 'ready' ? 'Provisioned' : `Failed: ${result.error?.describe()}`} in ${Math.round(elapsed)} ms; ${simulator.requests.length} requests to the fabric.\n`);
    io.out(`The sandbox is kept for inspection: ${join(root, 'sandbox')} (machine.json, ProgramData/winprov/)\n`);
    return result.exitCode;
  } finally {
    await simulator.stop();
  }
}

/** A fresh strong password for each demo run, so none is ever written in the source. */
function demoPassword(): string {
  const random = Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString('base64url');
  return `Dm0-${random}!`;
}

