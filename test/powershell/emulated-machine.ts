/**
 * One emulated Windows machine for end-to-end runs: a state file seeded by the emulation itself
 * (New-WindowsEmulationState, a typical sysprepped Azure image), the provisioning DVD mapped to a folder
 * the fabric simulator wrote, Windows folders under a temporary folder, and the record of every cmdlet
 * binding. The PowerShell child finds the state and the record through its environment.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WindowsPlatform } from '../../src/platform/windows/index.ts';
import { REPO_ROOT, runPwsh } from './tools.ts';

export const LAUNCHER = join(REPO_ROOT, 'test', 'powershell', 'emulation', 'bin', 'powershell');

// The emulated machine's state is plain JSON of the shape test/powershell/emulation/README.md documents.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type MachineState = Record<string, any>;

/** One recorded cmdlet call: the bound parameters as Module Logging prints them, and every string reachable from them. */
export interface CallRecord {
  command: string;
  parameterSet: string;
  bound: Record<string, string>;
  deep: string[];
}

export interface EmulatedMachine {
  dir: string;
  statePath: string;
  callsPath: string;
  /** Where PowerShell transcripts go when `transcripts` was asked for. */
  transcriptDir: string;
  /** The environment a winprov process needs to run on this machine (CLI runs get it whole). */
  env: Record<string, string>;
  state(): Promise<MachineState>;
  editState(edit: (state: MachineState) => void): Promise<void>;
  calls(): Promise<CallRecord[]>;
  /** A Windows platform on this machine, for in-process runs (call inside withEnv). */
  platform(log?: (level: string, message: string) => void): WindowsPlatform;
  /** Runs fn with this machine's environment in process.env (the PowerShell child inherits it). */
  withEnv<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface MachineOptions {
  /** The folder the simulator wrote the provisioning media to: drive D. */
  mediaDir: string;
  /**
   * Turn on PowerShell transcription (the "Turn on PowerShell Transcription" policy, here through the
   * user-scope powershell.config.json that pwsh reads): a HOME of the machine's own holds the policy.
   */
  transcripts?: boolean;
}

export async function emulatedMachine(pwsh: string, options: MachineOptions): Promise<EmulatedMachine> {
  const dir = await mkdtemp(join(tmpdir(), 'winprov-emulated-'));
  const statePath = join(dir, 'state.json');
  const callsPath = join(dir, 'calls.jsonl');
  const transcriptDir = join(dir, 'transcripts');
  const seeded = await runPwsh(pwsh, [
    '-Command',
    `. ./test/powershell/emulation/Import-WindowsEmulation.ps1; $s = New-WindowsEmulationState -Root '${dir}' -NoMedia; Initialize-WindowsEmulation -State $s -Path '${statePath}'`,
  ]);
  if (seeded.code !== 0) throw new Error(`seeding the emulated machine failed: ${seeded.stderr}`);
  const state = JSON.parse(await readFile(statePath, 'utf8')) as MachineState;
  state['drives'].push({ letter: 'D', root: options.mediaDir, ready: true, type: 'CDRom', label: 'CONFIG' });
  await writeFile(statePath, JSON.stringify(state));
  const folders = { SystemRoot: join(dir, 'Windows'), SystemDrive: 'C:', ProgramData: join(dir, 'ProgramData') };
  await mkdir(folders.SystemRoot, { recursive: true });
  await mkdir(folders.ProgramData, { recursive: true });
  // pwsh leaves a CoreFxPipe_PSHost.* socket per process in the temporary folder: this machine's own, removed with it.
  const temporary = join(dir, 'tmp');
  await mkdir(temporary, { recursive: true });
  const env: Record<string, string> = {
    ...folders,
    TMPDIR: temporary,
    WINPROV_POWERSHELL: LAUNCHER,
    WINPROV_PWSH: pwsh,
    WINPROV_EMULATION_STATE: statePath,
    WINPROV_EMULATION_CALLS: callsPath,
  };
  if (options.transcripts === true) {
    const home = join(dir, 'home');
    await mkdir(join(home, '.config', 'powershell'), { recursive: true });
    const policy = { PowerShellPolicies: { Transcription: { EnableTranscripting: true, EnableInvocationHeader: true, OutputDirectory: transcriptDir } } };
    await writeFile(join(home, '.config', 'powershell', 'powershell.config.json'), JSON.stringify(policy));
    env['HOME'] = home;
  }
  const machine: EmulatedMachine = {
    dir,
    statePath,
    callsPath,
    transcriptDir,
    env,
    state: async () => JSON.parse(await readFile(statePath, 'utf8')) as MachineState,
    editState: async (edit) => {
      const current = await machine.state();
      edit(current);
      await writeFile(statePath, JSON.stringify(current));
    },
    calls: async () => {
      const text = await readFile(callsPath, 'utf8').catch(() => '');
      return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as CallRecord);
    },
    platform: (log) => new WindowsPlatform({
      powershell: LAUNCHER,
      programData: folders.ProgramData,
      systemRoot: folders.SystemRoot,
      systemDrive: folders.SystemDrive,
      requestTimeoutMs: 60_000,
      log: log ?? (() => undefined),
    }),
    withEnv: async (fn) => {
      const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
      Object.assign(process.env, env);
      try {
        return await fn();
      } finally {
        for (const [key, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[key];
          else process.env[key] = value;
        }
      }
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
  return machine;
}

/** Commands that change a Windows machine, as the emulation records them. */
export const MUTATING_COMMANDS = new Set([
  'New-LocalUser', 'Set-LocalUser', 'Enable-LocalUser', 'Disable-LocalUser', 'Rename-LocalUser', 'Add-LocalGroupMember',
  'Invoke-CimMethod', 'Rename-Computer', 'Set-NetIPInterface', 'Remove-NetIPAddress', 'Remove-NetRoute', 'Set-DnsClientServerAddress',
  'New-WSManInstance', 'Set-WSManInstance', 'Remove-WSManInstance', 'New-NetFirewallRule', 'Set-NetFirewallRule', 'Remove-NetFirewallRule',
  'Set-Service', 'Start-Service', 'Set-TimeZone', 'Set-Acl', 'Resize-Partition',
]);
