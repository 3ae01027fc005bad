/**
 * Which simulated WireServer endpoint a request is for. The paths are the ones the fabric uses (and our
 * goal state hands out); everything else is a 404, so an agent that builds URLs instead of fetching the
 * goal state's URLs verbatim is caught here.
 */

/** The endpoints the simulator serves; fault scripts and recorded requests are keyed by these names. */
export type EndpointName = 'versions' | 'goalstate' | 'hostingEnvironmentConfig' | 'sharedConfig' | 'certificates' | 'health' | 'roleProperties';

/** Every endpoint name, in the order an agent calls them. */
export const ENDPOINT_NAMES: readonly EndpointName[] = [
  'versions',
  'goalstate',
  'hostingEnvironmentConfig',
  'sharedConfig',
  'certificates',
  'health',
  'roleProperties',
];

/** A request matched to an endpoint, with the incarnation from the query (documents named by the goal state). */
export interface Route {
  endpoint: EndpointName;
  incarnation: string | undefined;
}

/**
 * Escapes a path segment the way the fabric does in goal-state URLs: besides the usual percent-encoding,
 * '-' becomes %2D and '_' becomes %5F (see test/fixtures/fabric/goal-state.xml). An agent must use the
 * URL as given; one that decodes and re-encodes it still matches, because paths are compared decoded.
 */
export function escapeFabricSegment(segment: string): string {
  return encodeURIComponent(segment).replaceAll('-', '%2D').replaceAll('_', '%5F');
}

/** The path under which the goal state's documents (configs, certificates) are served. */
export function documentPath(containerId: string, instanceId: string): string {
  return `/machine/${escapeFabricSegment(containerId)}/${escapeFabricSegment(instanceId)}`;
}

function decodedPath(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

/** Matches method + raw request URL (path and query) to an endpoint; undefined means 404. */
export function routeRequest(method: string | undefined, rawUrl: string | undefined, docPath: string): Route | undefined {
  if (rawUrl === undefined) return undefined;
  const queryAt = rawUrl.indexOf('?');
  const path = queryAt < 0 ? rawUrl : rawUrl.slice(0, queryAt);
  const query = new URLSearchParams(queryAt < 0 ? '' : rawUrl.slice(queryAt + 1));
  // CBI asks for ?comp=Versions: the component name is not case-sensitive on the fabric.
  const comp = query.get('comp')?.toLowerCase();
  const incarnation = query.get('incarnation') ?? undefined;

  if (method === 'GET' && path === '/' && comp === 'versions') return { endpoint: 'versions', incarnation };
  if (method === 'GET' && path === '/machine/' && comp === 'goalstate') return { endpoint: 'goalstate', incarnation };
  // Both spellings are in use for the health report: WALA posts to /machine?, azure-init and AB to /machine/?.
  if (method === 'POST' && (path === '/machine' || path === '/machine/') && comp === 'health') {
    return { endpoint: 'health', incarnation };
  }
  if (method === 'POST' && (path === '/machine' || path === '/machine/') && comp === 'roleproperties') {
    return { endpoint: 'roleProperties', incarnation };
  }
  if (method !== 'GET') return undefined;
  const decoded = decodedPath(path);
  if (decoded === undefined || decoded !== decodedPath(docPath)) return undefined;
  if (comp === 'certificates') return { endpoint: 'certificates', incarnation };
  if (comp === 'config') {
    const type = query.get('type');
    if (type === 'hostingEnvironmentConfig') return { endpoint: 'hostingEnvironmentConfig', incarnation };
    if (type === 'sharedConfig') return { endpoint: 'sharedConfig', incarnation };
  }
  return undefined;
}
