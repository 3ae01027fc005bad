import { redactText } from '../util/log.ts';

/**
 * Cuts a first-boot script's output into lines and masks what may be secret in them, for OutputCapture.
 * The script came from custom data or user data, which are secrets, so any of its lines echoed back
 * (`type script.cmd`, a transcript) is masked wherever it falls in the output, then the log's redaction
 * runs on the result. A line with no end is released in pieces, so a script printing without newlines
 * cannot hold everything in memory; the read boundaries and the cuts never decide what is masked.
 */

/** Shorter lines of the script ("exit 0", "}") are too common to mask; longer ones are its content. */
const MIN_SECRET_LINE = 8;
/** A line without an end is released in pieces of at least this many characters. */
export const MAX_LINE_CHARS = 16 * 1024;
/**
 * At most this much is held back before a cut (a script is at most 64 KiB, so its lines fit); with a
 * longer script line, every piece of a line with no end is masked whole rather than held without bound.
 */
const MAX_HOLD_CHARS = 64 * 1024;

export class OutputMasker {
  readonly #secrets: string[];
  /**
   * Characters kept back at the end of a line with no end when a piece is cut from it: one fewer than the
   * longest script line, so an echo of one that starts in the piece also ends within what was read.
   */
  readonly #hold: number;
  /** The script has a line longer than the hold: pieces cannot be checked, they are masked whole. */
  readonly #tooLong: boolean;
  /** A piece is cut once this much more than the hold waits, so a cut scans at most twice what it releases. */
  readonly #step: number;
  /** The line read so far, without its end. */
  #partial = '';
  /** Characters at the start of #partial that continue a script line masked at the end of the last piece. */
  #maskedAhead = 0;

  constructor(scriptText: string) {
    this.#secrets = [...new Set(scriptText.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length >= MIN_SECRET_LINE))];
    const longest = this.#secrets.reduce((max, s) => Math.max(max, s.length), 0);
    this.#tooLong = longest - 1 > MAX_HOLD_CHARS;
    this.#hold = Math.min(Math.max(longest - 1, 0), MAX_HOLD_CHARS);
    this.#step = Math.max(MAX_LINE_CHARS, this.#hold);
  }

  /** Takes decoded output; returns the lines, and pieces of long lines, ready to write. */
  feed(text: string): string[] {
    const out: string[] = [];
    let from = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
      const line = this.#partial + text.slice(from, nl);
      this.#partial = '';
      out.push(this.#release(line.endsWith('\r') ? line.slice(0, -1) : line, undefined));
      from = nl + 1;
    }
    this.#partial += text.slice(from);
    while (this.#partial.length > this.#step + this.#hold) out.push(this.#cut());
    return out;
  }

  /** The last line, at the end of the output, if it had no end. */
  end(): string[] {
    const rest = this.#partial;
    this.#partial = '';
    return rest === '' ? [] : [this.#release(rest, undefined)];
  }

  /** Releases the start of a line with no end, keeping #hold characters for the next piece. */
  #cut(): string {
    const text = this.#partial;
    let end = text.length - this.#hold;
    // Not between the two halves of a surrogate pair (each would be written as U+FFFD).
    const before = text.charCodeAt(end - 1);
    if (before >= 0xd800 && before <= 0xdbff) end -= 1;
    if (this.#tooLong) this.#maskedAhead = Infinity;
    this.#partial = text.slice(end);
    return this.#release(text, end);
  }

  /**
   * Masks text[0, end), or the whole of a finished line when end is undefined. For a piece, a script line
   * starting before the cut is complete in text (the hold): its part past the cut is masked in the next one.
   */
  #release(text: string, cut: number | undefined): string {
    const end = cut ?? text.length;
    let marks: Int32Array | undefined;
    // +1 where a masked span starts, -1 where it ends: spans overlap freely and cost O(1) each.
    const mark = (from: number, to: number): void => {
      if (Math.min(to, end) <= from) return;
      marks ??= new Int32Array(end + 1);
      marks[from]! += 1;
      marks[Math.min(to, end)]! -= 1;
    };
    mark(0, this.#maskedAhead);
    let reach = end;
    for (const secret of this.#secrets) {
      for (let at = text.indexOf(secret); at !== -1 && at < end; at = text.indexOf(secret, at + secret.length)) {
        mark(at, at + secret.length);
        reach = Math.max(reach, at + secret.length);
      }
    }
    this.#maskedAhead = cut === undefined ? 0 : this.#tooLong ? Infinity : reach - end;
    const raw = end === text.length ? text : text.slice(0, end);
    return redactText(marks === undefined ? raw : masked(raw, marks));
  }
}

/** Each run of marked characters becomes one [redacted]. */
function masked(raw: string, marks: Int32Array): string {
  let out = '';
  let depth = 0;
  let from = 0;
  for (let i = 0; i <= raw.length; i++) {
    const next = depth + marks[i]!;
    if (depth === 0 && next > 0) out += raw.slice(from, i);
    else if (depth > 0 && next === 0) {
      out += '[redacted]';
      from = i;
    }
    depth = next;
  }
  return out + raw.slice(from);
}
