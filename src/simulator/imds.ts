import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An Instance Metadata Service (IMDS) simulator on its own loopback port, beside the fabric simulator:
 * `/metadata/instance` (compute.vmId, osProfile, userData) and
 * `/metadata/instance/compute/userData?...&format=text` (the base64 user data, an empty body when the VM has
 * none), as Azure's "Azure Instance Metadata Service" page documents them. Like IMDS it refuses a request
 * without `Metadata: true` (400) and one that came through a proxy (`X-Forwarded-For`, 403), and an
 * api-version it does not know (400). Faults are scripted per request, in order: a status, a reset
 * connection or a hang. Independent of the agent: it imports nothing from src/ outside simulator/.
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
}

const API_VERSIONS = ['2019-06-01', '2020-09-01', '2021-01-01', '2021-02-01', '2021-08-01', '2023-07-01', '2023-11-15'];

export class ImdsSimulator {
  readonly requests: ImdsRequestRecord[] = [];
  readonly #scenario: ImdsScenario;
  readonly #faults: ImdsFault[];
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();

  constructor(scenario: ImdsScenario = {}) {
    this.#scenario = scenario;
    this.#faults = [...(scenario.faults ?? [])];
    this.#server = http.createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  /** Listens on 127.0.0.1 (an ephemeral port unless given); returns the base URL, e.g. http://127.0.0.1:41234. */
  async start(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host: '127.0.0.1', port }, () => resolve());
    });
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
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
    };
    this.requests.push(record);
    const fault = this.#faults.shift();
    if (fault !== undefined) {
      if ('reset' in fault) {
        record.answered = 'reset';
        req.socket.destroy();
        return;
      }
      if ('hang' in fault) {
        record.answered = 'hang';
        return;
      }
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
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
