import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformCommandError } from '../../errors.ts';
import type { AppxPackageFact, ImageFacts, RemoteAccessInventory, RemoteAccessRemoval, RemoteAccessRemovalResult } from '../image-types.ts';
import { HostResult } from './results.ts';

/**
 * The Windows side of the image verbs: the answers of remote-access.ps1 and image-check.ps1, checked
 * field by field before they become domain values (a script that changed must fail here loudly).
 */

const THUMBPRINT = /^[0-9A-F]{40}$/;

function thumbprint(verb: string, value: string): string {
  const upper = value.toUpperCase();
  if (upper !== '' && !THUMBPRINT.test(upper)) throw new PlatformCommandError(verb, `${JSON.stringify(value).slice(0, 60)} is not a certificate thumbprint`);
  return upper;
}

function items(verb: string, r: HostResult, name: string): HostResult[] {
  return r.list(name).map((entry) => new HostResult(verb, entry));
}

export function toRemoteAccess(verb: string, value: unknown): RemoteAccessInventory {
  const r = new HostResult(verb, value);
  return {
    winrmRunning: r.boolean('winrmRunning'),
    listeners: items(verb, r, 'listeners').map((l) => ({
      address: l.string('address'),
      transport: l.string('transport').toUpperCase(),
      port: l.integer('port'),
      certificateThumbprint: thumbprint(verb, l.string('certificateThumbprint')),
      source: l.string('source'),
    })),
    firewallRules: items(verb, r, 'firewallRules').map((f) => ({
      name: f.string('name'),
      displayName: f.string('displayName'),
      enabled: f.boolean('enabled'),
      localPorts: f.list('localPorts').filter((p): p is number => typeof p === 'number'),
      opensOtherPorts: f.boolean('opensOtherPorts'),
    })),
    certificates: items(verb, r, 'certificates').map((c) => ({ thumbprint: thumbprint(verb, c.string('thumbprint')), subject: c.string('subject'), hasPrivateKey: c.boolean('hasPrivateKey') })),
    bindings: items(verb, r, 'bindings').map((b) => ({ kind: b.string('kind'), name: b.string('name'), port: b.integer('port'), thumbprint: thumbprint(verb, b.string('thumbprint')) })),
  };
}

export function toRemovalParams(removal: RemoteAccessRemoval): Record<string, unknown> {
  for (const t of removal.certificates) thumbprint('removeRemoteAccess', t);
  return {
    listeners: removal.listeners.map((l) => ({ address: l.address, transport: l.transport })),
    firewallRules: [...removal.firewallRules],
    certificates: removal.certificates.map((t) => t.toUpperCase()),
  };
}

export function toRemovalResult(verb: string, value: unknown): RemoteAccessRemovalResult {
  const r = new HostResult(verb, value);
  const strings = (name: string) => r.list(name).filter((x): x is string => typeof x === 'string');
  return {
    listeners: items(verb, r, 'listeners').map((l) => ({ address: l.string('address'), transport: l.string('transport') })),
    firewallRules: strings('firewallRules'),
    certificates: strings('certificates').map((t) => thumbprint(verb, t)),
    kept: items(verb, r, 'kept').map((k) => ({ thumbprint: thumbprint(verb, k.string('thumbprint')), usedBy: k.string('usedBy') })),
    keysDeleted: strings('keysDeleted').map((t) => thumbprint(verb, t)),
    keysShared: items(verb, r, 'keysShared').map((k) => ({ thumbprint: thumbprint(verb, k.string('thumbprint')), sharedWith: k.string('sharedWith') })),
  };
}

function toAppx(verb: string, r: HostResult): AppxPackageFact {
  return {
    name: r.string('name'),
    fullName: r.string('fullName'),
    publisherId: r.string('publisherId'),
    isFramework: r.boolean('isFramework'),
    signatureKind: r.string('signatureKind'),
    installedUsers: r.integer('installedUsers'),
  };
}

/** Where prepare-image puts the answer file (installUnattend) and where --check looks for it. */
export function unattendPath(systemRoot: string): string {
  return join(systemRoot, 'Panther', 'Unattend', 'unattend.xml');
}

/** The answer file's text, or undefined when there is none; Node reads it, as installUnattend writes it. */
export async function readUnattend(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PlatformCommandError('readImageFacts', `${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export function toImageFacts(verb: string, value: unknown, unattend: ImageFacts['unattend']): ImageFacts {
  const r = new HostResult(verb, value);
  const raw = value as Record<string, unknown>;
  const bitLocker = new HostResult(verb, raw['bitLocker']);
  const appx = new HostResult(verb, raw['appx']);
  const policy = new HostResult(verb, raw['executionPolicy']);
  const logging = new HostResult(verb, raw['logging']);
  const percent = (raw['bitLocker'] as Record<string, unknown>)['encryptionPercentage'];
  return {
    bitLocker: bitLocker.boolean('available')
      ? { available: true, mountPoint: bitLocker.string('mountPoint'), volumeStatus: bitLocker.string('volumeStatus'), protectionStatus: bitLocker.string('protectionStatus'), encryptionPercentage: typeof percent === 'number' ? percent : 0 }
      : { available: false },
    appx: appx.boolean('available')
      ? { available: true, installed: items(verb, appx, 'installed').map((p) => toAppx(verb, p)), provisioned: appx.list('provisioned').filter((x): x is string => typeof x === 'string') }
      : { available: false },
    pendingReboot: r.list('pendingReboot').filter((x): x is string => typeof x === 'string'),
    imageState: r.optionalString('imageState') ?? '',
    executionPolicy: { machinePolicy: policy.optionalString('machinePolicy') ?? '', userPolicy: policy.optionalString('userPolicy') ?? '' },
    logging: { moduleLogging: logging.boolean('moduleLogging'), scriptBlockLogging: logging.boolean('scriptBlockLogging'), transcription: logging.boolean('transcription') },
    unattend,
  };
}
