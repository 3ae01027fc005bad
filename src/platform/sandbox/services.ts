import type { GuestAgentServices } from '../platform.ts';
import type { SandboxMachine } from './machine.ts';

/** The guest agent's services on the sandbox: what readGuestAgentServices shows and setGuestAgentServices sets. */

const GUEST_AGENT_SERVICES = ['RdAgent', 'WindowsAzureGuestAgent', 'WindowsAzureTelemetryService'];

export function guestAgentView(machine: SandboxMachine): GuestAgentServices {
  return { installed: machine.services.filter((s) => GUEST_AGENT_SERVICES.includes(s.name)).map((s) => ({ ...s })) };
}

export function applyGuestAgentServices(machine: SandboxMachine, enabled: boolean): { detail: string | undefined; result: GuestAgentServices } {
  const mode = enabled ? 'Automatic' : 'Disabled';
  const changed: string[] = [];
  for (const service of machine.services) {
    if (!GUEST_AGENT_SERVICES.includes(service.name) || service.startMode === mode) continue;
    service.startMode = mode;
    changed.push(service.name);
  }
  return { detail: changed.length ? `${changed.join(', ')} set to ${mode}` : undefined, result: guestAgentView(machine) };
}
