import { test } from 'node:test';
import assert from 'node:assert/strict';
import forge from 'node-forge';
import { bitString, oid, sequence, time, tlv, unsignedInteger } from '../../src/crypto/der-writer.ts';

const hex = (b: Buffer) => b.toString('hex');
const forgeDer = (node: forge.asn1.Asn1) => Buffer.from(forge.asn1.toDer(node).getBytes(), 'binary').toString('hex');

test('lengths: short form below 128, long form with the fewest octets above', () => {
  assert.equal(hex(tlv(0x04, Buffer.alloc(127))).slice(0, 4), '047f');
  assert.equal(hex(tlv(0x04, Buffer.alloc(128))).slice(0, 6), '048180');
  assert.equal(hex(tlv(0x04, Buffer.alloc(256))).slice(0, 8), '04820100');
  assert.equal(hex(tlv(0x04, Buffer.alloc(70_000))).slice(0, 10), '0483011170');
});

test('OIDs encode as forge encodes them, multi-octet arcs included', () => {
  for (const dotted of ['2.5.4.3', '1.2.840.113549.1.1.11', '2.5.29.14', '1.3.6.1.4.1.311.21.7', '2.999.3']) {
    assert.equal(hex(oid(dotted)), forgeDer(forge.asn1.create(0, forge.asn1.Type.OID, false, forge.asn1.oidToDer(dotted).getBytes())), dotted);
  }
  assert.throws(() => oid('1'), /not an OID/);
});

test('INTEGERs are minimal and positive', () => {
  assert.equal(hex(unsignedInteger(Buffer.from([0, 0, 5]))), '020105');
  assert.equal(hex(unsignedInteger(Buffer.from([0x80]))), '02020080');
  assert.equal(hex(unsignedInteger(Buffer.from([0]))), '020100');
});

test('times: UTCTime through 2049, GeneralizedTime from 2050, to the second, in UTC', () => {
  assert.equal(time(new Date('2049-12-31T23:59:59.999Z')).toString('latin1', 2), '491231235959Z');
  assert.equal(time(new Date('2050-01-01T00:00:00Z')).toString('latin1', 2), '20500101000000Z');
  assert.equal(time(new Date('2050-01-01T00:00:00Z'))[0], 0x18);
});

test('a BIT STRING carries its unused-bit count; SEQUENCEs nest', () => {
  assert.equal(hex(bitString(Buffer.from([0x30]), 4)), '03020430');
  assert.equal(hex(sequence(sequence(), bitString(Buffer.alloc(0)))), '30053000030100');
});
