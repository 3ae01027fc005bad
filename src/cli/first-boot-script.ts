import { join } from 'node:path';
import { toAgentError } from '../errors.ts';
import { createPlatform } from '../platform/index.ts';
import { LOG_FILE } from '../platform/state-names.ts';
import { createLog } from '../util/log.ts';
import { runFirstBoot } from '../first-boot/run.ts';
import type { AgentConfig } from '../config.ts';
import type { CommandIo } from './io.ts';
import { exclusively } from './exclusive-run.ts';

/**
 * `winprov first-boot-script`: what SetupComplete.cmd runs after `winprov provision` when the image has
 * the first-boot script switched on (prepare-image --first-boot-script). Runs the VM's custom data or
 * user data script once, after Ready (src/first-boot/run.ts). Under the run lock, so two runs never both
 * start it. Its exit code is 0 whatever the script did (the outcome is in status, KVP and the event log;
 * Setup ignores SetupComplete's code anyway); only a broken configuration or state ends otherwise.
 */
export async function firstBootScriptCommand(config: Readonly<AgentConfig>, io: CommandIo): Promise<number> {
  const log = createLog({ consoleLevel: config.consoleLevel, write: io.out, serial: config.serial });
  if (config.firstBoot.mode === 'off') {
    // Nothing is touched, not even the state folder: the switch off leaves the machine as it was.
    log.info('first-boot script: off in this image (winprov.json "firstBootScript"); nothing is run');
    return 0;
  }
  const platform = await createPlatform(config, log);
  try {
    await platform.ensureStateDirectory();
    return await exclusively(platform, { command: 'first-boot-script', waitMs: config.lockWaitMs, log }, async () => {
      log.attachFile(join(platform.stateDirectory, LOG_FILE));
      try {
        await runFirstBoot({
          platform,
          log,
          settings: {
            mode: config.firstBoot.mode,
            timeoutMs: config.firstBoot.timeoutMs,
            imds: { baseUrl: config.firstBoot.imdsUrl, connectTimeoutMs: Math.min(config.connectTimeoutMs, 2_000), readTimeoutMs: Math.min(config.readTimeoutMs, 10_000), budgetMs: config.firstBoot.imdsBudgetMs },
          },
        });
      } catch (err) {
        // Never thrown past here as a failure of provisioning: it is logged with its code and reason.
        log.error(`first-boot script: ${toAgentError(err).code}: ${toAgentError(err).describe()}`);
        return toAgentError(err).exitCode;
      }
      return 0;
    });
  } finally {
    await platform.close();
    log.close();
  }
}
