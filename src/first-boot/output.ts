import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { redactText } from '../util/log.ts';

/**
 * The script's output (standard output and error, in order) to its own log file in the state folder,
 * line by line through the log's redaction plus the script's own text: the script came from custom data
 * or user data, which are secrets, so a line of it echoed back (`type script.cmd`, a transcript) is
 * masked too. The file is rotated at MAX_FILE_BYTES (one older file kept, `.1`), and the last lines stay
 * in memory for the journal, status and KVP.
 */

export const MAX_FILE_BYTES = 1024 * 1024;
const TAIL_LINES = 20;
const TAIL_LINE_CHARS = 200;
/** Shorter lines of the script ("exit 0", "}") are too common to mask; longer ones are its content. */
const MIN_SECRET_LINE = 8;
/** A line without an end is cut here, so a script printing without newlines cannot hold everything in memory. */
const MAX_LINE_CHARS = 16 * 1024;

export class OutputCapture {
  readonly path: string;
  readonly #secrets: string[];
  readonly #tail: string[] = [];
  readonly #decoder = new TextDecoder('utf-8');
  #partial = '';
  #file: FileHandle | undefined;
  #written = 0;
  #queue: Promise<void> = Promise.resolve();
  #failed: string | undefined;

  constructor(path: string, scriptText: string) {
    this.path = path;
    this.#secrets = [...new Set(scriptText.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length >= MIN_SECRET_LINE))]
      .sort((a, b) => b.length - a.length);
  }

  /** Opens the file, replacing an earlier one (a first-boot script runs once). */
  async open(header: string): Promise<void> {
    this.#file = await open(this.path, 'w', 0o600);
    await this.#write(`${header}\n`);
  }

  /** Takes a chunk as the interpreter gives it. */
  push(chunk: Uint8Array): void {
    this.#partial += this.#decoder.decode(chunk, { stream: true });
    const lines = this.#partial.split(/\r?\n/);
    this.#partial = lines.pop()!;
    if (this.#partial.length > MAX_LINE_CHARS) {
      lines.push(this.#partial);
      this.#partial = '';
    }
    for (const line of lines) this.#line(line);
  }

  /** Flushes the last line and closes the file; a footer line says how the script ended. */
  async close(footer: string): Promise<void> {
    const rest = this.#partial + this.#decoder.decode();
    this.#partial = '';
    if (rest !== '') this.#line(rest);
    this.#queue = this.#queue.then(() => this.#write(`${footer}\n`));
    await this.#queue;
    await this.#file?.close().catch(() => undefined);
    this.#file = undefined;
  }

  /** The last lines, redacted, each at most 200 characters. */
  tail(count: number = TAIL_LINES): string[] {
    return this.#tail.slice(-count);
  }

  /** Why the file could not be written, if it could not (the run goes on: the output is a diagnostic). */
  get failure(): string | undefined {
    return this.#failed;
  }

  redact(line: string): string {
    let out = redactText(line);
    for (const secret of this.#secrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    return out;
  }

  #line(raw: string): void {
    const line = this.redact(raw);
    if (line.trim() !== '') {
      this.#tail.push(line.slice(0, TAIL_LINE_CHARS));
      if (this.#tail.length > TAIL_LINES) this.#tail.shift();
    }
    this.#queue = this.#queue.then(() => this.#write(`${line}\n`));
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
