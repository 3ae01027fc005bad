import { ENDPOINT_NAMES, type EndpointName } from './routes.ts';

/**
 * Scripted faults: data, not code. Each endpoint plays its own list of steps, one per request, and then
 * behaves normally, as azure-init's test server replays "one-bad-then-success" files.
 */

/** One scripted answer (or misbehaviour) for one request to one endpoint. */
export type FaultStep =
  | { status: number; retryAfter?: string; body?: string }
  | { delayMs: number }
  /** Health only: the report is accepted (the fabric's state changes), then the answer is delayed. */
  | { acceptThenDelayMs: number }
  /** Health only: the report is accepted, then the connection is reset before any answer (a lost acknowledgement). */
  | { acceptThenReset: true }
  | { reset: true }
  | { hang: true }
  | { truncate: true }
  | { malformed: true }
  | { noRoleInstance: true }
  | { bumpIncarnation: true }
  | { corruptCertificates: true }
  | { wrongRecipient: true }
  | { oversize: true };

/** The whole fault script of one simulator run. */
export interface FaultScript {
  /** Connection refused for the first T ms after start(): the port is not listened on yet. */
  unavailableForMs?: number;
  endpoints?: Partial<Record<EndpointName, FaultStep[]>>;
}

/** How a validator reports a bad key: the key path and the rule it breaks. */
export type KeyFailure = (key: string, rule: string) => Error;

/** Steps that are a single `true` flag, and the endpoints each one makes sense for (undefined = any). */
const FLAG_STEPS: Record<string, readonly EndpointName[] | undefined> = {
  reset: undefined,
  hang: undefined,
  truncate: undefined,
  malformed: undefined,
  oversize: undefined,
  bumpIncarnation: undefined,
  noRoleInstance: ['goalstate'],
  corruptCertificates: ['certificates'],
  wrongRecipient: ['certificates'],
  acceptThenReset: ['health'],
};

const STEP_KINDS = ['status', 'delayMs', 'acceptThenDelayMs', ...Object.keys(FLAG_STEPS)].join(', ');

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function checkStep(value: unknown, key: string, endpoint: EndpointName, fail: KeyFailure): FaultStep {
  if (!isObject(value)) throw fail(key, 'must be an object (one fault step)');
  const keys = Object.keys(value);
  if ('status' in value) {
    for (const k of keys) {
      if (k !== 'status' && k !== 'retryAfter' && k !== 'body') throw fail(`${key}.${k}`, 'is not a key of a status step (status, retryAfter, body)');
    }
    const { status, retryAfter, body } = value;
    if (!isNonNegativeInteger(status) || status < 100 || status > 599) throw fail(`${key}.status`, 'must be an integer HTTP status 100-599');
    if (retryAfter !== undefined && typeof retryAfter !== 'string') throw fail(`${key}.retryAfter`, 'must be a string');
    if (body !== undefined && typeof body !== 'string') throw fail(`${key}.body`, 'must be a string');
    return { status, ...(retryAfter === undefined ? {} : { retryAfter }), ...(body === undefined ? {} : { body }) };
  }
  if (keys.length !== 1) throw fail(key, `must have exactly one of ${STEP_KINDS}`);
  const kind = keys[0]!;
  if (kind === 'delayMs') {
    if (!isNonNegativeInteger(value.delayMs)) throw fail(`${key}.delayMs`, 'must be a non-negative integer');
    return { delayMs: value.delayMs };
  }
  if (kind === 'acceptThenDelayMs') {
    if (!isNonNegativeInteger(value.acceptThenDelayMs)) throw fail(`${key}.acceptThenDelayMs`, 'must be a non-negative integer');
    if (endpoint !== 'health') throw fail(`${key}.acceptThenDelayMs`, 'applies only to health');
    return { acceptThenDelayMs: value.acceptThenDelayMs };
  }
  if (!(kind in FLAG_STEPS)) throw fail(`${key}.${kind}`, `is not a fault step (one of ${STEP_KINDS})`);
  if (value[kind] !== true) throw fail(`${key}.${kind}`, 'must be true');
  const only = FLAG_STEPS[kind];
  if (only !== undefined && !only.includes(endpoint)) throw fail(`${key}.${kind}`, `applies only to ${only.join(', ')}`);
  return { [kind]: true } as FaultStep;
}

/** Checks an untrusted fault script (from JSON or a caller) strictly; every error names the key. */
export function validateFaultScript(value: unknown, fail: KeyFailure, base = 'faults'): FaultScript {
  if (!isObject(value)) throw fail(base, 'must be an object');
  const script: FaultScript = {};
  for (const key of Object.keys(value)) {
    if (key !== 'unavailableForMs' && key !== 'endpoints') throw fail(`${base}.${key}`, 'is not a key (unavailableForMs, endpoints)');
  }
  if (value.unavailableForMs !== undefined) {
    if (!isNonNegativeInteger(value.unavailableForMs)) throw fail(`${base}.unavailableForMs`, 'must be a non-negative integer (ms)');
    script.unavailableForMs = value.unavailableForMs;
  }
  if (value.endpoints !== undefined) {
    if (!isObject(value.endpoints)) throw fail(`${base}.endpoints`, 'must be an object keyed by endpoint name');
    const endpoints: Partial<Record<EndpointName, FaultStep[]>> = {};
    for (const [name, steps] of Object.entries(value.endpoints)) {
      const key = `${base}.endpoints.${name}`;
      if (!(ENDPOINT_NAMES as readonly string[]).includes(name)) throw fail(key, `is not an endpoint (${ENDPOINT_NAMES.join(', ')})`);
      if (!Array.isArray(steps)) throw fail(key, 'must be an array of fault steps');
      endpoints[name as EndpointName] = steps.map((step, i) => checkStep(step, `${key}[${i}]`, name as EndpointName, fail));
    }
    script.endpoints = endpoints;
  }
  return script;
}

/** One line describing a step, for the request log and `winprov simulate` output. */
export function describeStep(step: FaultStep): string {
  if ('status' in step) return `status ${step.status}${step.retryAfter === undefined ? '' : ` (Retry-After: ${step.retryAfter})`}`;
  if ('delayMs' in step) return `delay ${step.delayMs} ms`;
  if ('acceptThenDelayMs' in step) return `accept, then answer after ${step.acceptThenDelayMs} ms`;
  if ('acceptThenReset' in step) return 'accept, then reset before answering';
  return Object.keys(step)[0]!;
}

/** The per-endpoint queues of a script; each request takes the next step of its endpoint, if any is left. */
export class FaultQueues {
  readonly #queues = new Map<EndpointName, FaultStep[]>();

  constructor(script: FaultScript = {}) {
    for (const [name, steps] of Object.entries(script.endpoints ?? {})) {
      this.#queues.set(name as EndpointName, [...(steps ?? [])]);
    }
  }

  /** The step for this request, consumed; undefined once the endpoint's script is played out. */
  next(endpoint: EndpointName): FaultStep | undefined {
    return this.#queues.get(endpoint)?.shift();
  }

  /** How many steps the endpoint has still to play. */
  remaining(endpoint: EndpointName): number {
    return this.#queues.get(endpoint)?.length ?? 0;
  }
}
