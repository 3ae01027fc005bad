import { join } from 'node:path';
import type { ProvisionResult, RunSettings } from '../agent.ts';
import { createPlatform } from '../platform/index.ts';
import { LOG_FILE } from '../platform/state-names.ts';
import { earlyLog } from '../util/early-log.ts';
import type { Log } from '../util/log.ts';
import type { AgentConfig } from '../config.ts';
import type { TransportKeyPair } from '../crypto/transport-key.ts';
import type { CommandIo } from './io.ts';

/**
 * `winprov provision`: the run Windows Setup starts in the specialize pass (and SetupComplete, deferred).
 * On Windows the platform's first request starts PowerShell, the longest wait of the run's start (issue
 * 13): so the platform is opened and that request sent first, and everything else (the logger, the run
 * lock, the agent) is loaded while PowerShell starts. Only the platform's modules are imported statically.
 */
export async function provisionCommand(config: Readonly<AgentConfig>, io: CommandIo, transportKey?: Promise<TransportKeyPair>): Promise<number> {
  const early = earlyLog();
  const platform = await createPlatform(config, early.log);
  let result: ProvisionResult;
  let writeCache: (() => void) | undefined;
  // Closed at the end: the log holds its file open (src/util/log.ts).
  let opened: Log | undefined;
  try {
    // The folder gets its restricted ACL before the lock file and the first log line land in it.
    const preparing = platform.ensureStateDirectory().then(
      () => undefined,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    );
    const [{ createLog }, { exclusively }, { provision }, cache] = await Promise.all([
      import('../util/log.ts'),
      import('./exclusive-run.ts'),
      import('../agent.ts'),
      import('../code-cache.ts'),
    ]);
    const log = createLog({ consoleLevel: config.consoleLevel, write: io.out, serial: config.serial });
    opened = log;
    log.debug(`configuration from ${config.sources.join(', ')}`);
    log.debug(cache.describeCodeCache());
    early.forwardTo(log);
    // prepare-image's warm run (code-cache-warmup.ts): the cache of what this run compiled.
    if (config.codeCacheWarmRun) writeCache = () => cache.writeCodeCache(cache.codeCacheState() ?? failNoLoader());
    const failed = await preparing;
    if (failed !== undefined) log.warn(`the state folder ${platform.stateDirectory} could not be prepared (${failed.message}); logging to the console only`);
    // One run at a time: a second run waits briefly, then refuses (RUN_LOCKED) before it logs to the file.
    result = await exclusively(platform, { command: 'provision', waitMs: config.lockWaitMs, log }, async () => {
      if (failed === undefined) log.attachFile(join(platform.stateDirectory, LOG_FILE));
      return provision({ platform, log, settings: runSettingsOf(config, platform.kind), transportKey });
    });
  } finally {
    await platform.close();
    opened?.close();
  }
  if (result.exitCode === 0) writeCache?.();
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
