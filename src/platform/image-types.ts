import type { UnattendInstall } from './windows/unattend-install.ts';
import type { ImageSetupRemoval, KnownSetupFiles } from './windows/setup-file-removal.ts';

/**
 * The image verbs (ImageVerbs, below: prepare-image, remove-from-image, collect-logs; platform.ts holds
 * the provisioning verbs and re-exports these) and their domain types: a build VM's remote access (issue
 * "Do on Windows what Azure itself does": the WinRM listener, firewall rule and certificate a build
 * leaves in an image) and the facts prepare-image --check judges.
 */

export interface RemoteListener {
  /** "*" or an address/"IP:..." selector, as WinRM keeps it. */
  address: string;
  transport: 'HTTP' | 'HTTPS' | string;
  port: number;
  /** Uppercase thumbprint an HTTPS listener presents; '' for HTTP. */
  certificateThumbprint: string;
  /** "Compatibility" for the port 80/443 compatibility listeners, "GPO" when policy made it, else ''. */
  source: string;
}

export interface RemoteFirewallRule {
  /** The rule's Name (InstanceID), not localized. */
  name: string;
  displayName: string;
  enabled: boolean;
  /** The WinRM ports among its local ports. */
  localPorts: number[];
  /** It opens other local ports too (a range, a web server's): more than remote access, never removed whole. */
  opensOtherPorts: boolean;
}

export interface MachineCertificate {
  thumbprint: string;
  subject: string;
  hasPrivateKey: boolean;
}

/** A binding other than a WinRM listener that presents a certificate. */
export interface CertificateBinding {
  /** rdp: the RDP listener's SSLCertificateSHA1Hash; http.sys: an SSL binding ("netsh http show sslcert"). */
  kind: 'rdp' | 'http.sys' | string;
  /** RDP-Tcp, or the binding's "ip:port" / "host:port". */
  name: string;
  port: number;
  thumbprint: string;
}

/** What readRemoteAccess finds: WinRM listeners, the inbound rules opening their ports, LocalMachine\My, the other bindings. */
export interface RemoteAccessInventory {
  /** False when the WinRM service is not running: its listeners cannot be listed then. */
  winrmRunning: boolean;
  listeners: RemoteListener[];
  /** Inbound rules that open TCP 5985, 5986 or a listener's port. */
  firewallRules: RemoteFirewallRule[];
  certificates: MachineCertificate[];
  bindings: CertificateBinding[];
}

/** What to remove, chosen by cli/remote-access.ts. */
export interface RemoteAccessRemoval {
  listeners: { address: string; transport: string }[];
  firewallRules: string[];
  certificates: string[];
}

/** What was removed; a certificate still used by a binding is kept and says by which. */
export interface RemoteAccessRemovalResult extends RemoteAccessRemoval {
  kept: { thumbprint: string; usedBy: string }[];
  /** Removed certificates whose private key was deleted with them (from MachineKeys on Windows). */
  keysDeleted: string[];
  /** Removed certificates whose private key stays: another certificate ("<store>\<thumbprint>") uses the same key. */
  keysShared: { thumbprint: string; sharedWith: string }[];
}

export interface AppxPackageFact {
  name: string;
  fullName: string;
  publisherId: string;
  isFramework: boolean;
  /** System, Store, Developer, Enterprise, None. */
  signatureKind: string;
  /** How many users have it installed. */
  installedUsers: number;
}

/** What prepare-image --check reads from the machine (cli/image-check.ts judges it). */
export interface ImageFacts {
  bitLocker: { available: false } | { available: true; mountPoint: string; volumeStatus: string; protectionStatus: string; encryptionPercentage: number };
  appx: { available: false } | { available: true; installed: AppxPackageFact[]; provisioned: string[] };
  /** The reboot markers found (registry key names). */
  pendingReboot: string[];
  /** HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State ImageState; '' when absent. */
  imageState: string;
  /** Group Policy execution policy per scope; '' when not configured. */
  executionPolicy: { machinePolicy: string; userPolicy: string };
  logging: { moduleLogging: boolean; scriptBlockLogging: boolean; transcription: boolean };
  /** The answer file at %WINDIR%\Panther\Unattend\unattend.xml, when there is one. */
  unattend: { path: string; xml: string | undefined };
}

/** Where this winprov runs from, and %ProgramFiles%, under which the answer file and SetupComplete.cmd start it. */
export interface ExecutableLocation {
  running: string;
  programFiles: string;
}

/** What prepare-image finds of winprov's on the machine (windows/artifacts.ts). */
export interface AgentArtifacts {
  /**
   * winprov's own, in removal order: the state folder's entries (state-names.ts), the custom data files,
   * then the AzureData folder when nothing else is in it.
   */
  ours: string[];
  /** Entries of the state folder winprov did not write: they are kept, and the folder with them. */
  others: string[];
}

/** A file for the collect-logs zip: its name inside the zip and its content. */
export interface DiagnosticFile {
  name: string;
  data: Uint8Array | string;
}

/** The verbs of image preparation (prepare-image, remove-from-image) and diagnosis (collect-logs). */
export interface ImageVerbs {
  /** Where winprov and its unattend templates are installed (%ProgramFiles%\winprov). */
  readonly installDirectory: string;
  /**
   * The files winprov leaves on a machine (state, completion marker, ovf-env copy, custom data, logs), and
   * what else its state folder holds; `keep` names state folder entries of winprov's to leave out.
   */
  listAgentArtifacts(keep?: readonly string[]): Promise<AgentArtifacts>;
  /** Removes winprov's (never the others); returns what it removed and what it kept. */
  removeAgentArtifacts(keep?: readonly string[]): Promise<AgentArtifacts>;
  /**
   * Writes the answer file to %WINDIR%\Panther\Unattend\unattend.xml, where sysprep and Setup find it; the
   * one there is kept as a backup unless it is one of `replaceable` (windows/unattend-install.ts). With
   * dryRun it only says what it would do.
   */
  installUnattend(xml: string, options?: { replaceable?: readonly string[]; dryRun?: boolean }): Promise<UnattendInstall>;
  /**
   * Writes %WINDIR%\Setup\Scripts\SetupComplete.cmd; the one there is kept as a backup unless it is one of
   * `replaceable` (setup-complete.ts). Returns its path.
   */
  installSetupComplete(script: string, replaceable?: readonly string[]): Promise<string>;
  /** %WINDIR%\Setup\Scripts\SetupComplete.cmd as it is, or undefined when there is none. */
  readSetupComplete(): Promise<string | undefined>;
  /**
   * remove-from-image: winprov's answer file and SetupComplete.cmd out of Windows' folders, and the image's
   * own put back from prepare-image's backup (windows/setup-file-removal.ts). `known` are this winprov's,
   * unedited: deleted, where an edited one is kept under another name. With dryRun nothing changes.
   */
  removeImageSetup(known: KnownSetupFiles, options?: { dryRun?: boolean }): Promise<ImageSetupRemoval>;
  /** Where this winprov runs from, and %ProgramFiles% (prepare-image compares them, cli/image-inputs.ts). */
  readExecutableLocation(): Promise<ExecutableLocation>;
  /** Windows Setup logs (Panther, UnattendGC), the relevant registry keys as text, event log extracts. */
  collectDiagnostics(): Promise<DiagnosticFile[]>;
  /** WinRM listeners, the inbound rules opening their ports, LocalMachine\My and the other certificate bindings (image-types.ts). */
  readRemoteAccess(): Promise<RemoteAccessInventory>;
  /** Removes those listeners, rules and certificates; a certificate another binding still uses is kept. */
  removeRemoteAccess(removal: RemoteAccessRemoval): Promise<RemoteAccessRemovalResult>;
  /** What prepare-image --check judges: BitLocker, Appx, pending reboot, image state, policies, the answer file. */
  readImageFacts(): Promise<ImageFacts>;
}
