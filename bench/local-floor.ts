import { generateKeyPair } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { decryptEnvelopedData, type EnvelopeRecipient } from '../src/crypto/enveloped-data.ts';
import { readPkcs12 } from '../src/crypto/pkcs12.ts';

/**
 * The local parts of the floor, timed in the benchmark process: one RSA-2048 key generation (node:crypto,
 * on the thread pool, as the agent does it) and opening a certificates envelope with src/crypto (CMS
 * decryption + PKCS#12 read). In-process means warm code (JIT-compiled after the first round), while the
 * agent runs that code once, cold: the floor is a lower bound, never flattering to the agent.
 */

const generateRsaKeyPair = promisify(generateKeyPair);

/**
 * How many key pairs each round times. One key takes anywhere from 10 to 155 ms (the search for primes is
 * random: 200 keys on the 2-core build machine, median 40 ms), so a median of one key per round moved
 * between 30 and 52 ms from one 20-round run to the next (resampled), and the ratios of rows with
 * certificates with it. Five per round narrow that by about the square root of five.
 */
export const KEYS_PER_ROUND = 5;

/** Milliseconds for each of `count` RSA-2048 key pairs, one after another. */
export async function timeKeyGeneration(count: number = KEYS_PER_ROUND): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await generateRsaKeyPair('rsa', { modulusLength: 2048 });
    samples.push(performance.now() - started);
  }
  return samples;
}

/** Milliseconds to decrypt the envelope and read the PKCS#12 inside; throws if it holds no certificate. */
export function timeDecrypt(envelope: Uint8Array, recipient: EnvelopeRecipient): number {
  const started = performance.now();
  const pfx = decryptEnvelopedData(envelope, recipient);
  const contents = readPkcs12(pfx);
  const ms = performance.now() - started;
  if (contents.certificates.length === 0) throw new Error('the envelope held no certificate');
  return ms;
}
