import { join, relative } from 'node:path';
import type { DiagnosticFile, ImageVerbs } from '../platform.ts';
import type { AgentArtifacts, ExecutableLocation, ImageFacts, RemoteAccessInventory, RemoteAccessRemoval, RemoteAccessRemovalResult } from '../image-types.ts';
import { installAnswerFile, type UnattendInstall } from '../windows/unattend-install.ts';
import { describeBackup, installSetupComplete, readSetupComplete, setupCompletePath } from '../windows/setup-complete.ts';
import { listAgentArtifacts, removeAgentArtifacts } from '../windows/artifacts.ts';
import { removeImageSetup, type ImageSetupRemoval, type KnownSetupFiles } from '../windows/setup-file-removal.ts';
import { ANSWER_FILE } from './answer-file.ts';
import { sandboxDiagnostics } from './diagnostics.ts';
import * as sandboxImage from './image.ts';
import type { SandboxMachine } from './machine.ts';

/**
 * The image verbs (image-types.ts ImageVerbs) on the sandbox: the Windows platform's plain Node modules
 * (artifacts, unattend install, SetupComplete.cmd) on the sandbox's folders, and machine.json's image
 * object (image.ts). SandboxPlatform (index.ts) extends this class with the provisioning verbs, and gives
 * it the machine and the change that records each verb.
 */
export abstract class SandboxImageVerbs implements ImageVerbs {
  abstract readonly root: string;
  abstract readonly stateDirectory: string;
  abstract readonly installDirectory: string;

  /** The current machine state. */
  abstract machine(): Promise<SandboxMachine>;

  /** Applies one verb's change to machine.json and records it (index.ts). */
  protected abstract change<T>(verb: string, apply: (machine: SandboxMachine) => { detail?: string | undefined; result: T }): Promise<T>;

  // As on Windows (windows/artifacts.ts, plain Node), on the sandbox's ProgramData and SystemDrive folders.
  listAgentArtifacts(keep?: readonly string[]): Promise<AgentArtifacts> {
    return listAgentArtifacts(this.#artifactLocations(), keep);
  }

  async removeAgentArtifacts(keep?: readonly string[]): Promise<AgentArtifacts> {
    const found = await removeAgentArtifacts(this.#artifactLocations(), keep);
    if (found.ours.length) await this.change('removeAgentArtifacts', () => ({ detail: `removed ${found.ours.map((p) => relative(this.root, p)).join(', ')}`, result: undefined }));
    return found;
  }

  #artifactLocations(): { stateDirectory: string; systemDrive: string } {
    return { stateDirectory: this.stateDirectory, systemDrive: join(this.root, 'SystemDrive') };
  }

  /** As on Windows (unattend-install.ts, plain Node): another answer file there is kept as a backup. */
  async installUnattend(xml: string, options: { replaceable?: readonly string[]; dryRun?: boolean } = {}): Promise<UnattendInstall> {
    const result = await installAnswerFile(join(this.root, ...ANSWER_FILE), xml, options.replaceable ?? [], options.dryRun);
    if (options.dryRun === true) return result;
    const kept = result.backup === undefined ? '' : `; kept the one there as ${relative(this.root, result.backup.path)}`;
    await this.change('installUnattend', () => ({ detail: `wrote Windows/Panther/Unattend/unattend.xml${kept}`, result: undefined }));
    return result;
  }

  readSetupComplete(): Promise<string | undefined> {
    return readSetupComplete(join(this.root, 'Windows'));
  }

  /** As on Windows (setup-file-removal.ts, plain Node), on the sandbox's Windows folder. */
  async removeImageSetup(known: KnownSetupFiles, options: { dryRun?: boolean } = {}): Promise<ImageSetupRemoval> {
    const result = await removeImageSetup({ answerFile: join(this.root, ...ANSWER_FILE), setupComplete: setupCompletePath(join(this.root, 'Windows')) }, known, options.dryRun);
    const changed = [result.answerFile, result.setupComplete].filter((f) => f.outcome === 'removed' || f.outcome === 'moved' || f.restored !== undefined);
    if (options.dryRun !== true && changed.length > 0) {
      await this.change('removeImageSetup', () => ({ detail: `took out ${changed.map((f) => relative(this.root, f.path)).join(', ')}`, result: undefined }));
    }
    return result;
  }

  /**
   * Modelled: the sandbox runs from source, so it stands for the winprov.exe installed in its ProgramFiles
   * folder, unless machine.json names another path (image.executablePath), as an MSI installed elsewhere
   * with INSTALLDIR would run from.
   */
  async readExecutableLocation(): Promise<ExecutableLocation> {
    const named = ((await this.machine()) as SandboxMachine & { image?: sandboxImage.SandboxImage }).image?.executablePath;
    return { running: named ?? join(this.installDirectory, 'winprov.exe'), programFiles: join(this.root, 'ProgramFiles') };
  }

  /** As on Windows (setup-complete.ts, plain Node): ASCII with CRLF, another script than this one kept as a backup. */
  async installSetupComplete(script: string, replaceable?: readonly string[]): Promise<string> {
    const result = await installSetupComplete(join(this.root, 'Windows'), script, replaceable);
    if (result.outcome === 'written') {
      const kept = result.backup === undefined ? '' : `; ${describeBackup(result)}`;
      await this.change('installSetupComplete', () => ({ detail: `wrote Windows/Setup/Scripts/SetupComplete.cmd${kept}`, result: undefined }));
    }
    return result.path;
  }

  /** The image verbs on machine.json (image.ts); a blocking Group Policy execution policy refuses them as the Windows session would. */
  async readRemoteAccess(): Promise<RemoteAccessInventory> {
    return sandboxImage.readRemoteAccess(sandboxImage.refuseBlockedPolicy(await this.machine()));
  }

  async removeRemoteAccess(removal: RemoteAccessRemoval): Promise<RemoteAccessRemovalResult> {
    sandboxImage.refuseBlockedPolicy(await this.machine());
    return this.change('removeRemoteAccess', (machine) => {
      const result = sandboxImage.removeRemoteAccess(machine, removal);
      const what = [...result.listeners.map((l) => `listener ${l.transport} ${l.address}`), ...result.firewallRules.map((r) => `rule ${r}`), ...result.certificates.map((t) => `certificate ${t}`)];
      return { detail: what.length > 0 ? `removed ${what.join(', ')}` : undefined, result };
    });
  }

  async readImageFacts(): Promise<ImageFacts> {
    return sandboxImage.readImageFacts(this.root, sandboxImage.refuseBlockedPolicy(await this.machine()));
  }

  /** The sandbox's equivalents: its Panther logs if any, machine.json as the "registry", its events. */
  async collectDiagnostics(): Promise<DiagnosticFile[]> {
    return sandboxDiagnostics(this.root, await this.machine());
  }
}
