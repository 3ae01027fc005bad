import { mkdir } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { MediaNotFoundError, PlatformCommandError, PlatformRejectedError, PlatformTimeoutError } from '../../errors.ts';
import { withinDeadline } from '../../util/deadline.ts';
import { wireServerFromInterfaceOptions } from '../../net/dhcp-cache.ts';
import { Secret } from '../../util/secret.ts';
import { readMediaFiles } from '../media-files.ts';
import type {
  AdminAccount,
  AdminAccountResult,
  AgentEvent,
  CertificateBundle,
  CertificateImportResult,
  DiagnosticFile,
  FabricInterface,
  GuestAgentServices,
  ImageVerbs,
  OsVolumeResult,
  Platform,
  ProvisioningMedia,
  WinRmListenerRequest,
  WinRmListenerResult,
} from '../platform.ts';
import { toAdminAccountResult } from './accounts.ts';
import { toImportPlacements, toImportResults } from './certificate-import.ts';
import { powershellArgs, powershellPath } from './command-line.ts';
import { readSetupFiles, toDiagnosticFiles } from './diagnostics.ts';
import { toEventEntry } from './event-entry.ts';
import { processRunner, type CommandRunner } from './exec.ts';
import { HostResult, isInterfaceGuid, isIPv4Address, toFabricInterface, toGuestAgentServices } from './results.ts';
import { BOOTSTRAP_SCRIPT, loadLibrary, loadScript } from './scripts.ts';
import { PowerShellSession } from './session.ts';
import { runMutexHold, toRunMutexState, type RunMutexState } from './run-mutex.ts';
import * as image from './image.ts';
import type { ImageFacts, RemoteAccessInventory, RemoteAccessRemoval, RemoteAccessRemovalResult } from '../image-types.ts';
import { toOsVolumeResult } from './volume.ts';
import { toWinRmParams, toWinRmResults } from './winrm.ts';
import type { FirstBootRunExit, FirstBootRunRequest, FirstBootVerbs } from '../first-boot-types.ts';
import { readWindowsCustomData, runWindowsScript, type WindowsFirstBootOptions } from './first-boot.ts';
import { stopSessionTree } from './process-tree.ts';
import { fitKvpValue } from '../kvp-value.ts';
import { WindowsFolders, type WindowsFolderOptions } from './windows-folders.ts';
import { installedWinprovExe } from './setup-complete.ts';

/** Options of the Windows platform: its folders (windows-folders.ts), PowerShell and how long a request may take. */
export interface WindowsPlatformOptions extends WindowsFolderOptions {
  /**
   * The PowerShell executable; default Windows PowerShell 5.1 under systemRoot. Another one (pwsh with the
   * test tier's emulated Windows) gets the same arguments, bootstrap and protocol.
   */
  powershell?: string;
  /** Starts the PowerShell process (processRunner by default) and the tools (execaRunner by default). */
  runner?: CommandRunner;
  /** How long one request may take before the session is stopped; default 60 s. */
  requestTimeoutMs?: number;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * Windows Server 2016 and later, localized builds included: every verb is a function of a static .ps1
 * script run by one Windows PowerShell 5.1 session; every value travels as JSON on stdin. What Node does
 * itself in Windows' folders is in WindowsFolders (windows-folders.ts).
 */
export class WindowsPlatform extends WindowsFolders implements Platform, ImageVerbs, FirstBootVerbs {
  readonly kind = 'windows';
  readonly #session: PowerShellSession;
  /** How the first-boot script is started (first-boot.ts). */
  readonly #firstBoot: WindowsFirstBootOptions;
  readonly #requestTimeoutMs: number;
  /** The run's deadline (setDeadline). */
  #deadline: number | undefined;

  constructor(options: WindowsPlatformOptions = {}) {
    super(options);
    const systemRoot = this.systemRoot;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    this.#firstBoot = { runner: options.runner, powershell: options.powershell ?? powershellPath(systemRoot), systemRoot, systemDrive: this.systemDrive, log: this.log };
    this.#session = new PowerShellSession({
      file: options.powershell ?? powershellPath(systemRoot),
      args: powershellArgs(loadScript(BOOTSTRAP_SCRIPT)),
      library: loadLibrary(),
      runner: options.runner ?? processRunner,
      log: this.log,
      requestTimeoutMs: this.#requestTimeoutMs,
      stopTree: (pid) => stopSessionTree(this.#firstBoot, pid),
    });
  }

  /** With its SYSTEM + Administrators ACL (PowerShell), once per run. */
  protected async createStateDirectory(): Promise<void> {
    await this.#session.request('ensureStateDirectory', { path: this.stateDirectory });
    // PowerShell created it on Windows; elsewhere (tests) the folder is made here.
    await mkdir(this.stateDirectory, { recursive: true });
  }

  async findFabricInterface(fabricAddress: string): Promise<FabricInterface> {
    if (!isIPv4Address(fabricAddress)) throw new PlatformRejectedError('findFabricInterface', `the fabric address ${JSON.stringify(fabricAddress)} is not a dotted IPv4 address`);
    return toFabricInterface('findFabricInterface', await this.#session.request('findFabricInterface', { fabricAddress }));
  }

  async enableDhcp(iface: FabricInterface, waitMs: number): Promise<FabricInterface> {
    if (!Number.isSafeInteger(iface.index) || iface.index < 0) throw new PlatformRejectedError('enableDhcp', `interface index ${iface.index} is not a non-negative integer`);
    const wait = Math.max(0, Math.floor(waitMs));
    const result = await this.#session.request('enableDhcp', { index: iface.index, waitMs: wait }, { timeoutMs: wait + this.#requestTimeoutMs });
    const updated = toFabricInterface('enableDhcp', result);
    if (!new HostResult('enableDhcp', result).boolean('addressAcquired')) {
      this.log('warn', `DHCP is enabled on ${updated.name}, but no DHCP address arrived within ${wait} ms`);
    }
    return updated;
  }

  async readCachedWireServerAddress(iface: FabricInterface): Promise<string | undefined> {
    if (!isInterfaceGuid(iface.id)) throw new PlatformRejectedError('readCachedWireServerAddress', `the interface id ${JSON.stringify(iface.id)} is not a GUID "{...}"`);
    const r = new HostResult('readCachedWireServerAddress', await this.#session.request('readDhcpInterfaceOptions', { interfaceId: iface.id }));
    if (!r.boolean('found')) return undefined;
    return wireServerFromInterfaceOptions(Buffer.from(r.string('options'), 'base64'));
  }

  /** PowerShell finds the drive holding the tag file; Node reads its files (media-files.ts). */
  async readProvisioningMedia(): Promise<ProvisioningMedia> {
    const r = new HostResult('readProvisioningMedia', await this.#session.request('readProvisioningMedia', {}));
    if (!r.boolean('found')) {
      const searched = r.list('searched').filter((d): d is string => typeof d === 'string');
      throw new MediaNotFoundError(`no ready drive holds E6DA6616-8EC4-48E0-BE93-58CE6ACE3CFB.tag (drives searched: ${searched.join(', ') || 'none'})`);
    }
    const location = r.string('location');
    // Node reads the files: a hung drive must not hold the run past its deadline (nothing can cancel the read).
    const deadline = this.#deadline;
    return withinDeadline(readMediaFiles(location, location), deadline, () => new PlatformTimeoutError('readProvisioningMedia', deadline!));
  }

  /** As Windows decodes the SMBIOS UUID; callers compare with the fabric's id in both byte orders (see identity.ps1). */
  async readVmId(): Promise<string> {
    const uuid = new HostResult('readVmId', await this.#session.request('readVmId', {})).string('uuid');
    if (!UUID.test(uuid)) throw new PlatformCommandError('readVmId', `Win32_ComputerSystemProduct.UUID ${JSON.stringify(uuid).slice(0, 60)} is not a UUID`);
    return uuid.toLowerCase();
  }

  async setComputerName(name: string): Promise<'renamed' | 'unchanged'> {
    return new HostResult('setComputerName', await this.#session.request('setComputerName', { name })).oneOf('outcome', ['renamed', 'unchanged'] as const);
  }

  /** The built-in Administrator (RID 500) found by SID and renamed (accounts.ps1). */
  async ensureAdminAccount(account: AdminAccount): Promise<AdminAccountResult> {
    const result = await this.#session.request(
      'ensureAdminAccount',
      { username: account.username, resetPasswordOnFirstLogon: account.resetPasswordOnFirstLogon },
      { secrets: { password: account.password.reveal() } },
    );
    return toAdminAccountResult(result, account.username, this.log);
  }

  /** The placements are checked here (certificate-import.ts); the PFX is opened and imported in certificates.ps1. */
  async importCertificates(bundle: CertificateBundle): Promise<CertificateImportResult[]> {
    const placements = toImportPlacements(bundle.placements);
    if (placements.length === 0) return [];
    return toImportResults(await this.#session.request('importCertificates', { pfxPassword: bundle.pfxPassword, placements }, { secrets: { pfx: bundle.pfx.reveal() } }));
  }

  /** Thumbprints are checked here; the certificate store, the service and the firewall in winrm.ps1. */
  async configureWinRm(listeners: WinRmListenerRequest[]): Promise<WinRmListenerResult[]> {
    const requested = toWinRmParams(listeners);
    if (requested.length === 0) return [];
    return toWinRmResults(await this.#session.request('configureWinRm', { listeners: requested }), requested, this.log);
  }

  /** storage.ps1: the partition of %SystemDrive% grown to Get-PartitionSupportedSize's SizeMax. */
  async extendOsVolume(): Promise<OsVolumeResult> {
    const driveLetter = this.systemDrive.charAt(0).toUpperCase();
    if (!/^[A-Z]$/.test(driveLetter)) throw new PlatformRejectedError('extendOsVolume', `the system drive ${JSON.stringify(this.systemDrive).slice(0, 20)} has no drive letter`);
    // Get-PartitionSupportedSize examines the volume and can take a while on a large disk.
    return toOsVolumeResult(await this.#session.request('extendOsVolume', { driveLetter }, { timeoutMs: 2 * this.#requestTimeoutMs }));
  }

  async writeCustomData(data: Secret<Uint8Array>): Promise<string> {
    // Node's own path join, as for the state folder: a Windows path on Windows, a folder of the test's elsewhere.
    const directory = join(`${this.systemDrive}${sep}`, 'AzureData');
    const result = await this.#session.request('writeCustomData', { directory }, { secrets: { customData: data.reveal() } });
    return new HostResult('writeCustomData', result).string('path');
  }

  async setTimeZone(timeZoneId: string): Promise<'changed' | 'unchanged'> {
    if (timeZoneId.trim() === '') throw new PlatformRejectedError('setTimeZone', 'the time zone id is empty');
    return new HostResult('setTimeZone', await this.#session.request('setTimeZone', { timeZoneId })).oneOf('outcome', ['changed', 'unchanged'] as const);
  }

  async setGuestAgentServices(enabled: boolean): Promise<GuestAgentServices> {
    return toGuestAgentServices('setGuestAgentServices', await this.#session.request('setGuestAgentServices', { enabled }));
  }

  async readGuestAgentServices(): Promise<GuestAgentServices> {
    return toGuestAgentServices('readGuestAgentServices', await this.#session.request('readGuestAgentServices', {}));
  }

  async readRdpCertificateThumbprint(): Promise<string | undefined> {
    const r = new HostResult('readRdpCertificate', await this.#session.request('readRdpCertificate', {}));
    return r.boolean('found') ? r.string('thumbprint') : undefined;
  }

  async writeAnswerFile(xml: Secret<string>): Promise<string> {
    const result = await this.#session.request('writeAnswerFile', { path: this.answerFilePath() }, { secrets: { answerFile: Buffer.from(xml.reveal(), 'utf8') } });
    return new HostResult('writeAnswerFile', result).string('path');
  }

  async writeKvpReport(report: string): Promise<void> {
    await this.#session.request('writeKvpReport', { report: fitKvpValue(report) });
  }

  // The first-boot script's verbs (first-boot.ts); the KVP value through kvp.ps1 like PROVISIONING_REPORT.
  readSavedCustomData(maxBytes: number): Promise<Secret<Uint8Array> | { tooLarge: number } | undefined> {
    return readWindowsCustomData(this.systemDrive, maxBytes);
  }

  runFirstBootScript(request: FirstBootRunRequest): Promise<FirstBootRunExit> {
    return runWindowsScript(this.#firstBoot, request);
  }

  async writeKvpValue(name: 'FIRST_BOOT_SCRIPT', value: string): Promise<void> {
    await this.#session.request('writeKvpValue', { name, value: fitKvpValue(value) });
  }

  /**
   * tasks.ps1: the startup task runs winprov.exe where the MSI puts it, as SetupComplete.cmd does
   * (WINPROV_EXE), never the executable that happens to run now: a copy in a folder others can write to
   * must not become a SYSTEM task.
   */
  async setFirstBootResume(on: boolean): Promise<boolean> {
    const executable = installedWinprovExe((await this.readExecutableLocation()).programFiles);
    const r = new HostResult('setFirstBootResume', await this.#session.request('setFirstBootResume', { on, executable }));
    if (r.boolean('registered') !== on) throw new PlatformCommandError('setFirstBootResume', `the startup task is ${on ? 'not' : 'still'} registered`);
    return on || r.boolean('removed');
  }

  /** Writes the Application event log entry; registers the source winprov first when the MSI has not. */
  async recordEvent(event: AgentEvent): Promise<void> {
    const r = new HostResult('recordEvent', await this.#session.request('recordEvent', { ...toEventEntry(event) }));
    if (r.boolean('created')) this.log('info', `registered the event source winprov in the ${r.string('log')} log (the winprov MSI normally does this)`);
  }

  /**
   * Setup logs read by Node, registry values and event log extracts from diagnostics.ps1. What cannot be
   * read is described in windows/collection-notes.txt instead of failing the whole collection.
   */
  async collectDiagnostics(): Promise<DiagnosticFile[]> {
    const { files, notes } = await readSetupFiles(this.systemRoot);
    try {
      // Formatting hundreds of event messages can take a while on a busy log.
      const result = await this.#session.request('readDiagnostics', {}, { timeoutMs: 2 * this.#requestTimeoutMs });
      files.push(...toDiagnosticFiles('readDiagnostics', result));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.log('warn', `registry values and event logs were not collected: ${reason}`);
      notes.push(`registry values and event logs were not collected: ${reason}`);
    }
    if (notes.length > 0) files.push({ name: 'windows/collection-notes.txt', data: `${notes.join('\r\n')}\r\n` });
    return files;
  }

  /** remote-access.ps1: listeners, the rules opening their ports, LocalMachine\My, RDP and http.sys bindings. */
  async readRemoteAccess(): Promise<RemoteAccessInventory> {
    return image.toRemoteAccess('readRemoteAccess', await this.#session.request('readRemoteAccess', {}));
  }

  async removeRemoteAccess(removal: RemoteAccessRemoval): Promise<RemoteAccessRemovalResult> {
    return image.toRemovalResult('removeRemoteAccess', await this.#session.request('removeRemoteAccess', image.toRemovalParams(removal)));
  }

  /** image-check.ps1 reads the registry and the BitLocker and Appx modules; Node reads the answer file. */
  async readImageFacts(): Promise<ImageFacts> {
    const facts = await this.#session.request('readImageFacts', { systemDrive: this.systemDrive });
    const path = image.unattendPath(this.systemRoot);
    return image.toImageFacts('readImageFacts', facts, { path, xml: await image.readUnattend(path) });
  }

  /** host.ps1 Import-WinprovModules; its outcome is only logged (platform.ts warmUp). */
  warmUp(): void {
    this.#session.request('warmUp', {}).then(
      (result) => this.log('debug', `PowerShell warm-up: ${JSON.stringify(result)}`),
      (err: unknown) => this.log('debug', `PowerShell warm-up failed, the verbs load their modules themselves: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  /** The named mutex Global\winprov-run (lock.ps1, run-mutex.ts), held by this run's PowerShell processes until close(). */
  async holdRunMutex(waitMs: number): Promise<RunMutexState> {
    const wait = Math.max(0, Math.floor(waitMs));
    return toRunMutexState(await this.#session.request('enterRunMutex', { waitMs: wait }, { timeoutMs: wait + this.#requestTimeoutMs, hold: runMutexHold }));
  }

  /** Bounds every later PowerShell request and media read by the run's deadline. */
  setDeadline(deadline: number): void {
    this.#deadline = deadline;
    this.#session.setDeadline(deadline);
  }

  close(): Promise<void> {
    return this.#session.close();
  }
}
