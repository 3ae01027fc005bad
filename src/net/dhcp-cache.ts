import { FabricDocumentError } from '../errors.ts';
import { formatIPv4, WIRESERVER_OPTION } from './dhcp.ts';

/**
 * Parser for the Windows DHCP client's option cache: the undocumented REG_BINARY value
 * HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces\{GUID}\DhcpInterfaceOptions.
 * Reading option 245 from it finds the WireServer without sending a packet. Pure, bounds-checked.
 *
 * Record layout (all u32 little-endian), data padded to a multiple of 4:
 *   +0 option code   +4 vendor flag   +8 data length   +12 reserved   +16 time   +20 data
 * This is the order our specification gives. The reverse-engineered layout in windows-platform.md 3(i)
 * (after Ingmar Verheij's ReadDhcpOptions.ps1) puts an unknown word at +4 and the vendor flag at +12, and
 * a public registry dump agrees with it (a record with 1 at +12 and 0 at +4). The two orders agree on
 * code, length, time and data; they differ only on which word marks a vendor option. So a record counts
 * as a standard option only when both words are zero: a vendor sub-option 245 is never mistaken for
 * the WireServer option, whichever order Windows really uses.
 */

/** One record of DhcpInterfaceOptions. */
export interface DhcpCacheRecord {
  /** The DHCP option code, or the sub-option code of a vendor-specific (option 43) record. */
  code: number;
  vendor: boolean;
  data: Buffer;
  /** The record's time word (seconds since 1970; public dumps show the lease expiry time). */
  expires: number;
}

const DOCUMENT = 'DhcpInterfaceOptions';
const RECORD_HEADER_BYTES = 20;
/** No DHCP message, hence no stored option, can exceed a UDP datagram; larger lengths are corruption. */
const MAX_DATA_BYTES = 0xffff;

function fail(field: string, rule: string): FabricDocumentError {
  return new FabricDocumentError(DOCUMENT, field, rule, {
    hint: "the DHCP client's cached options could not be read; winprov asks the DHCP server itself instead",
  });
}

/** Splits a DhcpInterfaceOptions blob into its records; a truncated or overrunning record is an error. */
export function parseDhcpInterfaceOptions(blob: Uint8Array): DhcpCacheRecord[] {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const records: DhcpCacheRecord[] = [];
  let at = 0;
  while (at < blob.length) {
    const field = `record ${records.length} (offset ${at})`;
    if (at + RECORD_HEADER_BYTES > blob.length) {
      throw fail(field, `is truncated: a record header is ${RECORD_HEADER_BYTES} bytes, ${blob.length - at} left`);
    }
    const code = view.getUint32(at, true);
    const vendorFlag = view.getUint32(at + 4, true);
    const length = view.getUint32(at + 8, true);
    const reserved = view.getUint32(at + 12, true);
    const expires = view.getUint32(at + 16, true);
    if (code > 255) throw fail(field, `option code must be 0..255, got ${code}`);
    if (length > MAX_DATA_BYTES) throw fail(field, `data length ${length} is over the limit of ${MAX_DATA_BYTES}`);
    const dataStart = at + RECORD_HEADER_BYTES;
    const dataEnd = dataStart + length;
    if (dataEnd > blob.length) {
      throw fail(field, `data length ${length} runs past the end of the value (${blob.length - dataStart} bytes left)`);
    }
    records.push({
      code,
      vendor: vendorFlag !== 0 || reserved !== 0,
      data: Buffer.from(blob.subarray(dataStart, dataEnd)),
      expires,
    });
    // The last record's padding may be cut off at the end of the value: it carries nothing.
    at = Math.min(dataEnd + ((4 - (length % 4)) % 4), blob.length);
  }
  return records;
}

/**
 * The WireServer address from the cache: the standard (non-vendor) option 245 record of exactly 4 bytes,
 * as dotted IPv4; undefined when there is none. A 245 record of another length is an error.
 */
export function wireServerFromInterfaceOptions(blob: Uint8Array): string | undefined {
  const matches = parseDhcpInterfaceOptions(blob).filter((record) => record.code === WIRESERVER_OPTION && !record.vendor);
  if (matches.length === 0) return undefined;
  // One lease stores each option once; if several appear, the last one written is the newest.
  const record = matches[matches.length - 1]!;
  if (record.data.length !== 4) {
    throw fail(`option ${WIRESERVER_OPTION}`, `must be exactly 4 bytes (an IPv4 address), got ${record.data.length}`);
  }
  return formatIPv4(record.data);
}
