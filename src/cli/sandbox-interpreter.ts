import * as fs from 'node:fs';
import * as crypto from 'node:crypto';
import { UsageError } from '../errors.ts';
import { fakeInterpreter, type FakeInterpreterArgs } from '../platform/sandbox/fake-interpreter.ts';
import type { CommandIo } from './io.ts';

/**
 * `winprov sandbox-interpreter`: internal, not in --help. The sandbox platform's fake interpreter of
 * first-boot scripts when winprov is the single executable, which cannot run `node -e`
 * (src/platform/sandbox/fake-interpreter.ts). Its arguments come as one JSON array on stdin, as the
 * sandbox writes them: [interpreter, script file, runs file]. The exit code is the script's.
 */

/** Three paths and a word: anything longer is not the sandbox writing. */
const MAX_REQUEST_BYTES = 64 * 1024;

export async function sandboxInterpreterCommand(io: CommandIo, stdin: AsyncIterable<Uint8Array> = process.stdin): Promise<number> {
  const args = parseRequest(await readAll(stdin));
  return new Promise((resolve) => {
    fakeInterpreter(args, { fs, crypto, pid: process.pid, out: io.out, err: io.err, exit: resolve });
  });
}

async function readAll(stdin: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of stdin) {
    bytes += chunk.byteLength;
    if (bytes > MAX_REQUEST_BYTES) throw new UsageError(`sandbox-interpreter: more than ${MAX_REQUEST_BYTES} bytes on stdin`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseRequest(text: string): FakeInterpreterArgs {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError('sandbox-interpreter: stdin must be a JSON array [interpreter, script, runs file] (an internal command of the sandbox platform)');
  }
  if (!Array.isArray(value) || value.length !== 3 || !value.every((v) => typeof v === 'string' && v !== '') || (value[0] !== 'powershell' && value[0] !== 'cmd')) {
    throw new UsageError('sandbox-interpreter: stdin must be ["powershell" or "cmd", script file, runs file]');
  }
  return [value[0], value[1], value[2]] as FakeInterpreterArgs;
}
