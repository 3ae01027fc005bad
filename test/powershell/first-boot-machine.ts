/**
 * Shared by the first-boot script's tests on pwsh with Windows emulated (first-boot.test.ts: user data,
 * first-boot-custom-data.test.ts: custom data): one emulated machine provisioned to Ready through the
 * Windows platform against the fabric simulator, then `winprov first-boot-script --platform windows` runs
 * as SetupComplete.cmd starts it, and what each run left behind: the record (first-boot.json), the KVP
 * value FIRST_BOOT_SCRIPT in the emulated registry, the Application event log entries it added, and the
 * runs of the stand-in cmd.exe.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FabricSimulator } from '../../src/simulator/index.ts';
import { ImdsSimulator, type ImdsScenario } from '../../src/simulator/imds.ts';
import { readFirstBootRecord, type FirstBootRecord, type FirstBootSource, type ScriptRecord } from '../../src/first-boot/record.ts';
import type { ScriptFormat } from '../../src/first-boot/formats.ts';
import { emulatedMachine, type EmulatedMachine, type MachineState } from './emulated-machine.ts';
import { REPO_ROOT } from './tools.ts';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const MAIN = join(REPO_ROOT, 'src', 'main.ts');

/** One winprov run (the emulation gives each machine its own run mutex: handlers/intercepts.ps1). */
export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

/**
 * A stand-in cmd.exe for `cmd.exe /d /c FILE`: notes each start in cmd.exe.runs beside itself, prints
 * `echo` lines, skips `rem` and empty lines, ends at `exit /b N`; any other line is what cmd.exe says of
 * an unknown command (so a `#cmd` marker left in the file shows up in the output and the exit code).
 */
const FAKE_CMD = `#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$0.runs"
[ "$#" -eq 3 ] && [ "$1" = "/d" ] && [ "$2" = "/c" ] || exit 9009
rc=0
while IFS= read -r line || [ -n "$line" ]; do
  line="\${line%$'\\r'}"
  case "$line" in
    "echo "*) printf '%s\\n' "\${line#echo }"; rc=0 ;;
    "exit /b "*) exit "\${line#exit /b }" ;;
    ""|"rem"|"rem "*|"REM "*) ;;
    *) printf "'%s' is not recognized as an internal or external command,\\noperable program or batch file.\\n" "\${line%% *}" >&2; rc=9009 ;;
  esac
done < "$3"
exit "$rc"
`;

export const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** One script per format the README names; each prints `line` (PowerShell adds its edition: proof of the interpreter). */
export const SCRIPT_FORMATS: readonly { name: string; format: ScriptFormat; interpreter: 'powershell' | 'cmd'; text: (line: string) => string }[] = [
  { name: '#ps1', format: 'ps1', interpreter: 'powershell', text: (line) => `#ps1\nWrite-Output "${line} on $($PSVersionTable.PSEdition)"\nexit 0\n` },
  { name: '#ps1_sysnative', format: 'ps1_sysnative', interpreter: 'powershell', text: (line) => `#ps1_sysnative\nWrite-Output "${line} on $($PSVersionTable.PSEdition)"\n` },
  { name: '<powershell>', format: 'powershell-tag', interpreter: 'powershell', text: (line) => `text before the block is not run\n<powershell>\nWrite-Output "${line} on $($PSVersionTable.PSEdition)"\n</powershell>\nnor after it\n` },
  { name: 'rem cmd', format: 'rem-cmd', interpreter: 'cmd', text: (line) => `rem cmd\r\necho ${line} on cmd.exe\r\nexit /b 0\r\n` },
  { name: '#cmd', format: 'cmd', interpreter: 'cmd', text: (line) => `#cmd\necho ${line} on cmd.exe\n` },
];

/** What a script of SCRIPT_FORMATS prints. */
export function printed(format: (typeof SCRIPT_FORMATS)[number], line: string): string {
  return `${line} on ${format.interpreter === 'cmd' ? 'cmd.exe' : 'Core'}`;
}

/** Not a script winprov runs: cloud-config. */
export const NOT_A_SCRIPT = '#cloud-config\nruncmd: [ "echo hi" ]\n';

export interface FirstBootRun {
  result: CliResult;
  /** stdout and stderr together: where the console lines went. */
  out: string;
  record: FirstBootRecord | undefined;
  script(source: FirstBootSource): ScriptRecord | undefined;
  /** The KVP value FIRST_BOOT_SCRIPT after the run (removed before it). */
  kvp: string | undefined;
  /** The winprov entries this run added to the Application event log. */
  events: string[];
  /** The stand-in cmd.exe's starts during this run (its arguments). */
  cmdRuns: string[];
  /** The cmdlet calls recorded by the emulation during this run. */
  calls: number;
  /** The IMDS simulator of this run, when it had one. */
  imds: ImdsSimulator | undefined;
}

export interface FirstBootMachine {
  simulator: FabricSimulator;
  machine: EmulatedMachine;
  stateDir: string;
  /** winprov.json of the image (the first-boot settings are read from it only). */
  config: string;
  /** The environment of `first-boot-script` runs (see firstBootMachine). */
  env: Record<string, string>;
  /** CustomData.bin where the provisioning run wrote it. */
  customDataPath: string;
  /**
   * Runs `first-boot-script` with these winprov.json settings (and an IMDS simulator when given, as
   * imdsAddress); unless keepRecord, the record, the output logs and the KVP value of an earlier case
   * are removed first, so each case starts as a VM that never ran a first-boot script. `env` is added to
   * the run's environment.
   */
  firstBoot(settings: Record<string, string>, options?: { imds?: ImdsScenario; keepRecord?: boolean; env?: Record<string, string> }): Promise<FirstBootRun>;
  close(): Promise<void>;
}

const GUEST_KEY = 'SOFTWARE\\Microsoft\\Virtual Machine\\Guest';

function winprovEvents(state: MachineState): string[] {
  return (state['eventLog']['entries'] as MachineState[]).filter((e) => e['source'] === 'winprov').map((e) => String(e['message']));
}

/** A machine provisioned to Ready (`provision --platform windows`) with this custom data, ready for first-boot runs. */
export async function firstBootMachine(pwsh: string, scenario: { customData?: string } = {}): Promise<FirstBootMachine> {
  const simulator = new FabricSimulator({ scenario: { adminPassword: 'Emul4ted-First-Boot!', certificateCount: 0, ...scenario } });
  await simulator.start();
  const machine = await emulatedMachine(pwsh, { mediaDir: '' });
  try {
    const mediaDir = join(machine.dir, 'D');
    await simulator.writeProvisioningMedia(mediaDir);
    // Only ovf-env.xml carries the custom data to the agent: what CustomData.bin holds came from there.
    await rm(join(mediaDir, 'CustomData.bin'), { force: true });
    await machine.editState((state) => {
      state['drives'].find((d: MachineState) => d['letter'] === 'D')['root'] = mediaDir;
    });
    const system32 = join(machine.env['SystemRoot']!, 'System32');
    const cmd = join(system32, 'cmd.exe');
    await mkdir(system32, { recursive: true });
    await writeFile(cmd, FAKE_CMD);
    await chmod(cmd, 0o755);
    const provisioned = await runCli(['provision', '--platform', 'windows', '--fabric', simulator.url, '--deadline', '3m'], machine.env);
    assert.equal(provisioned.code, 0, provisioned.stdout.slice(-3000));
  } catch (err) {
    await simulator.stop();
    await machine.close();
    throw err;
  }
  const stateDir = join(machine.env['ProgramData']!, 'winprov');
  const config = join(machine.dir, 'winprov.json');
  const cDrive = join(machine.dir, 'C');
  // The provisioning run (SystemDrive "C:") wrote CustomData.bin through PowerShell to C:\AzureData, which
  // the emulation maps to <machine>/C/AzureData. first-boot-script reads it back from Node, at
  // driveRoot(SystemDrive)\AzureData: on Windows the same C:\AzureData, here a folder only when SystemDrive
  // names the real one (driveRoot leaves a value that is not a drive letter as it is).
  const env = { ...machine.env, SystemDrive: cDrive };
  const cmdRunsPath = join(machine.env['SystemRoot']!, 'System32', 'cmd.exe.runs');
  const cmdRuns = async (): Promise<string[]> => (await readFile(cmdRunsPath, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');

  return {
    simulator,
    machine,
    stateDir,
    config,
    env,
    customDataPath: join(cDrive, 'AzureData', 'CustomData.bin'),
    firstBoot: async (settings, options = {}) => {
      if (options.keepRecord !== true) {
        await rm(join(stateDir, 'first-boot.json'), { force: true });
        for (const source of ['customData', 'userData']) await rm(join(stateDir, `first-boot-${source}.log`), { force: true });
        await machine.editState((state) => {
          delete state['registry'][GUEST_KEY]['FIRST_BOOT_SCRIPT'];
        });
      }
      const before = { state: await machine.state(), cmd: (await cmdRuns()).length, calls: (await machine.calls()).length };
      const imds = options.imds === undefined ? undefined : new ImdsSimulator(options.imds);
      const imdsAddress = imds === undefined ? {} : { imdsAddress: await imds.start() };
      try {
        await writeFile(config, JSON.stringify({ ...imdsAddress, ...settings }));
        const result = await runCli(['first-boot-script', '--platform', 'windows', '--config', config], { ...env, ...options.env });
        const record = await readFirstBootRecord(stateDir);
        const state = await machine.state();
        return {
          result,
          out: result.stdout + result.stderr,
          record,
          script: (source) => record?.scripts.find((s) => s.source === source),
          kvp: state['registry'][GUEST_KEY]['FIRST_BOOT_SCRIPT']?.['data'] as string | undefined,
          events: winprovEvents(state).slice(winprovEvents(before.state).length),
          cmdRuns: (await cmdRuns()).slice(before.cmd),
          calls: (await machine.calls()).length - before.calls,
          imds,
        };
      } finally {
        await imds?.stop();
      }
    },
    close: async () => {
      await simulator.stop();
      await machine.close();
    },
  };
}

/**
 * The script of `source` ran once with its format's interpreter, succeeded, printed `line`, and its
 * outcome reached the record, the output log, the KVP value and the event log; its file is gone.
 */
export async function assertRan(fb: FirstBootMachine, run: FirstBootRun, source: FirstBootSource, format: (typeof SCRIPT_FORMATS)[number], line: string): Promise<void> {
  assert.equal(run.result.code, 0, run.out);
  const script = run.script(source);
  assert.equal(script?.outcome, 'succeeded', JSON.stringify(script));
  assert.equal(script.format, format.format);
  assert.equal(script.exitCode, 0);
  const expected = printed(format, line);
  assert.deepEqual(script.tail, [expected]);
  assert.match(await readFile(script.outputLog!, 'utf8'), new RegExp(`^${expected}$`, 'm'));
  const scriptFile = join(fb.stateDir, 'first-boot', `${source}.${format.interpreter === 'cmd' ? 'cmd' : 'ps1'}`);
  assert.deepEqual(run.cmdRuns.filter((r) => r.includes(`${source}.`)), format.interpreter === 'cmd' ? [`/d /c ${scriptFile}`] : []);
  assert.deepEqual(await readdir(join(fb.stateDir, 'first-boot')), [], 'the script file is removed after the run');
  assert.match(run.kvp ?? '', new RegExp(`source=${source}\\|outcome=succeeded\\|exit=0\\|duration_ms=\\d+\\|tail=${expected}(;|$)`));
  assert.equal(run.events.filter((e) => e.startsWith(`first-boot script ${source}: succeeded, format ${format.format}, exit 0`)).length, 1, run.events.join('\n'));
  // The startup task (tasks.ps1) was there while the script ran, and is gone once it ended.
  assert.equal(script.resumeTask, true);
  assert.deepEqual((await fb.machine.state())['scheduledTasks'] ?? [], []);
}

/** The script of `source` was not run, for `reason`: no interpreter started, no output log, the KVP value says why. */
export async function assertNotRun(fb: FirstBootMachine, run: FirstBootRun, source: FirstBootSource, reason: RegExp, outcome: 'not-run' | 'unavailable' = 'not-run'): Promise<void> {
  assert.equal(run.result.code, 0, run.out);
  const script = run.script(source);
  assert.equal(script?.outcome, outcome, JSON.stringify(script));
  assert.match(script.reason ?? '', reason);
  assert.equal(script.outputLog, undefined);
  assert.deepEqual(run.cmdRuns, []);
  assert.equal(await readFile(join(fb.stateDir, `first-boot-${source}.log`), 'utf8').catch(() => 'absent'), 'absent', 'no output log: no interpreter started');
  assert.match(run.kvp ?? '', new RegExp(`source=${source}\\|outcome=${outcome}\\|reason=`));
  assert.match(run.out, new RegExp(`first-boot script ${source}: ${outcome}, `));
}

