/**
 * Just enough of the PE/COFF format (Microsoft "PE Format" specification) to check a built winprov.exe
 * without Windows: the headers, the machine, the optional header kind, and the Authenticode table.
 */

/** IMAGE_FILE_MACHINE_AMD64. */
export const MACHINE_AMD64 = 0x8664;
/** Optional header magic of PE32+ (64-bit images). */
export const PE32_PLUS_MAGIC = 0x20b;
/** The fuse postject flips from :0 to :1 when it injects a SEA blob; Node looks for the blob only then. */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** The resource name the SEA blob is stored under (RT_RCDATA, name in UTF-16 in the resource directory). */
export const SEA_RESOURCE = 'NODE_SEA_BLOB';

/** The fields of the headers that the checks look at. */
export interface PeHeaders {
  machine: number;
  sectionCount: number;
  optionalMagic: number;
  /** IMAGE_SUBSYSTEM_WINDOWS_CUI is 3 (a console program). */
  subsystem: number;
  /** Size of the certificate table (data directory 4): 0 when the file carries no Authenticode signature. */
  certificateTableSize: number;
}

/** Reads the DOS, COFF and optional headers; throws naming the first thing that is not a PE file. */
export function readPeHeaders(bytes: Uint8Array): PeHeaders {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (end: number, what: string) => {
    if (end > bytes.byteLength) throw new Error(`not a PE file: ${what} runs past the end (${bytes.byteLength} bytes)`);
  };
  need(0x40, 'the DOS header');
  if (bytes[0] !== 0x4d || bytes[1] !== 0x5a) throw new Error('not a PE file: no "MZ" DOS signature');
  const peOffset = view.getUint32(0x3c, true);
  need(peOffset + 24, 'the COFF header');
  if (view.getUint32(peOffset, false) !== 0x50450000) throw new Error(`not a PE file: no "PE\\0\\0" signature at 0x${peOffset.toString(16)}`);
  const machine = view.getUint16(peOffset + 4, true);
  const sectionCount = view.getUint16(peOffset + 6, true);
  const optionalSize = view.getUint16(peOffset + 20, true);
  const optional = peOffset + 24;
  need(optional + 2, 'the optional header');
  const optionalMagic = view.getUint16(optional, true);
  if (optionalMagic !== PE32_PLUS_MAGIC) return { machine, sectionCount, optionalMagic, subsystem: -1, certificateTableSize: -1 };
  // PE32+ optional header: Subsystem at 68, NumberOfRvaAndSizes at 108, data directories from 112 (8 bytes each).
  if (optionalSize < 112) throw new Error(`not a PE file: a PE32+ optional header of ${optionalSize} bytes is too short`);
  need(optional + optionalSize, 'the optional header');
  const subsystem = view.getUint16(optional + 68, true);
  const directories = view.getUint32(optional + 108, true);
  const certificateTableSize = directories > 4 && optionalSize >= 112 + 5 * 8 ? view.getUint32(optional + 112 + 4 * 8 + 4, true) : 0;
  return { machine, sectionCount, optionalMagic, subsystem, certificateTableSize };
}

/** Whether the SEA fuse is there and flipped: exactly one occurrence, followed by ":1" (injected) or ":0". */
export function seaFuseState(bytes: Buffer): 'injected' | 'not-injected' | 'missing' | 'repeated' {
  const first = bytes.indexOf(SEA_FUSE);
  if (first === -1) return 'missing';
  if (bytes.lastIndexOf(SEA_FUSE) !== first) return 'repeated';
  const suffix = bytes.subarray(first + SEA_FUSE.length, first + SEA_FUSE.length + 2).toString('latin1');
  return suffix === ':1' ? 'injected' : suffix === ':0' ? 'not-injected' : 'missing';
}

/** True when the text occurs in the bytes as UTF-16LE (how PE resource names are stored). */
export function containsUtf16(bytes: Buffer, text: string): boolean {
  return bytes.indexOf(Buffer.from(text, 'utf16le')) !== -1;
}
