import { WireServerError } from './errors.ts';
import { discoverFabric, type DiscoveredFabric } from './net/endpoint.ts';
import { queryWireServerByDhcp, type DhcpQueryOptions } from './net/dhcp-query.ts';
import { WireClient, probeVersions, type CompleteGoalState } from './net/wire-client.ts';
import type { RetryPolicy } from './net/retry.ts';
import type { HealthReport } from './protocol/health.ts';
import type { FabricInterface, Platform } from './platform/platform.ts';
import type { Log } from './util/log.ts';

/**
 * The agent's conversation with the fabric: discovery, version negotiation, the current goal state, and
 * health reports. It keeps the goal state fresh: when the fabric answers 410 Gone for anything derived
 * from it, the goal state is fetched again and the call repeated with the new incarnation.
 */

/** Where our own DHCP query goes and how long it waits (the MAC comes from the interface). */
export type DhcpQuerySettings = Pick<DhcpQueryOptions, 'serverAddress' | 'serverPort' | 'clientPort' | 'bindAddress' | 'timeoutMs' | 'attempts'>;

export interface FabricSettings {
  fabricUrl: string | undefined;
  fabricPort: number;
  fallbackAddress: string;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  maxResponseBytes: number;
  /** Our own DHCP query, or false to skip it (the sandbox has no DHCP server to ask). */
  dhcpQuery: DhcpQuerySettings | false;
  readPolicy?: RetryPolicy;
  reportPolicy?: RetryPolicy;
}

/** How often one call is repeated after 410 Gone before the run gives up on a fabric that keeps moving. */
const GONE_REFRESHES = 3;

export class FabricSession {
  endpoint: DiscoveredFabric | undefined;
  client: WireClient | undefined;
  goalState: CompleteGoalState | undefined;
  readonly #settings: FabricSettings;
  readonly #platform: Platform;
  readonly #log: Log;
  readonly #agentVersion: string;
  /** The run's deadline; moved to the end of the grace period for the final report (extendDeadline). */
  #deadline: number;
  /** Hears every failed attempt of the health report in flight (report's observer). */
  #reportObserver: ((error: unknown) => void) | undefined;

  constructor(settings: FabricSettings, platform: Platform, log: Log, agentVersion: string, deadline: number) {
    this.#settings = settings;
    this.#platform = platform;
    this.#log = log;
    this.#agentVersion = agentVersion;
    this.#deadline = deadline;
  }

  /** The deadline every later call is bounded by. */
  get deadline(): number {
    return this.#deadline;
  }

  /**
   * Moves the deadline of every later call (and of the "giving up by" the log prints) to `until`: the
   * final report's grace period starts when the run's own deadline may already have passed.
   */
  extendDeadline(until: number): void {
    this.#deadline = Math.max(this.#deadline, until);
  }

  /** Finds the WireServer: configured URL, else option 245 (OS cache, own query), else the well-known address. */
  async discover(iface: FabricInterface | undefined): Promise<DiscoveredFabric> {
    const settings = this.#settings;
    const deadline = this.#deadline;
    const query = settings.dhcpQuery;
    this.endpoint = await discoverFabric({
      configured: settings.fabricUrl,
      readCache: async () => (iface === undefined ? undefined : this.#platform.readCachedWireServerAddress(iface)),
      queryDhcp: async () => {
        if (query === false || iface?.mac === undefined) return undefined;
        return queryWireServerByDhcp({ ...query, mac: Buffer.from(iface.mac.replace(/[-:]/g, ''), 'hex'), log: (m) => this.#log.debug(m) });
      },
      probe: (baseUrl) => probeVersions(baseUrl, deadline, Math.min(3_000, settings.connectTimeoutMs)),
      fallbackAddress: settings.fallbackAddress,
      wireServerPort: settings.fabricPort,
      log: (message) => this.#log.info(message),
    });
    this.client = new WireClient({
      baseUrl: this.endpoint.baseUrl,
      agentVersion: this.#agentVersion,
      connectTimeoutMs: settings.connectTimeoutMs,
      readTimeoutMs: settings.readTimeoutMs,
      maxResponseBytes: settings.maxResponseBytes,
      deadline,
      readPolicy: settings.readPolicy,
      reportPolicy: settings.reportPolicy,
      onRetry: (what, event) => {
        this.#reportObserver?.(event.error);
        const until = new Date(event.until).toISOString().slice(11, 19);
        // The session's deadline as it is now: during the final report's grace it is the grace's end.
        this.#log.info(`waiting ${(event.delayMs / 1000).toFixed(1)} s for ${what} (attempt ${event.attempt} failed: ${describe(event.error)}); next try at ${until} UTC, giving up by ${new Date(this.#deadline).toISOString().slice(11, 19)} UTC`);
      },
    });
    return this.endpoint;
  }

  async negotiateVersion(): Promise<string> {
    return this.#requireClient().negotiateVersion(this.#deadline);
  }

  /** Fetches the current goal state. */
  async fetchGoalState(): Promise<CompleteGoalState> {
    this.goalState = await this.#requireClient().goalState(this.#deadline);
    return this.goalState;
  }

  /** Runs a call that depends on the goal state; on 410 Gone, refreshes the goal state and runs it again. */
  async withFreshGoalState<T>(call: (goalState: CompleteGoalState, client: WireClient) => Promise<T>): Promise<T> {
    for (let refresh = 0; ; refresh++) {
      const goalState = this.goalState ?? (await this.fetchGoalState());
      try {
        return await call(goalState, this.#requireClient());
      } catch (err) {
        if (!(err instanceof WireServerError && err.code === 'GOAL_STATE_CHANGED') || refresh >= GONE_REFRESHES) throw err;
        this.#log.info(`the goal state changed (incarnation ${goalState.incarnation} is gone); fetching it again`);
        this.goalState = undefined;
      }
    }
  }

  /**
   * Posts a health report for the current goal state; returns the HTTP status. `observe` hears the error
   * of every failed attempt, the last one included (whether Ready may have reached the fabric is judged
   * from them: ready-delivery.ts).
   */
  async report(report: Pick<HealthReport, 'state' | 'subStatus' | 'description'>, observe?: (error: unknown) => void): Promise<number> {
    this.#reportObserver = observe;
    try {
      return await this.withFreshGoalState((goalState, client) =>
        client.health(
          {
            ...report,
            incarnation: goalState.incarnation,
            containerId: goalState.containerId,
            instanceId: goalState.roleInstance.instanceId,
          },
          this.#deadline,
        ),
      );
    } catch (err) {
      observe?.(err);
      throw err;
    } finally {
      this.#reportObserver = undefined;
    }
  }

  #requireClient(): WireClient {
    if (this.client === undefined) throw new WireServerError('WIRESERVER_UNREACHABLE', 'the fabric has not been discovered yet', '');
    return this.client;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
