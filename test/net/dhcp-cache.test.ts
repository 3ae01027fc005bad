import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FabricDocumentError } from '../../src/errors.ts';
import { parseDhcpInterfaceOptions, wireServerFromInterfaceOptions } from '../../src/net/dhcp-cache.ts';

interface RecordSpec {
  code: number;
  data: number[];
  /** The word at +4 (the vendor flag in the layout winprov implements). */
  vendor?: number;
  /** The word at +12 (where public registry dumps show the vendor flag). */
  word12?: number;
  time?: number;
  /** Overrides the length word. */
  length?: number;
}

/** One DhcpInterfaceOptions record: five u32le words, then the data padded to a multiple of 4. */
function record(spec: RecordSpec): Buffer {
  const padded = Math.ceil(spec.data.length / 4) * 4;
  const out = Buffer.alloc(20 + padded);
  out.writeUInt32LE(spec.code, 0);
  out.writeUInt32LE(spec.vendor ?? 0, 4);
  out.writeUInt32LE(spec.length ?? spec.data.length, 8);
  out.writeUInt32LE(spec.word12 ?? 0, 12);
  out.writeUInt32LE(spec.time ?? 0x57b61733, 16);
  Buffer.from(spec.data).copy(out, 20);
  return out;
}

/** What a lease typically stores: message type, subnet mask, router, server id, host name (odd length). */
const LEASE = [
  record({ code: 53, data: [5] }),
  record({ code: 1, data: [255, 255, 255, 0] }),
  record({ code: 3, data: [10, 0, 1, 1] }),
  record({ code: 54, data: [168, 63, 129, 16] }),
  record({ code: 12, data: [...Buffer.from('vm-0000001')] }),
];

function rejects(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => err instanceof FabricDocumentError && err.document === 'DhcpInterfaceOptions');
}

test('records are split with their code, vendor flag, data and time', () => {
  const records = parseDhcpInterfaceOptions(Buffer.concat([...LEASE, record({ code: 1, vendor: 1, data: [2], time: 7 })]));
  assert.deepEqual(
    records.map((r) => [r.code, r.vendor, r.data.toString('hex')]),
    [
      [53, false, '05'],
      [1, false, 'ffffff00'],
      [3, false, '0a000101'],
      [54, false, 'a83f8110'],
      [12, false, Buffer.from('vm-0000001').toString('hex')],
      [1, true, '02'],
    ],
  );
  assert.equal(records[0]!.expires, 0x57b61733);
  assert.equal(records[5]!.expires, 7);
});

test('option 245 among the lease options yields the WireServer address', () => {
  const blob = Buffer.concat([...LEASE, record({ code: 245, data: [0xa8, 0x3f, 0x81, 0x10] })]);
  assert.equal(wireServerFromInterfaceOptions(blob), '168.63.129.16');
});

test('a cache without option 245 yields undefined', () => {
  assert.equal(wireServerFromInterfaceOptions(Buffer.concat(LEASE)), undefined);
  assert.equal(wireServerFromInterfaceOptions(new Uint8Array(0)), undefined);
});

test('option 245 behind vendor records is found, and a vendor sub-option 245 is ignored', () => {
  const blob = Buffer.concat([
    record({ code: 245, vendor: 1, data: [1, 2, 3, 4] }),
    record({ code: 1, vendor: 1, data: [] }),
    ...LEASE,
    record({ code: 245, data: [10, 20, 30, 40] }),
    record({ code: 245, vendor: 1, data: [9, 9, 9, 9] }),
  ]);
  assert.equal(wireServerFromInterfaceOptions(blob), '10.20.30.40');
});

test('a vendor sub-option 245 alone is not taken for the WireServer option', () => {
  assert.equal(wireServerFromInterfaceOptions(record({ code: 245, vendor: 1, data: [1, 2, 3, 4] })), undefined);
});

test('a record flagged at +12, as public registry dumps show vendor records, is not a standard option', () => {
  const blob = Buffer.concat([...LEASE, record({ code: 245, word12: 1, data: [1, 2, 3, 4] })]);
  assert.equal(parseDhcpInterfaceOptions(blob).at(-1)!.vendor, true);
  assert.equal(wireServerFromInterfaceOptions(blob), undefined);
});

test('a standard option 245 that is not 4 bytes is an error', () => {
  rejects(() => wireServerFromInterfaceOptions(Buffer.concat([...LEASE, record({ code: 245, data: [1, 2, 3, 4, 5, 6, 7, 8] })])));
});

test('a truncated record header is an error', () => {
  const blob = Buffer.concat([...LEASE, record({ code: 245, data: [1, 2, 3, 4] })]);
  rejects(() => parseDhcpInterfaceOptions(blob.subarray(0, blob.length - 12)));
  rejects(() => parseDhcpInterfaceOptions(Buffer.alloc(19)));
});

test('a data length past the end of the value is an error', () => {
  rejects(() => parseDhcpInterfaceOptions(Buffer.concat([...LEASE, record({ code: 245, data: [1, 2, 3, 4], length: 5 })])));
  rejects(() => parseDhcpInterfaceOptions(record({ code: 245, data: [1, 2, 3, 4], length: 0xffffffff })));
});

test('an option code over 255 is an error', () => {
  rejects(() => parseDhcpInterfaceOptions(record({ code: 256, data: [1, 2, 3, 4] })));
});

test('the last record may lack its padding at the end of the value', () => {
  const blob = Buffer.concat([...LEASE, record({ code: 245, data: [1, 2, 3, 4] }), record({ code: 15, data: [0x61] })]);
  const records = parseDhcpInterfaceOptions(blob.subarray(0, blob.length - 3));
  assert.deepEqual(records.at(-1)!.data, Buffer.from([0x61]));
  assert.equal(wireServerFromInterfaceOptions(blob.subarray(0, blob.length - 3)), '1.2.3.4');
});
