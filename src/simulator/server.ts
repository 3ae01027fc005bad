import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { AgentError, UsageError } from '../errors.ts';
import { Secret } from '../util/secret.ts';
import { answerDocument, textAnswer, type Answer, type FabricView } from './answers.ts';
import { strangerCertificatePem } from './certificates.ts';
import { FaultQueues, describeStep, type FaultStep } from './faults.ts';
import { reservePort } from './free-port.ts';
import { writeMedia } from './media.ts';
import { resolveOptions, type ResolvedOptions, type SimulatorOptions } from './options.ts';
import { generateTenantCertificates } from './pfx.ts';
import type { ExpectedCertificate, ExpectedState, ReceivedHealthReport, ReceivedRoleProperties, RecordedRequest } from './records.ts';
import { judgeHealthReport, judgeRoleProperties } from './posted-documents.ts';
import { recordableHeaders, sendAnswer, sendMalformed, sendOversize, sendTruncated } from './replies.ts';
import { documentPath, routeRequest, type EndpointName, type Route } from './routes.ts';
import type { ProvisioningScenario } from './scenario.ts';

/** The store a tenant certificate goes to: "My", except a key-less last one (a CA certificate) goes to "Root". */
function storeFor(certificate: { hasPrivateKey: boolean }, index: number, count: number): string {
  return count >= 2 && index === count - 1 && !certificate.hasPrivateKey ? 'Root' : 'My';
}

function scriptedAnswer(step: { status: number; retryAfter?: string; body?: string }): Answer {
  return { ...textAnswer(step.status, step.body ?? ''), ...(step.retryAfter === undefined ? {} : { headers: { 'retry-after': step.retryAfter } }) };
}

/**
 * An Azure WireServer on loopback, independent of the agent's own protocol code: serves versions, the goal
 * state, the config documents and real encrypted certificates; checks and records health reports; plays
 * scripted faults per endpoint; writes the provisioning media.
 */
export class FabricSimulator {
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  /** Every health report read, accepted or not, in order (reset and hang steps drop a report unread). */
  readonly healthReports: ReceivedHealthReport[] = [];
  /** Every role properties POST read, accepted or not, in order; the fabric keeps the last accepted. */
  readonly roleProperties: ReceivedRoleProperties[] = [];

  readonly #options: ResolvedOptions;
  readonly #faults: FaultQueues;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #containerId = randomUUID();
  readonly #instanceId: string;
  readonly #documentPath: string;
  #incarnation = 1;
  #port = 0;
  #phase: 'new' | 'started' | 'stopped' = 'new';
  #startedAt = performance.now();
  #tenant: Promise<void> | undefined;
  #pfx: Uint8Array | undefined;
  #certificates: ExpectedCertificate[] = [];
  #stranger: Promise<string> | undefined;
  #listening: Promise<void> = Promise.resolve();

  constructor(options: SimulatorOptions) {
    this.#options = resolveOptions(options);
    this.#faults = new FaultQueues(this.#options.faults);
    // Azure role instance ids look like "<deployment guid>._<vm name>".
    this.#instanceId = `${randomUUID()}._${this.#options.scenario.computerName}`;
    this.#documentPath = documentPath(this.#containerId, this.#instanceId);
    this.#server = createServer((req, res) => this.#onRequest(req, res));
    this.#server.on('connection', (socket: Socket) => {
      if (this.#phase === 'stopped') return void socket.destroy();
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  /** Generates the tenant certificates and listens (after unavailableForMs, when scripted; the URL is known at once). */
  async start(): Promise<void> {
    if (this.#phase !== 'new') throw new UsageError('the fabric simulator can be started only once');
    this.#phase = 'started';
    await this.#loadTenant();
    // The wrongRecipient fault's certificate is made before the first request: made on first use, its
    // key generation could outlast the agent's read timeout on a loaded machine, and the retry that
    // followed used up the scripted faults (the run then ended Ready).
    const endpoints = Object.values(this.#options.faults.endpoints ?? {});
    if (endpoints.some((steps) => steps?.some((step) => 'wrongRecipient' in step))) await (this.#stranger = strangerCertificatePem());
    if (this.#phase !== 'started') return;
    this.#startedAt = performance.now();
    const delay = this.#options.faults.unavailableForMs ?? 0;
    if (delay === 0) {
      await this.#listen(this.#options.port);
      return;
    }
    // Connection refused, not reset: nothing listens on the port until the window has passed.
    this.#port = this.#options.port || (await reservePort(this.#options.host));
    this.#listening = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#listen(this.#port).then(resolve, reject);
      }, delay);
      this.#timers.add(timer);
    });
    this.#listening.catch(() => undefined);
  }

  /** Resolves once the simulator accepts connections (later than start() when unavailableForMs is scripted). */
  whenListening(): Promise<void> {
    return this.#listening;
  }

  /** Stops listening and closes every connection, hung ones included, and cancels pending delays. */
  async stop(): Promise<void> {
    if (this.#phase === 'stopped') return;
    this.#phase = 'stopped';
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const socket of this.#sockets) socket.destroy();
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  /** http://HOST:PORT of the simulated WireServer. */
  get url(): string {
    if (this.#port === 0) throw new UsageError('the fabric simulator has no URL before start()');
    const host = this.#options.host.includes(':') ? `[${this.#options.host}]` : this.#options.host;
    return `http://${host}:${this.#port}`;
  }

  /** The scenario the simulator describes, without the password (see adminPassword). */
  get scenario(): Readonly<Omit<ProvisioningScenario, 'adminPassword'>> {
    const { adminPassword: _password, ...rest } = this.#options.scenario;
    return rest;
  }

  /** The admin password the ovf-env carries (generated when the scenario gave none). */
  get adminPassword(): Secret<string> {
    return new Secret(this.#options.scenario.adminPassword);
  }

  /** What a correct agent reports and installs: ids, current incarnation, tenant certificates (after start()). */
  get expected(): ExpectedState {
    return {
      containerId: this.#containerId,
      instanceId: this.#instanceId,
      incarnation: String(this.#incarnation),
      certificates: this.#certificates.map((c) => ({ ...c })),
    };
  }

  /** The requests recorded for one endpoint. */
  requestsTo(endpoint: EndpointName): RecordedRequest[] {
    return this.requests.filter((r) => r.endpoint === endpoint);
  }

  /** Writes ovf-env.xml, the media tag file and CustomData.bin (when there is custom data) into dir. */
  async writeProvisioningMedia(dir: string): Promise<void> {
    await this.#loadTenant();
    await writeMedia(dir, this.#options.scenario, this.#certificates);
  }

  #loadTenant(): Promise<void> {
    this.#tenant ??= (async () => {
      const count = this.#options.scenario.certificateCount;
      if (count === 0) return;
      const tenant = await generateTenantCertificates(count);
      this.#pfx = tenant.pfx;
      this.#certificates = tenant.certificates.map((c, i, all) => ({ ...c, storeName: storeFor(c, i, all.length) }));
    })();
    return this.#tenant;
  }

  #listen(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void =>
        reject(new UsageError(`the fabric simulator cannot listen on ${this.#options.host}:${port} (${err.code ?? err.message})`, { cause: err }));
      this.#server.once('error', onError);
      this.#server.listen({ host: this.#options.host, port }, () => {
        this.#server.off('error', onError);
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  #since(): number {
    return Math.round(performance.now() - this.#startedAt);
  }

  #sleep(ms: number): Promise<void> {
    // Cleared by stop(): the request then never completes, and nothing keeps the process alive.
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }

  #view(req: IncomingMessage): FabricView {
    // Listening on a wildcard address, the URLs must name the address the client used.
    const wildcard = this.#options.host === '0.0.0.0' || this.#options.host === '::';
    const base = wildcard && req.headers.host ? `http://${req.headers.host}` : this.url;
    return {
      containerId: this.#containerId,
      instanceId: this.#instanceId,
      incarnation: this.#incarnation,
      documentUrl: `${base}${this.#documentPath}`,
      certificates: this.#certificates,
      pfx: this.#pfx,
      supportedCiphers: this.#options.supportedCiphers,
      envelope: this.#options.envelope,
      stranger: () => (this.#stranger ??= strangerCertificatePem()),
    };
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.#handle(req, res).catch((err: unknown) => {
      const detail = err instanceof AgentError ? err.reason : err instanceof Error ? err.message : String(err);
      sendAnswer(res, textAnswer(500, `fabric simulator error: ${detail}`));
    });
  }

  #record(req: IncomingMessage, route: Route | undefined, step: FaultStep | undefined): void {
    const request: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      endpoint: route?.endpoint,
      headers: recordableHeaders(req.headers),
      at: this.#since(),
      ...(step === undefined ? {} : { fault: describeStep(step) }),
    };
    this.requests.push(request);
    this.#options.onRequest?.(request);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = routeRequest(req.method, req.url, this.#documentPath);
    const step = route === undefined ? undefined : this.#faults.next(route.endpoint);
    this.#record(req, route, step);
    if (route === undefined) {
      req.resume();
      return sendAnswer(res, textAnswer(404, 'not found'));
    }
    if (step !== undefined) {
      if ('acceptThenReset' in step || 'acceptThenDelayMs' in step) {
        // The fabric takes the report (its state changes); the answer is lost or late on the way back.
        const answer = await this.#judgeHealth(req);
        if ('acceptThenReset' in step) return void req.socket.destroy();
        await this.#sleep(step.acceptThenDelayMs);
        return void (this.#phase === 'stopped' || sendAnswer(res, answer));
      }
      if ('reset' in step) return void req.socket.destroy();
      // Hung: accepted and read, never answered; stop() destroys the socket.
      if ('hang' in step) return void req.resume();
      if ('delayMs' in step) await this.#sleep(step.delayMs);
      if ('bumpIncarnation' in step) this.#incarnation += 1;
      if ('status' in step) {
        if (route.endpoint === 'health') await this.#judgeHealth(req, step.status);
        else if (route.endpoint === 'roleProperties') await this.#judgeRoleProperties(req, step.status);
        else req.resume();
        return sendAnswer(res, scriptedAnswer(step));
      }
    }
    const answer = route.endpoint === 'health' ? await this.#judgeHealth(req)
      : route.endpoint === 'roleProperties' ? await this.#judgeRoleProperties(req) : await this.#answerDocument(req, route, step);
    if (this.#phase === 'stopped') return;
    if (step !== undefined && 'truncate' in step) return sendTruncated(res, answer);
    if (step !== undefined && 'malformed' in step) return sendMalformed(res, answer);
    if (step !== undefined && 'oversize' in step) return sendOversize(res, answer);
    sendAnswer(res, answer);
  }

  #answerDocument(req: IncomingMessage, route: Route, step: FaultStep | undefined): Promise<Answer> {
    req.resume();
    return answerDocument(route, req.headers, this.#view(req), step);
  }

  /** Reads, checks and records one health report (posted-documents.ts); a scripted status overrides the verdict. */
  async #judgeHealth(req: IncomingMessage, scriptedStatus?: number): Promise<Answer> {
    const expected = () => ({ incarnation: this.#incarnation, containerId: this.#containerId, instanceId: this.#instanceId });
    const { verdict, answer } = await judgeHealthReport(req, expected, scriptedStatus);
    const report: ReceivedHealthReport = { ...verdict, at: this.#since() };
    this.healthReports.push(report);
    this.#options.onHealthReport?.(report);
    return answer;
  }

  /** Reads, checks and records role properties (posted-documents.ts). */
  async #judgeRoleProperties(req: IncomingMessage, scriptedStatus?: number): Promise<Answer> {
    const { verdict, answer } = await judgeRoleProperties(req, { containerId: this.#containerId, instanceId: this.#instanceId }, scriptedStatus);
    this.roleProperties.push({ ...verdict, at: this.#since() });
    return answer;
  }
}
