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

/** A run's journal holds a few dozen entries of each kind; a file with hundreds of times more was not written by winprov. */
const MAX_ENTRIES = 10_000;

const isDate = (v: unknown): boolean => typeof v === 'string' && Number.isFinite(Date.parse(v));

/** Each entry's rule: what `status`, its timeline and the next run read of it (state-types.ts). */
const ENTRY_RULES: Record<'steps' | 'applied' | 'reports', [string, (entry: Record<string, unknown>) => boolean]> = {
  steps: ['an object with a name, a startedAt date and a durationMs of 0 or more, if any', (e) =>
    typeof e.name === 'string' && isDate(e.startedAt) && (e.durationMs === undefined || (typeof e.durationMs === 'number' && Number.isFinite(e.durationMs) && e.durationMs >= 0))],
  applied: ['an object with what, detail and an at date', (e) => typeof e.what === 'string' && typeof e.detail === 'string' && isDate(e.at)],
  reports: ['an object with a state and an at date', (e) => typeof e.state === 'string' && isDate(e.at) && (e.httpStatus === undefined || typeof e.httpStatus === 'number')],
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optional = (v: unknown, type: 'string' | 'number' | 'boolean'): boolean => v === undefined || typeof v === type;

/**
 * The optional records' rules. A re-run carries the admin account and the warnings over and adds to them
 * before it sends Ready: one of the wrong shape (state.json edited by hand) made every re-run fail there,
 * after its completion marker, so no Ready was ever sent again.
 */
const OPTIONAL_RULES: Record<'failure' | 'fabric' | 'adminAccount' | 'warnings' | 'rdpCertificate', [string, (value: unknown) => boolean]> = {
  failure: ['an object with a code and a reason', (v) => isObject(v) && typeof v.code === 'string' && typeof v.reason === 'string'],
  fabric: ['an object with an endpoint and a source', (v) => isObject(v) && typeof v.endpoint === 'string' && typeof v.source === 'string'
    && optional(v.containerId, 'string') && optional(v.instanceId, 'string') && optional(v.incarnation, 'string')],
  adminAccount: ['an object with a name and a sid', (v) => isObject(v) && typeof v.name === 'string' && typeof v.sid === 'string'],
  warnings: [`an array of at most ${MAX_ENTRIES} objects with a step, a message and an at date`, (v) => Array.isArray(v) && v.length <= MAX_ENTRIES
    && v.every((w) => isObject(w) && typeof w.step === 'string' && typeof w.message === 'string' && isDate(w.at))],
  rdpCertificate: ['an object with posted and an at date', (v) => isObject(v) && typeof v.posted === 'boolean' && isDate(v.at)
    && optional(v.thumbprint, 'string') && optional(v.httpStatus, 'number') && optional(v.reason, 'string')],
};

const checkAgentState: Check = (value) => {
  if (value.version !== 1) return 'field version: must be 1';
  const missing = requireStrings('vmId', 'agentVersion', 'runId', 'startedAt')(value);
  if (missing !== undefined) return missing;
  // A damaged date or entry would otherwise reach status and its timeline, which compute with them.
  if (!isDate(value.startedAt)) return 'field startedAt: must be a date';
  if (value.finishedAt !== undefined && !isDate(value.finishedAt)) return 'field finishedAt: must be a date';
  for (const name of ['steps', 'applied', 'reports'] as const) {
    const list = value[name];
    if (!Array.isArray(list)) return `field ${name}: must be an array`;
    if (list.length > MAX_ENTRIES) return `field ${name}: must have at most ${MAX_ENTRIES} entries`;
    const [rule, ok] = ENTRY_RULES[name];
    const bad = list.findIndex((entry) => !isObject(entry) || !ok(entry));
    if (bad !== -1) return `field ${name}[${bad}]: must be ${rule}`;
  }
  for (const [name, [rule, ok]] of Object.entries(OPTIONAL_RULES)) {
    if (value[name] !== undefined && !ok(value[name])) return `field ${name}: must be ${rule}`;
  }
  if (value.result !== undefined && !['ready', 'failed', 'running', 'applied'].includes(value.result as string)) return 'field result: must be ready, failed, running or applied';
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
