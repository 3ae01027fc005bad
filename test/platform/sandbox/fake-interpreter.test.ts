import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUNS_FILE, runSandboxScript } from '../../../src/platform/sandbox/first-boot.ts';
import { fakeInterpreterCommand, SANDBOX_INTERPRETER_COMMAND } from '../../../src/platform/sandbox/fake-interpreter.ts';
import { thisProgram, type ThisProgram } from '../../../src/util/this-program.ts';
import type { ScriptInterpreter } from '../../../src/platform/first-boot-types.ts';

/**
 * The sandbox's fake interpreter started both ways: `node -e` (winprov from source or the bundle) and
 * `winprov sandbox-interpreter` with its arguments on stdin (the single executable, where -e is not
 * processed). From source the second is `node src/main.ts sandbox-interpreter`, the same command the
 * executable runs (build/check.ts runs it in the built executable). Both must give the same exit codes,
 * output, records and timeouts.
 */

const MAIN = fileURLToPath(new URL('../../../src/main.ts', import.meta.url));
const root = await mkdtemp(join(tmpdir(), 'winprov-fake-interpreter-'));
after(() => rm(root, { recursive: true, force: true }));

const NODE_E: ThisProgram = { sea: false, file: process.execPath, args: [] };
/** The single executable's way, from source: winprov is node + src/main.ts here. */
const AS_SEA: ThisProgram = { sea: true, file: process.execPath, args: [MAIN] };

/** Output lines in a fixed order: stdout and stderr are two pipes, read in whichever order they become ready. */
const lines = (output: string): string[] => output.split('\n').filter(Boolean).sort();

let n = 0;
async function runWith(program: ThisProgram, interpreter: ScriptInterpreter, extension: string, text: string, timeoutMs = 20_000) {
  const dir = await mkdtemp(join(root, 'run-'));
  const scriptPath = join(dir, `script-${(n += 1)}${extension}`);
  await writeFile(scriptPath, text);
  const chunks: Buffer[] = [];
  let environ: string[] | undefined;
  const onOutput = (c: Uint8Array) => {
    chunks.push(Buffer.from(c));
    // While it runs: the child's environment as Linux shows it (the first output comes after its run record).
    if (environ === undefined && process.platform === 'linux') {
      const pid = Number(JSON.parse(readFileSync(join(dir, RUNS_FILE), 'utf8').split('\n')[0]!).pid);
      try {
        environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
      } catch {
        // A child whose only output is its last line may have ended before it is read (ESRCH); the
        // timeout test, whose child prints and then sleeps, is the one that reads its environment.
      }
    }
  };
  const exit = await runSandboxScript(dir, { scriptPath, interpreter, timeoutMs, onOutput }, program);
  const runs = (await readFile(join(dir, RUNS_FILE), 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { exit, output: Buffer.concat(chunks).toString('utf8'), runs, scriptPath, environ };
}

const CASES: [string, ScriptInterpreter, string, string][] = [
  ['output, an error line and exit 3', 'powershell', '.ps1', '\uFEFF#ps1\r\nWrite-Output "one"\r\nWrite-Error "two"\r\nexit 3\r\nWrite-Output "never"\r\n'],
  ['cmd echo to stderr and exit /b 0', 'cmd', '.cmd', 'echo hello\r\necho oops 1>&2\r\nexit /b 0\r\n'],
  ['a script printing itself', 'powershell', '.ps1', 'Write-Host first\nGet-Content $PSCommandPath\n'],
  ['a .cmd given to PowerShell: 9009', 'powershell', '.cmd', 'echo hi\n'],
  ['a sleep, then the end of the file', 'cmd', '.cmd', 'timeout /t 1\necho after\n'],
];

for (const [name, interpreter, extension, text] of CASES) {
  test(`node -e and the sandbox-interpreter command agree: ${name}`, async () => {
    const viaNode = await runWith(NODE_E, interpreter, extension, text);
    const viaCommand = await runWith(AS_SEA, interpreter, extension, text);
    assert.deepEqual(viaCommand.exit, viaNode.exit);
    assert.deepEqual(lines(viaCommand.output), lines(viaNode.output));
    for (const result of [viaNode, viaCommand]) {
      assert.equal(result.runs.length, 1);
      assert.equal(result.runs[0]!['interpreter'], interpreter);
      assert.equal(result.runs[0]!['script'], result.scriptPath);
      assert.match(String(result.runs[0]!['sha256']), /^[0-9a-f]{64}$/);
    }
    assert.equal(viaCommand.runs[0]!['sha256'], viaNode.runs[0]!['sha256']);
  });
}

test('what each case gives (so agreeing is not agreeing on nothing)', async () => {
  const [first, second, , wrong] = await Promise.all(CASES.slice(0, 4).map(([, i, e, t]) => runWith(AS_SEA, i, e, t)));
  assert.deepEqual(first!.exit, { exitCode: 3, timedOut: false });
  assert.deepEqual(lines(first!.output), ['one', 'two']);
  assert.deepEqual(second!.exit, { exitCode: 0, timedOut: false });
  assert.deepEqual(lines(second!.output), ['hello', 'oops']);
  assert.equal(wrong!.exit.exitCode, 9009 & 0xff, 'exit status 9009 as the OS keeps it');
  assert.equal(wrong!.output, 'not a .ps1 script\n');
});

test('the sandbox-interpreter child is stopped at the timeout like the node -e one; its environment is PATH alone', async () => {
  const text = '#ps1\nWrite-Output "working"\nStart-Sleep -Seconds 60\n';
  process.env['WINPROV_TEST_LEAK'] = 'must not reach the fake';
  try {
    for (const program of [NODE_E, AS_SEA]) {
      const started = performance.now();
      const { exit, output, runs, environ } = await runWith(program, 'powershell', '.ps1', text, 1_500);
      assert.deepEqual(exit, { exitCode: undefined, timedOut: true });
      assert.equal(output, 'working\n');
      assert.ok(performance.now() - started < 10_000);
      assert.throws(() => process.kill(Number(runs[0]!['pid']), 0), { code: 'ESRCH' }, 'the child is gone');
      if (process.platform === 'linux') assert.deepEqual(environ?.map((e) => e.split('=')[0]), ['PATH']);
    }
  } finally {
    delete process.env['WINPROV_TEST_LEAK'];
  }
});

test('how the fake is started: node -e with its own text, or the internal command with the arguments on stdin', () => {
  const args = ['powershell', 'C:\\s.ps1', 'C:\\runs.jsonl'] as const;
  const viaNode = fakeInterpreterCommand(args, NODE_E);
  assert.equal(viaNode.file, process.execPath);
  assert.equal(viaNode.args[0], '-e');
  assert.deepEqual(viaNode.args.slice(2), [...args]);
  assert.equal(viaNode.stdin, undefined);
  const sea = fakeInterpreterCommand(args, { sea: true, file: 'C:\\Program Files\\winprov\\winprov.exe', args: [] });
  assert.deepEqual(sea, { file: 'C:\\Program Files\\winprov\\winprov.exe', args: [SANDBOX_INTERPRETER_COMMAND], stdin: JSON.stringify(args) });
  // Here, from source: node, its flags and the test file (a CLI run has src/main.ts or the bundle there).
  assert.deepEqual(thisProgram(), { sea: false, file: process.execPath, args: [...process.execArgv, process.argv[1]!] });
});

test('the internal command refuses anything but its three arguments, and is not in --help', async () => {
  const run = (stdin: string) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [MAIN, SANDBOX_INTERPRETER_COMMAND], { env: { PATH: process.env['PATH'] ?? '' } });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
      child.stdin.end(stdin);
    });
  assert.deepEqual(await run('not json'), { code: 2, stderr: 'winprov: sandbox-interpreter: stdin must be a JSON array [interpreter, script, runs file] (an internal command of the sandbox platform) (run "winprov --help")\n' });
  assert.match((await run('["bash", "/x.ps1", "/runs"]')).stderr, /must be \["powershell" or "cmd", script file, runs file\]/);
  const help = await new Promise<string>((resolve) => {
    const child = spawn(process.execPath, [MAIN, '--help']);
    let out = '';
    child.stdout.on('data', (c: Buffer) => void (out += c.toString()));
    child.on('close', () => resolve(out));
  });
  assert.match(help, /first-boot-script/);
  assert.doesNotMatch(help, /sandbox-interpreter/);
});
