import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { readJsonFile, writeJsonFile } from '../../util/files.ts';
import { StateError } from '../../errors.ts';
import type { ServiceStartMode } from '../platform.ts';

/**
 * The sandbox's operating system state: one JSON file (machine.json) at the sandbox root, holding what
 * Windows would hold in the registry, the SAM and the certificate stores. Secrets never enter it: the
 * admin password is kept only as a salted scrypt digest, so tests can check it without storing it.
 */

export interface SandboxInterface {
  name: string;
  index: number;
  id: string;
  dhcpEnabled: boolean;
  addresses: string[];
  /** Base64 of the DhcpInterfaceOptions REG_BINARY the DHCP client cached, if any. */
  dhcpInterfaceOptions?: string;
  /** True when a default route exists through this interface. */
  defaultRoute: boolean;
}

export interface SandboxUser {
  name: string;
  sid: string;
  /** scrypt digest of the password, "salt:hash" in hex. */
  passwordDigest: string;
  passwordNeverExpires: boolean;
  mustChangePassword: boolean;
  enabled: boolean;
}

export interface SandboxCertificate {
  thumbprint: string;
  /** The subject, "CN=..., O=..." (absent in machines saved before it was kept). */
  subject?: string;
  hasPrivateKey: boolean;
  /** Keys land in the machine key set, persisted, not exportable (what Windows import flags give). */
  keyStorage: 'MachineKeySet' | 'none';
  exportable: boolean;
}

/** A partition of the sandbox's disk; offsets and sizes in bytes. */
export interface SandboxPartition {
  number: number;
  driveLetter?: string;
  /** MSFT_Partition's Type: System, Reserved, Basic, Recovery. */
  type: string;
  offset: number;
  size: number;
}

export interface SandboxChange {
  at: string;
  verb: string;
  detail: string;
}

export interface SandboxMachine {
  version: 1;
  vmId: string;
  /** The active computer name. */
  computerName: string;
  /** The pending one (SetComputerNameEx), active after the next reboot. */
  pendingComputerName: string | undefined;
  timeZone: string;
  interfaces: SandboxInterface[];
  users: SandboxUser[];
  /** Local groups by SID: S-1-5-32-544 is Administrators, whatever its localized name. */
  groups: Record<string, { name: string; members: string[] }>;
  certificateStores: Record<string, SandboxCertificate[]>;
  services: { name: string; startMode: ServiceStartMode; running: boolean }[];
  /** WinRM listeners and the firewall rules opened for them. */
  winrm?: { listeners: { transport: 'HTTP' | 'HTTPS'; port: number; certificateThumbprint?: string; hostname?: string }[]; firewallPorts: number[] };
  /** HKLM\SOFTWARE\Microsoft\Virtual Machine\Guest values. */
  kvp: Record<string, string>;
  /** ACLs the platform set on folders, by sandbox-relative path. */
  acls: Record<string, string[]>;
  /** Task Scheduler's tasks winprov registered (the first-boot script's startup task), by full name. */
  scheduledTasks?: { name: string; command: string; trigger: 'AtStartup'; user: 'SYSTEM' }[];
  /** For tests: the verb fails with this text. */
  failVerb?: { verb: string; message: string };
  /** Application event log entries written by source winprov. */
  events?: { at: string; id: number; kind: string; message: string }[];
  /** Every change the platform made, in order. */
  changes: SandboxChange[];
  /** For crash tests: the process kills itself (SIGKILL) right after this verb saved its change. */
  crashAfter?: string;
  /** For deadline tests: this verb never finishes, as a hung drive would (readProvisioningMedia). */
  hang?: string;
  /** The OS disk (absent in machines saved before it was modelled). */
  disk?: { size: number; partitions: SandboxPartition[] };
  /** For volume tests: Resize-Partition fails with this (Windows') text. */
  resizeFails?: string;
  /** For DHCP tests: the address an interface gets when DHCP is turned on. */
  dhcpLeaseAddress?: string;
  /**
   * The RDP listener's certificate thumbprint (Win32_TSGeneralSetting.SSLCertificateSHA1Hash): Remote
   * Desktop's self-signed certificate; absent on a machine without an RDP listener.
   */
  rdpCertificateThumbprint?: string;
}

export const ADMINISTRATORS_SID = 'S-1-5-32-544';
export const MACHINE_FILE = 'machine.json';

/** A freshly generalized image's state: a default computer name, guest agent baked in and disabled. */
export function defaultMachine(): SandboxMachine {
  const machineSid = `S-1-5-21-${[0, 0, 0].map(() => Math.floor(Math.random() * 4e9)).join('-')}`;
  return {
    version: 1,
    vmId: randomUUID().toLowerCase(),
    computerName: 'WIN-GENERALIZED',
    pendingComputerName: undefined,
    timeZone: 'UTC',
    interfaces: [
      { name: 'Ethernet', index: 6, id: `{${randomUUID().toUpperCase()}}`, dhcpEnabled: true, addresses: ['10.0.0.4'], defaultRoute: true },
    ],
    users: [
      { name: 'Administrator', sid: `${machineSid}-500`, passwordDigest: '', passwordNeverExpires: false, mustChangePassword: false, enabled: false },
    ],
    groups: { [ADMINISTRATORS_SID]: { name: 'Administrators', members: [`${machineSid}-500`] } },
    certificateStores: { My: [], Root: [], CA: [] },
    services: [
      { name: 'RdAgent', startMode: 'Disabled', running: false },
      { name: 'WindowsAzureGuestAgent', startMode: 'Disabled', running: false },
    ],
    kvp: {},
    acls: {},
    changes: [],
    rdpCertificateThumbprint: randomBytes(20).toString('hex').toUpperCase(),
    // A 30 GiB image on Azure's default 127 GiB OS disk: EFI, MSR, then C: with free space after it.
    disk: {
      size: 127 * GIB,
      partitions: [
        { number: 1, type: 'System', offset: MIB, size: 100 * MIB },
        { number: 2, type: 'Reserved', offset: 101 * MIB, size: 16 * MIB },
        { number: 3, driveLetter: 'C', type: 'Basic', offset: 117 * MIB, size: 30 * GIB - 118 * MIB },
      ],
    },
  };
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

export async function loadMachine(root: string): Promise<SandboxMachine | undefined> {
  const machine = await readJsonFile<SandboxMachine>(join(root, MACHINE_FILE), (why) => new StateError(`sandbox ${MACHINE_FILE} ${why}`));
  if (machine !== undefined && (machine.version !== 1 || typeof machine.vmId !== 'string' || !Array.isArray(machine.users))) {
    throw new StateError(`sandbox ${MACHINE_FILE} is not a version 1 machine description`);
  }
  return machine;
}

export async function saveMachine(root: string, machine: SandboxMachine): Promise<void> {
  await writeJsonFile(join(root, MACHINE_FILE), machine);
}
