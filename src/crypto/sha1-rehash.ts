import { hash } from 'node:crypto';
import { CertificateError } from '../errors.ts';

/**
 * SHA-1 (FIPS 180-4) applied `rounds` more times to a 20-byte digest: the inner loop of the PKCS#12 key
 * derivation (RFC 7292 B.2), 2000 rounds per block derived, seven blocks for a fabric PFX with one key.
 *
 * A provisioning run keeps V8's optimizing compiler off (--no-opt, build/code-cache-loader.ts). There a
 * SHA-1 written in JavaScript runs its first derivation in the interpreter (about 6 us a round, 12 ms a
 * block) and a node:crypto call per round costs about 1 us. The same loop as one WebAssembly function,
 * which V8 compiles with its baseline compiler Liftoff whatever --no-opt says, costs 0.25-0.8 us a round:
 * 24 ms of a one-certificate run's main thread became 6 (README "Performance"). The module (about 630
 * bytes) is assembled below from its instructions, so its source is this file, not a binary blob; it is
 * compiled on the first derivation, in about 0.3 ms. Without WebAssembly (node --jitless), or when it
 * will not compile, the rounds go through node:crypto.
 */

/** Memory: the five state words at 0 (little-endian, as i32.load reads them), the 80-word schedule at 64. */
const STATE = 0;
const SCHEDULE = 64;

const IV = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0] as const;
const K = [0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6] as const;

/** The WebAssembly opcodes used (WebAssembly Core Specification 1.0, section 5.4). */
const OP = {
  block: 0x02, loop: 0x03, end: 0x0b, br: 0x0c, brIf: 0x0d, void: 0x40,
  localGet: 0x20, localSet: 0x21, localTee: 0x22, load: 0x28, store: 0x36, const: 0x41,
  eqz: 0x45, ltU: 0x49, add: 0x6a, sub: 0x6b, and: 0x71, or: 0x72, xor: 0x73, rotl: 0x77,
} as const;

/** The function's locals: 0 the rounds left (its parameter), 1-5 h0-h4, 6-10 a-e, 11 the schedule offset t, 12 the new a. */
const ROUNDS = 0, H = 1, A = 6, T = 11, X = 12;
const LOCALS = 12;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    const low = n & 0x7f;
    n >>>= 7;
    out.push(n === 0 ? low : low | 0x80);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const low = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (low & 0x40) === 0) || (n === -1 && (low & 0x40) !== 0)) return [...out, low];
    out.push(low | 0x80);
  }
}

/** The body of `rehash(rounds)`: the state is loaded, compressed `rounds` times as a one-block message, and stored. */
function rehashBody(): number[] {
  const code: number[] = [];
  const get = (local: number) => code.push(OP.localGet, local);
  const set = (local: number) => code.push(OP.localSet, local);
  const constant = (n: number) => code.push(OP.const, ...sleb(n));
  // Alignment hint 2 (4 bytes), then the static offset.
  const load = (offset: number) => code.push(OP.load, 2, ...uleb(offset));
  const store = (offset: number) => code.push(OP.store, 2, ...uleb(offset));
  const op = (...ops: number[]) => code.push(...ops);

  for (let i = 0; i < 5; i++) { constant(0); load(STATE + 4 * i); set(H + i); }
  op(OP.block, OP.void, OP.loop, OP.void);
  get(ROUNDS); op(OP.eqz, OP.brIf, 1);
  // The message is the previous digest: schedule words 0-4 (5-15, its padding and length, are set by the caller).
  for (let i = 0; i < 5; i++) { constant(0); get(H + i); store(SCHEDULE + 4 * i); }
  // w[t] = rotl1(w[t-3] ^ w[t-8] ^ w[t-14] ^ w[t-16]) for t = 16..79; T holds 4t.
  constant(64); set(T);
  op(OP.loop, OP.void);
  get(T);
  get(T); load(SCHEDULE - 12);
  get(T); load(SCHEDULE - 32); op(OP.xor);
  get(T); load(SCHEDULE - 56); op(OP.xor);
  get(T); load(SCHEDULE - 64); op(OP.xor);
  constant(1); op(OP.rotl);
  store(SCHEDULE);
  get(T); constant(4); op(OP.add, OP.localTee, T); constant(320); op(OP.ltU, OP.brIf, 0, OP.end);
  // Eighty steps in four loops of twenty, one per f and K.
  for (let i = 0; i < 5; i++) { constant(IV[i]!); set(A + i); }
  constant(0); set(T);
  const [a, b, c, d, e] = [A, A + 1, A + 2, A + 3, A + 4];
  for (let quarter = 0; quarter < 4; quarter++) {
    op(OP.loop, OP.void);
    get(a); constant(5); op(OP.rotl);
    if (quarter === 0) { get(b); get(c); op(OP.and); get(b); constant(-1); op(OP.xor); get(d); op(OP.and, OP.or); } // Ch
    else if (quarter === 2) { get(b); get(c); op(OP.and); get(b); get(d); op(OP.and, OP.or); get(c); get(d); op(OP.and, OP.or); } // Maj
    else { get(b); get(c); op(OP.xor); get(d); op(OP.xor); } // Parity
    op(OP.add); get(e); op(OP.add); constant(K[quarter]!); op(OP.add); get(T); load(SCHEDULE); op(OP.add); set(X);
    get(d); set(e); get(c); set(d); get(b); constant(30); op(OP.rotl); set(c); get(a); set(b); get(X); set(a);
    get(T); constant(4); op(OP.add, OP.localTee, T); constant(80 * (quarter + 1)); op(OP.ltU, OP.brIf, 0, OP.end);
  }
  for (let i = 0; i < 5; i++) { constant(IV[i]!); get(A + i); op(OP.add); set(H + i); }
  get(ROUNDS); constant(1); op(OP.sub); set(ROUNDS);
  op(OP.br, 0, OP.end, OP.end);
  for (let i = 0; i < 5; i++) { constant(0); get(H + i); store(STATE + 4 * i); }
  op(OP.end);
  return code;
}

/** The module: one memory page and `rehash(i32)`, both exported. */
export function rehashModuleBytes(): Uint8Array {
  const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
  const vector = (items: number[][]) => [...uleb(items.length), ...items.flat()];
  const name = (text: string) => [...uleb(text.length), ...Buffer.from(text, 'ascii')];
  const body = [1, ...uleb(LOCALS), 0x7f, ...rehashBody()];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector([[0x60, 1, 0x7f, 0]])), // type 0: (i32) -> ()
    ...section(3, vector([[0]])), // function 0 has type 0
    ...section(5, vector([[0x00, 1]])), // one memory, one page
    ...section(7, vector([[...name('memory'), 0x02, 0], [...name('rehash'), 0x00, 0]])),
    ...section(10, vector([[...uleb(body.length), ...body]])),
  ]);
}

interface Rehash {
  memory: DataView;
  rehash: (rounds: number) => void;
}

/** The part of the WebAssembly JavaScript API used here (the project's TypeScript libraries have no DOM types). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { memory: { buffer: ArrayBuffer }; rehash: (rounds: number) => void } };
}

let compiled: Rehash | null | undefined;

function wasmRehash(): Rehash | null {
  if (compiled !== undefined) return compiled;
  const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (api === undefined) return (compiled = null);
  let exports;
  try {
    ({ exports } = new api.Instance(new api.Module(rehashModuleBytes())));
  } catch {
    // A runtime that has the API but will not compile (a code-generation policy, a memory limit): the
    // rounds go through node:crypto, slower and the same.
    return (compiled = null);
  }
  return (compiled = { memory: new DataView(exports.memory.buffer), rehash: exports.rehash });
}

/** SHA-1 of SHA-1 of ... `rounds` times over a 20-byte digest; 0 rounds gives a copy of it. */
export function sha1Rehash(first: Uint8Array, rounds: number): Buffer {
  if (first.length !== 20) throw new CertificateError(`PKCS#12: a SHA-1 digest has 20 bytes, not ${first.length}`);
  if (!Number.isInteger(rounds) || rounds < 0 || rounds > 0x7fffffff) throw new CertificateError(`PKCS#12: ${rounds} is not a number of SHA-1 rounds`);
  const wasm = wasmRehash();
  if (wasm === null) return rehashWithNodeCrypto('sha1', Buffer.from(first), rounds);
  const { memory } = wasm;
  const input = new DataView(first.buffer, first.byteOffset, 20);
  for (let i = 0; i < 5; i++) memory.setInt32(STATE + 4 * i, input.getInt32(4 * i), true);
  // The one block's padding (FIPS 180-4 5.1.1): the 1 bit after 160 message bits, zeros, the length 160.
  for (let i = 5; i < 16; i++) memory.setInt32(SCHEDULE + 4 * i, i === 5 ? 0x80000000 | 0 : i === 15 ? 160 : 0, true);
  wasm.rehash(rounds);
  const out = Buffer.alloc(20);
  for (let i = 0; i < 5; i++) out.writeInt32BE(memory.getInt32(STATE + 4 * i, true), 4 * i);
  return out;
}

/** A digest hashed `rounds` more times through node:crypto: the KDF's other digests, and SHA-1 without WebAssembly. */
export function rehashWithNodeCrypto(algorithm: string, first: Buffer, rounds: number): Buffer {
  let digest = first;
  for (let round = 0; round < rounds; round++) digest = hash(algorithm, digest, 'buffer');
  return digest;
}
