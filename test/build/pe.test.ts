import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MACHINE_AMD64, PE32_PLUS_MAGIC, SEA_FUSE, containsUtf16, readPeHeaders, seaFuseState } from '../../build/pe.ts';

/**
 * A minimal PE image laid out as the PE Format specification describes: DOS header with e_lfanew, "PE\0\0",
 * COFF file header, a PE32+ (or PE32) optional header with 16 data directories, no sections' contents.
 */
function syntheticPe(options: { machine?: number; magic?: number; peOffset?: number; certificateSize?: number; subsystem?: number } = {}): Buffer {
  const peOffset = options.peOffset ?? 0x80;
  const optionalSize = 240; // PE32+: 112 bytes of fields + 16 directories x 8
  const bytes = Buffer.alloc(peOffset + 24 + optionalSize + 40);
  bytes.write('MZ', 0, 'latin1');
  bytes.writeUInt32LE(peOffset, 0x3c);
  bytes.write('PE\0\0', peOffset, 'latin1');
  bytes.writeUInt16LE(options.machine ?? MACHINE_AMD64, peOffset + 4);
  bytes.writeUInt16LE(1, peOffset + 6);
  bytes.writeUInt16LE(optionalSize, peOffset + 20);
  const optional = peOffset + 24;
  bytes.writeUInt16LE(options.magic ?? PE32_PLUS_MAGIC, optional);
  bytes.writeUInt16LE(options.subsystem ?? 3, optional + 68);
  bytes.writeUInt32LE(16, optional + 108);
  bytes.writeUInt32LE(options.certificateSize ?? 0, optional + 112 + 4 * 8 + 4);
  return bytes;
}

test('the headers of a PE32+ x86-64 console image are read from their offsets', () => {
  const headers = readPeHeaders(syntheticPe({ peOffset: 0xf8, certificateSize: 0x2a58 }));
  assert.deepEqual(headers, { machine: 0x8664, sectionCount: 1, optionalMagic: 0x20b, subsystem: 3, certificateTableSize: 0x2a58 });
});

test('another machine and a PE32 optional header are reported as they are, not as x64', () => {
  const arm64 = readPeHeaders(syntheticPe({ machine: 0xaa64 }));
  assert.equal(arm64.machine, 0xaa64);
  const pe32 = readPeHeaders(syntheticPe({ machine: 0x14c, magic: 0x10b }));
  assert.equal(pe32.optionalMagic, 0x10b);
  assert.equal(pe32.certificateTableSize, -1);
});

test('a file without the MZ or PE signature, or cut short, is not a PE file', () => {
  const noMz = syntheticPe();
  noMz.write('ZM', 0, 'latin1');
  assert.throws(() => readPeHeaders(noMz), /no "MZ" DOS signature/);
  const noPe = syntheticPe();
  noPe.write('NE\0\0', 0x80, 'latin1');
  assert.throws(() => readPeHeaders(noPe), /no "PE\\0\\0" signature at 0x80/);
  const farOffset = syntheticPe();
  farOffset.writeUInt32LE(0x7fff_0000, 0x3c);
  assert.throws(() => readPeHeaders(farOffset), /COFF header runs past the end/);
  assert.throws(() => readPeHeaders(Buffer.from('MZ')), /DOS header runs past the end/);
  assert.throws(() => readPeHeaders(syntheticPe().subarray(0, 0x80 + 24 + 100)), /optional header runs past the end/);
});

test('the SEA fuse reads as injected only when it occurs once and ends in :1', () => {
  const around = (text: string) => Buffer.concat([Buffer.alloc(64, 0xcc), Buffer.from(text, 'latin1'), Buffer.alloc(64, 0xcc)]);
  assert.equal(seaFuseState(around(`${SEA_FUSE}:1`)), 'injected');
  assert.equal(seaFuseState(around(`${SEA_FUSE}:0`)), 'not-injected');
  assert.equal(seaFuseState(around('NODE_SEA_FUSE_0000:1')), 'missing');
  assert.equal(seaFuseState(around(`${SEA_FUSE}:1 ${SEA_FUSE}:0`)), 'repeated');
});

test('a resource name is found in UTF-16LE and not in its ASCII spelling', () => {
  assert.equal(containsUtf16(Buffer.concat([Buffer.alloc(8), Buffer.from('NODE_SEA_BLOB', 'utf16le')]), 'NODE_SEA_BLOB'), true);
  assert.equal(containsUtf16(Buffer.from('NODE_SEA_BLOB', 'latin1'), 'NODE_SEA_BLOB'), false);
});
