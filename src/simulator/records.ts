import type { HealthVerdict } from './health-check.ts';
import type { RolePropertiesVerdict } from './role-properties.ts';
import type { EndpointName } from './routes.ts';

/** What the simulator writes down about each request and report, for tests to assert (H13). */

/** One request as received. */
export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** undefined for a request that matched no endpoint (answered 404). */
  endpoint: EndpointName | undefined;
  /** Lower-case names; long values (the transport certificate) shortened. */
  headers: Record<string, string>;
  /** Milliseconds since start(). */
  at: number;
  /** The fault step played for this request, e.g. "status 503 (Retry-After: 1)". */
  fault?: string;
}

/** One health report as judged: the fields read, accepted or not, and the status answered. */
export interface ReceivedHealthReport extends HealthVerdict {
  /** Milliseconds since start(). */
  at: number;
}

/** One role properties POST as judged (the RDP certificate thumbprint). */
export interface ReceivedRoleProperties extends RolePropertiesVerdict {
  /** Milliseconds since start(). */
  at: number;
}

/** A tenant certificate as the agent should end up with it. */
export interface ExpectedCertificate {
  /** Upper-case hex SHA-1 of the DER. */
  thumbprint: string;
  friendlyName: string;
  subject: string;
  hasPrivateKey: boolean;
  /** The LocalMachine store the HostingEnvironmentConfig names for it. */
  storeName: string;
}

/** What a correct agent reports and installs against this simulator. */
export interface ExpectedState {
  containerId: string;
  instanceId: string;
  /** The current incarnation, as text (as in the documents). */
  incarnation: string;
  certificates: ExpectedCertificate[];
}
