import { join } from 'node:path';
import { readFile, rm } from 'node:fs/promises';
import { toAgentError } from '../errors.ts';
import { fetchUserData, type ImdsOptions } from '../net/imds.ts';
import { writeFileAtomic } from '../util/files.ts';
import { monotonicMs } from '../util/monotonic.ts';
import { escapeUnsafe } from '../util/escape.ts';
import type { FirstBootMode } from '../config.ts';
import type { Log } from '../util/log.ts';
import type { AgentState, Platform } from '../platform/platform.ts';
import type { FirstBootVerbs } from '../platform/first-boot-types.ts';
import { FIRST_BOOT_SCRIPT_FOLDER, firstBootLogName } from '../platform/state-names.ts';
import { decodeBase64, recognise } from './formats.ts';
import { OutputCapture } from './output.ts';
import { publishScript } from './publish.ts';
import { readFirstBootRecord, writeFirstBootRecord, type FirstBootRecord, type FirstBootSource, type ScriptRecord } from './record.ts';

/**
 * The first-boot script run (`winprov first-boot-script`, from SetupComplete.cmd): the image's switch
 * (winprov.json "firstBootScript") names the sources; each source's script runs at most once per VM id,
 * only once the fabric has acknowledged Ready, as the current user (SYSTEM), with a timeout, its output
 * to its own log. Nothing here can change the provisioning outcome: it starts after Ready, and every
 * failure ends as a record, a log line, KVP and an event, never as an exception.
 */

export type { FirstBootMode };

/** Azure's limit on custom data is 64 KiB; user data is capped the same for the script it may hold. */
export const MAX_SCRIPT_BYTES = 64 * 1024;

export interface FirstBootSettings {
  mode: FirstBootMode;
  timeoutMs: number;
  imds: Omit<ImdsOptions, 'onRetry' | 'maxResponseBytes'>;
}

export interface FirstBootContext {
  platform: Platform & FirstBootVerbs;
  log: Log;
  settings: FirstBootSettings;
}

/** Folder (inside the state folder, limited to SYSTEM and Administrators) the script file is written to. */
export const SCRIPT_FOLDER = FIRST_BOOT_SCRIPT_FOLDER;

export function sourcesOf(mode: FirstBootMode): FirstBootSource[] {
  return mode === 'both' ? ['customData', 'userData'] : mode === 'off' ? [] : [mode];
}

/** True when this VM's journal records a Ready the fabric acknowledged (2xx). */
export function readyAcknowledged(state: AgentState | undefined, vmId: string): boolean {
  if (state === undefined || state.vmId !== vmId) return false;
  return state.reports.some((r) => r.state === 'Ready' && r.httpStatus !== undefined && r.httpStatus >= 200 && r.httpStatus < 300);
}

/** Runs what is due; returns the record (undefined when the switch is off or Ready is not acknowledged). */
export async function runFirstBoot(ctx: FirstBootContext): Promise<FirstBootRecord | undefined> {
  const { platform, log, settings } = ctx;
  if (settings.mode === 'off') {
    log.info('first-boot script: off in this image (winprov.json "firstBootScript"); nothing is run');
    return undefined;
  }
  const vmId = await platform.readVmId();
  const state = await platform.readAgentState().catch(() => undefined);
  if (!readyAcknowledged(state, vmId)) {
    log.warn('first-boot script: not run, the fabric has not acknowledged Ready for this VM (state.json); a later run after Ready will run it');
    return undefined;
  }
  const earlier = await readFirstBootRecord(platform.stateDirectory).catch((err: unknown) => {
    // An unreadable record might have said "started": running again could run the script twice.
    log.warn(`first-boot script: ${toAgentError(err).reason}; nothing is run`);
    return null;
  });
  if (earlier === null) return undefined;
  const record: FirstBootRecord = earlier !== undefined && earlier.vmId === vmId ? earlier : { version: 1, vmId, scripts: [] };
  for (const source of sourcesOf(settings.mode)) {
    const found = record.scripts.find((s) => s.source === source);
    if (found === undefined || found.outcome === 'unavailable') {
      // A source that could not be read last time is tried again: nothing of it ran.
      if (found !== undefined) record.scripts.splice(record.scripts.indexOf(found), 1);
      await runSource(ctx, record, source);
    } else if (found.outcome === 'started') {
      found.outcome = 'interrupted';
      found.finishedAt = new Date().toISOString();
      found.reason = 'a run ended (killed, crashed or rebooted) while the script ran; it is not run again';
      if (found.outputLog !== undefined) found.tail = await lastLines(found.outputLog);
      await save(ctx, record);
      await rm(join(platform.stateDirectory, SCRIPT_FOLDER), { recursive: true, force: true }).catch(() => undefined);
      await publishScript(ctx, record, found);
    } else {
      log.info(`first-boot script (${source}): already done on this VM (${found.outcome}); not run again`);
    }
  }
  // Every run ends with the task as the record needs it, whoever registered it and whatever ended the
  // run that did (a removal that failed, a script that restarted Windows after it exited 0): kept only
  // for a source IMDS could not answer for, which the next start of Windows tries again.
  const retry = record.scripts.some((s) => s.outcome === 'unavailable');
  if (await setResumeTask(ctx, retry)) log.debug(`first-boot script: the startup task is ${retry ? 'registered, to try the unavailable source again at the next start of Windows' : 'not registered'}`);
  return record;
}

/**
 * The startup task that runs `winprov first-boot-script` at the next start of Windows (platform
 * setFirstBootResume). SetupComplete.cmd runs once: without the task, a script that restarts Windows
 * would stay "started" until someone runs first-boot-script. A failure is a warning: the script runs
 * either way, and "started" still keeps it from running twice. Returns whether the task was registered
 * (on) or removed (off); false when it failed, or there was none to remove.
 */
async function setResumeTask(ctx: FirstBootContext, on: boolean): Promise<boolean> {
  try {
    return await ctx.platform.setFirstBootResume(on);
  } catch (err) {
    ctx.log.warn(`first-boot script: the startup task that records a script's end after a restart could not be ${on ? 'registered' : 'removed'}: ${toAgentError(err).reason}`);
    return false;
  }
}

/** Runs one source's script if it has one. */
async function runSource(ctx: FirstBootContext, record: FirstBootRecord, source: FirstBootSource): Promise<void> {
  const { platform, log, settings } = ctx;
  const notRun = async (reason: string, outcome: 'not-run' | 'unavailable' = 'not-run'): Promise<void> => {
    const entry: ScriptRecord = { source, outcome, reason, finishedAt: new Date().toISOString() };
    record.scripts.push(entry);
    await save(ctx, record);
    await publishScript(ctx, record, entry);
  };
  let data: Uint8Array;
  try {
    const fetched = source === 'customData' ? await readCustomData(ctx) : await readUserData(ctx);
    if (typeof fetched === 'string') return await notRun(fetched);
    if (!(fetched instanceof Uint8Array)) return await notRun(fetched.unavailable, 'unavailable');
    data = fetched;
  } catch (err) {
    return await notRun(`the ${source} could not be read: ${toAgentError(err).reason}; a later run tries again`, 'unavailable');
  }
  const script = recognise(data);
  if (!script.run) return await notRun(`not a script winprov runs: ${script.reason}`);

  const folder = join(platform.stateDirectory, SCRIPT_FOLDER);
  const scriptPath = join(folder, `${source}${script.extension}`);
  const outputLog = join(platform.stateDirectory, firstBootLogName(source));
  const entry: ScriptRecord = { source, outcome: 'started', format: script.format, bytes: data.byteLength, outputLog };
  try {
    // The state folder is limited to SYSTEM and Administrators (ensureStateDirectory); the file inherits it.
    await writeFileAtomic(scriptPath, script.file);
  } catch (err) {
    return await notRun(`the script file could not be written: ${(err as NodeJS.ErrnoException).code ?? toAgentError(err).reason}; a later run tries again`, 'unavailable');
  }
  // Before "started" is saved: a run that dies in between left no "started", so the run the task starts
  // runs the script, once.
  entry.resumeTask = await setResumeTask(ctx, true);
  entry.startedAt = new Date().toISOString();
  record.scripts.push(entry);
  // Durable before the interpreter starts: a run that dies from here on leaves "started", never a second run.
  await save(ctx, record);
  log.info(`first-boot script (${source}): running ${script.format} with ${script.interpreter === 'cmd' ? 'cmd.exe' : 'Windows PowerShell'}, timeout ${Math.round(settings.timeoutMs / 1000)} s`);
  const capture = new OutputCapture(outputLog, Buffer.from(data).toString('utf8'));
  await capture.open(`first-boot script ${source} (${script.format}) started ${entry.startedAt}`).catch(() => undefined);
  const started = monotonicMs();
  try {
    const exit = await platform.runFirstBootScript({ scriptPath, interpreter: script.interpreter, timeoutMs: settings.timeoutMs, onOutput: (c) => capture.push(c) });
    entry.durationMs = Math.round(monotonicMs() - started);
    if (exit.timedOut) {
      entry.outcome = 'timed-out';
      entry.reason = `stopped after the timeout of ${Math.round(settings.timeoutMs / 1000)} s (setting firstBootTimeout)`;
    } else if (exit.spawnError !== undefined) {
      entry.outcome = 'failed';
      entry.reason = `the interpreter could not be started (${exit.spawnError})`;
    } else {
      entry.exitCode = exit.exitCode;
      entry.outcome = exit.exitCode === 0 ? 'succeeded' : 'failed';
    }
  } catch (err) {
    entry.durationMs = Math.round(monotonicMs() - started);
    entry.outcome = 'failed';
    entry.reason = toAgentError(err).reason;
  }
  await capture.close(`first-boot script ${source} ended: ${entry.outcome}${entry.exitCode !== undefined ? `, exit ${entry.exitCode}` : ''} after ${entry.durationMs} ms`);
  if (capture.failure !== undefined) log.warn(`first-boot script (${source}): its output log could not be written (${capture.failure})`);
  entry.tail = capture.tail();
  entry.finishedAt = new Date().toISOString();
  await save(ctx, record);
  await rm(scriptPath, { force: true }).catch(() => undefined);
  await publishScript(ctx, record, entry);
}

/** The bytes, or why there is nothing to run. */
async function readCustomData(ctx: FirstBootContext): Promise<Uint8Array | string> {
  const saved = await ctx.platform.readSavedCustomData(MAX_SCRIPT_BYTES);
  if (saved === undefined) return 'the VM has no custom data';
  if ('tooLarge' in saved) return `the custom data is ${saved.tooLarge} bytes, more than ${MAX_SCRIPT_BYTES}`;
  return saved.reveal();
}

async function readUserData(ctx: FirstBootContext): Promise<Uint8Array | string | { unavailable: string }> {
  const { log, settings } = ctx;
  const answer = await fetchUserData({
    ...settings.imds,
    // base64 of the cap, with room for line breaks.
    maxResponseBytes: Math.ceil((MAX_SCRIPT_BYTES * 4) / 3) + 4096,
    onRetry: (info) => log.info(`first-boot script: IMDS did not answer (${info.reason}); trying again in ${Math.round(info.delayMs / 100) / 10} s`),
  });
  if (answer.kind === 'unavailable') {
    if (!answer.absent) return { unavailable: `IMDS kept failing past its budget: ${answer.reason}; a later run tries again` };
    log.info(`first-boot script: IMDS is not available here, user data skipped (${answer.reason})`);
    return `IMDS is not available: ${answer.reason}`;
  }
  if (answer.kind === 'none') return 'the VM has no user data';
  const bytes = decodeBase64(answer.base64.reveal());
  if (bytes === undefined) return 'the user data IMDS gave is not base64';
  if (bytes.byteLength > MAX_SCRIPT_BYTES) return `the user data is ${bytes.byteLength} bytes, more than ${MAX_SCRIPT_BYTES}`;
  return bytes;
}

async function save(ctx: FirstBootContext, record: FirstBootRecord): Promise<void> {
  await writeFirstBootRecord(ctx.platform.stateDirectory, record);
}

/**
 * The last lines the interrupted script wrote, skipping the header: already redacted as they were
 * written, escaped here as OutputCapture escapes its tail (the file keeps what the script wrote).
 */
async function lastLines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split(/\r?\n/).slice(1).filter((l) => l.trim() !== '').slice(-20).map((l) => escapeUnsafe(l).slice(0, 200));
}
