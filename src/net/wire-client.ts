import { FabricDocumentError, WireServerError } from '../errors.ts';
import { chooseProtocolVersion, parseVersions, type ProtocolVersion } from '../protocol/versions.ts';
import { GOAL_STATE_PATH, HEALTH_PATH, VERSIONS_PATH, parseGoalState, type GoalState, type RoleInstance } from '../protocol/goal-state.ts';
import { buildHealthReport, type HealthReport } from '../protocol/health.ts';
import { ROLE_PROPERTIES_PATH, buildRoleProperties, type RoleProperties } from '../protocol/role-properties.ts';
import { fabricRequest, httpRequest, type HttpResponse } from './http.ts';
import { READ_POLICY, REPORT_POLICY, withRetry, type RetryEvent, type RetryPolicy } from './retry.ts';

/**
 * The fabric calls, one method each: versions, goal state, the documents the goal state names, the
 * certificates and the health report. Every call goes through fabricRequest (timeouts, size cap, the
 * one retry policy); this module adds the protocol's headers and the rules about what may be fetched.
 */

export type CipherName = 'AES128_CBC' | 'DES_EDE3_CBC';

/** A goal state known to name a RoleInstance. */
export type CompleteGoalState = GoalState & { roleInstance: RoleInstance };

export interface WireClientOptions {
  baseUrl: string;
  agentVersion: string;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  maxResponseBytes: number;
  /** Absolute end of the run (ms epoch). */
  deadline: number;
  /** Called before each retry sleep, to say what is awaited and until when. */
  onRetry?: (what: string, event: RetryEvent) => void;
  /** Retry policies; tests shorten them. */
  readPolicy?: RetryPolicy;
  reportPolicy?: RetryPolicy;
  /** Goal states without a RoleInstance are fetched again this many times in all (WALA: 6, 0.5 s apart). */
  roleInstanceAttempts?: number;
}

const AGENT_NAME = 'winprov';
const ROLE_INSTANCE_POLICY: RetryPolicy = { baseDelayMs: 500, maxDelayMs: 500, maxAttempts: 6, jitter: 0 };

export class WireClient {
  readonly baseUrl: string;
  #version: ProtocolVersion = '2012-11-30';
  readonly #options: WireClientOptions;
  readonly #origin: string;

  constructor(options: WireClientOptions) {
    this.#options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#origin = new URL(this.baseUrl).origin;
  }

  get protocolVersion(): ProtocolVersion {
    return this.#version;
  }

  /** The run's deadline (ms epoch), for local work done on what the fabric sent (certificates decryption). */
  get deadline(): number {
    return this.#options.deadline;
  }

  /** GET /?comp=versions and picks the newest version both sides speak; `deadline` overrides the run's (failure report). */
  async negotiateVersion(deadline = this.#options.deadline): Promise<ProtocolVersion> {
    const response = await this.#get(`${this.baseUrl}${VERSIONS_PATH}`, 'versions', {}, deadline);
    this.#version = chooseProtocolVersion(parseVersions(response.body));
    return this.#version;
  }

  /** GET the goal state; fetched again (bounded) while it names no RoleInstance. `deadline` overrides the run's. */
  async goalState(deadline = this.#options.deadline): Promise<CompleteGoalState> {
    const url = `${this.baseUrl}${GOAL_STATE_PATH}`;
    const policy = { ...ROLE_INSTANCE_POLICY, maxAttempts: this.#options.roleInstanceAttempts ?? ROLE_INSTANCE_POLICY.maxAttempts };
    return withRetry(
      async () => {
        const goalState = parseGoalState((await this.#get(url, 'goal state', this.#headers(), deadline)).body);
        if (goalState.roleInstance === undefined) {
          throw new FabricDocumentError('GoalState', 'RoleInstance', 'is missing from Container/RoleInstanceList', {
            hint: 'the fabric had not finished the goal state; it was fetched again several times',
          });
        }
        return goalState as CompleteGoalState;
      },
      {
        policy,
        deadline,
        classify: (err) => (err instanceof FabricDocumentError && err.field === 'RoleInstance' ? { kind: 'status', status: 503 } : undefined),
        onRetry: (event) => this.#options.onRetry?.('a goal state with a RoleInstance', event),
        what: 'a goal state with a RoleInstance',
      },
    );
  }

  /** GET a document the goal state names (hosting environment config ...). */
  async document(url: string, what: string): Promise<Buffer> {
    return (await this.#get(this.#checkedUrl(url, what), what, this.#headers())).body;
  }

  /** GET the certificates, encrypted to the transport certificate with the named cipher. */
  async certificates(url: string, transportHeader: string, cipher: CipherName): Promise<Buffer> {
    const headers = {
      ...this.#headers(),
      'x-ms-cipher-name': cipher,
      'x-ms-guest-agent-public-x509-cert': transportHeader,
    };
    return (await this.#get(this.#checkedUrl(url, 'certificates'), 'certificates', headers)).body;
  }

  /** POST a health report; retried harder than reads. Resolves with the HTTP status. */
  async health(report: HealthReport, deadline = this.#options.deadline): Promise<number> {
    return this.#postXml(HEALTH_PATH, buildHealthReport(report), deadline, this.#options.reportPolicy ?? REPORT_POLICY, `the fabric to accept the ${report.state} report`);
  }

  /**
   * POST the role properties (the RDP certificate thumbprint). Retried as a read, not as a health
   * report: it is not worth the run's deadline, and Ready still has to be sent after it.
   */
  async roleProperties(properties: RoleProperties, deadline = this.#options.deadline): Promise<number> {
    return this.#postXml(ROLE_PROPERTIES_PATH, buildRoleProperties(properties), deadline, this.#options.readPolicy ?? READ_POLICY, 'the fabric to accept the role properties');
  }

  /** POST one XML document under the policy; resolves with the HTTP status. `waitingFor` words the retry line. */
  async #postXml(path: string, body: string, deadline: number, policy: RetryPolicy, waitingFor: string): Promise<number> {
    const response = await fabricRequest({
      method: 'POST',
      url: `${this.baseUrl}${path}`,
      headers: { ...this.#headers(), 'Content-Type': 'text/xml;charset=utf-8' },
      body,
      // The status is the answer: a 2xx over the size cap or cut short is still the fabric taking the document.
      statusOnly: true,
      ...this.#budgets(deadline),
      policy,
      onRetry: (event) => this.#options.onRetry?.(waitingFor, event),
    });
    return response.status;
  }

  #headers(): Record<string, string> {
    return {
      'x-ms-agent-name': AGENT_NAME,
      'x-ms-version': this.#version,
      'User-Agent': `${AGENT_NAME}/${this.#options.agentVersion}`,
    };
  }

  #budgets(deadline: number) {
    return {
      connectTimeoutMs: this.#options.connectTimeoutMs,
      readTimeoutMs: this.#options.readTimeoutMs,
      maxResponseBytes: this.#options.maxResponseBytes,
      deadline,
    };
  }

  async #get(url: string, what: string, headers: Record<string, string>, deadline = this.#options.deadline): Promise<HttpResponse> {
    return fabricRequest({
      method: 'GET',
      url,
      headers,
      ...this.#budgets(deadline),
      policy: this.#options.readPolicy ?? READ_POLICY,
      onRetry: (event) => this.#options.onRetry?.(`the ${what}`, event),
    });
  }

  /**
   * The goal state's URLs are fetched verbatim, but only from the WireServer itself: a document that
   * pointed elsewhere would make the agent send its requests (and the transport certificate) anywhere.
   */
  #checkedUrl(url: string, what: string): string {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new FabricDocumentError('GoalState', what, 'URL is not absolute');
    }
    const origin = parsed.port === '' && parsed.protocol === 'http:' ? `http://${parsed.hostname}` : parsed.origin;
    if (origin !== this.#origin && parsed.origin !== this.#origin) {
      throw new FabricDocumentError('GoalState', what, `URL points at ${parsed.host}, not at the WireServer ${new URL(this.baseUrl).host}`);
    }
    return url;
  }
}

/** One quick GET /?comp=versions, no retries: does anything answer at baseUrl? */
export async function probeVersions(baseUrl: string, deadline: number, timeoutMs = 3_000): Promise<boolean> {
  try {
    const response = await httpRequest({
      method: 'GET',
      url: `${baseUrl.replace(/\/+$/, '')}${VERSIONS_PATH}`,
      connectTimeoutMs: timeoutMs,
      readTimeoutMs: timeoutMs,
      maxResponseBytes: 64 * 1024,
      deadline: Math.min(deadline, Date.now() + 2 * timeoutMs),
    });
    return response.status === 200 && /<Versions[\s>]/.test(response.body.toString('utf8'));
  } catch (err) {
    if (err instanceof WireServerError) return false;
    throw err;
  }
}
