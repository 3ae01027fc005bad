import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Plugin } from 'esbuild';
import { ROOT } from './project.ts';

/** Where the script loader and its folder of .ps1 files are. */
export interface InlineScriptsOptions {
  /** The module that reads ./scripts/<name> beside itself with readFileSync(new URL(..., import.meta.url)). */
  module: string;
  /** That folder. */
  scriptsDir: string;
}

const NAMESPACE = 'winprov-inlined-scripts';

/**
 * How the generated module appears among a metafile's inputs ("namespace:path"), so the bundler can tell
 * that the loader really got it. The path is relative, so builds do not vary by checkout.
 */
export function inlinedInputName(modulePath: string): string {
  return `${NAMESPACE}:${relative(ROOT, resolve(modulePath))}#fs`;
}

/**
 * An esbuild plugin that inlines the PowerShell scripts: the loader module keeps all of its own code (name
 * checks, BOM handling, its error class, its other exports), and only its `node:fs` import is answered by
 * a generated module whose readFileSync serves every .ps1 of the folder from a table built at build time.
 * Inside the single executable there is no folder beside the code, so the bundle must carry the text.
 * If the loader starts using another fs function, the build fails with esbuild's "No matching export", and
 * fs/promises is refused outright.
 */
export function inlineScripts(options: InlineScriptsOptions): Plugin {
  const modulePath = resolve(options.module);
  const scriptsDir = resolve(options.scriptsDir);
  return {
    name: NAMESPACE,
    setup(build) {
      build.onResolve({ filter: /^(node:)?fs(\/.*)?$/ }, (args) => {
        if (resolve(args.importer) !== modulePath) return undefined;
        if (/^(node:)?fs$/.test(args.path)) return { path: inlinedInputName(modulePath).slice(NAMESPACE.length + 1), namespace: NAMESPACE };
        return { errors: [{ text: `the script loader imports "${args.path}"; it must read its scripts with readFileSync from node:fs, which the bundle inlines` }] };
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, () => ({
        contents: inlinedFileSystem(modulePath, scriptsDir),
        loader: 'js',
      }));
    },
  };
}

/** The source of the module that stands in for node:fs inside the script loader. */
export function inlinedFileSystem(modulePath: string, scriptsDir: string): string {
  const folder = relative(dirname(modulePath), scriptsDir).split('\\').join('/');
  const names = readdirSync(scriptsDir).filter((name) => name.toLowerCase().endsWith('.ps1')).sort();
  if (names.length === 0) throw new Error(`${relative(ROOT, scriptsDir)} holds no .ps1 files to inline`);
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const entries = names.map((name) => {
    let text: string;
    try {
      text = decoder.decode(readFileSync(join(scriptsDir, name)));
    } catch {
      throw new Error(`${relative(ROOT, join(scriptsDir, name))} is not valid UTF-8`);
    }
    return `  ${JSON.stringify(name)}: ${JSON.stringify(text)},`;
  });
  return [
    `// node:fs as ${relative(ROOT, modulePath)} sees it in the bundle: ${names.length} files of ${folder}/, inlined at build time.`,
    'const FILES = {',
    ...entries,
    '};',
    `const PREFIX = ${JSON.stringify(`/${folder}/`)};`,
    'export function readFileSync(path, options) {',
    '  const location = typeof path === "string" ? path.split("\\\\").join("/") : decodeURIComponent(path.pathname);',
    '  const at = location.lastIndexOf(PREFIX);',
    '  const name = at === -1 ? undefined : location.slice(at + PREFIX.length);',
    '  if (name === undefined || !Object.hasOwn(FILES, name)) {',
    // The error fs itself gives for a missing file, so callers see no difference.
    '    throw Object.assign(new Error(`ENOENT: no such file or directory, open \'${location}\'`), { code: "ENOENT", syscall: "open", path: location });',
    '  }',
    '  const encoding = typeof options === "string" ? options : options?.encoding;',
    '  const bytes = Buffer.from(FILES[name], "utf8");',
    '  return encoding ? bytes.toString(encoding) : bytes;',
    '}',
    '',
  ].join('\n');
}
