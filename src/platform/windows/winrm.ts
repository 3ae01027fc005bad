import { PlatformCommandError, PlatformRejectedError } from '../../errors.ts';
import type { WinRmListenerRequest, WinRmListenerResult } from '../platform.ts';
import { HostResult } from './results.ts';
import type { LogFunction } from './session.ts';

/**
 * The TypeScript side of scripts/winrm.ps1: the listener requests checked before PowerShell starts, and
 * its answer checked before it becomes WinRmListenerResult values.
 */

const VERB = 'configureWinRm';
const THUMBPRINT = /^[0-9A-Fa-f]{40}$/;
/** The WinRM 2.0 default ports, the ones Azure documents for WinRM listeners; winrm.ps1 uses the same. */
const PORTS = { Http: 5985, Https: 5986 } as const;

/** One listener as winrm.ps1 reads it: the protocol and, for Https only, the uppercase thumbprint. */
export interface WinRmListenerParams {
  protocol: 'Http' | 'Https';
  certificateThumbprint: string | null;
}

/** Checks each request (protocol Http or Https, an Https thumbprint of 40 hex digits) and builds the JSON values. */
export function toWinRmParams(listeners: readonly WinRmListenerRequest[]): WinRmListenerParams[] {
  return listeners.map((listener) => {
    const protocol: unknown = listener.protocol;
    if (protocol !== 'Http' && protocol !== 'Https') {
      throw new PlatformRejectedError(VERB, `the WinRM listener protocol ${JSON.stringify(protocol).slice(0, 40)} is neither Http nor Https`);
    }
    if (protocol === 'Http') return { protocol, certificateThumbprint: null };
    const thumbprint: unknown = listener.certificateThumbprint;
    if (typeof thumbprint !== 'string' || !THUMBPRINT.test(thumbprint)) {
      const shown = thumbprint === undefined ? 'is missing' : `${JSON.stringify(thumbprint).slice(0, 60)} is not 40 hexadecimal digits`;
      throw new PlatformRejectedError(VERB, `the HTTPS listener's certificate thumbprint ${shown}`);
    }
    return { protocol, certificateThumbprint: thumbprint.toUpperCase() };
  });
}

/**
 * winrm.ps1's answer as results, one per request and in request order, each on its protocol's port.
 * What the script changed besides the listeners (service start mode, service started, firewall rule
 * created) is logged.
 */
export function toWinRmResults(value: unknown, requested: readonly WinRmListenerParams[], log: LogFunction): WinRmListenerResult[] {
  const answer = new HostResult(VERB, value);
  const entries = answer.list('results');
  if (entries.length !== requested.length) {
    throw new PlatformCommandError(VERB, `PowerShell answered for ${entries.length} WinRM listeners, ${requested.length} were asked for`);
  }
  if (answer.boolean('startModeChanged')) log('info', 'set the WinRM service to start automatically');
  if (answer.boolean('serviceStarted')) log('info', 'started the WinRM service');
  return entries.map((entry, i) => {
    const r = new HostResult(VERB, entry);
    const protocol = requested[i]!.protocol;
    const port = r.integer('port');
    if (r.string('protocol') !== protocol || port !== PORTS[protocol]) {
      throw new PlatformCommandError(VERB, `PowerShell's answer ${i + 1} is ${r.string('protocol').slice(0, 10)} on port ${port}, not ${protocol} on ${PORTS[protocol]}`);
    }
    if (r.oneOf('firewallRule', ['created', 'present'] as const) === 'created') {
      log('info', `opened TCP ${port} inbound for WinRM ${protocol} (firewall rule ${r.string('ruleName')})`);
    }
    const result: WinRmListenerResult = { protocol, port, outcome: r.oneOf('outcome', ['created', 'recreated', 'present'] as const) };
    const hostname = r.optionalString('hostname');
    if (hostname !== undefined) result.hostname = hostname;
    return result;
  });
}
