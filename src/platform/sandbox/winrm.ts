import { PlatformRejectedError } from '../../errors.ts';
import type { WinRmListenerRequest, WinRmListenerResult } from '../platform.ts';
import type { SandboxMachine } from './machine.ts';

/**
 * configureWinRm on the sandbox, as winrm.ps1 does it: an HTTPS listener needs a certificate of
 * LocalMachine\My with its private key and carries its subject CN as Hostname; a listener that differs
 * (certificate or Hostname) is deleted and created again, never changed in place (WinRM keeps the old
 * Hostname and refuses a certificate of another CN, dsccommunity/WSManDsc#11).
 */

/** The CN of a subject "CN=web01.example.net, O=Contoso", as X509NameType.SimpleName reads it. */
export function subjectCn(subject: string | undefined): string {
  return /(?:^|,\s*)CN=([^,]+)/.exec(subject ?? '')?.[1]?.trim() ?? '';
}

export function applyWinRm(machine: SandboxMachine, listeners: WinRmListenerRequest[]): { detail: string | undefined; result: WinRmListenerResult[] } {
  const winrm = (machine.winrm ??= { listeners: [], firewallPorts: [] });
  const results: WinRmListenerResult[] = [];
  const changed: string[] = [];
  for (const request of listeners) {
    const https = request.protocol === 'Https';
    const port = https ? 5986 : 5985;
    const thumbprint = https ? request.certificateThumbprint : undefined;
    const certificate = machine.certificateStores.My?.find((c) => c.thumbprint === thumbprint && c.hasPrivateKey);
    if (https && certificate === undefined) {
      throw new PlatformRejectedError('configureWinRm', `the HTTPS listener's certificate ${thumbprint} is not in LocalMachine\\My with its private key`);
    }
    const hostname = https ? subjectCn(certificate!.subject) : undefined;
    if (hostname === '') throw new PlatformRejectedError('configureWinRm', `the HTTPS listener's certificate ${thumbprint} has no subject name to serve as the listener's Hostname`);
    const transport = https ? 'HTTPS' as const : 'HTTP' as const;
    const index = winrm.listeners.findIndex((l) => l.transport === transport);
    const existing = index < 0 ? undefined : winrm.listeners[index]!;
    const wanted = { transport, port, ...(thumbprint ? { certificateThumbprint: thumbprint } : {}), ...(hostname ? { hostname } : {}) };
    const same = existing !== undefined && existing.port === port && existing.certificateThumbprint === thumbprint && (existing.hostname ?? '') === (hostname ?? '');
    const outcome = existing === undefined ? 'created' : same ? 'present' : 'recreated';
    if (existing === undefined) winrm.listeners.push(wanted);
    else if (!same) winrm.listeners[index] = wanted;
    if (!winrm.firewallPorts.includes(port)) winrm.firewallPorts.push(port);
    if (outcome !== 'present') changed.push(`${transport} listener on ${port} ${outcome}${thumbprint ? ` with ${thumbprint} (Hostname ${hostname})` : ''}`);
    results.push({ protocol: request.protocol, port, outcome, ...(hostname ? { hostname } : {}) });
  }
  return { detail: changed.length ? `WinRM ${changed.join(', ')}` : undefined, result: results };
}
