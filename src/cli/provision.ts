import { join } from 'node:path';
import { provision, type ProvisionResult, type RunSettings } from '../agent.ts';
import { createPlatform } from '../platform/index.ts';
import { createLog } from '../util/log.ts';
import type { AgentConfig } from '../config.ts';
import type { TransportKeyPair } from '../crypto/transport-key.ts';
import type { CommandIo } from './io.ts';
import { exclusively } from './exclusive-run.ts';
import { codeCacheState, describeCodeCache, writeCodeCache } from '../code-cache.ts';

/** `winprov provision`: the run Windows Setup starts in the specialize pass (and SetupComplete, deferred). */
export async function provisionCommand(config: Readonly<AgentConfig>, io: CommandIo, transportKey?: Promise<TransportKeyPair>): Promise<number> {
  const log = createLog({ consoleLevel: config.consoleLevel, write: io.out, serial: config.serial });
  log.debug(`configuration from ${config.sources.join(', ')}`);
  log.debug(describeCodeCache());
  const platform = await createPlatform(config, log);
  let result: ProvisionResult;
  try {
    // The folder gets its restricted ACL before the lock file and the first log line land in it.
    const prepared = await platform.ensureStateDirectory().then(
      () => true,
      (err: unknown) => {
        log.warn(`the state folder ${platform.stateDirectory} could not be prepared (${(err as Error).message}); logging to the console only`);
        return false;
      },
    );
    // One run at a time: a second run waits briefly, then refuses (RUN_LOCKED) before it logs to the file.
    result = await exclusively(platform, { command: 'provision', waitMs: config.lockWaitMs, log }, async () => {
      if (prepared) log.attachFile(join(platform.stateDirectory, 'winprov.log'));
      return provision({ platform, log, settings: runSettingsOf(config, platform.kind), transportKey });
    });
  } finally {
    await platform.close();
  }
  // prepare-image's warm run (code-cache-warmup.ts): the cache of what this run compiled.
  if (config.codeCacheWarmRun && result.exitCode === 0) writeCodeCache(codeCacheState() ?? failNoLoader());
  return result.exitCode;
}

/** The run settings a configuration asks for. */
export function runSettingsOf(config: Readonly<AgentConfig>, platformKind: 'windows' | 'sandbox'): Partial<RunSettings> {
  return {
    fabricUrl: config.fabricUrl,
    fabricPort: config.fabricPort,
    fallbackAddress: config.fallbackAddress,
    repairDhcp: config.repairDhcp,
    deadlineMs: config.deadlineMs,
    connectTimeoutMs: config.connectTimeoutMs,
    readTimeoutMs: config.readTimeoutMs,
    maxResponseBytes: config.maxResponseBytes,
    phase: config.phase,
    // Our own DHCP query only where there is a real DHCP server to ask; the sandbox has none.
    dhcpQuery: platformKind === 'windows'
      ? { serverAddress: '255.255.255.255', serverPort: 67, clientPort: 68, bindAddress: '0.0.0.0', timeoutMs: 2_000, attempts: 2 }
      : false,
  };
}

function failNoLoader(): never {
  throw new Error('the warm run needs the built winprov (it runs from source here)');
}
