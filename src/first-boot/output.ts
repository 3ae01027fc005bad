import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { escapeUnsafe } from '../util/escape.ts';
import { OutputMasker } from './mask.ts';

/**
 * The script's output (standard output and error, in order) to its own log file in the state folder,
 * line by line through the log's redaction plus the script's own text (mask.ts: the script came from
 * custom data or user data, which are secrets, so a line of it echoed back is masked too). The file is
 * rotated at MAX_FILE_BYTES (one older file kept, `.1`), and the last lines stay in memory for the
 * journal, status and KVP.
 */

export const MAX_FILE_BYTES = 1024 * 1024;
const TAIL_LINES = 20;
const TAIL_LINE_CHARS = 200;
/**
 * Output waiting for the file is held up to this much; beyond it lines are dropped and counted (a line in
 * the file says how many), so a script printing faster than the disk takes it cannot fill memory or hold
 * the run long after it ended.
 */
const MAX_PENDING_BYTES = 1024 * 1024;
/** One write takes at most this much of the waiting output, so rotation stays near MAX_FILE_BYTES. */
const MAX_WRITE_BYTES = 64 * 1024;

export class OutputCapture {
  readonly path: string;
  readonly #masker: OutputMasker;
  readonly #tail: string[] = [];
  readonly #decoder = new TextDecoder('utf-8');
  #file: FileHandle | undefined;
  #written = 0;
  /** Lines waiting for the file, each with its newline, and their size in UTF-16 units (close to bytes for logs). */
  #pending: string[] = [];
  #pendingSize = 0;
  /** Lines dropped since the last one taken, said in the file before the next one. */
  #dropped = 0;
  /** The write under way, if any; it takes the waiting lines until there are none. */
  #writing: Promise<void> | undefined;
  #failed: string | undefined;

  constructor(path: string, scriptText: string) {
    this.path = path;
    this.#masker = new OutputMasker(scriptText);
  }

  /** Opens the file, replacing an earlier one (a first-boot script runs once). */
  async open(header: string): Promise<void> {
    this.#file = await open(this.path, 'w', 0o600);
    await this.#write(`${header}\n`);
  }

  /** Takes a chunk as the interpreter gives it. */
  push(chunk: Uint8Array): void {
    for (const line of this.#masker.feed(this.#decoder.decode(chunk, { stream: true }))) this.#line(line);
  }

  /** Flushes the last line and closes the file; a footer line says how the script ended. */
  async close(footer: string): Promise<void> {
    for (const line of [...this.#masker.feed(this.#decoder.decode()), ...this.#masker.end()]) this.#line(line);
    this.#take(`${footer}\n`, true);
    await this.#writing;
    await this.#file?.close().catch(() => undefined);
    this.#file = undefined;
  }

  /** The last lines, redacted and escaped (util/escape.ts), each at most 200 characters. */
  tail(count: number = TAIL_LINES): string[] {
    return this.#tail.slice(-count);
  }

  /** Why the file could not be written, if it could not (the run goes on: the output is a diagnostic). */
  get failure(): string | undefined {
    return this.#failed;
  }

  /**
   * One masked line (or piece of a long one). The tail goes to the console, status and KVP, so its control
   * characters are escaped (an ESC sequence could rewrite the outcome line above it); the file keeps the
   * line as the script wrote it, like any program's log, for whoever reads it with the tools they choose.
   */
  #line(line: string): void {
    if (line.trim() !== '') {
      this.#tail.push(escapeUnsafe(line).slice(0, TAIL_LINE_CHARS));
      if (this.#tail.length > TAIL_LINES) this.#tail.shift();
    }
    this.#take(`${line}\n`, false);
  }

  /** Queues text for the file, or drops and counts it while MAX_PENDING_BYTES are waiting (never the footer). */
  #take(text: string, always: boolean): void {
    if (!always && this.#pendingSize + text.length > MAX_PENDING_BYTES) {
      this.#dropped += 1;
      return;
    }
    if (this.#dropped > 0) {
      const notice = `[winprov: ${this.#dropped} lines of output dropped here: the script printed faster than they could be written]\n`;
      this.#dropped = 0;
      this.#pending.push(notice);
      this.#pendingSize += notice.length;
    }
    this.#pending.push(text);
    this.#pendingSize += text.length;
    this.#writing ??= this.#drain().finally(() => {
      this.#writing = undefined;
    });
  }

  /** Writes the waiting lines in batches until none are left. */
  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const lines = this.#pending;
      this.#pending = [];
      for (let at = 0; at < lines.length;) {
        let batch = '';
        while (at < lines.length && (batch === '' || batch.length + lines[at]!.length <= MAX_WRITE_BYTES)) batch += lines[at++];
        await this.#write(batch);
        this.#pendingSize -= batch.length;
      }
    }
  }

  async #write(text: string): Promise<void> {
    if (this.#file === undefined || this.#failed !== undefined) return;
    try {
      const bytes = Buffer.from(text, 'utf8');
      if (this.#written + bytes.byteLength > MAX_FILE_BYTES && this.#written > 0) await this.#rotate();
      await this.#file.write(bytes);
      this.#written += bytes.byteLength;
    } catch (err) {
      this.#failed = (err as NodeJS.ErrnoException).code ?? 'error';
    }
  }

  async #rotate(): Promise<void> {
    await this.#file!.close();
    await rm(`${this.path}.1`, { force: true });
    await rename(this.path, `${this.path}.1`);
    this.#file = await open(this.path, 'w', 0o600);
    this.#written = 0;
  }
}
