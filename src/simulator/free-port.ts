import { createServer, type AddressInfo } from 'node:net';

/**
 * Picks a free port for unavailableForMs, where the URL is needed before anything listens. Nothing can
 * hold a TCP port without listening in node:net, so the port is free during the window: it is taken
 * below the ephemeral ranges (Linux 32768-60999, Windows 49152-65535), where no other simulator's or
 * client's port-0 bind can be given it meanwhile (an agent retrying a port another simulator got would
 * talk to that one).
 */
export async function reservePort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await bindOnce(host, port)) !== undefined) return port;
  }
  return (await bindOnce(host, 0)) ?? 0;
}

/** Listens on the port and lets it go; the port it had, or undefined when it could not bind. */
async function bindOnce(host: string, port: number): Promise<number | undefined> {
  const probe = createServer();
  const bound = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen({ host, port }, () => resolve(true));
  });
  if (!bound) return undefined;
  const { port: got } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return got;
}
