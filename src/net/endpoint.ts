import { AgentError, ConfigError } from '../errors.ts';
import { parseIPv4 } from './dhcp.ts';

/**
 * Fabric discovery: which WireServer to talk to. A configured URL wins outright. Otherwise option 245
 * from the OS DHCP client's cache (no packet sent), then from our own DHCP query, then the well-known
 * address; each candidate must answer GET /?comp=versions before it is chosen. The sources are injected
 * so the order can be tested without a network.
 */

/** Where the chosen endpoint came from. */
export type FabricSource = 'configured' | 'dhcp-cache' | 'dhcp-query' | 'fallback';

/** The sources and the probe discovery uses; each source returns a dotted IPv4 address or undefined. */
export interface DiscoverFabricInput {
  /** --fabric URL: used as is (trailing slashes dropped), no discovery, no probe. */
  configured?: string;
  /** Option 245 from the OS DHCP client's cache. */
  readCache: () => Promise<string | undefined>;
  /** Option 245 from our own DHCP exchange. */
  queryDhcp: () => Promise<string | undefined>;
  /** True when baseUrl answers GET /?comp=versions. */
  probe: (baseUrl: string) => Promise<boolean>;
  /** Default 168.63.129.16, the address every Azure region uses. */
  fallbackAddress?: string;
  /** Default 80, left out of the URL; the simulator listens elsewhere. */
  wireServerPort?: number;
  log: (message: string) => void;
}

/** The endpoint chosen and where it came from; confirmed means it answered the probe (never probed: configured). */
export interface DiscoveredFabric {
  baseUrl: string;
  source: FabricSource;
  confirmed: boolean;
}

/** The address Azure's WireServer has always had (cloud-init PR #1187: "never changed to date"). */
export const DEFAULT_WIRESERVER_ADDRESS = '168.63.129.16';

const LABEL: Record<FabricSource, string> = {
  configured: 'configured endpoint',
  'dhcp-cache': 'DHCP client cache',
  'dhcp-query': 'DHCP query',
  fallback: 'default address',
};

/**
 * Why an address cannot be a WireServer, or undefined when it can. A DHCP reply is network input: it
 * could say 0.0.0.0, a broadcast or a multicast address. Loopback is allowed (the simulator serves there).
 */
export function unusableAddressReason(address: string): string | undefined {
  const bytes = parseIPv4(address);
  if (bytes === undefined) return 'is not a dotted-quad IPv4 address';
  const first = bytes[0]!;
  if (first === 0) return 'is in 0.0.0.0/8, "this network" (RFC 1122 3.2.1.3), not a host';
  if (bytes.every((octet) => octet === 255)) return 'is the limited broadcast address';
  if (first >= 224 && first <= 239) return 'is a multicast address (224.0.0.0/4, RFC 5771)';
  if (first >= 240) return 'is in the reserved range 240.0.0.0/4 (RFC 1112)';
  return undefined;
}

function describe(err: unknown): string {
  if (err instanceof AgentError) return err.describe();
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Finds the WireServer: configured URL, else DHCP cache, DHCP query, fallback, each confirmed by the probe.
 * A source that throws is logged and skipped. When nothing answers, the fallback is returned unconfirmed
 * rather than failing here: right after boot the fabric route can lag the first probe, and the fabric
 * calls that follow retry under the run's deadline, which ends the run with a proper report if the
 * WireServer never answers.
 */
export async function discoverFabric(input: DiscoverFabricInput): Promise<DiscoveredFabric> {
  const { log } = input;
  if (input.configured !== undefined) {
    const baseUrl = input.configured.replace(/\/+$/, '');
    log(`fabric: using the configured endpoint ${baseUrl} (no discovery)`);
    return { baseUrl, source: 'configured', confirmed: false };
  }

  const port = input.wireServerPort ?? 80;
  const toUrl = (address: string): string => (port === 80 ? `http://${address}` : `http://${address}:${port}`);
  const failedProbes = new Set<string>();
  const tried: string[] = [];

  const confirm = async (source: FabricSource, address: string): Promise<DiscoveredFabric | undefined> => {
    const unusable = unusableAddressReason(address);
    if (unusable !== undefined) {
      log(`fabric: the ${LABEL[source]} gave ${JSON.stringify(address)}, which ${unusable}; skipped`);
      tried.push(`${LABEL[source]} (unusable ${address})`);
      return undefined;
    }
    const baseUrl = toUrl(address);
    if (failedProbes.has(baseUrl)) {
      log(`fabric: the ${LABEL[source]} gave ${baseUrl}, which already did not answer; skipped`);
      tried.push(`${LABEL[source]} (${baseUrl})`);
      return undefined;
    }
    let answered: boolean;
    try {
      answered = await input.probe(baseUrl);
    } catch (err) {
      log(`fabric: probing ${baseUrl} failed: ${describe(err)}`);
      answered = false;
    }
    tried.push(`${LABEL[source]} (${baseUrl})`);
    if (!answered) {
      failedProbes.add(baseUrl);
      log(`fabric: ${baseUrl} from the ${LABEL[source]} did not answer GET /?comp=versions`);
      return undefined;
    }
    log(`fabric: WireServer at ${baseUrl}, from the ${LABEL[source]}, confirmed`);
    return { baseUrl, source, confirmed: true };
  };

  const dhcpSources: [FabricSource, () => Promise<string | undefined>][] = [
    ['dhcp-cache', input.readCache],
    ['dhcp-query', input.queryDhcp],
  ];
  for (const [source, read] of dhcpSources) {
    let address: string | undefined;
    try {
      address = await read();
    } catch (err) {
      log(`fabric: the ${LABEL[source]} failed, trying the next source: ${describe(err)}`);
      tried.push(`${LABEL[source]} (failed)`);
      continue;
    }
    if (address === undefined) {
      log(`fabric: the ${LABEL[source]} has no option 245`);
      tried.push(`${LABEL[source]} (no option 245)`);
      continue;
    }
    const found = await confirm(source, address);
    if (found) return found;
  }

  const fallback = input.fallbackAddress ?? DEFAULT_WIRESERVER_ADDRESS;
  const found = await confirm('fallback', fallback);
  if (found) return found;
  const unusable = unusableAddressReason(fallback);
  if (unusable !== undefined) {
    // Only a wrong fallback setting gets here; nothing is left to try.
    throw new ConfigError('fallbackAddress', `${JSON.stringify(fallback)} ${unusable}`);
  }
  const baseUrl = toUrl(fallback);
  log(`fabric: nothing answered (tried: ${tried.join(', ')}); going on with ${baseUrl} unconfirmed, the fabric calls retry it`);
  return { baseUrl, source: 'fallback', confirmed: false };
}
