import { join } from 'node:path';
import { toAgentError } from '../errors.ts';
import { createPlatform } from '../platform/index.ts';
import { LOG_FILE } from '../platform/state-names.ts';
import { createLog, type Log } from '../util/log.ts';
import { CLEARED_PASSWORD, clearAnswerFile, isKeptPasswordsWarning } from '../answer-file-clear.ts';
import type { AgentConfig } from '../config.ts';
import type { Platform } from '../platform/platform.ts';
import type { CommandIo } from './io.ts';
import { exclusively } from './exclusive-run.ts';

/**
 * `winprov clear-answer-file`: what SetupComplete.cmd runs after OOBE. Replaces every password in
 * %WINDIR%\Panther\Unattend\unattend.xml (the AutoLogon password of AdditionalUnattendContent) with the
 * text Windows Setup puts in its own cached copy (answer-file-clear.ts). Under the run lock, so it never
 * interleaves with a provisioning run that writes the same file; within the run's deadline. Nothing to
 * clear (no file, no password, cleared already) is success, and the provisioning run's warning that the
 * file would keep its password is dropped from the journal. Never before OOBE: the oobeSystem pass reads
 * the password from this file, which is why only SetupComplete.cmd calls it. --dry-run only reads: no
 * state folder, no lock, no log file.
 */
export async function clearAnswerFileCommand(config: Readonly<AgentConfig>, io: CommandIo): Promise<number> {
  const log = createLog({ consoleLevel: config.consoleLevel, write: io.out, serial: config.dryRun ? undefined : config.serial });
  const platform = await createPlatform(config, log);
  try {
    platform.setDeadline(Date.now() + config.deadlineMs);
    if (config.dryRun) return await clearLogged(platform, log, true);
    await platform.ensureStateDirectory();
    return await exclusively(platform, { command: 'clear-answer-file', waitMs: config.lockWaitMs, log }, async () => {
      log.attachFile(join(platform.stateDirectory, LOG_FILE));
      return clearLogged(platform, log, false);
    });
  } finally {
    await platform.close();
    log.close();
  }
}

async function clearLogged(platform: Platform, log: Log, dryRun: boolean): Promise<number> {
  try {
    const { path, cleared } = await clearAnswerFile(platform, { dryRun });
    const passwords = cleared === 1 ? 'the password' : `${cleared} passwords`;
    if (path === undefined) log.info('clear-answer-file: there is no answer file at %WINDIR%\\Panther\\Unattend\\unattend.xml; nothing to clear');
    else if (cleared === 0) log.info(`clear-answer-file: ${path} holds no password; nothing to clear`);
    else if (dryRun) log.info(`clear-answer-file: would replace ${passwords} in ${path} with ${CLEARED_PASSWORD} (--dry-run: nothing changed)`);
    else log.info(`clear-answer-file: ${passwords} in ${path} replaced with ${CLEARED_PASSWORD}, as Windows Setup does in its cached copy`);
    if (!dryRun) await dropKeptPasswordWarning(platform, log);
    return 0;
  } catch (err) {
    const error = toAgentError(err);
    log.error(`clear-answer-file: ${error.code}: ${error.describe()}`, { code: error.code });
    return error.exitCode;
  }
}

/** The answer file holds no password now: the provisioning run's warning that it would (apply.ts) no longer holds. */
async function dropKeptPasswordWarning(platform: Platform, log: Log): Promise<void> {
  try {
    const state = await platform.readAgentState();
    const warnings = state?.warnings;
    if (state === undefined || warnings === undefined) return;
    const kept = warnings.filter((w) => !isKeptPasswordsWarning(w));
    if (kept.length === warnings.length) return;
    if (kept.length === 0) delete state.warnings;
    else state.warnings = kept;
    await platform.writeAgentState(state);
  } catch (err) {
    // The journal is for status; the file is cleared either way.
    log.warn(`clear-answer-file: the journal's warning about the answer file could not be dropped: ${toAgentError(err).reason}`);
  }
}
