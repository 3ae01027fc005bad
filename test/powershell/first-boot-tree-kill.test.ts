/**
 * The first-boot script's timeout stops the processes the script started, through the Windows platform on
 * pwsh with Windows emulated: `provision --platform windows` to Ready against the fabric simulator, then
 * `first-boot-script` with a #ps1 user data script (run by the real pwsh) that starts a long-lived
 * grandchild and sleeps past firstBootTimeout. A stand-in taskkill.exe under the emulated %SystemRoot%\System32
 * ends the given pid's descendants and the pid, as `taskkill /PID <pid> /T /F` does on Windows; with one
 * that fails instead, the interpreter is still stopped and the failure is a warning.
 *
 * pwsh takes about a second of CPU to start, more than 5 s of wall time on a loaded machine: the timeout
 * could stop it before the script had started the grandchild (and written its pid). So winprov is held
 * from the interpreter's start until the script has started the grandchild (HOLDING_POWERSHELL): the
 * timeout is acted on only then, however slow pwsh is, and what winprov does at it is unchanged. That
 * the interpreter was stopped, and not waited out, shows in its output, not in the run's wall time (which
 * load stretches): the line the script writes after its sleep never comes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FabricSimulator } from '../../src/simulator/index.ts';
import { ImdsSimulator } from '../../src/simulator/imds.ts';
import { emulatedMachine, LAUNCHER, type EmulatedMachine, type MachineState } from './emulated-machine.ts';
import { runCli } from './first-boot-machine.ts';
import { powerShellTools } from './tools.ts';

const tools = powerShellTools();
const skip = 'skipped' in tools ? `PowerShell tier skipped: ${tools.skipped}` : false;


/**
 * A stand-in taskkill.exe for `taskkill /PID <pid> /T /F`: records its arguments, then stops <pid> and
 * walks its children (ps --ppid) depth first, killing each, as taskkill /T walks the recorded parent ids.
 * A call for winprov's own PowerShell session (stopped with its tree when it is slow to exit at the end of
 * the run) is recorded apart: only the script's tree is counted here.
 */
const TASKKILL = `#!/usr/bin/env bash
log=taskkill-calls.txt; grep -q launcher.ps1 "/proc/$2/cmdline" 2>/dev/null && log=session-taskkill-calls.txt
printf '%s\\n' "$*" >> "$(dirname "$0")/$log"
[ "$#" -eq 4 ] && [ "$1" = "/PID" ] && [ "$3" = "/T" ] && [ "$4" = "/F" ] || { echo 'ERROR: Invalid syntax.' >&2; exit 1; }
kill -0 "$2" 2>/dev/null || { echo "ERROR: The process \\"$2\\" not found." >&2; exit 128; }
kill_tree() {
  kill -STOP "$1" 2>/dev/null
  local child
  for child in $(ps -o pid= --ppid "$1"); do kill_tree "$child"; done
  kill -KILL "$1" 2>/dev/null
}
kill_tree "$2"
echo "SUCCESS: The process with PID $2 (child process of PID $PPID) has been terminated."
`;

/** One that refuses, as taskkill does for a process it may not end. */
const TASKKILL_DENIED = `#!/usr/bin/env bash
log=taskkill-calls.txt; grep -q launcher.ps1 "/proc/$2/cmdline" 2>/dev/null && log=session-taskkill-calls.txt
printf '%s\\n' "$*" >> "$(dirname "$0")/$log"
echo "ERROR: The process with PID $2 (child process of PID $PPID) could not be terminated." >&2
echo 'Reason: Access is denied.' >&2
exit 1
`;

/**
 * The "powershell" winprov runs, in front of the emulation's (LAUNCHER): for the first-boot script's command
 * line (the one the emulation runs with pwsh -File), it stops winprov (its parent, which has just started
 * it) with SIGSTOP and names it to the script in HELD_WINPROV, for the script to continue it (SIGCONT) once
 * its grandchild runs; it notes the pid in held-winprov.pids for the suite's end, should the script never
 * get that far. winprov's own PowerShell goes straight through.
 */
const HOLDING_POWERSHELL = `#!/usr/bin/env bash
if [ "$#" -eq 7 ] && [ "$1" = "-NoLogo" ] && [ "$2" = "-NoProfile" ] && [ "$3" = "-NonInteractive" ] && [ "$4" = "-ExecutionPolicy" ] && [ "$5" = "Bypass" ] && [ "$6" = "-File" ]; then
  export HELD_WINPROV=$PPID
  echo "$PPID" >> "$(dirname "$0")/held-winprov.pids"
  kill -STOP "$PPID"
fi
exec '${LAUNCHER}' "$@"
`;

/** Running, not a zombie (in a container nobody may reap an orphan that was killed). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

describe('a first-boot script past its timeout: its process tree is stopped (Windows platform on pwsh)', { skip, timeout: 300_000 }, () => {
  let simulator: FabricSimulator | undefined;
  let machine: EmulatedMachine | undefined;
  let stateDir = '';
  let config = '';
  let system32 = '';
  const leftovers: number[] = [];

  before(async () => {
    if ('skipped' in tools) return;
    simulator = new FabricSimulator({ scenario: { adminPassword: 'Emul4ted-Tree-Kill!', certificateCount: 0 } });
    await simulator.start();
    machine = await emulatedMachine(tools.pwsh, { mediaDir: '' });
    const mediaDir = join(machine.dir, 'D');
    await simulator.writeProvisioningMedia(mediaDir);
    await machine.editState((state) => {
      state['drives'].find((d: MachineState) => d['letter'] === 'D')['root'] = mediaDir;
    });
    system32 = join(machine.env['SystemRoot']!, 'System32');
    await mkdir(system32, { recursive: true });
    stateDir = join(machine.env['ProgramData']!, 'winprov');
    config = join(machine.dir, 'winprov.json');
    const provisioned = await runCli(['provision', '--platform', 'windows', '--fabric', simulator.url, '--deadline', '3m'], machine.env);
    assert.equal(provisioned.code, 0, provisioned.stdout.slice(-3000));
  });
  after(async () => {
    for (const pid of leftovers) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    // A winprov still held (its script never continued it) must not stay stopped for ever.
    const held = machine === undefined ? '' : await readFile(join(machine.dir, 'held-winprov.pids'), 'utf8').catch(() => '');
    for (const pid of held.split('\n').filter(Boolean)) try { process.kill(Number(pid), 'SIGCONT'); } catch { /* gone */ }
    await simulator?.stop();
    await machine?.close();
  });

  /** A #ps1 script starting `sleep 300` (its pid to a file, its output away from the script's pipes), continuing winprov, then sleeping 60 s and saying so. */
  async function hungScript(taskkill: string, name: string) {
    await rm(join(stateDir, 'first-boot.json'), { force: true });
    await rm(join(system32, 'taskkill-calls.txt'), { force: true });
    const exe = join(system32, 'taskkill.exe');
    await writeFile(exe, taskkill);
    await chmod(exe, 0o755);
    const pidFile = join(machine!.dir, `${name}.pid`);
    const away = join(machine!.dir, `${name}.out`);
    const powershell = join(machine!.dir, 'holding-powershell');
    await writeFile(powershell, HOLDING_POWERSHELL);
    await chmod(powershell, 0o755);
    const script = [
      '#ps1',
      'try {',
      `  $grandchild = Start-Process -FilePath sleep -ArgumentList 300 -PassThru -RedirectStandardOutput '${away}' -RedirectStandardError '${away}.err'`,
      `  Set-Content -LiteralPath '${pidFile}' -Value $grandchild.Id`,
      '  Write-Output "started $($grandchild.Id)"',
      '} finally {',
      '  kill -CONT $env:HELD_WINPROV',
      '}',
      'Start-Sleep -Seconds 60',
      'Write-Output "slept 60 s"',
      '',
    ].join('\n');
    const imds = new ImdsSimulator({ userData: b64(script) });
    const url = await imds.start();
    try {
      await writeFile(config, JSON.stringify({ firstBootScript: 'userData', imdsAddress: url, firstBootTimeout: '5s' }));
      const result = await runCli(['first-boot-script', '--platform', 'windows', '--config', config], { ...machine!.env, WINPROV_POWERSHELL: powershell });
      const recordText = await readFile(join(stateDir, 'first-boot.json'), 'utf8').catch(() => assert.fail(`no first-boot.json; the run said: ${result.stdout.slice(-2000)}${result.stderr.slice(-1000)}`));
      const record = JSON.parse(recordText) as { scripts: MachineState[] };
      const grandchild = Number((await readFile(pidFile, 'utf8')).replace(/^\uFEFF/, '').trim());
      assert.ok(Number.isInteger(grandchild) && grandchild > 0, `the script wrote its grandchild's pid (${grandchild})`);
      leftovers.push(grandchild);
      const calls = (await readFile(join(system32, 'taskkill-calls.txt'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
      return { result, script: record.scripts[0]!, grandchild, calls };
    } finally {
      await imds.stop();
    }
  }

  it('taskkill /PID <interpreter> /T /F ends the interpreter and the grandchild it started', async () => {
    const { result, script, grandchild, calls } = await hungScript(TASKKILL, 'tree');
    assert.equal(result.code, 0, result.stdout);
    assert.equal(script['outcome'], 'timed-out');
    // Not "slept 60 s": the interpreter was stopped in its sleep, the run did not wait the script out.
    assert.deepEqual(script['tail'], [`started ${grandchild}`]);
    assert.equal(alive(grandchild), false, `the grandchild ${grandchild} still runs`);
    assert.equal(calls.length, 1, 'taskkill ran once');
    assert.match(calls[0]!, /^\/PID \d+ \/T \/F$/);
    assert.doesNotMatch(result.stdout, /could not be stopped/);
  });

  it('taskkill refusing: the interpreter is stopped anyway and the failure is a warning', async () => {
    const { result, script, grandchild, calls } = await hungScript(TASKKILL_DENIED, 'denied');
    assert.equal(result.code, 0, result.stdout);
    assert.equal(script['outcome'], 'timed-out');
    assert.deepEqual(script['tail'], [`started ${grandchild}`], 'the interpreter was stopped in its sleep');
    assert.equal(calls.length, 1);
    assert.match(result.stdout, /WARN.*processes the script started could not be stopped at its timeout \(taskkill \/T: exit 1, "ERROR: The process with PID \d+ .*Access is denied\."\)/);
    assert.match(await readFile(join(stateDir, 'winprov.log'), 'utf8'), /taskkill \/T: exit 1/);
    // What this stand-in left running is what a refused taskkill leaves on Windows.
    assert.equal(alive(grandchild), true, 'the refused taskkill ended nothing');
  });
});
