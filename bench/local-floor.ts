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

/** Milliseconds for one RSA-2048 key pair. */
export async function timeKeyGeneration(): Promise<number> {
  const started = performance.now();
  await generateRsaKeyPair('rsa', { modulusLength: 2048 });
  return performance.now() - started;
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
