import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DiagnosticFile } from '../platform.ts';
import type { SandboxMachine } from './machine.ts';

/**
 * collect-logs on the sandbox: what Windows would give, from the sandbox's own files: Panther logs
 * (when a test planted them), machine.json standing in for the registry (password digests left out),
 * the change log and the event log entries.
 */
export async function sandboxDiagnostics(root: string, machine: SandboxMachine): Promise<DiagnosticFile[]> {
  const files: DiagnosticFile[] = [];
  for (const name of ['setupact.log', 'setuperr.log', 'UnattendGC/setupact.log', 'UnattendGC/setuperr.log']) {
    const data = await readFile(join(root, 'Windows', 'Panther', name)).catch(() => undefined);
    if (data !== undefined) files.push({ name: `windows/Panther/${name}`, data });
  }
  const { changes, events, ...registry } = machine;
  registry.users = registry.users.map((u) => ({ ...u, passwordDigest: '[not collected]' }));
  files.push({ name: 'windows/registry.txt', data: JSON.stringify(registry, null, 2) });
  files.push({ name: 'windows/changes.txt', data: changes.map((c) => `${c.at} ${c.verb}: ${c.detail}`).join('\n') });
  files.push({ name: 'windows/events-winprov.txt', data: (events ?? []).map((e) => `${e.at} winprov ${e.id} ${e.kind}: ${e.message}`).join('\n') });
  return files;
}
