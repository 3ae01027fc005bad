import { join } from 'node:path';
import type { AgentState, ClearingArrangement, CompletionMarker } from '../platform.ts';
import type { AgentArtifacts, ExecutableLocation } from '../image-types.ts';
import { StateFolder } from '../state-files.ts';
import * as artifacts from './artifacts.ts';
import { readAnswerFile } from './answer-file.ts';
import { readImageState } from './setup-state.ts';
import { arrangeAnswerFileClearing, describeBackup, installSetupComplete, readSetupComplete, setupCompletePath } from './setup-complete.ts';
import { removeImageSetup, type ImageSetupRemoval, type KnownSetupFiles } from './setup-file-removal.ts';
import { installAnswerFile, type UnattendInstall } from './unattend-install.ts';
import type { LogFunction } from './session.ts';

/** Where Windows' folders and winprov's own are; the paths come from config.ts, never from the environment here. */
export interface WindowsFolderOptions {
  /** %SystemRoot%, default C:\Windows: powershell.exe is under it. */
  systemRoot?: string;
  /** %SystemDrive%, default C: (custom data goes to <SystemDrive>\AzureData). */
  systemDrive?: string;
  /** %ProgramData%, default C:\ProgramData (the state folder is <ProgramData>\winprov). */
  programData?: string;
  /** Where winprov.exe and its unattend templates are installed; default C:\Program Files\winprov. */
  installDirectory?: string;
  /** The running executable (process.execPath); default winprov.exe in installDirectory. */
  executable?: string;
  /** %ProgramFiles%, default C:\Program Files: the answer file and SetupComplete.cmd start winprov.exe under it. */
  programFiles?: string;
  log?: LogFunction;
}

/**
 * The Windows platform's folders, resolved once from its options, and the verbs Node does in them itself,
 * with no round trip to PowerShell: the state folder's files, the answer file and State.ini read,
 * SetupComplete.cmd, the unattend install and winprov's artifacts. WindowsPlatform (windows-platform.ts)
 * adds the verbs of its PowerShell session, and makes the state folder with its ACL.
 */
export abstract class WindowsFolders {
  readonly stateDirectory: string;
  readonly installDirectory: string;
  protected readonly systemRoot: string;
  protected readonly systemDrive: string;
  protected readonly log: LogFunction;
  readonly #executable: ExecutableLocation;
  readonly #state: StateFolder;

  constructor(options: WindowsFolderOptions) {
    this.systemRoot = options.systemRoot ?? 'C:\\Windows';
    this.systemDrive = (options.systemDrive ?? 'C:').replace(/[\\/]+$/, '');
    // Node's own path join: a Windows path on Windows, a temporary folder when tests run elsewhere.
    this.stateDirectory = join(options.programData ?? 'C:\\ProgramData', 'winprov');
    this.installDirectory = options.installDirectory ?? 'C:\\Program Files\\winprov';
    this.#executable = { running: options.executable ?? join(this.installDirectory, 'winprov.exe'), programFiles: options.programFiles ?? 'C:\\Program Files' };
    this.log = options.log ?? (() => undefined);
    this.#state = new StateFolder(this.stateDirectory, () => this.createStateDirectory());
  }

  /** Creates the state folder with its SYSTEM + Administrators ACL; called once per run, by ensureStateDirectory. */
  protected abstract createStateDirectory(): Promise<void>;

  /** Node reads it (as installUnattend writes it); PowerShell writes it, with its ACL. */
  readAnswerFile(): Promise<{ path: string; xml: string } | undefined> {
    return readAnswerFile(this.answerFilePath());
  }

  /** Node reads State.ini: no round trip to PowerShell for two lines of text. */
  readImageState(): Promise<string | undefined> {
    return readImageState(this.systemRoot);
  }

  /** Node, as installSetupComplete: the file inherits the ACL of %SystemRoot%\Setup\Scripts. */
  arrangeAnswerFileClearing(): Promise<ClearingArrangement> {
    return arrangeAnswerFileClearing(this.systemRoot);
  }

  protected answerFilePath(): string {
    return join(this.systemRoot, 'Panther', 'Unattend', 'unattend.xml');
  }

  /** Creates the state folder with its SYSTEM + Administrators ACL (PowerShell), once per run. */
  ensureStateDirectory(): Promise<void> {
    return this.#state.ensure();
  }

  readAgentState(): Promise<AgentState | undefined> {
    return this.#state.readAgentState();
  }

  writeAgentState(state: AgentState): Promise<void> {
    return this.#state.writeAgentState(state);
  }

  readCompletionMarker(): Promise<CompletionMarker | undefined> {
    return this.#state.readCompletionMarker();
  }

  writeCompletionMarker(marker: CompletionMarker): Promise<void> {
    return this.#state.writeCompletionMarker(marker);
  }

  saveOvfEnvCopy(redactedXml: string): Promise<void> {
    return this.#state.saveOvfEnvCopy(redactedXml);
  }

  listAgentArtifacts(keep?: readonly string[]): Promise<AgentArtifacts> {
    return artifacts.listAgentArtifacts({ stateDirectory: this.stateDirectory, systemDrive: this.systemDrive }, keep);
  }

  removeAgentArtifacts(keep?: readonly string[]): Promise<AgentArtifacts> {
    return artifacts.removeAgentArtifacts({ stateDirectory: this.stateDirectory, systemDrive: this.systemDrive }, keep);
  }

  /** Node, as installSetupComplete (unattend-install.ts): another answer file there is kept as a backup. */
  installUnattend(xml: string, options: { replaceable?: readonly string[]; dryRun?: boolean } = {}): Promise<UnattendInstall> {
    return installAnswerFile(this.answerFilePath(), xml, options.replaceable ?? [], options.dryRun);
  }

  readSetupComplete(): Promise<string | undefined> {
    return readSetupComplete(this.systemRoot);
  }

  /** Node, as installUnattend and installSetupComplete: the two files and their backups. */
  removeImageSetup(known: KnownSetupFiles, options: { dryRun?: boolean } = {}): Promise<ImageSetupRemoval> {
    return removeImageSetup({ answerFile: this.answerFilePath(), setupComplete: setupCompletePath(this.systemRoot) }, known, options.dryRun);
  }

  async readExecutableLocation(): Promise<ExecutableLocation> {
    return { ...this.#executable };
  }

  /** Writes the script, ASCII with CRLF; a SetupComplete.cmd that is not winprov's is kept as a backup (logged as a warning). */
  async installSetupComplete(script: string, replaceable?: readonly string[]): Promise<string> {
    const result = await installSetupComplete(this.systemRoot, script, replaceable);
    if (result.backup !== undefined) this.log('warn', describeBackup(result));
    this.log('info', result.outcome === 'unchanged' ? `${result.path} is already winprov's current script` : `wrote ${result.path}`);
    return result.path;
  }
}
