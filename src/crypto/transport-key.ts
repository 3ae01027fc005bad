import { generateKeyPair } from 'node:crypto';

/**
 * The transport key pair's generation, apart from the certificate around it (transport-cert.ts, which
 * loads forge): main starts it on libuv's thread pool before the agent's modules are loaded, so the
 * costliest local work of a run overlaps start-up as well as discovery.
 */

/** An RSA-2048 key pair: SPKI and PKCS#8 PEM. */
export interface TransportKeyPair {
  publicKey: string;
  privateKey: string;
}

/** Starts generating a fresh RSA-2048 transport key pair; never written anywhere. */
export function generateTransportKeyPair(): Promise<TransportKeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    }, (err, publicKey, privateKey) => (err ? reject(err) : resolve({ publicKey, privateKey })));
  });
}

/**
 * Starts the generation for a run that may or may not need the key: its failure is observed here and
 * surfaces where the certificates step awaits it (the run's first moment is main.ts or provision()).
 */
export function startTransportKeyPair(): Promise<TransportKeyPair> {
  const key = generateTransportKeyPair();
  key.catch(() => {});
  return key;
}
