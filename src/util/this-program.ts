import { isSea } from 'node:sea';
import { codeCacheState } from '../code-cache.ts';

/**
 * How to start this same winprov again as a child process. In a single executable (Node SEA, build/sea.ts)
 * the executable is the whole program: its blob brings the entry and its execArgv, and node's own options
 * (-e, a script path) are not processed (Node docs, "Single executable applications"). node running the
 * bundle or src/main.ts needs that script after node's flags, or V8 refuses a code cache made with others
 * (it checks a hash of them). The script is process.argv[1]: right for every run of the CLI, not for code
 * of winprov run inside another program (a test, a library user), which is why `script` says what it is.
 */
export interface ThisProgram {
  /** true in the single executable. */
  sea: boolean;
  /** The executable to start: winprov.exe itself, or node. */
  file: string;
  /** Arguments before winprov's own: none in a SEA; node's flags and the script otherwise. */
  args: string[];
}

export function thisProgram(): ThisProgram {
  if (isSea()) return { sea: true, file: process.execPath, args: [] };
  const script = process.argv[1];
  // The bundle's flags that only work at start-up (build/bundle.ts AGENT_START_FLAGS) are added when this
  // node was started without them, so the child runs (and makes its code cache) as winprov.exe would.
  const flags = [...process.execArgv, ...(codeCacheState()?.startFlags ?? []).filter((f) => !process.execArgv.includes(f))];
  return { sea: false, file: process.execPath, args: script === undefined ? flags : [...flags, script] };
}
