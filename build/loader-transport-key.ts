import { commandOf } from '../src/config.ts';

/**
 * The bundle's loader starts a provision run's transport key before anything else loads
 * (build/code-cache-loader.ts pastes startTransportKey in, with src/config.ts commandOf).
 */

/**
 * What the loader needs to start a provision run's transport key: the command line's options (to tell a
 * provision run as src/config.ts does), the key's parameters and the processors it needs
 * (src/crypto/transport-key.ts), and the global its promise is left under for the program.
 */
export interface TransportKeyStart {
  argOptions: Readonly<Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>>;
  keyOptions: Readonly<Record<string, unknown>>;
  minProcessors: number;
  global: string;
}

/**
 * Starts the transport key when the command line is a provision run (src/config.ts commandOf, pasted in
 * beside it) on a machine with the processors the program asks for (keyStartsWithRun); its promise is
 * left under a configurable global the program takes and deletes (transportKeyForRun), so no second run
 * in the process could use the same key. Pasted into the loader like readCache, so it names only its
 * arguments and commandOf; a command line it cannot read starts nothing.
 */
export function startTransportKey(
  settings: TransportKeyStart,
  args: readonly string[],
  util: typeof import('node:util'),
  os: typeof import('node:os'),
  crypto: typeof import('node:crypto'),
): void {
  let parsed;
  try {
    parsed = util.parseArgs({ args: [...args], options: settings.argOptions, allowPositionals: true, strict: false });
  } catch {
    return;
  }
  if (commandOf(parsed.values, parsed.positionals) !== 'provision' || os.availableParallelism() < settings.minProcessors) return;
  const key = new Promise((resolve, reject) => {
    crypto.generateKeyPair('rsa', settings.keyOptions as unknown as import('node:crypto').RSAKeyPairOptions<'pem', 'pem'>, (err, publicKey, privateKey) => (err ? reject(err) : resolve({ publicKey, privateKey })));
  });
  // Observed here: a failure surfaces where the certificates step awaits the key.
  key.catch(() => {});
  Object.defineProperty(globalThis, Symbol.for(settings.global), { value: key, configurable: true });
}
