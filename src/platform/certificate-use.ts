import type { RemoteAccessInventory } from './image-types.ts';

/**
 * Which binding still uses each certificate once some WinRM listeners are gone: a remaining listener,
 * the RDP listener, or an http.sys SSL binding. An http.sys binding on the port of a removed HTTPS
 * listener is that listener's own (WinRM registers one per HTTPS listener and removes it with the
 * listener), so it does not count. remote-access.ps1 applies the same rule on Windows.
 */
export function certificatesInUse(inventory: RemoteAccessInventory, removedListeners: readonly { address: string; transport: string }[]): Map<string, string> {
  const removed = (l: { address: string; transport: string }) => removedListeners.some((r) => r.address === l.address && r.transport.toUpperCase() === l.transport.toUpperCase());
  const removedPorts = new Set(inventory.listeners.filter(removed).map((l) => l.port));
  const inUse = new Map<string, string>();
  for (const listener of inventory.listeners) {
    if (removed(listener) || listener.certificateThumbprint === '') continue;
    inUse.set(listener.certificateThumbprint.toUpperCase(), `the WinRM listener ${listener.transport} ${listener.address}`);
  }
  for (const binding of inventory.bindings) {
    if (binding.kind === 'http.sys' && removedPorts.has(binding.port)) continue;
    const thumbprint = binding.thumbprint.toUpperCase();
    if (!inUse.has(thumbprint)) inUse.set(thumbprint, `${binding.kind} ${binding.name}`);
  }
  return inUse;
}
