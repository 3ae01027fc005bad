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

/** The parsed request lines (every line after the hello line). */
export function requests(spawn: RecordedSpawn): { id: number; verb: string; params: Record<string, unknown> }[] {
  return stdinLines(spawn).slice(1).map((line) => JSON.parse(line) as { id: number; verb: string; params: Record<string, unknown> });
}

export class FakeRunner implements CommandRunner {
  readonly spawns: RecordedSpawn[] = [];
  readonly #respond: Responder;
  readonly #options: FakeRunnerOptions;

  constructor(respond: Responder, options: FakeRunnerOptions = {}) {
    this.#respond = respond;
    this.#options = options;
  }

  /** Every request sent in any session, in order. */
  allRequests(): { id: number; verb: string; params: Record<string, unknown> }[] {
    return this.spawns.flatMap((spawn) => requests(spawn));
  }

  spawnSession(file: string, args: readonly string[], events: SessionEvents): Session {
    const spawn: RecordedSpawn = { file, args: [...args], stdin: [], killed: false, stdinEnded: false, exited: false };
    this.spawns.push(spawn);
    let pending = '';
    let marker: string | undefined;
    const exit = (exitCode: number | undefined, signal?: string) => {
      if (spawn.exited) return;
      spawn.exited = true;
      setImmediate(() => events.exit({ exitCode, signal, spawnError: undefined }));
    };
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
      const message = JSON.parse(line) as Record<string, unknown>;
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
      const { id, verb, params } = message as { id: number; verb: string; params: Record<string, unknown> };
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
