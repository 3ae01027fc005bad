import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { applyAdminAccount } from './accounts.ts';
import { applyWinRm } from './winrm.ts';
import { applyOsVolume } from './volume.ts';
import { applyCertificateImport, openForImport } from './certificates.ts';
import { applyGuestAgentServices, guestAgentView } from './services.ts';
import { Secret } from '../../util/secret.ts';
import { writeFileAtomic } from '../../util/files.ts';
import { StateFolder } from '../state-files.ts';
import { PlatformCommandError, StateError } from '../../errors.ts';
import { wireServerFromInterfaceOptions } from '../../net/dhcp-cache.ts';
import { defaultMachine, loadMachine, saveMachine, type SandboxMachine } from './machine.ts';
import { readSandboxMedia } from './media.ts';
import { readSandboxAnswerFile, writeSandboxAnswerFile } from './answer-file.ts';
import { checkComputerName, checkPasswordPolicy, checkUserName } from './rules.ts';
import type {
  AdminAccount, AdminAccountResult, AgentEvent, AgentState, CertificateBundle, CertificateImportResult, ClearingArrangement, CompletionMarker,
  FabricInterface, GuestAgentServices, OsVolumeResult, Platform, ProvisioningMedia,
  WinRmListenerRequest, WinRmListenerResult,
} from '../platform.ts';
import { EVENT_IDS } from '../platform.ts';
import { FIRST_BOOT_RESUME_TASK, type FirstBootRunExit, type FirstBootRunRequest, type FirstBootVerbs } from '../first-boot-types.ts';
import { fitKvpValue } from '../kvp-value.ts';
import { arrangeAnswerFileClearing } from '../windows/setup-complete.ts';
import { readImageState } from '../windows/setup-state.ts';
import { SandboxImageVerbs } from './image-verbs.ts';

/**
 * A file-backed fake Windows rooted in a folder: machine.json (the OS state), drives/<letter>/ (the
 * provisioning media), SystemDrive/ and ProgramData/. It records every change, enforces the rules
 * Windows would (rules.ts), and can be inspected and run again. Tests, the demo and the benchmark run
 * the real agent against it.
 */

export interface SandboxOptions {
  /** Creates a default machine when the folder has none (a fresh generalized image). */
  create?: boolean;
}

export class SandboxPlatform extends SandboxImageVerbs implements Platform, FirstBootVerbs {
  readonly kind = 'sandbox' as const;
  readonly root: string;
  readonly stateDirectory: string;
  readonly installDirectory: string;
  /** The run's deadline (setDeadline): local reads give up when it passes. */
  #deadline: number | undefined;
  /** Owner only, made once per run: every journal save asks for it. */
  readonly #state: StateFolder;

  private constructor(root: string) {
    super();
    this.root = root;
    this.stateDirectory = join(root, 'ProgramData', 'winprov');
    this.installDirectory = join(root, 'ProgramFiles', 'winprov');
    this.#state = new StateFolder(this.stateDirectory, () => mkdir(this.stateDirectory, { recursive: true, mode: 0o700 }).then(() => undefined));
  }

  /** Opens (or, with create, initializes) the sandbox in root. */
  static async open(root: string, options: SandboxOptions = {}): Promise<SandboxPlatform> {
    const platform = new SandboxPlatform(root);
    const machine = await loadMachine(root);
    if (machine === undefined) {
      if (!options.create) throw new StateError(`${root} is not a sandbox (no machine.json); create one with a fresh run of "winprov demo" or the test helpers`);
      await mkdir(join(root, 'drives'), { recursive: true });
      await saveMachine(root, defaultMachine());
    }
    return platform;
  }

  /** The current machine state, for inspection. */
  async machine(): Promise<SandboxMachine> {
    const machine = await loadMachine(this.root);
    if (machine === undefined) throw new StateError(`${this.root} lost its machine.json`);
    return machine;
  }

  async findFabricInterface(_fabricAddress: string): Promise<FabricInterface> {
    const machine = await this.machine();
    const iface = machine.interfaces.find((i) => i.defaultRoute) ?? machine.interfaces[0];
    if (iface === undefined) throw new PlatformCommandError('findFabricInterface', 'no network interface routes to the fabric');
    return { name: iface.name, index: iface.index, id: iface.id, dhcpEnabled: iface.dhcpEnabled, addresses: [...iface.addresses] };
  }

  async enableDhcp(iface: FabricInterface, _waitMs: number): Promise<FabricInterface> {
    return this.change('enableDhcp', (machine) => {
      const found = machine.interfaces.find((i) => i.id === iface.id);
      if (found === undefined) throw new PlatformCommandError('enableDhcp', `interface ${iface.name} no longer exists`);
      found.dhcpEnabled = true;
      found.addresses = [machine.dhcpLeaseAddress ?? '10.0.0.4'];
      return { detail: `DHCP enabled on ${found.name}`, result: { ...iface, dhcpEnabled: true, addresses: [...found.addresses] } };
    });
  }

  async readCachedWireServerAddress(iface: FabricInterface): Promise<string | undefined> {
    const machine = await this.machine();
    const blob = machine.interfaces.find((i) => i.id === iface.id)?.dhcpInterfaceOptions;
    return blob === undefined ? undefined : wireServerFromInterfaceOptions(Buffer.from(blob, 'base64'));
  }

  async readProvisioningMedia(): Promise<ProvisioningMedia> {
    const hangs = (await this.machine()).hang === 'readProvisioningMedia';
    return readSandboxMedia(join(this.root, 'drives'), { deadline: this.#deadline, hangs });
  }

  async readVmId(): Promise<string> {
    return (await this.machine()).vmId;
  }

  async setComputerName(name: string): Promise<'renamed' | 'unchanged'> {
    checkComputerName(name);
    return this.change('setComputerName', (machine) => {
      const pending = machine.pendingComputerName ?? machine.computerName;
      if (pending.toLowerCase() === name.toLowerCase()) return { result: 'unchanged' as const };
      machine.pendingComputerName = name;
      return { detail: `pending computer name ${name}`, result: 'renamed' as const };
    });
  }

  async ensureAdminAccount(account: AdminAccount): Promise<AdminAccountResult> {
    checkUserName(account.username);
    checkPasswordPolicy(account.username, account.password.reveal());
    return this.change('ensureAdminAccount', (machine) => applyAdminAccount(machine, account));
  }

  async importCertificates(bundle: CertificateBundle): Promise<CertificateImportResult[]> {
    const inPfx = await openForImport(bundle);
    return this.change('importCertificates', (machine) => applyCertificateImport(machine, bundle, inPfx));
  }

  async configureWinRm(listeners: WinRmListenerRequest[]): Promise<WinRmListenerResult[]> {
    return this.change('configureWinRm', (machine) => applyWinRm(machine, listeners));
  }

  async extendOsVolume(): Promise<OsVolumeResult> {
    return this.change('extendOsVolume', (machine) => applyOsVolume(machine));
  }

  async writeCustomData(data: Secret<Uint8Array>): Promise<string> {
    const folder = join(this.root, 'SystemDrive', 'AzureData');
    const path = join(folder, 'CustomData.bin');
    await mkdir(folder, { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, data.reveal());
    return this.change('writeCustomData', (machine) => {
      machine.acls['SystemDrive/AzureData'] = ['SYSTEM', 'Administrators'];
      return { detail: `wrote ${data.reveal().byteLength} bytes to C:\\AzureData\\CustomData.bin`, result: 'C:\\AzureData\\CustomData.bin' };
    });
  }

  async setTimeZone(timeZoneId: string): Promise<'changed' | 'unchanged'> {
    return this.change('setTimeZone', (machine) => {
      if (machine.timeZone === timeZoneId) return { result: 'unchanged' as const };
      machine.timeZone = timeZoneId;
      return { detail: `time zone ${timeZoneId}`, result: 'changed' as const };
    });
  }

  async setGuestAgentServices(enabled: boolean): Promise<GuestAgentServices> {
    return this.change('setGuestAgentServices', (machine) => applyGuestAgentServices(machine, enabled));
  }

  async readGuestAgentServices(): Promise<GuestAgentServices> {
    return guestAgentView(await this.machine());
  }

  async readRdpCertificateThumbprint(): Promise<string | undefined> {
    return (await this.machine()).rdpCertificateThumbprint;
  }

  readAnswerFile(): Promise<{ path: string; xml: string } | undefined> {
    return readSandboxAnswerFile(this.root);
  }

  /** As on Windows, from the sandbox's Windows/Setup/State/State.ini. */
  readImageState(): Promise<string | undefined> {
    return readImageState(join(this.root, 'Windows'));
  }

  async writeAnswerFile(xml: Secret<string>): Promise<string> {
    const path = await writeSandboxAnswerFile(this.root, xml);
    return this.change('writeAnswerFile', (machine) => {
      machine.acls['Windows/Panther/Unattend/unattend.xml'] = ['SYSTEM', 'Administrators'];
      return { detail: 'wrote Windows/Panther/Unattend/unattend.xml', result: path };
    });
  }

  /** As on Windows (setup-complete.ts, plain Node), under the sandbox's Windows folder. */
  async arrangeAnswerFileClearing(): Promise<ClearingArrangement> {
    const arrangement = await arrangeAnswerFileClearing(join(this.root, 'Windows'));
    if (arrangement.outcome === 'installed') {
      await this.change('arrangeAnswerFileClearing', () => ({ detail: 'wrote Windows/Setup/Scripts/SetupComplete.cmd', result: undefined }));
    }
    return arrangement;
  }

  async writeKvpReport(report: string): Promise<void> {
    await this.change('writeKvpReport', (machine) => {
      machine.kvp.PROVISIONING_REPORT = fitKvpValue(report);
      return { result: undefined };
    });
  }

  // The first-boot script's verbs (first-boot.ts: a fake interpreter, never the host's shell), loaded
  // when first used: a provision run never uses them, nor node:child_process, which they bring.
  async readSavedCustomData(maxBytes: number): Promise<Secret<Uint8Array> | { tooLarge: number } | undefined> {
    return (await import('./first-boot.ts')).readSandboxCustomData(this.root, maxBytes);
  }

  async runFirstBootScript(request: FirstBootRunRequest): Promise<FirstBootRunExit> {
    return (await import('./first-boot.ts')).runSandboxScript(this.root, request);
  }

  async writeKvpValue(name: 'FIRST_BOOT_SCRIPT', value: string): Promise<void> {
    await this.change('writeKvpValue', (machine) => {
      machine.kvp[name] = fitKvpValue(value);
      return { result: undefined };
    });
  }

  /** machine.json's scheduledTasks, as Task Scheduler would hold it (windows/scripts/tasks.ps1). */
  async setFirstBootResume(on: boolean): Promise<boolean> {
    return this.change('setFirstBootResume', (machine) => {
      if (machine.failVerb?.verb === 'setFirstBootResume') throw new PlatformCommandError('setFirstBootResume', machine.failVerb.message);
      const tasks = machine.scheduledTasks ?? [];
      const others = tasks.filter((t) => t.name !== FIRST_BOOT_RESUME_TASK);
      machine.scheduledTasks = on ? [...others, { name: FIRST_BOOT_RESUME_TASK, command: 'winprov.exe first-boot-script', trigger: 'AtStartup', user: 'SYSTEM' }] : others;
      const changed = on || others.length < tasks.length;
      return { detail: changed ? `${on ? 'registered' : 'removed'} ${FIRST_BOOT_RESUME_TASK}` : undefined, result: changed };
    });
  }

  async recordEvent(event: AgentEvent): Promise<void> {
    await this.change('recordEvent', (machine) => {
      (machine.events ??= []).push({ at: new Date().toISOString(), id: EVENT_IDS[event.kind], kind: event.kind, message: event.message.slice(0, 31_000) });
      return { result: undefined };
    });
  }

  // The agent's state files as on Windows (state-files.ts), with the same checks of what is read back.
  readAgentState(): Promise<AgentState | undefined> {
    return this.#state.readAgentState();
  }

  writeAgentState(state: AgentState): Promise<void> {
    return this.#state.writeAgentState(state);
  }

  readCompletionMarker(): Promise<CompletionMarker | undefined> {
    return this.#state.readCompletionMarker();
  }

  async writeCompletionMarker(marker: CompletionMarker): Promise<void> {
    await this.#state.writeCompletionMarker(marker);
    await this.change('writeCompletionMarker', () => ({ detail: `completion marker for VM ${marker.vmId}`, result: undefined }));
  }

  saveOvfEnvCopy(redactedXml: string): Promise<void> {
    return this.#state.saveOvfEnvCopy(redactedXml);
  }

  /** The sandbox's only run lock is the lock file. */
  async holdRunMutex(_waitMs: number): Promise<'none'> {
    return 'none';
  }

  setDeadline(deadline: number): void {
    this.#deadline = deadline;
  }

  async close(): Promise<void> {}

  ensureStateDirectory(): Promise<void> {
    return this.#state.ensure();
  }

  /**
   * Loads the machine, applies one verb's change, records it and saves; honours crashAfter so tests
   * can kill the process right after any verb took effect.
   */
  protected async change<T>(verb: string, apply: (machine: SandboxMachine) => { detail?: string | undefined; result: T }): Promise<T> {
    const machine = await this.machine();
    const { detail, result } = apply(machine);
    if (detail !== undefined) machine.changes.push({ at: new Date().toISOString(), verb, detail });
    const crash = machine.crashAfter === verb;
    if (crash) delete machine.crashAfter;
    await saveMachine(this.root, machine);
    if (crash) process.kill(process.pid, 'SIGKILL');
    return result;
  }
}

export { passwordMatches } from './password.ts';
export { MEDIA_TAG_FILE } from './media.ts';
