import { PRIVATE_KEY_BEGIN, PRIVATE_KEY_END, SECRET_ELEMENT, redactText } from '../util/log.ts';

/**
 * Cuts a first-boot script's output into lines and masks what may be secret in them, for OutputCapture.
 * The script came from custom data or user data, which are secrets, so any of its lines echoed back
 * (`type script.cmd`, a transcript) is masked wherever it falls in the output, then the log's redaction
 * runs on the result. That redaction sees one line at a time, so what it masks across lines is tracked
 * here: every line of a private key's PEM block, BEGIN to END, and an ovf-env secret element's text up to
 * its next `<`. A line with no end is released in pieces, so a script printing without newlines cannot
 * hold everything in memory; the read boundaries and the cuts never decide what is masked.
 */

/** Shorter lines of the script ("exit 0", "}") are too common to mask; longer ones are its content. */
const MIN_SECRET_LINE = 8;
/** A line without an end is released in pieces of at least this many characters. */
export const MAX_LINE_CHARS = 16 * 1024;
/**
 * With more script lines than this, those up to INDEXED_MAX characters are looked up by one run of
 * MIN_SECRET_LINE characters each, the one fewest other script lines share, at each position of the
 * output: one pass instead of a search per line (a script of thousands of lines made each line of output
 * cost thousands of searches).
 */
const INDEX_FROM = 64;
const INDEXED_MAX = 256;
/**
 * At most this much is held back before a cut (a script is at most 64 KiB, so its lines fit); with a
 * longer script line, every piece of a line with no end is masked whole rather than held without bound.
 */
const MAX_HOLD_CHARS = 64 * 1024;
/** A cut goes before any `<` or `-` this close to it, so it never splits a PEM marker or an element's tag. */
const MARKER_CHARS = 128;
const KEY_BEGIN = new RegExp(PRIVATE_KEY_BEGIN.source, 'g');
const KEY_END = new RegExp(PRIVATE_KEY_END.source, 'g');
const ELEMENT = new RegExp(SECRET_ELEMENT.source, 'gi');

interface Indexed {
  secret: string;
  /** Where in it the run it is looked up by starts. */
  offset: number;
}

export class OutputMasker {
  /** Script lines searched for one by one. */
  readonly #searched: string[];
  /** The others, by the hash of the run they are looked up by (eachRun), with its offset in them. */
  readonly #byRun: Map<number, Indexed[]>;
  /**
   * Characters kept back at the end of a line with no end when a piece is cut from it: as many as the
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
  /** Inside a private key block: a BEGIN line was seen and no END since. */
  #inKey = false;
  /** Inside a secret element's text: its tag was seen and no `<` since. */
  #inElement = false;

  constructor(scriptText: string) {
    const secrets = [...new Set(scriptText.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length >= MIN_SECRET_LINE))];
    const indexed = secrets.length > INDEX_FROM;
    this.#searched = indexed ? secrets.filter((s) => s.length > INDEXED_MAX) : secrets;
    this.#byRun = indexByRun(indexed ? secrets.filter((s) => s.length <= INDEXED_MAX) : []);
    const longest = secrets.reduce((max, s) => Math.max(max, s.length), 0);
    this.#tooLong = longest > MAX_HOLD_CHARS;
    this.#hold = Math.min(longest, MAX_HOLD_CHARS);
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
    const near = text.slice(end - MARKER_CHARS, end).search(/[<-]/);
    if (near !== -1) end += near - MARKER_CHARS;
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
    const raw = end === text.length ? text : text.slice(0, end);
    const inKey = this.#keyBlock(raw);
    this.#elements(raw, mark);
    mark(0, this.#maskedAhead);
    let reach = end;
    const found = (at: number, secret: string): void => {
      mark(at, at + secret.length);
      reach = Math.max(reach, at + secret.length);
    };
    for (const secret of this.#searched) {
      for (let at = text.indexOf(secret); at !== -1 && at < end; at = text.indexOf(secret, at + secret.length)) found(at, secret);
    }
    if (this.#byRun.size > 0) {
      eachRun(text, end + INDEXED_MAX, (at, hash) => {
        for (const { secret, offset } of this.#byRun.get(hash) ?? []) {
          const start = at - offset;
          if (start >= 0 && start < end && text.startsWith(secret, start)) found(start, secret);
        }
      });
    }
    this.#maskedAhead = cut === undefined ? 0 : this.#tooLong ? Infinity : reach - end;
    if (inKey) return '[redacted]';
    return redactText(marks === undefined ? raw : masked(raw, marks));
  }

  /** Whether raw is a line of a private key block (BEGIN and END lines included); follows the block. */
  #keyBlock(raw: string): boolean {
    if (!this.#inKey && !raw.includes('-----BEGIN ')) return false;
    const begin = lastMatch(KEY_BEGIN, raw);
    const end = lastMatch(KEY_END, raw);
    const inside = this.#inKey || begin !== -1;
    // An END after the last BEGIN closes the block; without one it goes on, to the end of the output if need be.
    this.#inKey = begin !== -1 ? end < begin : this.#inKey && end === -1;
    return inside;
  }

  /** Marks secret elements' text in raw, up to the next `<` or the end (then it goes on in the next line). */
  #elements(raw: string, mark: (from: number, to: number) => void): void {
    let from = 0;
    if (this.#inElement) {
      const close = raw.indexOf('<');
      mark(0, close === -1 ? raw.length : close);
      if (close === -1) return;
      this.#inElement = false;
      from = close;
    }
    if (raw.indexOf('<', from) === -1) return;
    ELEMENT.lastIndex = from;
    for (let tag = ELEMENT.exec(raw); tag !== null; tag = ELEMENT.exec(raw)) {
      const start = tag.index + tag[0].length;
      const close = raw.indexOf('<', start);
      mark(start, close === -1 ? raw.length : close);
      if (close === -1) {
        this.#inElement = true;
        return;
      }
      ELEMENT.lastIndex = close;
    }
  }
}

const HASH_BASE = 31;
/** HASH_BASE ** (MIN_SECRET_LINE - 1), modulo 2 ** 32: the weight of the character leaving the window. */
const HASH_TOP = Array.from({ length: MIN_SECRET_LINE - 1 }).reduce<number>((h) => Math.imul(h, HASH_BASE), 1);
/** Keys small enough to stay small integers in a Map. */
const HASH_MASK = 0x3fffffff;

/** Each script line under the hash of its run of MIN_SECRET_LINE characters that the fewest others share. */
function indexByRun(secrets: string[]): Map<number, Indexed[]> {
  const shared = new Map<number, number>();
  for (const secret of secrets) {
    const runs = new Set<number>();
    eachRun(secret, secret.length, (_, hash) => void runs.add(hash));
    for (const hash of runs) shared.set(hash, (shared.get(hash) ?? 0) + 1);
  }
  const index = new Map<number, Indexed[]>();
  for (const secret of secrets) {
    let best = { offset: 0, hash: 0, count: Infinity };
    eachRun(secret, secret.length, (offset, hash) => {
      const count = shared.get(hash)!;
      if (count < best.count) best = { offset, hash, count };
    });
    const same = index.get(best.hash);
    if (same === undefined) index.set(best.hash, [{ secret, offset: best.offset }]);
    else same.push({ secret, offset: best.offset });
  }
  return index;
}

/**
 * Calls visit with each position before `until` where MIN_SECRET_LINE characters of text start, and their
 * hash: a rolling one, so no string is made per position.
 */
function eachRun(text: string, until: number, visit: (at: number, hash: number) => void): void {
  if (text.length < MIN_SECRET_LINE) return;
  let hash = 0;
  for (let i = 0; i < MIN_SECRET_LINE; i++) hash = (Math.imul(hash, HASH_BASE) + text.charCodeAt(i)) | 0;
  for (let at = 0; at < until && at + MIN_SECRET_LINE <= text.length; ) {
    visit(at, hash & HASH_MASK);
    at += 1;
    if (at + MIN_SECRET_LINE > text.length) break;
    hash = (Math.imul(hash - Math.imul(text.charCodeAt(at - 1), HASH_TOP), HASH_BASE) + text.charCodeAt(at + MIN_SECRET_LINE - 1)) | 0;
  }
}

/** Where the last match of a global pattern starts in text, or -1. */
function lastMatch(pattern: RegExp, text: string): number {
  let last = -1;
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) last = m.index;
  return last;
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
