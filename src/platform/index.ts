import { dirname } from 'node:path';
import { UnsupportedPlatformError, UsageError } from '../errors.ts';
import type { AgentConfig } from '../config.ts';
import type { Log } from '../util/log.ts';
import type { ImageVerbs, Platform } from './platform.ts';
import type { FirstBootVerbs } from './first-boot-types.ts';

/**
 * Chooses the platform: "auto" means Windows on Windows; anywhere else winprov refuses unless the
 * sandbox is named. The only process.platform check in the agent. Implementations are loaded on demand
 * so that a run pays only for the one it uses.
 */
export async function createPlatform(config: Pick<AgentConfig, 'platform' | 'sandboxRoot' | 'windows'>, log: Log, hostPlatform: string = process.platform): Promise<Platform & ImageVerbs & FirstBootVerbs> {
  const choice = config.platform === 'auto' ? (hostPlatform === 'win32' ? 'windows' : undefined) : config.platform;
  if (choice === undefined) {
    throw new UnsupportedPlatformError(`winprov provisions Windows; this is ${hostPlatform}. Use --platform sandbox --sandbox DIR to run against the file-backed sandbox`);
  }
  if (choice === 'windows') {
    // Elsewhere only with a PowerShell named by the "powershell" setting: the test tier's pwsh that
    // emulates Windows runs the same scripts through the same protocol.
    if (hostPlatform !== 'win32' && config.windows.powershell === undefined) {
      throw new UnsupportedPlatformError(`--platform windows needs Windows; this is ${hostPlatform}`);
    }
    const { WindowsPlatform } = await import('./windows/index.ts');
    // The executable sits in the install folder, beside the unattend templates and SetupComplete.cmd.
    return new WindowsPlatform({ ...config.windows, installDirectory: dirname(process.execPath), executable: process.execPath, log: (level, message) => log[level](message) });
  }
  if (config.sandboxRoot === undefined) throw new UsageError('--platform sandbox needs --sandbox DIR (the sandbox folder)');
  const { SandboxPlatform } = await import('./sandbox/index.ts');
  return SandboxPlatform.open(config.sandboxRoot, { create: true });
}
