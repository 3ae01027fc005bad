/**
 * The domain types of the image verbs that look at a build VM before sysprep (ImageVerbs in
 * platform.ts): its remote access (issue "Do on Windows what Azure itself does": the WinRM listener,
 * firewall rule and certificate a build leaves in an image) and the facts prepare-image --check judges.
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
