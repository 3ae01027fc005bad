import { randomUUID } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RunLockedError } from './errors.ts';
import { bootTime, processExists, processStartToken } from './util/process-identity.ts';
import type { Log } from './util/log.ts';
import { LOCK_FILE } from './platform/state-names.ts';

/**
 * One run at a time (issue "Hold up against a hostile or broken fabric": two runs at once both applied
 * everything and both reported). The lock is a file in the state folder, created whole (create() below),
 * holding its holder's pid, start time, boot time and a nonce. A second run waits briefly, then refuses.
 *
 * A lock whose holder is gone (killed) is stale: its pid is not running, or runs another process (the
 * start time differs where the OS gives it: /proc on Linux), or it was taken under an earlier boot.
 * Taking a stale lock over is itself guarded: only the waiter that creates "<lock>.takeover-<nonce>"
 * (O_EXCL again) may remove the lock with that nonce, after reading it again; so two waiters never both
 * take over, and a lock taken over meanwhile (another nonce) is left alone.
 */

export { LOCK_FILE };

export interface LockHolder {
  version: 1;
  pid: number;
  /** The holder's start time as the OS gives it (process-identity.ts), when it does. */
  processStart?: string;
  /** Boot time (ms epoch) when the lock was taken. */
  bootTime: number;
  command: string;
  acquiredAt: string;
  nonce: string;
}

export interface AcquireOptions {
  directory: string;
  command: string;
  /** How long to wait for a held lock before refusing. */
  waitMs: number;
  /** How often a waiter looks again. */
  pollMs?: number;
  log: Log;
  /**
   * The caller holds the OS's run lock (exclusive-run.ts), which every run takes before this file and
   * keeps until after releasing it: any lock file found is then stale.
   */
  ownerOfOsLock?: boolean;
}

/** A lock file that is empty or half-written this long after its creation was left by a killed run. */
const INCOMPLETE_MS = 5_000;
/** Boot times read at different moments differ by rounding and clock adjustment; beyond this, another boot. */
const BOOT_TOLERANCE_MS = 10 * 60_000;

type Found = { kind: 'gone' } | { kind: 'holder'; holder: LockHolder; identity: string } | { kind: 'incomplete'; identity: string; ageMs: number };
type Attempt = { acquired: true } | { acquired: false; holder: LockHolder | undefined };

export class RunLock {
  readonly path: string;
  readonly holder: LockHolder;
  #released = false;
  readonly #onExit: () => void;

  private constructor(path: string, holder: LockHolder) {
    this.path = path;
    this.holder = holder;
    // Every exit path: process.exit() from a crash handler skips finally blocks, not 'exit' listeners.
    this.#onExit = () => releaseSync(path, holder.nonce);
    process.once('exit', this.#onExit);
  }

  /** Takes the lock, waiting up to waitMs for a live holder; throws RunLockedError when it stays held. */
  static async acquire(options: AcquireOptions): Promise<RunLock> {
    await mkdir(options.directory, { recursive: true, mode: 0o700 });
    const path = join(options.directory, LOCK_FILE);
    const holder: LockHolder = {
      version: 1,
      pid: process.pid,
      ...optional('processStart', await processStartToken(process.pid)),
      bootTime: bootTime(),
      command: options.command,
      acquiredAt: new Date().toISOString(),
      nonce: randomUUID(),
    };
    const until = Date.now() + options.waitMs;
    let announced = false;
    for (;;) {
      const attempt = await tryAcquire(path, holder, options.log, 0, options.ownerOfOsLock === true);
      if (attempt.acquired) return new RunLock(path, holder);
      const other = attempt.holder === undefined ? 'another winprov run' : describeHolder(attempt.holder);
      if (Date.now() >= until) {
        throw new RunLockedError(`${other} holds ${path}; this ${options.command} waited ${Math.round(options.waitMs / 100) / 10} s and stops without changing anything`);
      }
      if (!announced) options.log.warn(`${other} holds ${path}; waiting up to ${Math.round(options.waitMs / 100) / 10} s for it to end`);
      announced = true;
      await sleep(Math.min(options.pollMs ?? 200, Math.max(1, until - Date.now())));
    }
  }

  /** Removes the lock file if it is still this holder's. Safe to call twice. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    process.removeListener('exit', this.#onExit);
    const found = await readLock(this.path);
    if (found.kind === 'holder' && found.holder.nonce === this.holder.nonce) await unlink(this.path).catch(() => undefined);
  }
}

async function tryAcquire(path: string, holder: LockHolder, log: Log, depth: number, ownerOfOsLock: boolean): Promise<Attempt> {
  for (let tries = 0; tries < 3; tries++) {
    if (await create(path, holder)) return { acquired: true };
    const found = await readLock(path);
    // Released between our create and our read: try to create it again at once.
    if (found.kind === 'gone') continue;
    const stale = ownerOfOsLock ? 'this run holds the OS run lock (named mutex), so the run that wrote it has ended' : await staleness(found);
    const current = found.kind === 'holder' ? found.holder : undefined;
    if (stale === undefined || depth >= 2) return { acquired: false, holder: current };
    // Only the waiter that creates the takeover guard for this very lock may remove it.
    const guardPath = `${path}.takeover-${found.identity.replace(/[^A-Za-z0-9-]/g, '')}`;
    const guard = await tryAcquire(guardPath, { ...holder, nonce: randomUUID() }, log, depth + 1, false);
    if (!guard.acquired) return { acquired: false, holder: current };
    try {
      const again = await readLock(path);
      if (again.kind !== 'gone' && again.identity === found.identity) {
        // Windows refuses to remove a file another waiter has open to read: it is tried again next poll.
        if (!(await unlink(path).then(() => true, () => false))) return { acquired: false, holder: current };
        if (depth === 0) log.warn(`took over the lock ${path} left by ${current === undefined ? 'a run killed while taking it' : describeHolder(current)}: ${stale}`);
      }
      return (await create(path, holder)) ? { acquired: true } : { acquired: false, holder: current };
    } finally {
      await unlink(guardPath).catch(() => undefined);
    }
  }
  return { acquired: false, holder: undefined };
}

/**
 * Creates the lock file whole: written and flushed under a name of its own, then hard-linked to the lock's
 * name, which fails when that exists (link(2), CreateHardLink: EEXIST). A file created with O_EXCL and then
 * written could be seen empty, and a creator stalled between the two for longer than INCOMPLETE_MS found
 * its lock taken over while it went on as the holder. False when the lock exists.
 */
async function create(path: string, holder: LockHolder): Promise<boolean> {
  // Not the pattern removeLeftoverTemporaryFiles clears: a waiter's file must never go from under it.
  const own = `${path}.${holder.nonce}.new`;
  const handle = await open(own, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(`${JSON.stringify(holder)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(own, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(own).catch(() => undefined);
  }
}

/** Whether a run holds the lock in this state folder now (a holder that is gone does not count). For status. */
export async function lockHeld(directory: string): Promise<boolean> {
  const found = await readLock(join(directory, LOCK_FILE)).catch(() => ({ kind: 'gone' }) as const);
  return found.kind !== 'gone' && (await staleness(found)) === undefined;
}

async function readLock(path: string): Promise<Found> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, mtimeMs] = await Promise.all([readFile(path, 'utf8'), stat(path).then((s) => s.mtimeMs)]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    throw err;
  }
  try {
    const value = JSON.parse(text) as LockHolder;
    if (value.version === 1 && Number.isSafeInteger(value.pid) && typeof value.nonce === 'string' && typeof value.bootTime === 'number') {
      return { kind: 'holder', holder: value, identity: value.nonce };
    }
  } catch {
    // Empty or half-written: its creator was killed between creating and writing it, or is writing it now.
  }
  return { kind: 'incomplete', identity: `incomplete-${Math.round(mtimeMs)}-${text.length}`, ageMs: Date.now() - mtimeMs };
}

/** Why the lock has no live holder, or undefined when its holder may still be running. */
async function staleness(found: Exclude<Found, { kind: 'gone' }>): Promise<string | undefined> {
  if (found.kind === 'incomplete') return found.ageMs > INCOMPLETE_MS ? `the lock file is incomplete and ${Math.round(found.ageMs / 1000)} s old` : undefined;
  const { holder } = found;
  if (!processExists(holder.pid)) return `process ${holder.pid} is no longer running`;
  // Where the OS names a process's start (and boot), that settles it: the boot time below is worked out
  // from the wall clock, and a clock stepped by more than the tolerance made a live holder look stale.
  const now = await processStartToken(holder.pid);
  if (holder.processStart !== undefined && now !== undefined) return now === holder.processStart ? undefined : `process id ${holder.pid} now belongs to another process`;
  if (Math.abs(holder.bootTime - bootTime()) > BOOT_TOLERANCE_MS) return 'it was taken before the machine last started';
  return undefined;
}

function describeHolder(holder: LockHolder): string {
  return `another winprov ${holder.command} (pid ${holder.pid}, since ${holder.acquiredAt})`;
}

function releaseSync(path: string, nonce: string): void {
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    if (holder.nonce === nonce) unlinkSync(path);
  } catch {
    // Gone already, or not ours: nothing to release.
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
