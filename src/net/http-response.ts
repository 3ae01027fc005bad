/**
 * An HTTP/1.1 response read off a socket (RFC 9112), for the fabric client (http.ts). Strict where the
 * RFC lets a recipient choose: CRLF line ends, no folded headers, one Content-Length value, chunked as the
 * only transfer coding and never together with Content-Length (RFC 9112 6.1: "ought to be handled as an
 * error"), a capped head, a capped body and capped chunked framing. Interim 1xx responses are skipped.
 * Fed chunk by chunk as they arrive, split anywhere; the body is copied out of them, none is kept.
 */

import { printable } from '../util/escape.ts';

/** Why a response could not be read. */
export type ResponseProblem =
  | { kind: 'malformed'; rule: string }
  /** The body is over the cap: declared (a number) or found while reading (undefined). */
  | { kind: 'too-large'; declared: number | undefined }
  | { kind: 'truncated' };

export class ResponseReadError extends Error {
  readonly problem: ResponseProblem;
  constructor(problem: ResponseProblem) {
    super(problem.kind === 'malformed' ? problem.rule : problem.kind);
    this.problem = problem;
  }
}

/** The head of a response: status and headers (names lower-cased, repeated ones joined with ", "). */
export interface ResponseHead {
  status: number;
  headers: Record<string, string>;
}

/** The status line and every header together; node's own parser allows 16 KiB as well. */
const MAX_HEAD_BYTES = 16 * 1024;
/** A chunk-size line with its extensions. */
const MAX_CHUNK_LINE_BYTES = 1024;
/**
 * Every byte of chunked framing (size lines, extensions, the CRLF after each chunk, trailers) in one body
 * (RFC 9112 7.1). 1-byte chunks cost a parser step per body byte, and long extensions put a thousand wire
 * bytes around each; chunks of 4 KiB need about 8 bytes each, 16 KiB for a body at the 8 MiB cap.
 */
const MAX_FRAMING_BYTES = 64 * 1024;
/** The first body buffer when no Content-Length says how much to reserve; it doubles from there. */
const FIRST_BODY_BUFFER = 16 * 1024;
/** Interim (1xx) responses before the final one: a peer that sends them without end is refused, not waited on. */
const MAX_INTERIM_RESPONSES = 8;

const STATUS_LINE = /^HTTP\/1\.[01] ([1-9]\d\d)(?: [^\u0000-\u0008\u000a-\u001f\u007f]*)?$/;
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\u0000-\u0008\u000a-\u001f\u007f]*?)[ \t]*$/;
const CHUNK_LINE = /^([0-9A-Fa-f]{1,8})[ \t]*(?:;.*)?$/;
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

type State =
  | { at: 'head' }
  | { at: 'length'; left: number }
  | { at: 'chunk-size' }
  | { at: 'chunk-data'; left: number }
  | { at: 'chunk-end' }
  /** `bytes`: the trailer section so far, held to the head's cap. */
  | { at: 'trailers'; bytes: number }
  | { at: 'until-close' }
  | { at: 'done' };

/** The states that read chunked framing rather than body bytes (RFC 9112 7.1). */
const FRAMING: ReadonlySet<State['at']> = new Set(['chunk-size', 'chunk-end', 'trailers']);

export class ResponseReader {
  readonly #maxBodyBytes: number;
  #state: State = { at: 'head' };
  #pending: Buffer = Buffer.alloc(0);
  #head: ResponseHead | undefined;
  /** The body so far, copied in: a view into a socket read would keep the whole read alive. */
  #body: Buffer = Buffer.alloc(0);
  #bodyBytes = 0;
  #declared: number | undefined;
  #framingBytes = 0;
  #interim = 0;

  constructor(maxBodyBytes: number) {
    this.#maxBodyBytes = maxBodyBytes;
  }

  /** True once the whole response has been read. */
  get done(): boolean {
    return this.#state.at === 'done';
  }

  /** The head, once read (undefined before: the status is not known yet). */
  get head(): ResponseHead | undefined {
    return this.#head;
  }

  get bodyBytes(): number {
    return this.#bodyBytes;
  }

  /** The body's length as Content-Length gives it; undefined for a chunked body or one that runs until close. */
  get declaredLength(): number | undefined {
    return this.#declared;
  }

  get body(): Buffer {
    return this.#body.subarray(0, this.#bodyBytes);
  }

  /** Reads the bytes that arrived; throws ResponseReadError. Bytes after the response are ignored (Connection: close). */
  feed(chunk: Buffer): void {
    let data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pending = Buffer.alloc(0);
    while (data.length > 0 && this.#state.at !== 'done') {
      const framing = FRAMING.has(this.#state.at);
      const used = this.#step(data);
      if (framing) this.#framingBytes += used;
      if (this.#framingBytes > MAX_FRAMING_BYTES) malformed(`the chunked framing (size lines, extensions, CRLFs, trailers) is over ${MAX_FRAMING_BYTES} bytes`);
      if (used === 0) {
        this.#pending = Buffer.from(data);
        return;
      }
      data = data.subarray(used);
    }
  }

  /** The peer closed the connection: the end of a body that runs until close, else a truncation. */
  end(): void {
    if (this.#state.at === 'until-close') this.#state = { at: 'done' };
    // Bytes that never made a head are an answer this reader cannot read, not one cut short: bare LF
    // line ends (RFC 9112 2.2 lets a recipient refuse them), or an HTTP/0.9 reply with no head at all.
    if (this.#state.at === 'head' && this.#pending.length > 0) malformed(`the response head never ended with CRLF CRLF (${headEnding(this.#pending)})`);
    if (this.#state.at !== 'done') throw new ResponseReadError({ kind: 'truncated' });
  }

  /** One step of the state machine on `data`; returns the bytes used, 0 when it needs more. */
  #step(data: Buffer): number {
    const state = this.#state;
    switch (state.at) {
      case 'head': {
        const end = data.indexOf(HEAD_END);
        if (end < 0) {
          if (data.length > MAX_HEAD_BYTES) malformed(`the response head is over ${MAX_HEAD_BYTES} bytes`);
          return 0;
        }
        if (end + HEAD_END.length > MAX_HEAD_BYTES) malformed(`the response head is over ${MAX_HEAD_BYTES} bytes`);
        this.#readHead(data.subarray(0, end).toString('latin1'));
        return end + HEAD_END.length;
      }
      // A counted run of body bytes: the whole body (Content-Length) or one chunk's data.
      case 'length':
      case 'chunk-data': {
        const take = Math.min(state.left, data.length);
        this.#append(data.subarray(0, take));
        state.left -= take;
        if (state.left === 0) this.#state = state.at === 'length' ? { at: 'done' } : { at: 'chunk-end' };
        return take;
      }
      case 'until-close':
        this.#append(data);
        return data.length;
      case 'chunk-size': {
        const line = this.#line(data, MAX_CHUNK_LINE_BYTES, 'a chunk-size line');
        if (line === undefined) return 0;
        const match = CHUNK_LINE.exec(line.text);
        if (match === null) malformed(`the chunk-size line ${quoted(line.text)} is not a hexadecimal size`);
        const size = Number.parseInt(match[1]!, 16);
        if (this.#bodyBytes + size > this.#maxBodyBytes) throw new ResponseReadError({ kind: 'too-large', declared: undefined });
        this.#state = size === 0 ? { at: 'trailers', bytes: 0 } : { at: 'chunk-data', left: size };
        return line.used;
      }
      case 'chunk-end': {
        if (data.length < 2) return 0;
        if (data[0] !== 0x0d || data[1] !== 0x0a) malformed('a chunk does not end with CRLF where its size says');
        this.#state = { at: 'chunk-size' };
        return 2;
      }
      case 'trailers': {
        // Trailer fields are read and dropped: nothing the agent uses is sent in them.
        const line = this.#line(data, MAX_HEAD_BYTES, 'a trailer line');
        if (line === undefined) return 0;
        // Dropped, but counted: endless trailer lines would otherwise be read for as long as they come.
        state.bytes += line.used;
        if (state.bytes > MAX_HEAD_BYTES) malformed(`the trailer section is over ${MAX_HEAD_BYTES} bytes`);
        if (line.text === '') this.#state = { at: 'done' };
        else if (!HEADER_LINE.test(line.text)) malformed(`the trailer line ${quoted(line.text)} is not a header field`);
        return line.used;
      }
      case 'done':
        return data.length;
    }
  }

  /** A CRLF-ended line at the start of `data`, or undefined when it has not all arrived. */
  #line(data: Buffer, max: number, what: string): { text: string; used: number } | undefined {
    const end = data.indexOf(CRLF);
    if (end < 0) {
      if (data.length > max) malformed(`${what} is over ${max} bytes`);
      return undefined;
    }
    if (end > max) malformed(`${what} is over ${max} bytes`);
    const text = data.subarray(0, end).toString('latin1');
    if (/[\r\n]/.test(text)) malformed(`${what} has a bare CR or LF`);
    return { text, used: end + 2 };
  }

  #readHead(text: string): void {
    const lines = text.split('\r\n');
    const statusLine = lines[0]!;
    const status = STATUS_LINE.exec(statusLine);
    if (status === null) malformed(`the status line ${quoted(statusLine)} is not "HTTP/1.x <3-digit status> <reason>"`);
    const headers: Record<string, string> = {};
    const lengths = new Set<string>();
    for (const line of lines.slice(1)) {
      if (/^[ \t]/.test(line)) malformed('a header line is folded (obs-fold, RFC 9112 5.2)');
      const field = HEADER_LINE.exec(line);
      if (field === null) malformed(`the header line ${quoted(line)} is not "name: value" with visible characters`);
      const name = field[1]!.toLowerCase();
      const value = field[2]!;
      if (name === 'content-length') for (const part of value.split(',')) lengths.add(part.trim());
      headers[name] = Object.hasOwn(headers, name) ? `${headers[name]}, ${value}` : value;
    }
    const code = Number(status[1]);
    if (code === 101) malformed('101 Switching Protocols answers a request that never asked to upgrade');
    // Interim responses (100 Continue, 102, 103) precede the final one (RFC 9110 15.2).
    if (code < 200) {
      if (++this.#interim > MAX_INTERIM_RESPONSES) malformed(`more than ${MAX_INTERIM_RESPONSES} interim (1xx) responses`);
      return;
    }
    this.#head = { status: code, headers };
    if (lengths.size > 1) malformed(`Content-Length has differing values (${printable([...lengths].join(', '), 60)})`);
    const transferEncoding = headers['transfer-encoding'];
    if (transferEncoding !== undefined) {
      if (transferEncoding.trim().toLowerCase() !== 'chunked') malformed(`the transfer coding ${quoted(transferEncoding)} is not supported (only chunked)`);
      if (lengths.size > 0) malformed('the response has both Transfer-Encoding and Content-Length');
    }
    if (code === 204 || code === 304) this.#state = { at: 'done' };
    else if (transferEncoding !== undefined) this.#state = { at: 'chunk-size' };
    else if (lengths.size === 1) {
      const declared = [...lengths][0]!;
      if (!/^\d{1,15}$/.test(declared)) malformed(`Content-Length ${quoted(declared, 20)} is not a number of bytes`);
      const length = Number(declared);
      if (length > this.#maxBodyBytes) throw new ResponseReadError({ kind: 'too-large', declared: length });
      this.#declared = length;
      this.#body = Buffer.alloc(length);
      this.#state = length === 0 ? { at: 'done' } : { at: 'length', left: length };
    } else this.#state = { at: 'until-close' };
  }

  #append(bytes: Buffer): void {
    const size = this.#bodyBytes + bytes.length;
    // Checked before the copy, so an endless body never takes memory beyond the cap.
    if (size > this.#maxBodyBytes) throw new ResponseReadError({ kind: 'too-large', declared: undefined });
    if (size > this.#body.length) {
      // Doubling, up to the cap: a body of many pieces is copied about twice in all, not once per piece.
      const grown = Buffer.alloc(Math.min(this.#maxBodyBytes, Math.max(size, 2 * this.#body.length, FIRST_BODY_BUFFER)));
      this.#body.copy(grown, 0, 0, this.#bodyBytes);
      this.#body = grown;
    }
    bytes.copy(this.#body, this.#bodyBytes);
    this.#bodyBytes = size;
  }
}

/** What the bytes of a head that never ended look like, for the rule's reason. */
function headEnding(bytes: Buffer): string {
  const text = bytes.toString('latin1');
  const shape = !'HTTP/'.startsWith(text.slice(0, 5)) ? ', not starting with "HTTP/"' : /(?:^|[^\r])\n/.test(text) ? ', with bare LF line ends' : '';
  return `${bytes.length} bytes received${shape}`;
}

function malformed(rule: string): never {
  throw new ResponseReadError({ kind: 'malformed', rule });
}

/** Header-derived text in a reason: quoted, printable, at most `max` characters inside the quotes. */
function quoted(text: string, max = 40): string {
  return `"${printable(text, max)}"`;
}
