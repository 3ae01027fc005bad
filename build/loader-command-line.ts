import { commandOf } from '../src/config.ts';

/**
 * What the bundle's loader does with the command line before the program loads (build/code-cache-loader.ts
 * pastes these functions in, with src/config.ts commandOf): it reads it once, starts a provision run's
 * transport key before anything else loads, and loads the built-ins of the platform the run names.
 */

/** The command line's options as src/config.ts declares them (ARG_OPTIONS), for node:util parseArgs. */
export type ArgOptions = Readonly<Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>>;

/** A command line as parseArgs reads it, or undefined when it cannot be read (config.ts then refuses it). */
export type CommandLine = { values: Record<string, unknown>; positionals: string[] } | undefined;

/**
 * What the loader needs to start a provision run's transport key: the key's parameters and the
 * processors it needs (src/crypto/transport-key.ts), and the global its promise is left under.
 */
export interface TransportKeyStart {
  keyOptions: Readonly<Record<string, unknown>>;
  minProcessors: number;
  global: string;
}

/** The built-ins the loader loads before it changes V8's flags: those of every run, and each platform's own. */
export interface PreloadLists {
  common: readonly string[];
  platforms: Readonly<Record<string, readonly string[]>>;
}

/**
 * The command line read without judging it (strict: false): config.ts reads it again, strictly, and
 * says what is wrong with it. Pasted into the loader like readCache, so it names only its arguments.
 */
export function readCommandLine(options: ArgOptions, args: readonly string[], util: typeof import('node:util')): CommandLine {
  try {
    const { values, positionals } = util.parseArgs({ args: [...args], options, allowPositionals: true, strict: false });
    return { values, positionals };
  } catch {
    return undefined;
  }
}

/**
 * The built-ins to load first: every run's, and the platform's the command line names with --platform,
 * in any case, as config.ts reads it (a sandbox provision run starts no process, so it does not load
 * node:child_process). A platform left to the configuration file, the environment or "auto" is known only
 * once the program has read them, so such a run loads every platform's; an unknown name too (config.ts
 * refuses it later).
 */
export function preloadFor(lists: PreloadLists, commandLine: CommandLine): string[] {
  const value = commandLine?.values['platform'];
  const named = typeof value === 'string' ? value.toLowerCase() : undefined;
  const platforms = named !== undefined && Object.hasOwn(lists.platforms, named) ? [named] : Object.keys(lists.platforms);
  return [...new Set([...lists.common, ...platforms.flatMap((platform) => lists.platforms[platform]!)])];
}

/**
 * Starts the transport key when the command line is a provision run (src/config.ts commandOf, pasted in
 * beside it) on a machine with the processors the program asks for (keyStartsWithRun); its promise is
 * left under a configurable global the program takes and deletes (transportKeyForRun), so no second run
 * in the process could use the same key. Pasted into the loader like readCache, so it names only its
 * arguments and commandOf; a command line that cannot be read starts nothing.
 */
export function startTransportKey(
  settings: TransportKeyStart,
  commandLine: CommandLine,
  os: typeof import('node:os'),
  crypto: typeof import('node:crypto'),
): void {
  if (commandLine === undefined || commandOf(commandLine.values, commandLine.positionals) !== 'provision' || os.availableParallelism() < settings.minProcessors) return;
  const key = new Promise((resolve, reject) => {
    crypto.generateKeyPair('rsa', settings.keyOptions as unknown as import('node:crypto').RSAKeyPairOptions<'pem', 'pem'>, (err, publicKey, privateKey) => (err ? reject(err) : resolve({ publicKey, privateKey })));
  });
  // Observed here: a failure surfaces where the certificates step awaits the key.
  key.catch(() => {});
  Object.defineProperty(globalThis, Symbol.for(settings.global), { value: key, configurable: true });
}
