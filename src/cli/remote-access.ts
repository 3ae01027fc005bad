import { join } from 'node:path';
import { StateError } from '../errors.ts';
import { readJsonFile, writeJsonFile } from '../util/files.ts';
import { certificatesInUse } from '../platform/certificate-use.ts';
import { BASELINE_FILE } from '../platform/state-names.ts';
import type { RemoteAccessInventory, RemoteAccessRemoval, RemoteListener } from '../platform/image-types.ts';

/**
 * Which remote access prepare-image removes (issue "Do on Windows what Azure itself does"): an image
 * built over WinRM keeps the build's listener, its firewall rule and its certificate with the private key
 * on every VM made from it. The build's are told apart from the image's own by a baseline recorded at
 * the start of the build (`prepare-image --record-baseline`, kept in the state folder, which prepare-image
 * removes once the build's access is gone), and by thumbprint (`--remove-certificate`).
 */

export { BASELINE_FILE };

export interface ListenerKey {
  address: string;
  transport: string;
}

export interface ImageBaseline {
  version: 1;
  recordedAt: string;
  /** The image's own remote access: prepare-image leaves it. */
  own: { listeners: (ListenerKey & { port: number; certificateThumbprint: string })[]; firewallRules: string[]; certificates: string[] };
  /**
   * What the build itself uses, present at recording time: the listeners named with --build-listener (on
   * Packer's azure-arm builder the HTTPS listener exists before the first provisioner runs), their
   * certificates, the rules opening their ports, and --remove-certificate thumbprints.
   */
  build: { listeners: ListenerKey[]; firewallRules: string[]; certificates: string[] };
  /** Written by --keep-remote-access without a recorded baseline: it names only certificates, and nothing is the image's own. */
  partial?: boolean;
}

/** Windows' own WinRM rules (WINRM-HTTP-In-TCP, WINRM-HTTP-In-TCP-PUBLIC ...) belong to every image and are never removed. */
function isWindowsRule(name: string): boolean {
  return /^WINRM-/i.test(name);
}

const same = (a: ListenerKey, b: ListenerKey) => a.address === b.address && a.transport.toUpperCase() === b.transport.toUpperCase();
const isCompatibility = (l: RemoteListener) => l.source.toLowerCase() === 'compatibility';

export function baselinePath(stateDirectory: string): string {
  return join(stateDirectory, BASELINE_FILE);
}

export async function readBaseline(stateDirectory: string): Promise<ImageBaseline | undefined> {
  const path = baselinePath(stateDirectory);
  const value = await readJsonFile<ImageBaseline>(path, (why) => new StateError(`${BASELINE_FILE} ${why}`));
  if (value === undefined) return undefined;
  if (value.version !== 1 || typeof value.own !== 'object' || typeof value.build !== 'object' || !Array.isArray(value.own.listeners) || !Array.isArray(value.build.listeners)) {
    throw new StateError(`${BASELINE_FILE} is not a version 1 baseline; record it again with "winprov prepare-image --record-baseline"`);
  }
  return value;
}

export async function writeBaseline(stateDirectory: string, baseline: ImageBaseline): Promise<string> {
  const path = baselinePath(stateDirectory);
  await writeJsonFile(path, baseline);
  return path;
}

/** The baseline of what is there now: all of it the image's own, except the build's listeners (by transport) and the named certificates. */
export function recordBaseline(inventory: RemoteAccessInventory, buildTransports: readonly string[], buildCertificates: readonly string[], now = new Date()): ImageBaseline {
  const buildListeners = inventory.listeners.filter((l) => !isCompatibility(l) && buildTransports.includes(l.transport.toUpperCase()));
  const buildPorts = new Set(buildListeners.map((l) => l.port));
  const certificates = new Set([...buildListeners.map((l) => l.certificateThumbprint).filter((t) => t !== ''), ...buildCertificates.map((t) => t.toUpperCase())]);
  const buildRules = inventory.firewallRules.filter((r) => !isWindowsRule(r.name) && r.localPorts.some((p) => buildPorts.has(p))).map((r) => r.name);
  return {
    version: 1,
    recordedAt: now.toISOString(),
    own: {
      listeners: inventory.listeners.filter((l) => !buildListeners.includes(l)).map((l) => ({ address: l.address, transport: l.transport, port: l.port, certificateThumbprint: l.certificateThumbprint })),
      firewallRules: inventory.firewallRules.map((r) => r.name).filter((name) => !buildRules.includes(name)),
      certificates: inventory.certificates.map((c) => c.thumbprint).filter((t) => !certificates.has(t)),
    },
    build: { listeners: buildListeners.map((l) => ({ address: l.address, transport: l.transport })), firewallRules: buildRules, certificates: [...certificates] },
  };
}

export interface RemovalPlan {
  removal: RemoteAccessRemoval;
  /** Certificates that would have gone but a binding still uses, and why. */
  kept: { thumbprint: string; usedBy: string }[];
  /** Rules that would have gone but open other ports too (a web server's, a range): left, and named. */
  keptRules: { name: string; ports: number[] }[];
}

/**
 * What prepare-image removes. With a baseline: every listener that is not the image's own (or that the
 * baseline names as the build's), every rule opening a WinRM port that is not the image's own (Windows'
 * WINRM-* rules excepted), and the certificates of the removed listeners plus the build's. Without one:
 * only what --remove-certificate names and the listeners bound to it. Either way a rule left opening
 * only the port of a removed listener goes too, and a certificate another binding uses stays.
 */
export function planRemoval(inventory: RemoteAccessInventory, recorded: ImageBaseline | undefined, removeCertificates: readonly string[]): RemovalPlan {
  const baseline = recorded?.partial === true ? undefined : recorded;
  const named = new Set([...removeCertificates, ...(recorded?.partial === true ? recorded.build.certificates : [])].map((t) => t.toUpperCase()));
  const candidates = inventory.listeners.filter((l) => !isCompatibility(l));
  const listeners = candidates.filter((l) => {
    if (l.certificateThumbprint !== '' && named.has(l.certificateThumbprint)) return true;
    if (baseline === undefined) return false;
    return baseline.build.listeners.some((b) => same(b, l)) || !baseline.own.listeners.some((o) => same(o, l));
  });
  const remainingPorts = new Set(inventory.listeners.filter((l) => !listeners.includes(l)).map((l) => l.port));
  const removedPorts = new Set(listeners.map((l) => l.port).filter((p) => !remainingPorts.has(p)));
  const matched = inventory.firewallRules
    .filter((r) => !isWindowsRule(r.name))
    .filter((r) => {
      if (baseline !== undefined && (baseline.build.firewallRules.includes(r.name) || !baseline.own.firewallRules.includes(r.name))) return true;
      return r.localPorts.length > 0 && r.localPorts.every((p) => removedPorts.has(p)) && !(baseline?.own.firewallRules.includes(r.name) ?? false);
    });
  // A rule added during the build that opens 80 beside 5985, or 3389 and 5986, is the image's too:
  // removing it whole would close the rest in every VM.
  const rules = matched.filter((r) => !r.opensOtherPorts).map((r) => r.name);
  const keptRules = matched.filter((r) => r.opensOtherPorts).map((r) => ({ name: r.name, ports: r.localPorts }));
  const own = new Set(baseline?.own.certificates ?? []);
  const wanted = new Set<string>(named);
  for (const l of listeners) if (l.certificateThumbprint !== '' && !own.has(l.certificateThumbprint)) wanted.add(l.certificateThumbprint);
  for (const t of baseline?.build.certificates ?? []) wanted.add(t.toUpperCase());
  const present = new Set(inventory.certificates.map((c) => c.thumbprint.toUpperCase()));
  const listenerKeys = listeners.map((l) => ({ address: l.address, transport: l.transport }));
  const inUse = certificatesInUse(inventory, listenerKeys);
  const kept: RemovalPlan['kept'] = [];
  const certificates: string[] = [];
  for (const thumbprint of wanted) {
    if (!present.has(thumbprint)) continue;
    const usedBy = inUse.get(thumbprint);
    if (usedBy !== undefined) kept.push({ thumbprint, usedBy });
    else certificates.push(thumbprint);
  }
  return { removal: { listeners: listenerKeys, firewallRules: rules, certificates }, kept, keptRules };
}

/** The rules left because they open more than remote access, each with what to do about it. */
export function describeKeptRules(plan: RemovalPlan): string[] {
  return plan.keptRules.map((r) => `keep the firewall rule ${r.name}: it opens other ports besides ${r.ports.join(', ')}; remove ${r.ports.length === 1 ? 'that port' : 'those ports'} from it by hand if the build added ${r.ports.length === 1 ? 'it' : 'them'}`);
}

export function isEmpty(removal: RemoteAccessRemoval): boolean {
  return removal.listeners.length === 0 && removal.firewallRules.length === 0 && removal.certificates.length === 0;
}

/** One line per thing, as prepare-image prints them. */
export function describeRemoval(removal: RemoteAccessRemoval): string[] {
  return [
    ...removal.listeners.map((l) => `the WinRM listener ${l.transport} ${l.address}`),
    ...removal.firewallRules.map((r) => `the firewall rule ${r}`),
    ...removal.certificates.map((t) => `the certificate ${t} from LocalMachine\\My`),
  ];
}
