import type { Secret } from '../util/secret.ts';
import type { AgentState, CompletionMarker } from './state-types.ts';

/**
 * The narrow interface between the provisioning run and the operating system: the verbs of the mission,
 * on domain types. Two implementations: windows/ (PowerShell with static scripts, values on stdin) and
 * sandbox/ (a file-backed fake OS that enforces the same rules). Nothing here takes a command line.
 */

/** The network interface that routes to the fabric, and its DHCP state. */
export interface FabricInterface {
  /** Interface alias, e.g. "Ethernet 2". */
  name: string;
  /** Interface index (IfIndex). */
  index: number;
  /** Interface GUID "{...}" (Windows) or a stable id (sandbox); keys the DHCP client's cache. */
  id: string;
  dhcpEnabled: boolean;
  /** IPv4 addresses currently bound. */
  addresses: string[];
  /** MAC address "00-0D-3A-..." or "00:0d:3a:...", when known: our own DHCP query needs it. */
  mac?: string;
}

/** What was found on the provisioning media (the drive holding the Azure tag file). */
export interface ProvisioningMedia {
  /** Where it was found, e.g. "D:\\" or the sandbox folder. */
  location: string;
  /** The raw bytes of ovf-env.xml (contains the admin password: never log it). */
  ovfEnv: Secret<Uint8Array>;
  /** The raw bytes of CustomData.bin, when present. */
  customData: Secret<Uint8Array> | undefined;
}

export interface AdminAccount {
  username: string;
  password: Secret<string>;
  /** ResetPasswordOnFirstLogon: the user must change the password at first logon. */
  resetPasswordOnFirstLogon: boolean;
}

/**
 * renamed: the built-in Administrator (RID 500) took the requested name; updated: the account already had
 * it (RID 500, or another account the image holds under that name); created: a new account (answers of
 * older scripts).
 */
export type AccountOutcome = 'renamed' | 'updated' | 'created';

/** What ensureAdminAccount did: the account holding the admin role, by SID, and what became of RID 500. */
export interface AdminAccountResult {
  outcome: AccountOutcome;
  /** The admin account's SID, e.g. S-1-5-21-...-500. */
  sid: string;
  /** Its name before the rename, when outcome is renamed. */
  previousName?: string;
  /**
   * The built-in Administrator when it is not the admin (the image holds another account of the requested
   * name): given a random password nobody knows and disabled.
   */
  builtinAdministrator?: { sid: string; name: string; disabled: boolean };
}

/** Extending the OS volume into the free space after it (a failure is a warning, never a failed run). */
export interface OsVolumeResult {
  /**
   * extended: grown to the largest size Windows supports; maximum: already there; blocked: the disk has
   * free space, but a partition after the OS partition (a recovery partition) stands between; failed:
   * Windows refused the resize.
   */
  outcome: 'extended' | 'maximum' | 'blocked' | 'failed';
  driveLetter: string;
  sizeBefore: number;
  sizeAfter: number;
  /** Bytes on the disk that the OS partition cannot reach (blocked). */
  unreachableBytes?: number;
  /** The partition in the way (blocked): its number and GPT type or MBR type. */
  blocker?: { partitionNumber: number; type: string };
  /** Windows' own text (failed), secret-free. */
  reason?: string;
}

/** A LocalMachine certificate store name, e.g. "My", "Root". */
export type StoreName = string;

export interface CertificatePlacement {
  /** Uppercase SHA-1 thumbprint, 40 hex digits. */
  thumbprint: string;
  store: StoreName;
  hasPrivateKey: boolean;
}

/** The decrypted PKCS#12 from the fabric and where each of its certificates goes. */
export interface CertificateBundle {
  /** The PFX bytes (PKCS#12, password ''), as decrypted from the fabric's envelope. */
  pfx: Secret<Uint8Array>;
  /** The password the PFX opened with ('' or null), as forge and Windows both need it. */
  pfxPassword: '' | null;
  placements: CertificatePlacement[];
}

export interface CertificateImportResult {
  thumbprint: string;
  store: StoreName;
  outcome: 'imported' | 'present';
}

export interface WinRmListenerRequest {
  protocol: 'Http' | 'Https';
  /** Uppercase SHA-1 thumbprint of the certificate an Https listener presents. */
  certificateThumbprint: string | undefined;
}

export interface WinRmListenerResult {
  protocol: 'Http' | 'Https';
  port: number;
  /** recreated: the listener differed (port, certificate or Hostname) and was deleted and created again. */
  outcome: 'created' | 'recreated' | 'present';
  /** The Hostname an Https listener carries: the certificate's subject CN. */
  hostname?: string;
}

export type ServiceStartMode = 'Automatic' | 'Manual' | 'Disabled';

export interface GuestAgentServices {
  /** The guest agent services that exist on this machine, with their start mode after the change. */
  installed: { name: string; startMode: ServiceStartMode; running: boolean }[];
}

/** Event log entries: 1000 start (Information), 1001 success (Information), 1002 failure (Error). */
export interface AgentEvent {
  kind: 'start' | 'success' | 'failure';
  message: string;
}

export const EVENT_IDS = { start: 1000, success: 1001, failure: 1002 } as const;

export type { AgentState, AppliedRecord, CompletionMarker, ReportRecord, StepRecord } from './state-types.ts';

/** What arrangeAnswerFileClearing found or did, and the SetupComplete.cmd it is about. */
export interface ClearingArrangement {
  path: string;
  /** installed: winprov's script written; present: the script there calls clear-answer-file; other: a script that does not, left alone. */
  outcome: 'installed' | 'present' | 'other';
}

export interface Platform {
  readonly kind: 'windows' | 'sandbox';
  /** Where the agent keeps its state, logs and the redacted ovf-env copy. */
  readonly stateDirectory: string;

  /** The interface that routes to fabricAddress (else the default route), with its DHCP state. */
  findFabricInterface(fabricAddress: string): Promise<FabricInterface>;
  /** Turns DHCP on for the interface and waits (up to waitMs) for an address. */
  enableDhcp(iface: FabricInterface, waitMs: number): Promise<FabricInterface>;
  /** DHCP option 245 as the OS's DHCP client cached it for the interface (dotted IPv4), if any. */
  readCachedWireServerAddress(iface: FabricInterface): Promise<string | undefined>;

  /** Finds the provisioning media and reads ovf-env.xml and CustomData.bin from it. */
  readProvisioningMedia(): Promise<ProvisioningMedia>;
  /** The SMBIOS UUID, lowercase. */
  readVmId(): Promise<string>;

  /** Pending rename, effective after the reboot that follows specialize. Idempotent (case-insensitive). */
  setComputerName(name: string): Promise<'renamed' | 'unchanged'>;
  /**
   * Makes the deployment's admin user the built-in Administrator (RID 500, found by SID): renamed, given
   * the password, enabled, member of Administrators (S-1-5-32-544). When the image already holds another
   * account of that name, that account is the admin and RID 500 gets a random password and is disabled.
   */
  ensureAdminAccount(account: AdminAccount): Promise<AdminAccountResult>;
  /** Imports each placement's certificate into LocalMachine\<store>. Idempotent by thumbprint. */
  importCertificates(bundle: CertificateBundle): Promise<CertificateImportResult[]>;
  /**
   * Creates the WinRM listeners ovf-env.xml asks for (Https bound to a certificate in LocalMachine\My that
   * has its private key, Hostname its subject CN) with their firewall rules (5985, 5986). Idempotent: a
   * listener already there with the same binding is left alone; one that differs is deleted and created.
   */
  configureWinRm(listeners: WinRmListenerRequest[]): Promise<WinRmListenerResult[]>;
  /** Writes %SystemDrive%\AzureData\CustomData.bin (folder limited to SYSTEM and Administrators); returns its path. */
  writeCustomData(data: Secret<Uint8Array>): Promise<string>;
  /** Extends the OS volume to the largest size its disk supports; never throws for Windows refusing. */
  extendOsVolume(): Promise<OsVolumeResult>;
  /** Sets the Windows time zone by its id ("Pacific Standard Time"). */
  setTimeZone(timeZoneId: string): Promise<'changed' | 'unchanged'>;
  /** Guest agent services: Automatic when enabled, Disabled otherwise; never started here. */
  setGuestAgentServices(enabled: boolean): Promise<GuestAgentServices>;
  /** Reads the guest agent services' state without changing it. */
  readGuestAgentServices(): Promise<GuestAgentServices>;
  /**
   * The thumbprint of the certificate the RDP listener presents (Win32_TSGeneralSetting
   * SSLCertificateSHA1Hash of RDP-Tcp), as Windows writes it; undefined when there is no RDP listener.
   */
  readRdpCertificateThumbprint(): Promise<string | undefined>;
  /**
   * The answer file Windows Setup reads at the start of the passes still to come
   * (%WINDIR%\Panther\Unattend\unattend.xml, where prepare-image puts winprov's), or undefined when absent.
   */
  readAnswerFile(): Promise<{ path: string; xml: string } | undefined>;
  /**
   * Windows Setup's ImageState (%WINDIR%\Setup\State\State.ini), e.g. IMAGE_STATE_COMPLETE once the
   * oobeSystem pass has run; undefined when it cannot be told.
   */
  readImageState(): Promise<string | undefined>;
  /**
   * Replaces that answer file (atomically), limited to SYSTEM and Administrators: it may hold the
   * AutoLogon password Setup needs. Returns its path.
   */
  writeAnswerFile(xml: Secret<string>): Promise<string>;
  /**
   * Makes sure the passwords in that answer file are cleared once OOBE has used them
   * (answer-file-clear.ts): a SetupComplete.cmd that runs `winprov clear-answer-file`, written when there
   * is none. One that is there is never changed: 'other' when it does not make that call.
   */
  arrangeAnswerFileClearing(): Promise<ClearingArrangement>;
  /** Hyper-V KVP PROVISIONING_REPORT (REG_SZ, at most 1 KB). */
  writeKvpReport(report: string): Promise<void>;
  /** An entry in the Windows Application event log (source winprov): the run started, succeeded or failed. */
  recordEvent(event: AgentEvent): Promise<void>;

  /** Creates the state folder limited to SYSTEM and Administrators (before the log file goes there). */
  ensureStateDirectory(): Promise<void>;
  readAgentState(): Promise<AgentState | undefined>;
  writeAgentState(state: AgentState): Promise<void>;
  readCompletionMarker(): Promise<CompletionMarker | undefined>;
  writeCompletionMarker(marker: CompletionMarker): Promise<void>;
  /** Saves the (already redacted) copy of ovf-env.xml in the state folder. */
  saveOvfEnvCopy(redactedXml: string): Promise<void>;

  /**
   * The OS's own run lock, besides the lock file (run-lock.ts), held until close(): on Windows the named
   * mutex Global\winprov-run, which Windows releases when its holder dies; waits up to waitMs. 'abandoned'
   * when it is held now but its last holder died without releasing it; 'busy' when another live run
   * holds it; 'none' where the OS has none (the sandbox).
   */
  holdRunMutex(waitMs: number): Promise<'held' | 'abandoned' | 'busy' | 'none'>;

  /**
   * Bounds every later local operation (media reads, PowerShell requests) by this absolute time (ms
   * epoch): a hung drive or command ends in PLATFORM_TIMEOUT, never holds the run past its deadline.
   * Set at the start of the run, and moved to the end of the grace period for the final report.
   */
  setDeadline(deadline: number): void;

  /**
   * Loads what the verbs still to come need (Windows: their PowerShell modules) while the run waits on
   * the network. Never fails and is never awaited: a module that does not load is logged and loaded by
   * its verb as before. Platforms with nothing to load leave it out.
   */
  warmUp?(): void;

  /** Releases what the platform holds (the PowerShell session). Safe to call twice. */
  close(): Promise<void>;
}

export type { DiagnosticFile, ImageVerbs } from './image-types.ts';
