import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, hash, randomBytes } from 'node:crypto';
import { CertificateError } from '../../src/errors.ts';
import { rehashModuleBytes, sha1Rehash } from '../../src/crypto/sha1-rehash.ts';

/** The reference: node:crypto, round by round. */
function rehashWithNodeCrypto(seed: Buffer, rounds: number): Buffer {
  let digest = seed;
  for (let i = 0; i < rounds; i++) digest = hash('sha1', digest, 'buffer');
  return digest;
}

/** What the test reads of the WebAssembly API (no DOM types in the project's TypeScript libraries). */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: { new (bytes: Uint8Array): object; exports(module: object): { name: string; kind: string }[] };
}
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

test('the WebAssembly module is valid and exports its memory and rehash', () => {
  const bytes = rehashModuleBytes();
  assert.equal(webAssembly.validate(bytes), true);
  const exports = webAssembly.Module.exports(new webAssembly.Module(bytes)).map((e) => `${e.name}:${e.kind}`).sort();
  assert.deepEqual(exports, ['memory:memory', 'rehash:function']);
});

test('sha1Rehash equals hashing again with node:crypto, round by round', () => {
  for (const rounds of [0, 1, 2, 79, 1000, 2047]) {
    const seed = createHash('sha1').update(randomBytes(33)).digest();
    assert.deepEqual(sha1Rehash(seed, rounds), rehashWithNodeCrypto(seed, rounds), `${rounds} rounds`);
  }
});

test('sha1Rehash reads a digest inside a larger buffer and leaves its input alone', () => {
  const backing = randomBytes(64);
  const seed = backing.subarray(7, 27);
  const before = Buffer.from(backing);
  assert.deepEqual(sha1Rehash(seed, 3), rehashWithNodeCrypto(Buffer.from(seed), 3));
  assert.deepEqual(backing, before);
  // Two derivations in a row share the module's memory: the second must not see the first's state.
  const other = createHash('sha1').update('other').digest();
  assert.deepEqual(sha1Rehash(other, 5), rehashWithNodeCrypto(other, 5));
});

test('sha1Rehash refuses a digest of another length and a count that is not a number of rounds', () => {
  assert.throws(() => sha1Rehash(Buffer.alloc(32), 1), CertificateError);
  for (const rounds of [-1, 1.5, Number.NaN, 2 ** 31]) {
    assert.throws(() => sha1Rehash(Buffer.alloc(20), rounds), (err: unknown) => err instanceof CertificateError && /number of SHA-1 rounds/.test(err.reason), String(rounds));
  }
});

/**
 * Runs a fresh instance of the module (its own compiled-or-not memo) with globalThis.WebAssembly
 * replaced (undefined: removed) for the first derivation, and restores it.
 */
async function rehashWith(webAssembly: object | undefined, tag: string, seed: Buffer, rounds: number): Promise<Buffer> {
  const specifier = `../../src/crypto/sha1-rehash.ts?${tag}`;
  const fresh = (await import(specifier)) as typeof import('../../src/crypto/sha1-rehash.ts');
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebAssembly')!;
  if (webAssembly === undefined) Reflect.deleteProperty(globalThis, 'WebAssembly');
  else Object.defineProperty(globalThis, 'WebAssembly', { value: webAssembly, configurable: true, writable: true });
  try {
    assert.equal('WebAssembly' in globalThis, webAssembly !== undefined);
    return fresh.sha1Rehash(seed, rounds);
  } finally {
    Object.defineProperty(globalThis, 'WebAssembly', saved);
  }
}

test('without WebAssembly (node --jitless has none) the rounds go through node:crypto, with the same result', async () => {
  const seed = createHash('sha1').update('jitless').digest();
  assert.deepEqual(await rehashWith(undefined, 'without-webassembly', seed, 100), rehashWithNodeCrypto(seed, 100));
});

test('a WebAssembly that will not compile the module leaves the rounds to node:crypto, with the same result', async () => {
  const refusing = { Module: class { constructor() { throw new Error('WebAssembly.Module(): Wasm code generation disallowed by embedder'); } }, Instance: class {} };
  const seed = createHash('sha1').update('refused').digest();
  assert.deepEqual(await rehashWith(refusing, 'webassembly-refuses', seed, 50), rehashWithNodeCrypto(seed, 50));
});
