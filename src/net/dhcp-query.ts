import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { WireServerError } from '../errors.ts';
import { DHCP_MESSAGE, decodeDhcpPacket, encodeDhcpDiscover, encodeDhcpInform, wireServerOption } from './dhcp.ts';

/**
 * One bounded DHCP exchange that asks for option 245: a DISCOVER (or an INFORM, which changes no lease)
 * per attempt, with a fresh random xid, and the first matching reply wins. Used only when the OS DHCP
 * client's cache has no option 245.
 */

/** What queryWireServerByDhcp needs: where to send, where to listen, and how long to wait. */
export interface DhcpQueryOptions {
  /** The interface's hardware address (6 bytes): chaddr, and the client identifier. */
  mac: Buffer;
  /** The adapter's DHCP server (unicast), or 255.255.255.255. */
  serverAddress: string;
  /** 67 in production. */
  serverPort: number;
  /** 68 in production. */
  clientPort: number;
  /** 0.0.0.0 in production, so broadcast replies arrive too. */
  bindAddress: string;
  /** How long each attempt waits for a reply. */
  timeoutMs: number;
  attempts: number;
  signal?: AbortSignal;
  /** DISCOVER by default; INFORM needs clientAddress. */
  kind?: 'discover' | 'inform';
  /** The address the interface holds (ciaddr of an INFORM). */
  clientAddress?: string;
  /** Why a datagram was ignored or an attempt failed; for the log. */
  log?: (message: string) => void;
}

/** The verdict on one datagram: not ours, or ours with (or without) option 245. */
type Verdict = { usable: false; why: string } | { usable: true; wireServer: string | undefined };

function judge(datagram: Buffer, sentXids: ReadonlySet<number>, mac: Buffer, expectedType: number): Verdict {
  let packet;
  try {
    packet = decodeDhcpPacket(datagram);
  } catch (err) {
    return { usable: false, why: `malformed (${err instanceof Error ? err.message : String(err)})` };
  }
  if (packet.op !== 2) return { usable: false, why: 'not a BOOTREPLY' };
  // A late reply to an earlier attempt of this same query still answers our question.
  if (!sentXids.has(packet.xid)) return { usable: false, why: `xid ${packet.xid} is not ours` };
  if (!packet.chaddr.equals(mac)) return { usable: false, why: 'chaddr is another client' };
  if (packet.messageType !== expectedType) return { usable: false, why: `message type ${packet.messageType} (expected ${expectedType})` };
  try {
    return { usable: true, wireServer: wireServerOption(packet) };
  } catch (err) {
    return { usable: false, why: err instanceof Error ? err.message : String(err) };
  }
}

function bind(socket: Socket, port: number, address: string, target: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new WireServerError('WIRESERVER_UNREACHABLE', `DHCP query: cannot bind UDP ${address}:${port} (${err.code ?? err.message})`, target, {
          hint: 'another process holds the DHCP client port without sharing it; the cached option and the default address are still tried',
          cause: err,
        }),
      );
    };
    socket.once('error', onError);
    socket.bind({ port, address, exclusive: false }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

function send(socket: Socket, datagram: Buffer, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => socket.send(datagram, port, address, (err) => (err ? reject(err) : resolve())));
}

/** Waits up to timeoutMs for a usable reply; undefined-wrapped so "no 245 in the reply" differs from "no reply". */
function awaitReply(
  socket: Socket,
  accept: (datagram: Buffer) => Verdict,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  log: (message: string) => void,
): Promise<{ wireServer: string | undefined } | undefined> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const stop = signal ? AbortSignal.any([timeout, signal]) : timeout;
  return new Promise((resolve, reject) => {
    const finish = (): void => {
      socket.off('message', onMessage);
      stop.removeEventListener('abort', onStop);
    };
    const onMessage = (datagram: Buffer): void => {
      const verdict = accept(datagram);
      if (!verdict.usable) {
        log(`DHCP query: ignored a datagram: ${verdict.why}`);
        return;
      }
      finish();
      resolve({ wireServer: verdict.wireServer });
    };
    const onStop = (): void => {
      finish();
      if (signal?.aborted) reject(signal.reason);
      else resolve(undefined);
    };
    if (stop.aborted) return onStop();
    socket.on('message', onMessage);
    stop.addEventListener('abort', onStop, { once: true });
  });
}

/**
 * Asks a DHCP server for option 245 and returns it as dotted IPv4; undefined when no usable reply came
 * within attempts x timeoutMs, or the reply carried no option 245. Replies with another xid, op, chaddr
 * or message type, and malformed ones, are ignored. The socket is always closed. Rejects with the
 * signal's reason when it aborts, and with WireServerError when the port cannot be bound.
 */
export async function queryWireServerByDhcp(options: DhcpQueryOptions): Promise<string | undefined> {
  const log = options.log ?? (() => {});
  const kind = options.kind ?? 'discover';
  const target = `dhcp://${options.serverAddress}:${options.serverPort}`;
  options.signal?.throwIfAborted();
  if (kind === 'inform' && options.clientAddress === undefined) {
    throw new WireServerError('WIRESERVER_UNREACHABLE', 'DHCP query: an INFORM needs the address the interface holds (clientAddress)', target);
  }
  const expectedType = kind === 'inform' ? DHCP_MESSAGE.ack : DHCP_MESSAGE.offer;
  // The Windows DHCP client owns port 68; address reuse lets this socket share it (as cloudbase-init does).
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  // An error after bind (an ICMP-triggered ECONNREFUSED, say) must not crash the process; sends report their own.
  socket.on('error', (err) => log(`DHCP query: socket error: ${err.message}`));
  try {
    await bind(socket, options.clientPort, options.bindAddress, target);
    socket.setBroadcast(true);
    const sentXids = new Set<number>();
    let lastSendError: Error | undefined;
    for (let attempt = 1; attempt <= options.attempts; attempt++) {
      const xid = randomInt(0, 0x1_0000_0000);
      const datagram =
        kind === 'inform'
          ? encodeDhcpInform({ xid, mac: options.mac, clientAddress: options.clientAddress! })
          : // Ask for a broadcast OFFER when broadcasting, and on retries (as WALinuxAgent does): a unicast
            // OFFER to yiaddr can miss a client whose stack does not yet accept that address.
            encodeDhcpDiscover({ xid, mac: options.mac, broadcast: options.serverAddress === '255.255.255.255' || attempt > 1 });
      try {
        await send(socket, datagram, options.serverPort, options.serverAddress);
      } catch (err) {
        lastSendError = err as Error;
        log(`DHCP query: attempt ${attempt} could not send to ${options.serverAddress}:${options.serverPort}: ${lastSendError.message}`);
        continue;
      }
      sentXids.add(xid);
      const reply = await awaitReply(socket, (d) => judge(d, sentXids, options.mac, expectedType), options.timeoutMs, options.signal, log);
      if (reply !== undefined) return reply.wireServer;
      log(`DHCP query: attempt ${attempt} of ${options.attempts}: no reply within ${options.timeoutMs} ms`);
    }
    if (sentXids.size === 0 && lastSendError !== undefined) {
      throw new WireServerError('WIRESERVER_UNREACHABLE', `DHCP query: no request could be sent (${lastSendError.message})`, target, {
        cause: lastSendError,
      });
    }
    return undefined;
  } finally {
    socket.close();
  }
}
