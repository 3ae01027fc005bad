import { closeSync, constants, fstatSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { Logger } from 'tslog';

/**
 * The agent's log: short human lines on the console (and mirrored to a serial port so Azure boot
 * diagnostics show progress), JSON lines in a size-rotated file in the state folder. Every record
 * passes tslog's masking first, so a secret that slips into a field or a message is replaced before
 * any sink sees it; the Secret wrapper is the first line of defence, this is the second.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Log {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** Starts writing JSON lines to a file (once the state folder is known). */
  attachFile(path: string): void;
  /** Closes the file and the serial mirror it holds open; later lines go to the console only. */
  close(): void;
}

export interface LogOptions {
  /** Lowest level printed on the console. */
  consoleLevel: LogLevel;
  /** Lowest level written to the file and the serial mirror. */
  fileLevel?: LogLevel;
  /** Where human lines go; default process.stdout. */
  write?: (line: string) => void;
  /** JSON-lines file; may also be attached later with attachFile. */
  filePath?: string;
  /** Rotation: the file is rotated when it would pass maxFileBytes; maxFiles older files are kept. */
  maxFileBytes?: number;
  maxFiles?: number;
  /** A serial port ("COM1" or "\\\\.\\COM1") or any file or pipe path mirroring the human lines. */
  serial?: string;
  /** Clock, for tests. */
  now?: () => Date;
}

const LEVEL_IDS: Record<LogLevel, number> = { debug: 2, info: 3, warn: 4, error: 5 };
const LEVEL_NAMES: Record<number, LogLevel> = { 2: 'debug', 3: 'info', 4: 'warn', 5: 'error' };

/** Field names whose values are always masked, whatever the casing (tslog compares case-insensitively). */
export const MASKED_KEYS = [
  'password', 'adminPassword', 'newPassword', 'customData', 'pfx', 'pfxBase64', 'keyPem', 'privateKey',
  'x-ms-guest-agent-public-x509-cert', 'content', 'secret',
];

/** An element whose text (up to the next `<`) is a secret: an ovf-env password or custom data; any case. */
export const SECRET_ELEMENT = /<(?:\w+:)?(?:(?:Admin|User)?Password|CustomData)>/i;
/**
 * The first and last line of a private key's armored block: PEM (RFC 7468: PRIVATE KEY, RSA, EC, ENCRYPTED,
 * OPENSSH ...) and OpenPGP's ASCII armor (RFC 4880 6.2: "PGP PRIVATE KEY BLOCK").
 */
export const PRIVATE_KEY_BEGIN = /-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----/;
export const PRIVATE_KEY_END = /-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----/;

/**
 * Secrets that can appear inside text (an ovf-env fragment, a PEM block). Both can span lines: text
 * redacted line by line must track them across lines itself (first-boot/mask.ts does).
 */
const MASKED_PATTERNS = [
  new RegExp(`(?<=${SECRET_ELEMENT.source})[^<]*`, 'gi'),
  new RegExp(`${PRIVATE_KEY_BEGIN.source}[\\s\\S]*?${PRIVATE_KEY_END.source}`, 'g'),
];

/** Applies the log's text masking to any text (collect-logs runs every file through it). */
export function redactText(text: string): string {
  return MASKED_PATTERNS.reduce((out, pattern) => out.replace(pattern, '[redacted]'), text);
}

export function createLog(options: LogOptions): Log {
  const consoleLevel = LEVEL_IDS[options.consoleLevel];
  const fileLevel = LEVEL_IDS[options.fileLevel ?? 'debug'];
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const now = options.now ?? (() => new Date());
  const maxFileBytes = options.maxFileBytes ?? 4 * 1024 * 1024;
  const maxFiles = options.maxFiles ?? 3;
  let file = options.filePath === undefined ? undefined : new LogFile(options.filePath, maxFileBytes, maxFiles);
  let fileBroken = false;
  const serial = options.serial ? openSerial(options.serial, write) : undefined;

  const logger = new Logger<LogFields>({
    type: 'hidden',
    strictConfig: true,
    stack: { capture: 'off' },
    minLevel: Math.min(consoleLevel, fileLevel),
    mask: { keys: MASKED_KEYS, caseInsensitive: true, regex: MASKED_PATTERNS, placeholder: '[redacted]' },
  });

  logger.attachTransport({
    name: 'winprov',
    // The transport writes its own lines from the masked record. Without a format of its own, tslog
    // would render a JSON line for it on every call (its default for "hidden") that nothing reads.
    format: () => '',
    write(record) {
      const meta = (record as { _logMeta?: { logLevelId?: number } })._logMeta;
      const levelId = meta?.logLevelId ?? 3;
      const level = LEVEL_NAMES[levelId] ?? 'info';
      const { message, fields } = unpack(record);
      const at = now();
      const human = `${at.toISOString().slice(11, 23)} ${level === 'info' ? '' : `${level.toUpperCase()} `}${message}\n`;
      if (levelId >= consoleLevel) {
        write(human);
        serial?.write(human);
      }
      if (levelId < fileLevel) return;
      if (file !== undefined && !fileBroken) {
        const line = `${JSON.stringify({ time: at.toISOString(), level, message, ...fields })}\n`;
        try {
          file.append(line);
        } catch (err) {
          // A log that cannot be written must not fail provisioning; say so once on the console.
          fileBroken = true;
          file.close();
          write(`WARN log file ${file.path} cannot be written (${(err as NodeJS.ErrnoException).code ?? 'error'}); logging to the console only\n`);
        }
      }
    },
  });

  const emit = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (fields === undefined) logger[level]({ message });
    else logger[level]({ ...fields, message });
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    attachFile(path: string) {
      file?.close();
      file = new LogFile(path, maxFileBytes, maxFiles);
      fileBroken = false;
    },
    close() {
      file?.close();
      file = undefined;
      serial?.close();
    },
  };
}

/** A log that drops everything, for library callers that pass none. */
export function silentLog(): Log {
  const nothing = () => {};
  return { debug: nothing, info: nothing, warn: nothing, error: nothing, attachFile: nothing, close: nothing };
}

function unpack(record: LogFields): { message: string; fields: LogFields } {
  const fields: LogFields = {};
  let message = '';
  for (const [key, value] of Object.entries(record)) {
    if (key === '_logMeta') continue;
    if (key === 'message') message = String(value);
    else fields[key] = value;
  }
  return { message, fields };
}

/**
 * The JSON-lines file: each line is one synchronous write on a descriptor opened once, in append mode
 * (a SIGKILL right after a line loses nothing: the kernel has it when writeSync returns), rotated by
 * size. Opening, checking and closing the file for every line cost three more system calls a line, and
 * on Windows antivirus scans a written file when its handle closes. If another process renames the
 * file meanwhile, the lines follow the open file into its new name (collect-logs takes every generation).
 */
class LogFile {
  #fd: number | undefined;
  #size = 0;
  /** After a rotation that failed, the size at which it is tried again. */
  #rotateAgainAt = 0;

  readonly path: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;

  constructor(path: string, maxBytes: number, maxFiles: number) {
    this.path = path;
    this.#maxBytes = maxBytes;
    this.#maxFiles = maxFiles;
  }

  append(line: string): void {
    const bytes = Buffer.from(line);
    if (this.#fd === undefined) this.#open();
    if (this.#size > 0 && this.#size + bytes.length > this.#maxBytes && this.#size >= this.#rotateAgainAt) {
      this.close();
      try {
        rotate(this.path, this.#maxFiles);
        this.#rotateAgainAt = 0;
      } catch {
        // On Windows antivirus or the indexer can hold a generation for a moment (EPERM, EBUSY): the
        // lines go on into the current file, and the rotation is tried again a little later.
        this.#rotateAgainAt = this.#size + Math.ceil(this.#maxBytes / 16);
      }
      this.#open();
    }
    for (let written = 0; written < bytes.length;) written += writeSync(this.#fd!, bytes, written);
    this.#size += bytes.length;
  }

  close(): void {
    if (this.#fd === undefined) return;
    closeQuietly(this.#fd);
    this.#fd = undefined;
  }

  #open(): void {
    try {
      this.#fd = openSync(this.path, 'a', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(dirname(this.path), { recursive: true });
      this.#fd = openSync(this.path, 'a', 0o600);
    }
    this.#size = fstatSync(this.#fd).size;
  }
}

/** winprov.log becomes winprov.log.1, .1 becomes .2 ..., and the oldest beyond maxFiles goes. */
function rotate(path: string, maxFiles: number): void {
  rmSync(`${path}.${maxFiles}`, { force: true });
  for (let i = maxFiles - 1; i >= 1; i--) {
    try {
      renameSync(`${path}.${i}`, `${path}.${i + 1}`);
    } catch {
      // That generation does not exist yet.
    }
  }
  renameSync(path, `${path}.1`);
}

/**
 * Opens the serial mirror; a port that cannot be opened, or stops taking writes, is said once on the
 * console and then left alone: the mirror is for boot diagnostics, never a reason to fail. A COM port
 * name means nothing elsewhere than on Windows (it would be a file of that name in the current folder).
 */
function openSerial(target: string, say: (line: string) => void): { write(line: string): void; close(): void } {
  const port = /^COM\d+$/i.test(target);
  let fd: number | undefined;
  if (port && process.platform !== 'win32') {
    say(`WARN serial port ${target}: COM ports exist on Windows only; progress is not mirrored\n`);
  } else {
    try {
      fd = port ? openSync(`\\\\.\\${target.toUpperCase()}`, 'a') : openSync(target, mirrorOpenFlags(target));
    } catch (err) {
      say(`WARN serial port ${target} cannot be opened (${(err as NodeJS.ErrnoException).code ?? 'error'}); progress is not mirrored there\n`);
    }
  }
  const close = (): void => {
    if (fd === undefined) return;
    closeQuietly(fd);
    fd = undefined;
  };
  return {
    write(line: string) {
      if (fd === undefined) return;
      try {
        // Serial consoles expect CRLF; boot diagnostics render it either way.
        writeSync(fd, line.replace(/\n/g, '\r\n'));
      } catch (err) {
        close();
        say(`WARN serial port ${target} stopped taking writes (${(err as NodeJS.ErrnoException).code ?? 'error'}); progress is no longer mirrored there\n`);
      }
    },
    close,
  };
}

/**
 * How a mirror path is opened: appending, created when missing. A FIFO is opened without blocking, so one
 * with no reader is ENXIO at once (POSIX open(2)) where a blocking open would wait for a reader for good;
 * its writes then never block either, and a full pipe stops the mirror like any failed write.
 */
function mirrorOpenFlags(target: string): number {
  const append = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
  const fifo = statSync(target, { throwIfNoEntry: false })?.isFIFO() === true;
  return fifo && constants.O_NONBLOCK !== undefined ? append | constants.O_NONBLOCK : append;
}

/** Closes a descriptor this module opened; one already gone has nothing left to keep. */
function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already gone.
  }
}
