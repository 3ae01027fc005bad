import { appendFileSync } from 'node:fs';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { promisify } from 'node:util';

/**
 * Records every RSA private key the process generates (the agent's transport key, the simulator's tenant
 * and stranger keys), so the secrets scan knows the key material it must never find. Load it before any
 * module that imports node:crypto: first import of a test, or `node --import` for a child process, which
 * then appends each key (PKCS#8 PEM) to the file named by CAPTURE_KEYS_FILE.
 */

/** PKCS#8 PEM of every private key generated in this process so far. */
export const capturedKeys: string[] = [];

const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
const file = process.env['CAPTURE_KEYS_FILE'];

function record(privateKey: unknown): void {
  const key: KeyObject = typeof privateKey === 'string' ? createPrivateKey(privateKey) : (privateKey as KeyObject);
  const pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  capturedKeys.push(pem);
  if (file !== undefined) appendFileSync(file, pem, { mode: 0o600 });
}

type Callback = (err: Error | null, publicKey: unknown, privateKey: unknown) => void;
const original = crypto.generateKeyPair as unknown as (type: string, options: unknown, callback: Callback) => void;
const originalSync = crypto.generateKeyPairSync as unknown as (type: string, options: unknown) => { publicKey: unknown; privateKey: unknown };

function generateKeyPair(type: string, options: unknown, callback: Callback): void {
  original(type, options, (err, publicKey, privateKey) => {
    if (!err) record(privateKey);
    callback(err, publicKey, privateKey);
  });
}
Object.defineProperty(generateKeyPair, promisify.custom, {
  value: (type: string, options: unknown) =>
    new Promise((resolve, reject) => {
      generateKeyPair(type, options, (err, publicKey, privateKey) => (err ? reject(err) : resolve({ publicKey, privateKey })));
    }),
});

function generateKeyPairSync(type: string, options: unknown): { publicKey: unknown; privateKey: unknown } {
  const pair = originalSync(type, options);
  record(pair.privateKey);
  return pair;
}

Object.assign(crypto, { generateKeyPair, generateKeyPairSync });
// ESM named imports of node:crypto see the replacements from here on.
syncBuiltinESMExports();
