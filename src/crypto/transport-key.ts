import { generateKeyPair } from 'node:crypto';
import { availableParallelism } from 'node:os';

/**
 * The transport key pair's generation, apart from the certificate around it (transport-cert.ts, which
 * loads forge): with a processor to spare, main starts it on libuv's thread pool before the agent's
 * modules are loaded, so the costliest local work of a run overlaps start-up as well as discovery.
 */

/** An RSA-2048 key pair: SPKI and PKCS#8 PEM. */
export interface TransportKeyPair {
  publicKey: string;
  privateKey: string;
}

/** RSA-2048, SPKI and PKCS#8 PEM: the program's generation and the loader's (build/code-cache-loader.ts). */
export const TRANSPORT_KEY_OPTIONS = {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
} as const;

/** The global the loader leaves a provision run's key under (Symbol.for), taken by transportKeyForRun. */
export const LOADER_KEY_GLOBAL = 'winprov.transportKey';

/** Starts generating a fresh RSA-2048 transport key pair; never written anywhere. */
export function generateTransportKeyPair(): Promise<TransportKeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', TRANSPORT_KEY_OPTIONS, (err, publicKey, privateKey) => (err ? reject(err) : resolve({ publicKey, privateKey })));
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

/** The logical processors a run needs to start its key with it (keyStartsWithRun; the loader uses it too). */
export const MIN_PROCESSORS_FOR_EARLY_KEY = 2;

/**
 * Whether a run starts its key when it starts, before the goal state says whether it has certificates.
 * With a second logical processor the generation (45-60 ms of one core here) runs beside the run's own
 * work, and a run with certificates finds its key ready. With one it takes the run's own processor.
 * Measured on one core (`taskset -c 0`, 15 interleaved runs), starting it early cost a run without
 * certificates 40 ms and saved a run with one certificate 17 ms, so on one processor the key is
 * generated once the goal state lists certificates (README "Performance" weighs the two cases).
 */
export function keyStartsWithRun(processors: number = availableParallelism()): boolean {
  return processors >= MIN_PROCESSORS_FOR_EARLY_KEY;
}

/**
 * The run's key when it starts with the run: the loader's, which it started before the built-ins and the
 * program loaded (measured: 1 certificate 197 -> 184 ms to Ready, p90 273 -> 235, 0 certificates
 * unchanged, 25 interleaved runs each way), else one started now; undefined when it is left to the
 * certificates step (keyStartsWithRun). The loader's is taken once: no second run in this process gets it.
 */
export function transportKeyForRun(processors?: number): Promise<TransportKeyPair> | undefined {
  const fromLoader = takeLoaderKey();
  if (fromLoader !== undefined) return fromLoader;
  return keyStartsWithRun(processors) ? startTransportKeyPair() : undefined;
}

function takeLoaderKey(): Promise<TransportKeyPair> | undefined {
  const holder = globalThis as unknown as Record<symbol, Promise<TransportKeyPair> | undefined>;
  const symbol = Symbol.for(LOADER_KEY_GLOBAL);
  const key = holder[symbol];
  if (key !== undefined) delete holder[symbol];
  return key;
}
