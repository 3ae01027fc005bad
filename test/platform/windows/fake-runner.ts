import type { CommandRunner, Session, SessionEvents } from '../../../src/platform/windows/exec.ts';
import type { HostFailure } from '../../../src/platform/windows/protocol.ts';

/**
 * A CommandRunner that runs nothing: it records the executable, the argv and every byte written to
 * stdin, and plays the PowerShell host's side of the protocol with canned answers per verb.
 */

export type Reply =
  | { result: unknown; delayMs?: number }
  | { error: HostFailure }
  /** Never answer (the session's timeout must fire). */
  | { hang: true }
  /** Exit with this code without answering, after writing stderr if given. */
  | { crash: number; stderr?: string };

export type Responder = (verb: string, params: Record<string, unknown>, spawn: RecordedSpawn) => Reply;

export interface RecordedSpawn {
  file: string;
  args: string[];
  stdin: Buffer[];
  killed: boolean;
  stdinEnded: boolean;
  exited: boolean;
}

export interface FakeRunnerOptions {
  /** Text the fake prints on stdout before every answer (warnings, Write-Host ...). */
  strayBeforeAnswer?: string;
  /** Deliver each answer in chunks of this many bytes (framing must survive any split). */
  chunkBytes?: number;
  /** Answer the hello line with a load failure. */
  failLoading?: string;
}

/** All stdin text of a spawn, cut into lines. */
export function stdinLines(spawn: RecordedSpawn): string[] {
  return Buffer.concat(spawn.stdin).toString('utf8').split('\n').filter((line) => line !== '');
}

export interface RecordedRequest {
  id: number;
  verb: string;
  /** The JSON line's params, with each secret line merged in (see withSecrets). */
  params: Record<string, unknown>;
  /** The secret lines' values, base64 as sent. */
  secrets: Record<string, string>;
  /** The JSON line exactly as sent. */
  line: string;
}

/**
 * The params a verb sees: the JSON line's, plus the secrets by name, the password as its text and every
 * other secret as the base64 it was sent as (so tests compare with the values they passed in).
 */
function withSecrets(params: Record<string, unknown>, secrets: Record<string, string>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...params };
  for (const [name, base64] of Object.entries(secrets)) merged[name] = name === 'password' ? Buffer.from(base64, 'base64').toString('utf8') : base64;
  return merged;
}

/** Cuts request text (every line after the hello line) into requests: a JSON line, then its secret lines. */
export function parseRequests(lines: readonly string[]): RecordedRequest[] {
  const out: RecordedRequest[] = [];
  for (let at = 0; at < lines.length; ) {
    const line = lines[at]!;
    const message = JSON.parse(line) as { id: number; verb: string; params: Record<string, unknown>; secrets: number };
    const secrets: Record<string, string> = {};
    for (const secretLine of lines.slice(at + 1, at + 1 + message.secrets)) {
      const colon = secretLine.indexOf(':');
      secrets[secretLine.slice(0, colon)] = secretLine.slice(colon + 1);
    }
    at += 1 + message.secrets;
    out.push({ id: message.id, verb: message.verb, params: withSecrets(message.params, secrets), secrets, line });
  }
  return out;
}

/** The parsed requests of a spawn (every line after the hello line): id, verb and params with the secrets merged in. */
export function requests(spawn: RecordedSpawn): Pick<RecordedRequest, 'id' | 'verb' | 'params'>[] {
  return parseRequests(stdinLines(spawn).slice(1)).map(({ id, verb, params }) => ({ id, verb, params }));
}

export class FakeRunner implements CommandRunner {
  readonly spawns: RecordedSpawn[] = [];
  readonly #respond: Responder;
  readonly #options: FakeRunnerOptions;
  /** How each spawn exits, by index: for a process that dies between requests. */
  readonly #exits: ((exitCode: number) => void)[] = [];

  constructor(respond: Responder, options: FakeRunnerOptions = {}) {
    this.#respond = respond;
    this.#options = options;
  }

  /** Ends spawn `index` with this exit code, as a process that crashed or was killed from outside. */
  crash(index: number, exitCode: number): void {
    this.#exits[index]!(exitCode);
  }

  /** Every request sent in any session, in order. */
  allRequests(): Pick<RecordedRequest, 'id' | 'verb' | 'params'>[] {
    return this.spawns.flatMap((spawn) => requests(spawn));
  }

  spawnSession(file: string, args: readonly string[], events: SessionEvents): Session {
    const spawn: RecordedSpawn = { file, args: [...args], stdin: [], killed: false, stdinEnded: false, exited: false };
    this.spawns.push(spawn);
    let pending = '';
    let marker: string | undefined;
    /** A request line waiting for its secret lines. */
    let waiting: { lines: string[]; needed: number } | undefined;
    const exit = (exitCode: number | undefined, signal?: string) => {
      if (spawn.exited) return;
      spawn.exited = true;
      setImmediate(() => events.exit({ exitCode, signal, spawnError: undefined }));
    };
    this.#exits.push((exitCode) => exit(exitCode));
    const send = (message: unknown, delayMs = 0) => {
      if (spawn.exited || marker === undefined) return;
      const stray = this.#options.strayBeforeAnswer ?? '';
      const bytes = Buffer.from(`${stray}${marker}${JSON.stringify(message)}\r\n`, 'utf8');
      const size = this.#options.chunkBytes ?? bytes.length;
      const deliver = () => {
        for (let at = 0; at < bytes.length; at += size) {
          const chunk = bytes.subarray(at, at + size);
          setImmediate(() => {
            if (!spawn.exited) events.stdout(chunk);
          });
        }
      };
      if (delayMs > 0) setTimeout(deliver, delayMs);
      else deliver();
    };
    const onLine = (line: string) => {
      if (waiting !== undefined) {
        waiting.lines.push(line);
        if (waiting.lines.length < waiting.needed + 1) return;
        const [request] = parseRequests(waiting.lines);
        waiting = undefined;
        answer(request!);
        return;
      }
      const message = JSON.parse(line) as Record<string, unknown>;
      if (marker !== undefined && typeof message.secrets === 'number' && message.secrets > 0) {
        waiting = { lines: [line], needed: message.secrets };
        return;
      }
      if (marker === undefined) {
        marker = message.marker as string;
        if (this.#options.failLoading !== undefined) {
          send({ id: 0, ok: false, error: { message: this.#options.failLoading, fullyQualifiedErrorId: 'ParseException' } });
          setImmediate(() => exit(3));
          return;
        }
        send({ id: 0, ok: true, result: { psVersion: '5.1.17763.6414', culture: 'de-DE' } });
        return;
      }
      answer(parseRequests([line])[0]!);
    };
    const answer = ({ id, verb, params }: RecordedRequest) => {
      if (verb === 'exit') {
        send({ id, ok: true, result: {} });
        setImmediate(() => exit(0));
        return;
      }
      const reply = this.#respond(verb, params, spawn);
      if ('hang' in reply) return;
      if ('crash' in reply) {
        const stderr = reply.stderr;
        if (stderr !== undefined) setImmediate(() => events.stderr(Buffer.from(stderr, 'utf8')));
        setImmediate(() => exit(reply.crash));
        return;
      }
      if ('error' in reply) send({ id, ok: false, error: reply.error });
      else send({ id, ok: true, result: reply.result }, reply.delayMs);
    };
    return {
      write(data) {
        const bytes = Buffer.from(data);
        spawn.stdin.push(bytes);
        if (spawn.exited) return;
        pending += bytes.toString('utf8');
        for (let newline = pending.indexOf('\n'); newline !== -1; newline = pending.indexOf('\n')) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          onLine(line);
        }
      },
      end() {
        // Like the host loop: a closed stdin ends the process.
        spawn.stdinEnded = true;
        setImmediate(() => exit(0));
      },
      kill() {
        spawn.killed = true;
        exit(undefined, 'SIGTERM');
      },
    };
  }
}
