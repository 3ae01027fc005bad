import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { AgentError, FabricDocumentError } from '../../src/errors.ts';
import { DHCP_MESSAGE, decodeDhcpPacket, encodeDhcpDiscover, encodeDhcpInform, wireServerFromDhcpReply } from '../../src/net/dhcp.ts';
import { parseDhcpInterfaceOptions, wireServerFromInterfaceOptions } from '../../src/net/dhcp-cache.ts';
import { fuzzParameters } from './budget.ts';

/**
 * The DHCP codec and the DHCP client cache parser on generated and mutated input: option games (PAD and
 * END anywhere, overlong lengths, truncation, duplicates, option overload, option 245 of every length).
 * Every outcome is a value or an AgentError within a time bound, and option 245 is read as a small
 * reference reader of RFC 2131 4.1, RFC 2132 2 and 9.3 and RFC 3396 reads it.
 */

/** Per input; a decode takes microseconds, so this only catches a walk that loops or goes quadratic. */
const BOUND_MS = 50;

/**
 * Runs fn; the value, or the AgentError it threw (anything else fails the test), within BOUND_MS. A run
 * over the bound is timed once more, so a garbage-collection pause on a busy machine is not a failure.
 */
function outcome<T>(fn: () => T): T | AgentError {
  const run = (): { result: T | AgentError; ms: number } => {
    const started = performance.now();
    try {
      const result = fn();
      return { result, ms: performance.now() - started };
    } catch (err) {
      const ms = performance.now() - started;
      assert.ok(err instanceof AgentError, `threw ${String(err)}`);
      return { result: err, ms };
    }
  };
  const first = run();
  if (first.ms >= BOUND_MS) assert.ok(run().ms < BOUND_MS, `took ${first.ms.toFixed(2)} ms, twice`);
  return first.result;
}

// ---- Packets ----------------------------------------------------------------------------------------

const byte = fc.integer({ min: 0, max: 255 });
const bytes = (max: number): fc.Arbitrary<number[]> => fc.array(byte, { maxLength: max });

/** One token of an options area, as bytes. */
const token: fc.Arbitrary<number[]> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<number[]>([0]) },
  { weight: 1, arbitrary: fc.constant<number[]>([255]) },
  { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 1, max: 254 }), bytes(12)).map(([code, data]) => [code, data.length, ...data]) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 255 }).chain((n) => fc.array(byte, { minLength: n, maxLength: n }).map((d) => [245, n, ...d])) },
  { weight: 2, arbitrary: fc.tuple(byte, byte, byte, byte).map((a) => [245, 4, ...a]) },
  { weight: 1, arbitrary: fc.oneof(fc.constant<number[]>([52, 1, 1]), fc.constant<number[]>([52, 1, 2]), fc.constant<number[]>([52, 1, 3]), bytes(3).map((d) => [52, d.length, ...d])) },
  { weight: 1, arbitrary: fc.oneof(fc.constant<number[]>([53, 1, 5]), fc.constant<number[]>([53, 1, 2]), fc.constant<number[]>([53, 2, 5, 5])) },
  // A length that claims more than follows.
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 1, max: 255 })).map(([code, n]) => [code, n]) },
);
const area = fc.array(token, { maxLength: 10 }).map((tokens) => tokens.flat());

interface PacketSpec {
  op: number;
  hlen: number;
  cookie: boolean;
  options: number[];
  file: number[];
  sname: number[];
  /** Bytes cut off the end (0: none). */
  cut: number;
}

const packetSpec: fc.Arbitrary<PacketSpec> = fc.record({
  op: fc.oneof({ weight: 8, arbitrary: fc.constant(2) }, { weight: 1, arbitrary: byte }),
  hlen: fc.oneof({ weight: 8, arbitrary: fc.constant(6) }, { weight: 1, arbitrary: byte }),
  cookie: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  options: fc.tuple(area, fc.boolean(), bytes(8)).map(([a, end, trailer]) => (end ? [...a, 255, ...trailer] : a)),
  file: fc.tuple(area, fc.boolean()).map(([a, end]) => (end ? [...a, 255] : a)),
  sname: fc.tuple(area, fc.boolean()).map(([a, end]) => (end ? [...a, 255] : a)),
  cut: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 300 }) }),
});

function packet(spec: PacketSpec): Buffer {
  const out = Buffer.alloc(240 + spec.options.length);
  out[0] = spec.op;
  out[1] = 1;
  out[2] = spec.hlen;
  out.writeUInt32BE(0x1234abcd, 4);
  Buffer.from(spec.sname.slice(0, 64)).copy(out, 44);
  Buffer.from(spec.file.slice(0, 128)).copy(out, 108);
  out.writeUInt32BE(spec.cookie ? 0x63825363 : 0x63825364, 236);
  Buffer.from(spec.options).copy(out, 240);
  return out.subarray(0, Math.max(0, out.length - spec.cut));
}

/** Reference reader: option 245 as dotted IPv4, undefined, or 'error'. Written from the RFCs, not from dhcp.ts. */
function referenceWireServer(p: Uint8Array): string | undefined | 'error' {
  if (p.length < 240 || (p[0] !== 1 && p[0] !== 2) || p[2]! > 16) return 'error';
  if (p[236] !== 0x63 || p[237] !== 0x82 || p[238] !== 0x53 || p[239] !== 0x63) return 'error';
  const found = new Map<number, number[]>();
  const walk = (from: number, to: number): boolean => {
    let i = from;
    for (;;) {
      if (i >= to) return false; // RFC 2131 4.1: the area must end with END
      const code = p[i]!;
      if (code === 255) return true;
      if (code === 0) {
        i += 1;
        continue;
      }
      if (i + 1 >= to || i + 2 + p[i + 1]! > to) return false;
      found.set(code, [...(found.get(code) ?? []), ...p.subarray(i + 2, i + 2 + p[i + 1]!)]);
      i += 2 + p[i + 1]!;
    }
  };
  if (!walk(240, p.length)) return 'error';
  const overload = found.get(52);
  if (overload !== undefined) {
    if (overload.length !== 1 || overload[0]! < 1 || overload[0]! > 3) return 'error';
    found.delete(52);
    if (overload[0]! & 1 && !walk(108, 236)) return 'error';
    if (overload[0]! & 2 && !walk(44, 108)) return 'error';
  }
  const type = found.get(53);
  if (type !== undefined && type.length !== 1) return 'error';
  const server = found.get(245);
  if (server === undefined) return undefined;
  return server.length === 4 ? server.join('.') : 'error';
}

test('a DHCP reply of any shape decodes to a value or an AgentError, as the reference reader says', () => {
  const seen = { address: 0, none: 0, refused: 0 };
  fc.assert(
    fc.property(packetSpec, (spec) => {
      const bytes = packet(spec);
      const got = outcome(() => wireServerFromDhcpReply(bytes));
      const expected = referenceWireServer(bytes);
      if (expected === 'error') assert.ok(got instanceof FabricDocumentError, `expected a refusal, got ${String(got)}`);
      else assert.equal(got, expected);
      seen[expected === 'error' ? 'refused' : expected === undefined ? 'none' : 'address'] += 1;
    }),
    fuzzParameters(3),
  );
  // All three outcomes are exercised.
  assert.ok(seen.address > 0 && seen.none > 0 && seen.refused > 0, JSON.stringify(seen));
});

test('random and mutated bytes never escape as anything but an AgentError', () => {
  const valid = packet({ op: 2, hlen: 6, cookie: true, options: [53, 1, 5, 245, 4, 168, 63, 129, 16, 255], file: [], sname: [], cut: 0 });
  const mutated = fc.array(fc.tuple(fc.nat(valid.length - 1), byte), { minLength: 1, maxLength: 8 }).map((edits) => {
    const copy = Buffer.from(valid);
    for (const [at, value] of edits) copy[at] = value;
    return copy;
  });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), mutated), (bytes) => {
      outcome(() => decodeDhcpPacket(bytes));
      outcome(() => wireServerFromDhcpReply(bytes));
    }),
    fuzzParameters(2),
  );
});

test('option 245 of every length: exactly 4 bytes is the address, any other length a named refusal', () => {
  for (let length = 0; length <= 255; length++) {
    const data = Array.from({ length }, (_, i) => (i * 37 + 1) & 0xff);
    const got = outcome(() => wireServerFromDhcpReply(packet({ op: 2, hlen: 6, cookie: true, options: [53, 1, 5, 245, length, ...data, 255], file: [], sname: [], cut: 0 })));
    if (length === 4) assert.equal(got, data.join('.'));
    else assert.ok(got instanceof FabricDocumentError && /option 245: must be exactly 4 bytes/.test(got.reason), `length ${length}`);
  }
});

test('option 245 split over several instances (RFC 3396), with PAD between and junk after END, is the concatenation', () => {
  const pieces = fc.tuple(byte, byte, byte, byte, fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }));
  fc.assert(
    fc.property(pieces, fc.nat(3), bytes(20), fc.constantFrom('options', 'file', 'sname'), (p, pads, junk, where) => {
      const address = p.slice(0, 4) as number[];
      const cuts = [...new Set([0, ...p[4].map((c) => Math.min(c, 4)), 4])].sort((a, b) => a - b);
      const instances = cuts.slice(1).flatMap((end, i) => [...Array<number>(pads).fill(0), 245, end - cuts[i]!, ...address.slice(cuts[i], end)]);
      const spec: PacketSpec = { op: 2, hlen: 6, cookie: true, options: [53, 1, 5, ...instances, 255, ...junk], file: [], sname: [], cut: 0 };
      if (where !== 'options') {
        spec.options = [53, 1, 5, 52, 1, where === 'file' ? 1 : 2, 255];
        spec[where] = [...instances, 255];
      }
      assert.equal(outcome(() => wireServerFromDhcpReply(packet(spec))), address.join('.'));
    }),
    fuzzParameters(1),
  );
});

test('a reply truncated anywhere before its END is refused by name', () => {
  const full = packet({ op: 2, hlen: 6, cookie: true, options: [53, 1, 5, 0, 0, 245, 4, 168, 63, 129, 16, 255], file: [], sname: [], cut: 0 });
  for (let length = 0; length < full.length; length++) {
    const got = outcome(() => wireServerFromDhcpReply(full.subarray(0, length)));
    assert.ok(got instanceof FabricDocumentError && got.document === 'DhcpReply', `cut at ${length}: ${String(got)}`);
  }
});

test('DISCOVER and INFORM encode what they are given and decode back', () => {
  const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((a) => Buffer.from(a));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), mac, fc.boolean(), fc.tuple(byte, byte, byte, fc.integer({ min: 1, max: 254 })), (xid, m, broadcast, ip) => {
      const discover = decodeDhcpPacket(encodeDhcpDiscover({ xid, mac: m, broadcast }));
      assert.equal(discover.xid, xid);
      assert.ok(discover.chaddr.equals(m));
      assert.equal(discover.messageType, DHCP_MESSAGE.discover);
      assert.equal(discover.flags, broadcast ? 0x8000 : 0);
      const inform = decodeDhcpPacket(encodeDhcpInform({ xid, mac: m, clientAddress: ip.join('.') }));
      assert.equal(inform.ciaddr, ip.join('.'));
      assert.equal(inform.messageType, DHCP_MESSAGE.inform);
      assert.deepEqual([...inform.options.get(55)!], [1, 3, 6, 15, 245]);
    }),
    fuzzParameters(0.5),
  );
});

// ---- The DHCP client's cache (DhcpInterfaceOptions) --------------------------------------------------

interface CacheRecord {
  code: number;
  vendor: number;
  word12: number;
  data: number[];
  /** Added to the length word: a record that claims more (or less) than it holds. */
  skew: number;
}

const cacheRecord: fc.Arbitrary<CacheRecord> = fc.record({
  code: fc.oneof({ weight: 3, arbitrary: fc.constant(245) }, { weight: 3, arbitrary: byte }, { weight: 1, arbitrary: fc.integer({ min: 256, max: 0xffffffff }) }),
  vendor: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 0xffffffff }) }),
  word12: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) }),
  data: fc.oneof(fc.tuple(byte, byte, byte, byte).map((a) => [...a]), bytes(40)),
  skew: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 0x10000 }) }),
});

function cacheBlob(records: CacheRecord[], cut: number): Buffer {
  const parts = records.map((r) => {
    const padded = Math.ceil(r.data.length / 4) * 4;
    const out = Buffer.alloc(20 + padded);
    out.writeUInt32LE(r.code, 0);
    out.writeUInt32LE(r.vendor, 4);
    out.writeUInt32LE(Math.max(0, r.data.length + r.skew), 8);
    out.writeUInt32LE(r.word12, 12);
    out.writeUInt32LE(0x57b61733, 16);
    Buffer.from(r.data).copy(out, 20);
    return out;
  });
  const blob = Buffer.concat(parts);
  return blob.subarray(0, Math.max(0, blob.length - cut));
}

test('the DHCP cache of any shape parses to records or an AgentError; option 245 is the last standard 4-byte record', () => {
  const cut = fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 30 }) });
  fc.assert(
    fc.property(fc.array(cacheRecord, { maxLength: 8 }), cut, (records, n) => {
      const blob = cacheBlob(records, n);
      const parsed = outcome(() => parseDhcpInterfaceOptions(blob));
      const got = outcome(() => wireServerFromInterfaceOptions(blob));
      if (parsed instanceof AgentError) {
        assert.ok(got instanceof FabricDocumentError && got.document === 'DhcpInterfaceOptions');
        return;
      }
      const standard = parsed.filter((r) => r.code === 245 && !r.vendor);
      const last = standard.at(-1);
      if (last === undefined) assert.equal(got, undefined);
      else if (last.data.length === 4) assert.equal(got, [...last.data].join('.'));
      else assert.ok(got instanceof FabricDocumentError && /option 245/.test(got.reason));
      // Untouched, well-formed records come back exactly.
      if (n === 0 && records.every((r) => r.skew === 0 && r.code <= 255)) {
        assert.deepEqual(parsed.map((r) => [r.code, [...r.data]]), records.map((r) => [r.code, r.data]));
      }
    }),
    fuzzParameters(2),
  );
});

test('random bytes as a DHCP cache never escape as anything but an AgentError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (blob) => {
      outcome(() => parseDhcpInterfaceOptions(blob));
      outcome(() => wireServerFromInterfaceOptions(blob));
    }),
    fuzzParameters(1),
  );
});
