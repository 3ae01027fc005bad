import { isIPv4 } from 'node:net';
import { PlatformCommandError } from '../../errors.ts';
import type { FabricInterface, GuestAgentServices, ServiceStartMode } from '../platform.ts';

/**
 * Checks the shape of what the PowerShell host answered before it becomes a domain value: a script that
 * changed, or a Windows build that reports something unexpected, must fail loudly here and not pass a
 * half-filled object on.
 */

/** A PowerShell result read field by field; a missing or mistyped field is a PlatformCommandError. */
export class HostResult {
  readonly #verb: string;
  readonly #value: Record<string, unknown>;

  constructor(verb: string, value: unknown) {
    this.#verb = verb;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.#bad('the result', 'an object');
    this.#value = value as Record<string, unknown>;
  }

  string(name: string): string {
    const v = this.#value[name];
    if (typeof v !== 'string') throw this.#bad(name, 'a string');
    return v;
  }

  optionalString(name: string): string | undefined {
    const v = this.#value[name];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw this.#bad(name, 'a string or null');
    return v;
  }

  boolean(name: string): boolean {
    const v = this.#value[name];
    if (typeof v !== 'boolean') throw this.#bad(name, 'true or false');
    return v;
  }

  integer(name: string): number {
    const v = this.#value[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw this.#bad(name, 'a non-negative integer');
    return v;
  }

  /** An array field; Windows PowerShell 5.1 serializes an empty array as [] and one element as [x]. */
  list(name: string): unknown[] {
    const v = this.#value[name];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw this.#bad(name, 'an array');
    return v;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const v = this.string(name);
    if (!(allowed as readonly string[]).includes(v)) throw this.#bad(name, `one of ${allowed.join(', ')} (got ${JSON.stringify(v).slice(0, 40)})`);
    return v as T;
  }

  #bad(name: string, expected: string): PlatformCommandError {
    return new PlatformCommandError(this.#verb, `PowerShell's answer has no valid ${name} (expected ${expected})`);
  }
}

const GUID = /^\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}$/;

/** The interface as host.ps1's Get-WinprovInterfaceState describes it. */
export function toFabricInterface(verb: string, value: unknown): FabricInterface {
  const r = new HostResult(verb, value);
  const id = r.string('id');
  if (!GUID.test(id)) throw new PlatformCommandError(verb, `the interface GUID ${JSON.stringify(id).slice(0, 60)} is not of the form {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}`);
  const addresses = r.list('addresses').filter((a): a is string => typeof a === 'string' && isIPv4(a));
  const mac = r.optionalString('mac');
  return {
    name: r.string('name'),
    index: r.integer('index'),
    id,
    dhcpEnabled: r.boolean('dhcpEnabled'),
    addresses,
    ...(mac === undefined ? {} : { mac }),
  };
}

const START_MODES: readonly ServiceStartMode[] = ['Automatic', 'Manual', 'Disabled'];

/** The guest agent services as services.ps1 reports them. */
export function toGuestAgentServices(verb: string, value: unknown): GuestAgentServices {
  const installed = new HostResult(verb, value).list('installed').map((entry) => {
    const r = new HostResult(verb, entry);
    return { name: r.string('name'), startMode: r.oneOf('startMode', START_MODES), running: r.boolean('running') };
  });
  return { installed };
}

/** Is this a dotted IPv4 address? */
export function isIPv4Address(text: string): boolean {
  return isIPv4(text);
}

/** Is this an interface GUID in registry form "{...}"? */
export function isInterfaceGuid(text: string): boolean {
  return GUID.test(text);
}
