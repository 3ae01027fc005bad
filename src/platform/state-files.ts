import { join } from 'node:path';
import { StateError } from '../errors.ts';
import { readJsonFile, writeFileAtomic } from '../util/files.ts';
import type { AgentState, CompletionMarker } from './state-types.ts';

/**
 * The agent's files in its state folder (%ProgramData%\winprov, or the sandbox's): state.json (the
 * journal), provisioned.json (the completion marker) and ovf-env.xml (the redacted copy). Node writes them
 * directly on both platforms, atomically (temporary file, flush, rename), so a kill never leaves half a
 * file; on Windows the folder's ACL is set once by PowerShell beforehand. A file that is not JSON, or not of the expected shape, is a
 * StateError: a damaged journal must never be taken for a fresh machine.
 */

export const STATE_FILE = 'state.json';
export const MARKER_FILE = 'provisioned.json';
export const OVF_COPY_FILE = 'ovf-env.xml';

type Check = (value: Record<string, unknown>) => string | undefined;

function requireStrings(...names: string[]): Check {
  return (value) => names.map((name) => (typeof value[name] === 'string' ? undefined : `field ${name}: must be a string`)).find((rule) => rule !== undefined);
}

const checkAgentState: Check = (value) => {
  if (value.version !== 1) return 'field version: must be 1';
  const missing = requireStrings('vmId', 'agentVersion', 'runId', 'startedAt')(value);
  if (missing !== undefined) return missing;
  for (const name of ['steps', 'applied', 'reports']) {
    if (!Array.isArray(value[name])) return `field ${name}: must be an array`;
  }
  return undefined;
};

const checkCompletionMarker: Check = requireStrings('vmId', 'provisionedAt', 'agentVersion', 'containerId', 'instanceId');

async function readChecked<T>(directory: string, name: string, check: Check): Promise<T | undefined> {
  const value = await readJsonFile<unknown>(join(directory, name), (why) => new StateError(`${name} ${why}`));
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StateError(`${name} is not a JSON object`);
  const rule = check(value as Record<string, unknown>);
  if (rule !== undefined) throw new StateError(`${name} ${rule}`);
  return value as T;
}

/** The journal, or undefined when there is none yet. */
export function readAgentState(directory: string): Promise<AgentState | undefined> {
  return readChecked<AgentState>(directory, STATE_FILE, checkAgentState);
}

/** The completion marker, or undefined when the machine was not provisioned yet. */
export function readCompletionMarker(directory: string): Promise<CompletionMarker | undefined> {
  return readChecked<CompletionMarker>(directory, MARKER_FILE, checkCompletionMarker);
}

/** Writes a value as JSON, atomically. */
export function writeStateJson(directory: string, name: string, value: unknown): Promise<void> {
  return writeFileAtomic(join(directory, name), `${JSON.stringify(value, null, 2)}\n`);
}

/** Writes text, atomically. */
export function writeStateText(directory: string, name: string, text: string): Promise<void> {
  return writeFileAtomic(join(directory, name), text);
}

/**
 * One run's state folder and its files, as both platforms keep them: the folder is made once, by the
 * platform's own means (on Windows with its ACL), before the first write of the run, and made again on
 * the next write if making it failed.
 */
export class StateFolder {
  readonly directory: string;
  readonly #make: () => Promise<void>;
  #made: Promise<void> | undefined;

  constructor(directory: string, make: () => Promise<void>) {
    this.directory = directory;
    this.#make = make;
  }

  ensure(): Promise<void> {
    this.#made ??= this.#make().catch((err: unknown) => {
      this.#made = undefined;
      throw err;
    });
    return this.#made;
  }

  readAgentState(): Promise<AgentState | undefined> {
    return readAgentState(this.directory);
  }

  async writeAgentState(state: AgentState): Promise<void> {
    await this.ensure();
    await writeStateJson(this.directory, STATE_FILE, state);
  }

  readCompletionMarker(): Promise<CompletionMarker | undefined> {
    return readCompletionMarker(this.directory);
  }

  async writeCompletionMarker(marker: CompletionMarker): Promise<void> {
    await this.ensure();
    await writeStateJson(this.directory, MARKER_FILE, marker);
  }

  async saveOvfEnvCopy(redactedXml: string): Promise<void> {
    await this.ensure();
    await writeStateText(this.directory, OVF_COPY_FILE, redactedXml);
  }
}
