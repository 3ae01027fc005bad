import type { Metafile } from 'esbuild';

/**
 * What a bundled module brings with it when it is evaluated. esbuild's CommonJS output runs a module's
 * static imports (import-statement, require-call) when the module itself runs, and leaves a dynamic
 * import() to run its target only when reached (esbuild docs, "Code splitting"/lazy __esm wrappers), so
 * the static closure of a command's module is what every run of that command evaluates.
 */
export function staticClosure(metafile: Metafile, start: string): Map<string, string> {
  const importedBy = new Map<string, string>([[start, '']]);
  const queue = [start];
  while (queue.length > 0) {
    const from = queue.shift()!;
    for (const imported of metafile.inputs[from]?.imports ?? []) {
      if (imported.external || imported.kind === 'dynamic-import' || importedBy.has(imported.path)) continue;
      importedBy.set(imported.path, from);
      queue.push(imported.path);
    }
  }
  return importedBy;
}

/** The chain of importers from start to module, for a message: "a -> b -> c". */
export function importChain(closure: ReadonlyMap<string, string>, module: string): string {
  const chain = [module];
  for (let at = closure.get(module); at !== undefined && at !== ''; at = closure.get(at)) chain.unshift(at);
  return chain.join(' -> ');
}

/** Modules of the closure whose path matches, each with the chain that brings it. */
export function unwanted(closure: ReadonlyMap<string, string>, pattern: RegExp): string[] {
  return [...closure.keys()].filter((module) => pattern.test(module)).map((module) => importChain(closure, module));
}

/**
 * What `provision` must not evaluate before it knows it needs it: node-forge (only when the goal state
 * lists certificates: src/certificates.ts and the sandbox load it then), fflate (collect-logs), the
 * fabric simulator (demo, simulate) and execa (the tools the first-boot script runs; the PowerShell
 * session starts with node:child_process, src/platform/windows/exec.ts).
 */
export const NOT_ON_PROVISION_PATH = /(^|\/)node_modules\/(node-forge|fflate|execa)\/|^build\/forge-subset\.cjs$|^src\/simulator\//;

/**
 * What every `provision` evaluates: the entry (main.ts and what it imports for every command), the
 * transport key main starts first, the command, and the modules it imports once the platform is open.
 */
export const PROVISION_PATH: readonly string[] = ['build/entry.ts', 'src/crypto/transport-key.ts', 'src/cli/provision.ts', 'src/util/log.ts', 'src/cli/exclusive-run.ts', 'src/code-cache.ts', 'src/agent.ts'];

/** What a provision run evaluates of its platform, by the name --platform gives it (src/platform/index.ts). */
export const PLATFORM_PATHS: Readonly<Record<'windows' | 'sandbox', readonly string[]>> = {
  windows: ['src/platform/windows/index.ts'],
  sandbox: ['src/platform/sandbox/index.ts'],
};

/**
 * The Node built-ins a `provision` loads as its modules are evaluated, as `node:` names, sorted: those
 * imported by the static closures of PROVISION_PATH (common), and those of each platform's modules that
 * the common ones do not bring. The loader loads them before it changes V8's flags
 * (build/code-cache-loader.ts), so that they come from Node's own code cache; a run that names its
 * platform loads only that platform's (build/loader-command-line.ts preloadFor).
 */
export function provisionBuiltins(metafile: Metafile): { common: string[]; platforms: Record<'windows' | 'sandbox', string[]> } {
  const common = builtinsOf(metafile, PROVISION_PATH);
  const platformOnly = (starts: readonly string[]) => builtinsOf(metafile, starts).filter((name) => !common.includes(name));
  return { common, platforms: { windows: platformOnly(PLATFORM_PATHS.windows), sandbox: platformOnly(PLATFORM_PATHS.sandbox) } };
}

function builtinsOf(metafile: Metafile, starts: readonly string[]): string[] {
  const names = new Set<string>();
  for (const start of starts) {
    for (const module of staticClosure(metafile, start).keys()) {
      for (const imported of metafile.inputs[module]?.imports ?? []) {
        if (imported.external && imported.kind !== 'dynamic-import') names.add(imported.path.startsWith('node:') ? imported.path : `node:${imported.path}`);
      }
    }
  }
  return [...names].sort();
}
