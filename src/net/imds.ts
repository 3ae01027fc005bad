import { WireServerError, toAgentError } from '../errors.ts';
import { fabricRequest } from './http.ts';
import { READ_POLICY, type RetryEvent } from './retry.ts';
import { Secret } from '../util/secret.ts';

/**
 * The user data of the VM from the Azure Instance Metadata Service (IMDS):
 * `GET /metadata/instance/compute/userData?api-version=2021-01-01&format=text` with `Metadata: true`
 * (Azure, "Azure Instance Metadata Service", user data), answered with the base64 text the VM was
 * deployed with. Through http.ts (HTTP/1.1 on a node:net socket): never through a proxy (IMDS refuses proxied requests and
 * a proxy must not see the data), a fresh connection, a capped body, the run's read retry policy
 * (retry.ts READ_POLICY) under a short budget of its own. IMDS absent (Azure Stack Hub, older hosts:
 * no route, refused, 400 or 404) is a result, not an error: the caller logs it and skips the source.
 */

export const IMDS_USER_DATA_PATH = '/metadata/instance/compute/userData?api-version=2021-01-01&format=text';

export interface ImdsOptions {
  /** http://169.254.169.254 on Azure; a loopback simulator in tests (setting "imdsAddress"). */
  baseUrl: string;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  /** IMDS's own budget: cloud-init and azure-init give it minutes; a first-boot script waits less. */
  budgetMs: number;
  /** Largest body accepted (base64 of the size cap, with room for whitespace). */
  maxResponseBytes: number;
  onRetry?: (info: RetryEvent) => void;
}

export type UserDataAnswer =
  | { kind: 'data'; /** The base64 text as IMDS gave it (the user data is a secret). */ base64: Secret<string> }
  | { kind: 'none' }
  /**
   * `absent`: IMDS is not there (no route, refused, 400 or 404), which another try will not change;
   * otherwise it failed this time (5xx, 429 or timeouts past the budget) and may answer later.
   */
  | { kind: 'unavailable'; reason: string; absent: boolean };

export async function fetchUserData(options: ImdsOptions): Promise<UserDataAnswer> {
  const url = `${options.baseUrl.replace(/\/+$/, '')}${IMDS_USER_DATA_PATH}`;
  try {
    const response = await fabricRequest({
      method: 'GET',
      url,
      headers: { Metadata: 'true' },
      connectTimeoutMs: options.connectTimeoutMs,
      readTimeoutMs: options.readTimeoutMs,
      maxResponseBytes: options.maxResponseBytes,
      deadline: Date.now() + options.budgetMs,
      policy: READ_POLICY,
      onRetry: options.onRetry,
    });
    const text = response.body.toString('latin1').trim();
    return text === '' ? { kind: 'none' } : { kind: 'data', base64: new Secret(text) };
  } catch (err) {
    // The reason names the URL, the status or the transport failure; an error body is never user data.
    return { kind: 'unavailable', reason: toAgentError(err).reason.slice(0, 300), absent: imdsAbsent(err) };
  }
}

/** Errors that say IMDS is not there, judged by the last attempt (the retry loop's deadline error carries it). */
function imdsAbsent(err: unknown): boolean {
  const last = err instanceof WireServerError && err.code === 'DEADLINE_EXCEEDED' && err.context['attempts'] !== undefined ? err.cause : err;
  if (!(last instanceof WireServerError)) return false;
  if (last.code === 'WIRESERVER_HTTP') return last.status === 400 || last.status === 404;
  return last.code === 'WIRESERVER_UNREACHABLE' && ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH'].includes(String(last.context['errno']));
}
