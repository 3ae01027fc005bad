import type { Secret } from '../util/secret.ts';

/**
 * The verbs of the first-boot script (src/first-boot/): read the custom data the provisioning run saved,
 * run one script file with the interpreter its format names, and publish the outcome in KVP. Both
 * platforms implement them; only `winprov first-boot-script` calls them, and only when the image's
 * switch (winprov.json "firstBootScript") is on.
 */

/** The interpreter a script's format names: Windows PowerShell 5.1, or cmd.exe. */
export type ScriptInterpreter = 'powershell' | 'cmd';

export interface FirstBootRunRequest {
  /** The script file, in a folder limited to SYSTEM and Administrators. */
  scriptPath: string;
  interpreter: ScriptInterpreter;
  /** The script is stopped when it runs longer. */
  timeoutMs: number;
  /** Every chunk of its standard output and error, in order, as it comes. */
  onOutput(chunk: Uint8Array): void;
}

export interface FirstBootRunExit {
  /** The interpreter's exit code; undefined when it was killed or could not start. */
  exitCode: number | undefined;
  timedOut: boolean;
  /** Why the interpreter could not be started (ENOENT ...). */
  spawnError?: string;
}

/** The startup task's full name (Task Scheduler path and name; windows/scripts/tasks.ps1 has the same, fixed). */
export const FIRST_BOOT_RESUME_TASK = '\\winprov\\first-boot-resume';

export interface FirstBootVerbs {
  /** %SystemDrive%\AzureData\CustomData.bin as the provisioning run wrote it (already decoded), if any. */
  readSavedCustomData(maxBytes: number): Promise<Secret<Uint8Array> | { tooLarge: number } | undefined>;
  /** Runs the script as the current user (SYSTEM at SetupComplete), killing it after timeoutMs. */
  runFirstBootScript(request: FirstBootRunRequest): Promise<FirstBootRunExit>;
  /**
   * Registers (true) or removes (false) the startup task that runs this winprov's `first-boot-script` as
   * SYSTEM when Windows next starts. It is there only while a script runs: SetupComplete.cmd runs once,
   * so a script that restarts Windows would otherwise leave its record "started" for good; a source
   * IMDS could not answer for keeps it too, to be tried again. Removing a task that is not there is no
   * error. Returns whether a task was registered (on) or removed (off).
   */
  setFirstBootResume(on: boolean): Promise<boolean>;
  /** A Hyper-V KVP value beside PROVISIONING_REPORT (REG_SZ, at most 1 KB). */
  writeKvpValue(name: 'FIRST_BOOT_SCRIPT', value: string): Promise<void>;
}
