import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { certificatesInUse } from '../certificate-use.ts';
import { ExecutionPolicyBlockedError } from '../../errors.ts';
import type { CertificateBinding, ImageFacts, RemoteAccessInventory, RemoteAccessRemoval, RemoteAccessRemovalResult, RemoteFirewallRule } from '../image-types.ts';
import type { SandboxMachine } from './machine.ts';

/**
 * The sandbox's side of the image verbs. The WinRM listeners, winprov's firewall ports and LocalMachine\My
 * are the machine's own (configureWinRm and importCertificates fill them); everything else Windows would
 * hold in the registry or other modules is the optional `image` object of machine.json, which tests seed:
 * the image's other firewall rules, the RDP and http.sys bindings, and the facts prepare-image --check judges.
 */

export interface SandboxImage {
  /** Inbound rules besides winprov's own (e.g. the build's or Windows' WINRM-HTTP-In-TCP), with all their local ports. */
  firewallRules?: Omit<RemoteFirewallRule, 'opensOtherPorts'>[];
  bindings?: CertificateBinding[];
  winrmRunning?: boolean;
  bitLocker?: ImageFacts['bitLocker'];
  appx?: ImageFacts['appx'];
  pendingReboot?: string[];
  imageState?: string;
  executionPolicy?: Partial<ImageFacts['executionPolicy']>;
  logging?: Partial<ImageFacts['logging']>;
  /** The path winprov runs from, as Windows gives process.execPath; default the sandbox's installed winprov.exe. */
  executablePath?: string;
}

type MachineWithImage = SandboxMachine & { image?: SandboxImage };

/** As bootstrap.ps1 refuses the Windows session under a Restricted or AllSigned Group Policy execution policy. */
export function refuseBlockedPolicy<T extends MachineWithImage>(machine: T): T {
  const policy = machine.image?.executionPolicy;
  for (const [scope, value] of [['MachinePolicy', policy?.machinePolicy], ['UserPolicy', policy?.userPolicy]] as const) {
    if (value === undefined || value === '') continue;
    if (value === 'Restricted' || value === 'AllSigned') throw new ExecutionPolicyBlockedError(scope, value);
    break;
  }
  return machine;
}

/** winrm.ps1's rule names for the ports winprov opens. */
const WINPROV_RULES: Record<number, string> = { 5985: 'winprov-WinRM-HTTP-In', 5986: 'winprov-WinRM-HTTPS-In' };

function winrmPorts(machine: MachineWithImage): number[] {
  return [5985, 5986, ...(machine.winrm?.listeners ?? []).map((l) => l.port)];
}

export function readRemoteAccess(machine: MachineWithImage): RemoteAccessInventory {
  const image = machine.image ?? {};
  const ports = winrmPorts(machine);
  const rules: RemoteFirewallRule[] = (machine.winrm?.firewallPorts ?? []).map((port) => ({ name: WINPROV_RULES[port] ?? `winprov-WinRM-${port}-In`, displayName: `winprov: WinRM (TCP ${port})`, enabled: true, localPorts: [port], opensOtherPorts: false }));
  for (const rule of image.firewallRules ?? []) {
    const opened = rule.localPorts.filter((p) => ports.includes(p));
    if (opened.length > 0) rules.push({ ...rule, localPorts: opened, opensOtherPorts: rule.localPorts.some((p) => !ports.includes(p)) });
  }
  const running = image.winrmRunning ?? true;
  return {
    winrmRunning: running,
    listeners: running ? (machine.winrm?.listeners ?? []).map((l) => ({ address: '*', transport: l.transport, port: l.port, certificateThumbprint: (l.certificateThumbprint ?? '').toUpperCase(), source: '' })) : [],
    firewallRules: rules,
    certificates: (machine.certificateStores['My'] ?? []).map((c) => ({ thumbprint: c.thumbprint.toUpperCase(), subject: '', hasPrivateKey: c.hasPrivateKey })),
    bindings: image.bindings ?? [],
  };
}

/** Applies a removal to the machine (the caller saves it); a certificate another binding uses is kept. */
export function removeRemoteAccess(machine: MachineWithImage, removal: RemoteAccessRemoval): RemoteAccessRemovalResult {
  const inventory = readRemoteAccess(machine);
  const result: RemoteAccessRemovalResult = { listeners: [], firewallRules: [], certificates: [], kept: [], keysDeleted: [], keysShared: [] };
  for (const wanted of removal.listeners) {
    const listeners = machine.winrm?.listeners ?? [];
    const at = listeners.findIndex((l) => wanted.address === '*' && l.transport === wanted.transport.toUpperCase());
    if (at === -1) continue;
    listeners.splice(at, 1);
    result.listeners.push({ address: wanted.address, transport: wanted.transport });
  }
  for (const name of removal.firewallRules) {
    const port = Number(Object.keys(WINPROV_RULES).find((p) => WINPROV_RULES[Number(p)] === name));
    if (machine.winrm && machine.winrm.firewallPorts.includes(port)) {
      machine.winrm.firewallPorts = machine.winrm.firewallPorts.filter((p) => p !== port);
      result.firewallRules.push(name);
      continue;
    }
    const rules = machine.image?.firewallRules ?? [];
    const at = rules.findIndex((r) => r.name === name);
    if (at !== -1) {
      rules.splice(at, 1);
      result.firewallRules.push(name);
    }
  }
  const inUse = certificatesInUse(inventory, result.listeners);
  const store = machine.certificateStores['My'] ?? [];
  for (const thumbprint of removal.certificates.map((t) => t.toUpperCase())) {
    const usedBy = inUse.get(thumbprint);
    if (usedBy !== undefined) {
      result.kept.push({ thumbprint, usedBy });
      continue;
    }
    const at = store.findIndex((c) => c.thumbprint.toUpperCase() === thumbprint);
    if (at === -1) continue;
    // The sandbox keeps no key containers apart from its certificates: a key goes with its certificate.
    if (store[at]!.hasPrivateKey) result.keysDeleted.push(thumbprint);
    store.splice(at, 1);
    result.certificates.push(thumbprint);
  }
  return result;
}

export async function readImageFacts(root: string, machine: MachineWithImage): Promise<ImageFacts> {
  const image = machine.image ?? {};
  const path = join(root, 'Windows', 'Panther', 'Unattend', 'unattend.xml');
  const xml = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  return {
    bitLocker: image.bitLocker ?? { available: false },
    appx: image.appx ?? { available: false },
    pendingReboot: image.pendingReboot ?? [],
    imageState: image.imageState ?? 'IMAGE_STATE_COMPLETE',
    executionPolicy: { machinePolicy: image.executionPolicy?.machinePolicy ?? '', userPolicy: image.executionPolicy?.userPolicy ?? '' },
    logging: { moduleLogging: false, scriptBlockLogging: false, transcription: false, ...image.logging },
    unattend: { path, xml },
  };
}
