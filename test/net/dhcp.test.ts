import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FabricDocumentError } from '../../src/errors.ts';
import {
  decodeDhcpPacket,
  encodeDhcpDiscover,
  encodeDhcpInform,
  parseIPv4,
  wireServerFromDhcpReply,
} from '../../src/net/dhcp.ts';

const MAC = Buffer.from([0x00, 0x0d, 0x3a, 0x12, 0x34, 0x56]);

/** A BOOTREPLY header (op 2, Ethernet, xid, yiaddr, chaddr, magic cookie) followed by raw option bytes. */
function reply(options: number[], header: { xid?: number; cookie?: number; hlen?: number } = {}): Buffer {
  const packet = Buffer.alloc(240 + options.length);
  packet[0] = 2;
  packet[1] = 1;
  packet[2] = header.hlen ?? 6;
  packet.writeUInt32BE(header.xid ?? 0x11223344, 4);
  Buffer.from([10, 0, 1, 4]).copy(packet, 16);
  MAC.copy(packet, 28);
  packet.writeUInt32BE(header.cookie ?? 0x63825363, 236);
  Buffer.from(options).copy(packet, 240);
  return packet;
}

/** The options an Azure OFFER carries around 245: type, server id, lease time, router. */
const OFFER_HEAD = [53, 1, 2, 54, 4, 168, 63, 129, 16, 51, 4, 0xff, 0xff, 0xff, 0xff, 3, 4, 10, 0, 1, 1];

function rejects(fn: () => unknown, field: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FabricDocumentError, `expected FabricDocumentError, got ${String(err)}`);
    assert.equal(err.document, 'DhcpReply');
    assert.match(err.field, field);
    return true;
  });
}

test('a DISCOVER decodes back to what was encoded, at BOOTP minimum size, asking for 245', () => {
  const packet = encodeDhcpDiscover({ xid: 0xdeadbeef, mac: MAC, broadcast: true });
  assert.ok(packet.length >= 300);
  const decoded = decodeDhcpPacket(packet);
  assert.equal(decoded.op, 1);
  assert.equal(decoded.htype, 1);
  assert.equal(decoded.hlen, 6);
  assert.equal(decoded.xid, 0xdeadbeef);
  assert.equal(decoded.flags, 0x8000);
  assert.equal(decoded.ciaddr, '0.0.0.0');
  assert.deepEqual(decoded.chaddr, MAC);
  assert.equal(decoded.messageType, 1);
  assert.deepEqual(decoded.options.get(61), Buffer.concat([Buffer.from([1]), MAC]));
  const requested = [...decoded.options.get(55)!];
  for (const code of [1, 3, 6, 15, 245]) assert.ok(requested.includes(code), `option 55 lacks ${code}`);
});

test('a DISCOVER without the broadcast flag leaves flags zero', () => {
  assert.equal(decodeDhcpPacket(encodeDhcpDiscover({ xid: 1, mac: MAC })).flags, 0);
});

test('an INFORM carries the client address in ciaddr and message type 8', () => {
  const packet = encodeDhcpInform({ xid: 7, mac: MAC, clientAddress: '10.0.1.4' });
  assert.ok(packet.length >= 300);
  const decoded = decodeDhcpPacket(packet);
  assert.equal(decoded.messageType, 8);
  assert.equal(decoded.ciaddr, '10.0.1.4');
  assert.equal(decoded.xid, 7);
  assert.ok([...decoded.options.get(55)!].includes(245));
});

test('an INFORM without a usable client address is refused', () => {
  assert.throws(() => encodeDhcpInform({ xid: 7, mac: MAC, clientAddress: '0.0.0.0' }), FabricDocumentError);
  assert.throws(() => encodeDhcpInform({ xid: 7, mac: MAC, clientAddress: '10.0.1' }), FabricDocumentError);
});

test('a request with a hardware address that is not 6 bytes, or an xid out of range, is refused', () => {
  assert.throws(() => encodeDhcpDiscover({ xid: 1, mac: Buffer.alloc(8) }), /chaddr/);
  assert.throws(() => encodeDhcpDiscover({ xid: 2 ** 32, mac: MAC }), /xid/);
});

test('an OFFER with option 245 yields the WireServer address', () => {
  const packet = reply([...OFFER_HEAD, 245, 4, 0xa8, 0x3f, 0x81, 0x10, 255]);
  assert.equal(wireServerFromDhcpReply(packet), '168.63.129.16');
  const decoded = decodeDhcpPacket(packet);
  assert.equal(decoded.op, 2);
  assert.equal(decoded.messageType, 2);
  assert.equal(decoded.yiaddr, '10.0.1.4');
  assert.equal(decoded.xid, 0x11223344);
  assert.deepEqual(decoded.options.get(51), Buffer.from([0xff, 0xff, 0xff, 0xff]));
});

test('an OFFER without option 245 yields undefined', () => {
  assert.equal(wireServerFromDhcpReply(reply([...OFFER_HEAD, 255])), undefined);
});

test('option 245 of a length other than 4 is an error naming option 245', () => {
  rejects(() => wireServerFromDhcpReply(reply([...OFFER_HEAD, 245, 8, 1, 2, 3, 4, 5, 6, 7, 8, 255])), /option 245/);
  rejects(() => wireServerFromDhcpReply(reply([...OFFER_HEAD, 245, 3, 1, 2, 3, 255])), /option 245/);
});

test('PAD bytes before option 245 are skipped', () => {
  assert.equal(wireServerFromDhcpReply(reply([...OFFER_HEAD, 0, 0, 0, 245, 4, 10, 9, 8, 7, 255])), '10.9.8.7');
});

test('options after END are not read, and the zero fill after END is accepted', () => {
  const packet = reply([...OFFER_HEAD, 255, 245, 4, 1, 2, 3, 4, 0, 0, 0]);
  assert.equal(decodeDhcpPacket(packet).options.has(245), false);
});

test('an option whose length runs past the packet is an error', () => {
  rejects(() => decodeDhcpPacket(reply([...OFFER_HEAD, 245, 40, 1, 2, 3, 4])), /option 245/);
});

test('an option code at the very end, without its length octet, is an error', () => {
  rejects(() => decodeDhcpPacket(reply([53, 1, 2, 245])), /option 245/);
});

test('options that end without END are an error', () => {
  rejects(() => decodeDhcpPacket(reply([...OFFER_HEAD, 245, 4, 1, 2, 3, 4])), /options/);
});

test('a packet shorter than the header and cookie is an error', () => {
  rejects(() => decodeDhcpPacket(reply([...OFFER_HEAD, 255]).subarray(0, 239)), /message/);
  rejects(() => decodeDhcpPacket(new Uint8Array(0)), /message/);
});

test('a wrong magic cookie is an error', () => {
  rejects(() => decodeDhcpPacket(reply([...OFFER_HEAD, 255], { cookie: 0x63825364 })), /magic cookie/);
});

test('a hardware address length over 16 is an error', () => {
  rejects(() => decodeDhcpPacket(reply([...OFFER_HEAD, 255], { hlen: 17 })), /hlen/);
});

test('a message type option that is not one byte is an error', () => {
  rejects(() => decodeDhcpPacket(reply([53, 2, 2, 2, 255])), /option 53/);
});

test('repeated instances of one option are concatenated in order (RFC 3396)', () => {
  const decoded = decodeDhcpPacket(reply([...OFFER_HEAD, 245, 2, 10, 20, 6, 4, 1, 1, 1, 1, 245, 2, 30, 40, 255]));
  assert.deepEqual(decoded.options.get(245), Buffer.from([10, 20, 30, 40]));
  assert.equal(wireServerFromDhcpReply(reply([...OFFER_HEAD, 245, 2, 10, 20, 0, 245, 2, 30, 40, 255])), '10.20.30.40');
});

test('options overloaded into file and sname (option 52) are read, file first', () => {
  const packet = reply([...OFFER_HEAD, 52, 1, 3, 245, 1, 10, 255]);
  Buffer.from([245, 2, 20, 30, 255]).copy(packet, 108); // file
  Buffer.from([0, 245, 1, 40, 255]).copy(packet, 44); // sname
  const decoded = decodeDhcpPacket(packet);
  assert.deepEqual(decoded.options.get(245), Buffer.from([10, 20, 30, 40]));
  assert.equal(decoded.options.has(52), false);
});

test('an overloaded field without END is an error', () => {
  const packet = reply([...OFFER_HEAD, 52, 1, 2, 255]);
  packet.fill(1, 44, 108); // sname full of 1-byte-length options that never end
  rejects(() => decodeDhcpPacket(packet), /sname/);
});

test('parseIPv4 accepts dotted quads only', () => {
  assert.deepEqual(parseIPv4('168.63.129.16'), Buffer.from([168, 63, 129, 16]));
  for (const bad of ['256.1.1.1', '1.2.3', '01.2.3.4', '1.2.3.4 ', 'a.b.c.d', '']) assert.equal(parseIPv4(bad), undefined, bad);
});
