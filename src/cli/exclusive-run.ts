import { RunLock } from '../run-lock.ts';
import { RunLockedError } from '../errors.ts';
import { removeLeftoverTemporaryFiles, setRenameRetryLog } from '../util/files.ts';
import type { Log } from '../util/log.ts';
import type { Platform } from '../platform/platform.ts';

/**
 * Runs a command that changes the machine (provision, prepare-image) under the run lock (run-lock.ts)
 * and the platform's own (Windows: a named mutex), after removing the temporary files a killed run left in the state folder; the lock is released on
 * every way out (and by an exit listener when the process exits without unwinding).
 */
export async function exclusively<T>(platform: Pick<Platform, 'stateDirectory' | 'holdRunMutex'>, options: { command: string; waitMs: number; log: Log }, work: () => Promise<T>): Promise<T> {
  const { log } = options;
  const stateDirectory = platform.stateDirectory;
  // The OS's own lock first (Windows: a named mutex, which Windows releases when its holder dies and no
  // reused pid or clock can fool); like the file, a mutex that cannot be asked about must not stop the run.
  const mutex = await platform.holdRunMutex(options.waitMs).catch((err: unknown) => {
    log.warn(`the run mutex could not be taken (${err instanceof Error ? err.message : String(err)}); carrying on without it`);
    return 'none' as const;
  });
  if (mutex === 'busy') {
    throw new RunLockedError(`another winprov run holds the named mutex Global\\winprov-run; this ${options.command} waited ${Math.round(options.waitMs / 100) / 10} s and stops without changing anything`);
  }
  // .NET's Mutex documentation: a thread that ends while owning a mutex abandons it, and the next waiter
  // gets it with an AbandonedMutexException; "in the case of a system-wide mutex, an abandoned mutex might
  // indicate that an application has been terminated abruptly". Here the application is the holder's
  // PowerShell process, not its run: a run outlives a PowerShell that timed out or crashed and starts
  // another (session.ts). A run that ends releases the mutex (host.ps1), so abandoned means a PowerShell
  // died; whether its run did, only the lock file's holder can tell, as without the mutex.
  if (mutex === 'abandoned') log.info('the run mutex Global\\winprov-run was abandoned (a PowerShell process that held it ended without releasing it); a lock file found is checked against its holder');
  let lock: RunLock | undefined;
  try {
    // With the mutex held (and released by its last holder) no other run is between taking its locks
    // and releasing them (the file goes first, the mutex when the platform closes): a lock file there now
    // was left by a run that ended. On Windows only this tells a killed run's lock from a live one: pids
    // are reused early in every boot, and Windows gives Node no process start time to tell them apart.
    lock = await RunLock.acquire({ directory: stateDirectory, command: options.command, waitMs: options.waitMs, log, ownerOfOsLock: mutex === 'held' });
  } catch (err) {
    if (err instanceof RunLockedError) throw err;
    // A state folder where no lock can be written must not stop a VM from being provisioned.
    log.warn(`the run lock could not be taken (${err instanceof Error ? err.message : String(err)}); carrying on without it`);
  }
  // A rename retried because antivirus held the file (util/files.ts) is worth a line in this run's log.
  setRenameRetryLog((message) => log.warn(message));
  try {
    const removed = await removeLeftoverTemporaryFiles(stateDirectory);
    if (removed.length > 0) log.info(`removed ${removed.length} temporary file(s) an interrupted run left in ${stateDirectory}: ${removed.join(', ')}`);
    return await work();
  } finally {
    setRenameRetryLog(undefined);
    await lock?.release();
  }
}
