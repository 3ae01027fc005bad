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
