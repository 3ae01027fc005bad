import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { KeyFailure } from './faults.ts';

/**
 * An Instance Metadata Service (IMDS) simulator on its own loopback port, beside the fabric simulator:
 * `/metadata/instance` (compute.vmId, osProfile, userData) and
 * `/metadata/instance/compute/userData?...&format=text` (the base64 user data, an empty body when the VM has
 * none), as Azure's "Azure Instance Metadata Service" page documents them. Like IMDS it refuses a request
 * without `Metadata: true` (400) and one that came through a proxy (`X-Forwarded-For`, 403), and an
 * api-version it does not know (400). Faults are scripted per request, in order: a status, a reset
 * connection or a hang. Independent of the agent: it imports nothing from src/ outside simulator/.
 * `winprov simulate` runs one beside the fabric simulator, from the scenario file's `imds` section.
 */

export type ImdsFault = { status: number } | { reset: true } | { hang: true };

export interface ImdsScenario {
  /** The user data exactly as IMDS serves it (base64 text); undefined: the VM has none. */
  userData?: string;
  vmId?: string;
  /** Applied to the first requests, one each, before normal answers. */
  faults?: ImdsFault[];
  /** Every request answered 404 (an IMDS without the userData endpoint, e.g. an older host). */
  notFound?: boolean;
}

export interface ImdsRequestRecord {
  method: string;
  path: string;
  metadataHeader: string | undefined;
  forwardedFor: string | undefined;
  answered: number | 'reset' | 'hang';
  /** The scripted fault this request got, if any (`status 503`, `reset`, `hang`). */
  fault?: string;
  /** Milliseconds since start(). */
  at: number;
}

export interface ImdsSimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Called once per request, when it has been answered (or reset, or left hanging). */
  onRequest?: (request: ImdsRequestRecord) => void;
}

const API_VERSIONS = ['2019-06-01', '2020-09-01', '2021-01-01', '2021-02-01', '2021-08-01', '2023-07-01', '2023-11-15'];

export class ImdsSimulator {
  readonly requests: ImdsRequestRecord[] = [];
  readonly #scenario: ImdsScenario;
  readonly #faults: ImdsFault[];
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  readonly #host: string;
  readonly #onRequest: ((request: ImdsRequestRecord) => void) | undefined;
  #startedAt = performance.now();

  constructor(scenario: ImdsScenario = {}, options: ImdsSimulatorOptions = {}) {
    this.#scenario = scenario;
    this.#host = options.host ?? '127.0.0.1';
    this.#onRequest = options.onRequest;
    this.#faults = [...(scenario.faults ?? [])];
    this.#server = http.createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  /** Listens on its host (an ephemeral port unless given); returns the base URL, e.g. http://127.0.0.1:41234. */
  async start(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host: this.#host, port }, () => resolve());
    });
    this.#startedAt = performance.now();
    return this.url;
  }

  /** http://HOST:PORT once started. */
  get url(): string {
    const address = this.#server.address() as AddressInfo | null;
    if (address === null) throw new Error('the IMDS simulator has no URL before start()');
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return `http://${host}:${address.port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://imds');
    const record: ImdsRequestRecord = {
      method: req.method ?? '',
      path: `${url.pathname}${url.search}`,
      metadataHeader: header(req, 'metadata'),
      forwardedFor: header(req, 'x-forwarded-for'),
      answered: 0,
      at: Math.round(performance.now() - this.#startedAt),
    };
    this.requests.push(record);
    const fault = this.#faults.shift();
    if (fault !== undefined) {
      if ('reset' in fault) {
        record.answered = 'reset';
        record.fault = 'reset';
        req.socket.destroy();
        this.#onRequest?.(record);
        return;
      }
      if ('hang' in fault) {
        record.answered = 'hang';
        record.fault = 'hang';
        this.#onRequest?.(record);
        return;
      }
      record.fault = `status ${fault.status}`;
      return this.#send(res, record, fault.status, 'text/plain', `simulated status ${fault.status}`);
    }
    if (this.#scenario.notFound) return this.#send(res, record, 404, 'text/plain', 'Not Found');
    if (record.forwardedFor !== undefined) return this.#send(res, record, 403, 'application/json', '{"error":"Forbidden: request came through a proxy"}');
    if (record.metadataHeader?.toLowerCase() !== 'true') return this.#send(res, record, 400, 'application/json', '{"error":"Bad request. Required metadata header not specified"}');
    if (req.method !== 'GET') return this.#send(res, record, 405, 'text/plain', 'Method Not Allowed');
    const version = url.searchParams.get('api-version');
    if (version === null || !API_VERSIONS.includes(version)) {
      return this.#send(res, record, 400, 'application/json', JSON.stringify({ error: 'Bad request. api-version is invalid or was not specified in the request.', newest_versions: API_VERSIONS.slice(-3).reverse() }));
    }
    const userData = this.#scenario.userData ?? '';
    if (url.pathname === '/metadata/instance/compute/userData') {
      if (url.searchParams.get('format') !== 'text') return this.#send(res, record, 400, 'application/json', '{"error":"Bad request. Leaf nodes need format=text"}');
      return this.#send(res, record, 200, 'text/plain; charset=utf-8', userData);
    }
    if (url.pathname === '/metadata/instance') {
      const body = { compute: { vmId: this.#scenario.vmId ?? '00000000-0000-0000-0000-000000000000', osType: 'Windows', userData, osProfile: { adminUsername: 'azureuser', computerName: 'winprov-vm' } } };
      return this.#send(res, record, 200, 'application/json; charset=utf-8', JSON.stringify(body));
    }
    return this.#send(res, record, 404, 'text/plain', 'Not Found');
  }

  #send(res: http.ServerResponse, record: ImdsRequestRecord, status: number, type: string, body: string): void {
    record.answered = status;
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    this.#onRequest?.(record);
  }
}

/** Azure's vmId is a GUID (IMDS compute.vmId, the SMBIOS system UUID). */
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Azure limits user data to 64 KB (base64 text), as it does custom data. */
export const MAX_USER_DATA_BASE64 = 64 * 1024;
const IMDS_KEYS = ['userData', 'userDataBase64', 'vmId', 'faults', 'notFound'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks the `imds` section of a scenario file strictly, every error naming its key:
 * `{ userData?: text (served base64, as IMDS serves what the VM was deployed with; at most Azure's 64 KiB
 * of base64) | userDataBase64?: served exactly as written (an answer that is not base64, or too large),
 * vmId?: GUID, faults?: [{status} | {reset: true} | {hang: true}], notFound?: boolean }`.
 */
export function validateImdsScenario(value: unknown, fail: KeyFailure, base = 'imds'): ImdsScenario {
  if (!isObject(value)) throw fail(base, 'must be an object');
  for (const key of Object.keys(value)) {
    if (!IMDS_KEYS.includes(key)) throw fail(`${base}.${key}`, `is not a key of the imds section (${IMDS_KEYS.join(', ')})`);
  }
  const { userData, userDataBase64, vmId, faults, notFound } = value;
  if (userData !== undefined && userDataBase64 !== undefined) throw fail(`${base}.userDataBase64`, 'cannot be given with userData (one user data)');
  if (userData !== undefined && typeof userData !== 'string') throw fail(`${base}.userData`, 'must be a string');
  if (userDataBase64 !== undefined && typeof userDataBase64 !== 'string') throw fail(`${base}.userDataBase64`, 'must be a string');
  const served = typeof userData === 'string' ? Buffer.from(userData, 'utf8').toString('base64') : (userDataBase64 as string | undefined);
  // userDataBase64 is the way to serve what Azure would not (not base64, too large): it is not capped.
  if (typeof userData === 'string' && served!.length > MAX_USER_DATA_BASE64) {
    throw fail(`${base}.userData`, `is ${served!.length} characters of base64, more than Azure's ${MAX_USER_DATA_BASE64}`);
  }
  if (vmId !== undefined && (typeof vmId !== 'string' || !GUID.test(vmId))) throw fail(`${base}.vmId`, 'must be a GUID like 6a1d2c5e-0b7f-4c1e-9a53-2f0e8b7d4c11');
  if (notFound !== undefined && typeof notFound !== 'boolean') throw fail(`${base}.notFound`, 'must be a boolean');
  let steps: ImdsFault[] | undefined;
  if (faults !== undefined) {
    if (!Array.isArray(faults)) throw fail(`${base}.faults`, 'must be an array of fault steps');
    steps = faults.map((step: unknown, i) => imdsFault(step, `${base}.faults[${i}]`, fail));
  }
  return {
    ...(served === undefined ? {} : { userData: served }),
    ...(vmId === undefined ? {} : { vmId: vmId as string }),
    ...(steps === undefined ? {} : { faults: steps }),
    ...(notFound === undefined ? {} : { notFound: notFound as boolean }),
  };
}

function imdsFault(step: unknown, key: string, fail: KeyFailure): ImdsFault {
  if (!isObject(step)) throw fail(key, 'must be an object (one fault step)');
  const keys = Object.keys(step);
  if (keys.length !== 1) throw fail(key, 'must have exactly one of status, reset, hang');
  const kind = keys[0]!;
  if (kind === 'status') {
    const status = step.status;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) throw fail(`${key}.status`, 'must be an integer HTTP error status 400-599');
    return { status };
  }
  if (kind === 'reset' || kind === 'hang') {
    if (step[kind] !== true) throw fail(`${key}.${kind}`, 'must be true');
    return kind === 'reset' ? { reset: true } : { hang: true };
  }
  throw fail(`${key}.${kind}`, 'is not a fault step (status, reset, hang)');
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
