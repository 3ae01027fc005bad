import type * as Fs from 'node:fs';
import type * as Crypto from 'node:crypto';
import { thisProgram } from '../../util/this-program.ts';

/**
 * The sandbox's fake interpreter of first-boot scripts (first-boot.ts says what it understands). It runs
 * in a child process of its own, so that timeouts, kills and output streams are real, and it is one
 * function started two ways:
 * - node (winprov from source or the bundle): `node -e` with this function's own text. Its text is all it
 *   needs: it refers to nothing outside itself, and gets node:fs, node:crypto and the process's streams
 *   from its caller.
 * - the single executable (build/sea.ts), where node's options such as -e are not processed and the
 *   executable is always winprov: `winprov sandbox-interpreter`, an internal command (not in --help) that
 *   reads the same arguments from stdin and calls this function (src/cli/sandbox-interpreter.ts).
 */

/** What the fake needs from the process it runs in. */
export interface FakeInterpreterHost {
  fs: Pick<typeof Fs, 'readFileSync' | 'appendFileSync'>;
  crypto: Pick<typeof Crypto, 'createHash'>;
  pid: number;
  out(text: string): void;
  err(text: string): void;
  /** The run is over with this exit code (called once). */
  exit(code: number): void;
}

/** interpreter ("powershell" | "cmd"), the script file, the runs file (first-boot-runs.jsonl). */
export type FakeInterpreterArgs = readonly [interpreter: string, script: string, runs: string];

/** The name of the internal command that runs the fake in the single executable. */
export const SANDBOX_INTERPRETER_COMMAND = 'sandbox-interpreter';

/** Runs one script. Self-contained on purpose: its source text is what `node -e` runs (see above). */
export function fakeInterpreter(args: FakeInterpreterArgs, host: FakeInterpreterHost): void {
  const [interpreter, script, runs] = args;
  let bytes;
  try {
    bytes = host.fs.readFileSync(script);
    const sha256 = host.crypto.createHash('sha256').update(bytes).digest('hex');
    host.fs.appendFileSync(runs, JSON.stringify({ at: new Date().toISOString(), interpreter, script, sha256, pid: host.pid }) + '\n');
  } catch (error) {
    host.err(`${(error as Error).message}\n`);
    host.exit(1);
    return;
  }
  const expected = interpreter === 'powershell' ? '.ps1' : '.cmd';
  if (!script.endsWith(expected)) {
    // What a wrong interpreter does: cmd.exe's "is not recognized" code.
    host.err(`not a ${expected} script\n`);
    host.exit(9009);
    return;
  }
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const unquote = (s: string): string => s.trim().replace(/^(['"])(.*)\1$/, '$2');
  const lines = text.split(/\r?\n/);
  let i = 0;
  const next = (): void => {
    while (i < lines.length) {
      const line = lines[i++]!.trim();
      let m: RegExpExecArray | null;
      if ((m = /^(?:exit)(?:\s+\/b)?\s+(-?\d+)$/i.exec(line))) return host.exit(Number(m[1]));
      if ((m = /^(?:Start-Sleep\s+-Seconds|timeout\s+\/t)\s+(\d+)/i.exec(line))) {
        setTimeout(next, Number(m[1]) * 1000);
        return;
      }
      if (/^(?:type\s+"%~f0"|Get-Content\s+\$PSCommandPath)$/i.test(line)) {
        host.out(text);
        continue;
      }
      if ((m = /^(?:echo|Write-Error)\s+(.*?)\s*1>&2$/i.exec(line)) || (m = /^Write-Error\s+(.*)$/i.exec(line))) {
        host.err(unquote(m[1]!) + '\n');
        continue;
      }
      if ((m = /^(?:echo|Write-Output|Write-Host)\s+(.*)$/i.exec(line))) {
        host.out(unquote(m[1]!) + '\n');
        continue;
      }
    }
    host.exit(0);
  };
  next();
}

/**
 * How to start the fake on `args`: the executable, its arguments, and what to write to its stdin (the
 * single executable reads its arguments there; node gets them on the command line after -e).
 */
export function fakeInterpreterCommand(args: FakeInterpreterArgs, program = thisProgram()): { file: string; args: string[]; stdin: string | undefined } {
  if (program.sea) return { file: program.file, args: [...program.args, SANDBOX_INTERPRETER_COMMAND], stdin: JSON.stringify(args) };
  const host = "{ fs: require('node:fs'), crypto: require('node:crypto'), pid: process.pid, out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), exit: (c) => { process.exitCode = c; } }";
  return { file: program.file, args: ['-e', `(${fakeInterpreter.toString()})(process.argv.slice(1), ${host});`, ...args], stdin: undefined };
}
