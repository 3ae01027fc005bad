import { main } from '../../src/main.ts';

/** Runs the CLI in this process with captured output. */
export async function runCli(argv: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, env, { out: (t) => void (out += t), err: (t) => void (err += t), signal: new AbortController().signal });
  return { code, out, err };
}
