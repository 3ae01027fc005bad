import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PlatformCommandError } from '../../../src/errors.ts';
import { processRunner, type CommandRunner, type SessionExit } from '../../../src/platform/windows/exec.ts';
import { PowerShellSession } from '../../../src/platform/windows/session.ts';
import { FakeRunner } from './fake-runner.ts';

const HOST = fileURLToPath(new URL('../../fixtures/windows/fake-host.mjs', import.meta.url));
const LIBRARY = [{ name: 'host.ps1', text: '# static' }];

/** processRunner, counting spawns and kills. */
function spyRunner() {
  const spawns: { kills: number; exit: SessionExit | undefined }[] = [];
  const runner: CommandRunner = {
    spawnSession(file, args, events) {
      const record = { kills: 0, exit: undefined as SessionExit | undefined };
      spawns.push(record);
      const session = processRunner.spawnSession(file, args, {
        ...events,
        exit: (info) => {
          record.exit = info;
          events.exit(info);
        },
      });
      return {
        write: (data) => session.write(data),
        end: () => session.end(),
        kill: () => {
          record.kills += 1;
          session.kill();
        },
      };
    },
  };
  return { runner, spawns };
}

function realSession(t: TestContext, options: { requestTimeoutMs?: number; file?: string } = {}) {
  const { runner, spawns } = spyRunner();
  const logged: string[] = [];
  const session = new PowerShellSession({
    file: options.file ?? process.execPath,
    args: options.file === undefined ? [HOST] : [],
    library: LIBRARY,
    runner,
    log: (level, message) => logged.push(`${level}: ${message}`),
    requestTimeoutMs: options.requestTimeoutMs ?? 5_000,
    closeTimeoutMs: 2_000,
  });
  t.after(() => session.close());
  return { session, spawns, logged };
}

test('one real process answers many requests in order, with any Unicode value intact', async (t) => {
  const { session, spawns } = realSession(t);
  const values = ['plain', 'Ünïcødé 名前 😀', 'two\nlines\r\n', '\u2028', "it's \"quoted\" `$(x)`"];
  const answers = await Promise.all(values.map((value) => session.request('echo', { value })));
  assert.deepEqual(answers, values.map((value) => ({ value })));
  await session.close();
  assert.equal(spawns.length, 1);
  assert.equal(spawns[0]!.exit?.exitCode, 0, 'the host exited on the exit request');
  assert.equal(spawns[0]!.kills, 0);
});

test('stray stdout, a forged answer without the marker and stderr are logged, never taken as the answer', async (t) => {
  const { session, logged } = realSession(t);
  const secret = 'S3cr3t-value';
  assert.deepEqual(await session.request('noisy', { secret }, { secrets: { secret } }), { genuine: true });
  await session.close();
  assert.ok(logged.includes('debug: PowerShell printed: WARNING: something the cmdlet wanted to say'));
  assert.ok(logged.some((line) => line.includes('"forged":true')), 'the forged line is only logged');
  assert.ok(logged.includes('debug: PowerShell printed: partial line then '));
  assert.ok(logged.includes('warn: PowerShell stderr: stderr mentions [redacted]'));
  assert.ok(!logged.join('\n').includes(secret));
});

test('a request that does not answer in time kills the process; the next request gets a new one', async (t) => {
  const { session, spawns } = realSession(t, { requestTimeoutMs: 300 });
  const err = await session.request('hang', {}).catch((e: unknown) => e);
  assert.ok(err instanceof PlatformCommandError);
  assert.equal(err.context.timedOut, true);
  assert.deepEqual(await session.request('echo', { after: 'timeout' }), { after: 'timeout' });
  await session.close();
  assert.equal(spawns.length, 2);
  assert.equal(spawns[0]!.kills, 1);
  assert.equal(spawns[0]!.exit?.signal, 'SIGTERM', 'the hung process really ended');
});

test('a process that dies during a request is restarted once and the request sent again', async (t) => {
  const folder = await mkdtemp(join(tmpdir(), 'winprov-session-'));
  try {
    const { session, spawns, logged } = realSession(t);
    assert.deepEqual(await session.request('crashOnce', { flag: join(folder, 'flag') }), { second: true });
    assert.equal(spawns.length, 2);
    assert.equal(spawns[0]!.exit?.exitCode, 9);
    assert.ok(logged.some((line) => line.startsWith('warn: the PowerShell session ended unexpectedly (exit code 9)')));
    // The one restart is used up: a second death is an error.
    const err = await session.request('crash', {}).catch((e: unknown) => e);
    assert.ok(err instanceof PlatformCommandError);
    assert.match(err.message, /ended unexpectedly \(exit code 9\); it had already been restarted once/);
    await session.close();
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('a PowerShell that cannot start is reported after one restart, with the reason', async (t) => {
  const { session, spawns } = realSession(t, { file: '/nonexistent/System32/WindowsPowerShell/v1.0/powershell.exe' });
  const err = await session.request('echo', {}).catch((e: unknown) => e);
  assert.ok(err instanceof PlatformCommandError);
  assert.match(err.message, /could not start: ENOENT/);
  assert.equal(spawns.length, 2);
  await session.close();
});

test('a library that fails to load fails the request with PowerShell text and is not retried', async () => {
  const runner = new FakeRunner(() => ({ result: {} }), { failLoading: 'loading network.ps1: Missing closing } in statement block' });
  const session = new PowerShellSession({ file: 'powershell.exe', args: [], library: LIBRARY, runner, log: () => undefined, requestTimeoutMs: 1_000 });
  await assert.rejects(session.request('readVmId', {}), /readVmId failed: PowerShell could not load the winprov scripts: loading network\.ps1: Missing closing \}/);
  await assert.rejects(session.request('setTimeZone', {}), /setTimeZone failed: PowerShell could not load/);
  assert.equal(runner.spawns.length, 1);
  await session.close();
});

test('answers split into 3-byte chunks and preceded by stray text are still read whole', async () => {
  const runner = new FakeRunner((_verb, params) => ({ result: params }), { chunkBytes: 3, strayBeforeAnswer: 'AVERTISSEMENT : é ' });
  const logged: string[] = [];
  const session = new PowerShellSession({ file: 'powershell.exe', args: [], library: LIBRARY, runner, log: (_l, m) => logged.push(m), requestTimeoutMs: 1_000 });
  assert.deepEqual(await session.request('echo', { name: 'Ğüñ 日本語 😀' }), { name: 'Ğüñ 日本語 😀' });
  await session.close();
  assert.ok(logged.includes('PowerShell printed: AVERTISSEMENT : é '));
});

test('CLIXML on stderr is logged and reported as the text it carries, with secrets removed after decoding', async () => {
  const secret = 'pa&ss<w>rd';
  const stderr =
    '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">' +
    '<Obj S="progress" RefId="0"><MS><PR N="Record"><AV>Preparing modules for first use.</AV></PR></MS></Obj>' +
    '<S S="Error">Set-LocalUser : value pa&amp;ss&lt;w&gt;rd refused_x000D__x000A_</S>' +
    '<S S="Error">+ FullyQualifiedErrorId : InvalidPassword_x000D__x000A_</S></Objs>';
  const runner = new FakeRunner(() => ({ crash: 1, stderr }));
  const logged: string[] = [];
  const session = new PowerShellSession({ file: 'powershell.exe', args: [], library: LIBRARY, runner, log: (l, m) => logged.push(`${l}: ${m}`), requestTimeoutMs: 1_000 });
  const err = await session.request('ensureAdminAccount', {}, { secrets: { password: secret } }).catch((e: unknown) => e);
  await session.close();
  assert.ok(err instanceof PlatformCommandError);
  assert.match(err.message, /exit code 1; stderr: Set-LocalUser : value \[redacted\] refused \+ FullyQualifiedErrorId : InvalidPassword/);
  assert.ok(logged.includes('warn: PowerShell stderr: Set-LocalUser : value [redacted] refused + FullyQualifiedErrorId : InvalidPassword'));
  const all = logged.join('\n') + err.message;
  assert.ok(!all.includes('Preparing modules') && !all.includes('CLIXML') && !all.includes('&amp;'), 'progress and markup are not shown');
  assert.ok(!all.includes(secret) && !all.includes('pa&amp;ss'), 'the secret is removed in its decoded and its escaped form');
});

test('output a process stopped after a timeout prints late, after close(), is still scrubbed', async () => {
  const PASSWORD = 'Sup3r-Secret-Pa55';
  const fake = new FakeRunner(() => ({ hang: true }));
  // Its exit is held back, as a killed process's last stderr can still be in the pipe.
  let late: (() => void) | undefined;
  const runner: CommandRunner = {
    spawnSession: (file, args, events) => fake.spawnSession(file, args, {
      ...events,
      exit: (info) => {
        late = () => {
          events.stderr(Buffer.from(`the password was ${PASSWORD}\n`, 'utf8'));
          events.exit(info);
        };
      },
    }),
  };
  const lines: string[] = [];
  const s = new PowerShellSession({ file: 'powershell.exe', args: [], library: LIBRARY, runner, log: (_level, line) => void lines.push(line), requestTimeoutMs: 100 });
  await assert.rejects(s.request('ensureAdminAccount', { username: 'admin' }, { secrets: { password: PASSWORD } }), /did not answer within 100 ms/);
  await s.close();
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(late !== undefined, 'the stopped process was killed and has not exited yet');
  late();
  const printed = lines.filter((line) => line.includes('the password was'));
  assert.deepEqual(printed, ['PowerShell stderr: the password was [redacted]']);
});

test('bytes sent as a secret that are text (custom data) are scrubbed as that text too', async () => {
  const customData = 'line one: secret-token-xyz\nline two\n';
  const runner = new FakeRunner(() => ({ crash: 9, stderr: 'cannot write line one: secret-token-xyz\n' }));
  const lines: string[] = [];
  const s = new PowerShellSession({ file: 'powershell.exe', args: [], library: LIBRARY, runner, log: (_level, line) => void lines.push(line), requestTimeoutMs: 5_000 });
  try {
    const err = await s.request('writeCustomData', { directory: 'C:\\AzureData' }, { secrets: { customData: Buffer.from(customData, 'utf8') } }).catch((e: unknown) => e);
    assert.ok(err instanceof PlatformCommandError, String(err));
    const text = [...lines, err.message].join('\n');
    assert.ok(lines.some((line) => line.includes('[redacted]')), lines.join('\n'));
    assert.ok(!text.includes('secret-token-xyz'), text);
  } finally {
    await s.close();
  }
});
