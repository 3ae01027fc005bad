import { FabricDocumentError } from '../errors.ts';

/**
 * A strict DHCP codec (RFC 2131 message format, RFC 2132 options, RFC 3396 long options), pure, no I/O.
 * It does exactly what fabric discovery needs: encode one DISCOVER or INFORM, decode the reply, read
 * option 245 (the WireServer address Azure's DHCP servers hand out). Every length is checked against the
 * buffer: a reply comes from the network and is treated as hostile input.
 */

/** A decoded BOOTP/DHCP message: the fixed header fields discovery uses, and the options by code. */
export interface DhcpPacket {
  op: 1 | 2;
  htype: number;
  hlen: number;
  xid: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** The client hardware address: the first hlen bytes of the 16-byte chaddr field. */
  chaddr: Buffer;
  /** Option 53, when present. */
  messageType: number | undefined;
  /** Option data by code; repeated instances of one code already concatenated (RFC 3396). */
  options: Map<number, Buffer>;
}

/** DHCP message types (RFC 2132 9.6) that discovery sends or expects. */
export const DHCP_MESSAGE = { discover: 1, offer: 2, ack: 5, inform: 8 } as const;

/** The site-specific option Azure uses for the WireServer address (4 bytes, network order). */
export const WIRESERVER_OPTION = 245;

const DOCUMENT = 'DhcpReply';
const HEADER_BYTES = 236;
const COOKIE_OFFSET = 236;
const OPTIONS_OFFSET = 240;
const MAGIC_COOKIE = 0x63825363;
/** RFC 1542 2.1: a BOOTP message is at least 300 bytes; some relays drop shorter ones. */
const MIN_REQUEST_BYTES = 300;
const SNAME = { offset: 44, length: 64 } as const;
const FILE = { offset: 108, length: 128 } as const;
const PAD = 0;
const END = 255;
const OPTION_OVERLOAD = 52;
const BROADCAST_FLAG = 0x8000;
/** Subnet mask, router, DNS servers, domain name, WireServer. */
const PARAMETER_REQUEST_LIST = [1, 3, 6, 15, WIRESERVER_OPTION];

function fail(field: string, rule: string): FabricDocumentError {
  return new FabricDocumentError(DOCUMENT, field, rule);
}

/** Dotted-quad text of 4 bytes. */
export function formatIPv4(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join('.');
}

/** The 4 bytes of a dotted-quad IPv4 address, or undefined when the text is not one (no leading zeros). */
export function parseIPv4(text: string): Buffer | undefined {
  const parts = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!parts) return undefined;
  const octets = parts.slice(1).map((part) => (part.length > 1 && part.startsWith('0') ? 256 : Number(part)));
  return octets.every((octet) => octet <= 255) ? Buffer.from(octets) : undefined;
}

/**
 * Walks one options area (RFC 2132 2) and appends each option's data to `into`, so that repeated
 * instances of one code end up concatenated in order (RFC 3396 long options). PAD is skipped, END
 * stops; running off the area without END is an error (RFC 2131 4.1: the options field ends with END).
 */
function readOptionArea(bytes: Uint8Array, start: number, end: number, area: string, into: Map<number, Buffer[]>): void {
  const where = area === 'options' ? '' : `${area} `;
  let at = start;
  while (at < end) {
    const code = bytes[at]!;
    if (code === PAD) {
      at += 1;
      continue;
    }
    if (code === END) return;
    if (at + 1 >= end) throw fail(`${where}option ${code}`, `its length octet is missing at offset ${at + 1}`);
    const length = bytes[at + 1]!;
    const dataStart = at + 2;
    if (dataStart + length > end) {
      throw fail(`${where}option ${code}`, `length ${length} at offset ${at + 1} runs past the end of the ${area} (${end - dataStart} bytes left)`);
    }
    const parts = into.get(code) ?? [];
    parts.push(Buffer.from(bytes.subarray(dataStart, dataStart + length)));
    into.set(code, parts);
    at = dataStart + length;
  }
  throw fail(area, 'has no END option (255)');
}

/**
 * Decodes a DHCP message strictly. Option overload (option 52, RFC 2132 9.3) is honoured: the file and
 * then the sname field are read as further options areas, in the order RFC 3396 7 gives for
 * concatenation. Errors are FabricDocumentError('DhcpReply', field, rule).
 */
export function decodeDhcpPacket(buffer: Uint8Array): DhcpPacket {
  const bytes = buffer;
  if (bytes.length < OPTIONS_OFFSET) {
    throw fail('(message)', `is ${bytes.length} bytes; a DHCP message has a ${HEADER_BYTES}-byte header and a 4-byte magic cookie`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const op = bytes[0]!;
  if (op !== 1 && op !== 2) throw fail('op', `must be 1 (BOOTREQUEST) or 2 (BOOTREPLY), got ${op}`);
  const hlen = bytes[2]!;
  if (hlen > 16) throw fail('hlen', `must be at most 16 (the size of chaddr), got ${hlen}`);
  const cookie = view.getUint32(COOKIE_OFFSET);
  if (cookie !== MAGIC_COOKIE) {
    throw fail('magic cookie', `must be 63 82 53 63 (RFC 2131 3), got ${cookie.toString(16).padStart(8, '0')}`);
  }

  const parts = new Map<number, Buffer[]>();
  readOptionArea(bytes, OPTIONS_OFFSET, bytes.length, 'options', parts);
  const overload = parts.get(OPTION_OVERLOAD);
  if (overload !== undefined) {
    const value = Buffer.concat(overload);
    if (value.length !== 1 || value[0]! < 1 || value[0]! > 3) {
      throw fail(`option ${OPTION_OVERLOAD}`, 'must be one byte: 1 (file), 2 (sname) or 3 (both) (RFC 2132 9.3)');
    }
    parts.delete(OPTION_OVERLOAD);
    if (value[0]! & 1) readOptionArea(bytes, FILE.offset, FILE.offset + FILE.length, 'file', parts);
    if (value[0]! & 2) readOptionArea(bytes, SNAME.offset, SNAME.offset + SNAME.length, 'sname', parts);
    // An option 52 inside an overloaded field has no meaning (RFC 2131 4.1); drop it.
    parts.delete(OPTION_OVERLOAD);
  }
  const options = new Map<number, Buffer>();
  for (const [code, chunks] of parts) options.set(code, Buffer.concat(chunks));

  const type = options.get(53);
  if (type !== undefined && type.length !== 1) throw fail('option 53', `must be 1 byte (the message type), got ${type.length}`);

  return {
    op,
    htype: bytes[1]!,
    hlen,
    xid: view.getUint32(4),
    flags: view.getUint16(10),
    ciaddr: formatIPv4(bytes.subarray(12, 16)),
    yiaddr: formatIPv4(bytes.subarray(16, 20)),
    siaddr: formatIPv4(bytes.subarray(20, 24)),
    giaddr: formatIPv4(bytes.subarray(24, 28)),
    chaddr: Buffer.from(bytes.subarray(28, 28 + hlen)),
    messageType: type?.[0],
    options,
  };
}

/** Option 245 of a decoded message as dotted IPv4; undefined when absent; an error unless exactly 4 bytes. */
export function wireServerOption(packet: DhcpPacket): string | undefined {
  const value = packet.options.get(WIRESERVER_OPTION);
  if (value === undefined) return undefined;
  if (value.length !== 4) {
    throw fail(`option ${WIRESERVER_OPTION}`, `must be exactly 4 bytes (an IPv4 address), got ${value.length}`);
  }
  return formatIPv4(value);
}

/** Decodes a DHCP reply and returns its option 245 (the WireServer address) as dotted IPv4, if present. */
export function wireServerFromDhcpReply(buffer: Uint8Array): string | undefined {
  return wireServerOption(decodeDhcpPacket(buffer));
}

interface RequestInput {
  type: number;
  xid: number;
  mac: Buffer;
  flags: number;
  ciaddr: Buffer;
}

function encodeRequest(input: RequestInput): Buffer {
  if (!Number.isInteger(input.xid) || input.xid < 0 || input.xid > 0xffffffff) {
    throw new FabricDocumentError('DhcpRequest', 'xid', `must be an unsigned 32-bit integer, got ${input.xid}`, {
      hint: 'this is a bug in winprov',
    });
  }
  if (input.mac.length !== 6) {
    throw new FabricDocumentError('DhcpRequest', 'chaddr', `must be a 6-byte Ethernet address, got ${input.mac.length} bytes`, {
      hint: 'the network interface that reaches the fabric reported a hardware address winprov cannot use',
    });
  }
  const options = Buffer.from([
    53, 1, input.type,
    // RFC 2132 9.14: client identifier = hardware type 1 (Ethernet) + MAC, as the Windows DHCP client sends it.
    61, 7, 1, ...input.mac,
    55, PARAMETER_REQUEST_LIST.length, ...PARAMETER_REQUEST_LIST,
    END,
  ]);
  const packet = Buffer.alloc(Math.max(MIN_REQUEST_BYTES, OPTIONS_OFFSET + options.length));
  packet[0] = 1; // BOOTREQUEST
  packet[1] = 1; // htype Ethernet
  packet[2] = 6; // hlen
  packet.writeUInt32BE(input.xid, 4);
  packet.writeUInt16BE(input.flags, 10);
  input.ciaddr.copy(packet, 12);
  input.mac.copy(packet, 28);
  packet.writeUInt32BE(MAGIC_COOKIE, COOKIE_OFFSET);
  options.copy(packet, OPTIONS_OFFSET);
  return packet;
}

/** A DHCPDISCOVER asking for option 245; the broadcast flag asks the server to broadcast its OFFER. */
export function encodeDhcpDiscover(input: { xid: number; mac: Buffer; broadcast?: boolean }): Buffer {
  return encodeRequest({
    type: DHCP_MESSAGE.discover,
    xid: input.xid,
    mac: input.mac,
    flags: input.broadcast ? BROADCAST_FLAG : 0,
    ciaddr: Buffer.alloc(4),
  });
}

/**
 * A DHCPINFORM (RFC 2131 3.4) from a client that already has clientAddress: it asks for configuration
 * only, so no lease changes hands. The server answers with a DHCPACK unicast to ciaddr.
 */
export function encodeDhcpInform(input: { xid: number; mac: Buffer; clientAddress: string }): Buffer {
  const ciaddr = parseIPv4(input.clientAddress);
  if (ciaddr === undefined || ciaddr.every((octet) => octet === 0)) {
    throw new FabricDocumentError('DhcpRequest', 'ciaddr', 'must be the IPv4 address the interface holds (RFC 2131 4.4.3)', {
      hint: 'the interface that reaches the fabric has no usable IPv4 address',
      context: { clientAddress: input.clientAddress },
    });
  }
  return encodeRequest({ type: DHCP_MESSAGE.inform, xid: input.xid, mac: input.mac, flags: 0, ciaddr });
}
