import { join } from 'node:path';
import { toAgentError } from '../errors.ts';
import { createPlatform } from '../platform/index.ts';
import { createLog } from '../util/log.ts';
import { CLEARED_PASSWORD, clearAnswerFile } from '../answer-file-clear.ts';
import type { AgentConfig } from '../config.ts';
import type { CommandIo } from './io.ts';
import { exclusively } from './exclusive-run.ts';

/**
 * `winprov clear-answer-file`: what SetupComplete.cmd runs after OOBE. Replaces every password in
 * %WINDIR%\Panther\Unattend\unattend.xml (the AutoLogon password of AdditionalUnattendContent) with the
 * text Windows Setup puts in its own cached copy (answer-file-clear.ts). Under the run lock, so it never
 * interleaves with a provisioning run that writes the same file; within the run's deadline. Nothing to
 * clear (no file, no password, cleared already) is success. Never before OOBE: the oobeSystem pass reads
 * the password from this file, which is why only SetupComplete.cmd calls it.
 */
export async function clearAnswerFileCommand(config: Readonly<AgentConfig>, io: CommandIo): Promise<number> {
  const log = createLog({ consoleLevel: config.consoleLevel, write: io.out, serial: config.serial });
  const platform = await createPlatform(config, log);
  try {
    platform.setDeadline(Date.now() + config.deadlineMs);
    await platform.ensureStateDirectory();
    return await exclusively(platform, { command: 'clear-answer-file', waitMs: config.lockWaitMs, log }, async () => {
      log.attachFile(join(platform.stateDirectory, 'winprov.log'));
      try {
        const { path, cleared } = await clearAnswerFile(platform, { dryRun: config.dryRun });
        const passwords = cleared === 1 ? 'the password' : `${cleared} passwords`;
        if (path === undefined) log.info('clear-answer-file: there is no answer file at %WINDIR%\\Panther\\Unattend\\unattend.xml; nothing to clear');
        else if (cleared === 0) log.info(`clear-answer-file: ${path} holds no password; nothing to clear`);
        else if (config.dryRun) log.info(`clear-answer-file: would replace ${passwords} in ${path} with ${CLEARED_PASSWORD} (--dry-run: nothing changed)`);
        else log.info(`clear-answer-file: ${passwords} in ${path} replaced with ${CLEARED_PASSWORD}, as Windows Setup does in its cached copy`);
        return 0;
      } catch (err) {
        const error = toAgentError(err);
        log.error(`clear-answer-file: ${error.code}: ${error.describe()}`, { code: error.code });
        return error.exitCode;
      }
    });
  } finally {
    await platform.close();
    log.close();
  }
}
