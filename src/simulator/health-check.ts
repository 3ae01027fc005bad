import { AgentError } from '../errors.ts';
import { childrenNamed, parseMiniXml, type MiniElement } from './mini-xml.ts';

/**
 * The simulated fabric's checks on a posted health report (POST /machine?comp=health), with its own
 * reader (mini-xml.ts), in the fabric's order of concern: readable, within limits, for this VM and this
 * goal state, and a state it understands.
 */

/** The WireServer rejects longer descriptions with HTTP 500 (WALinuxAgent #2017; WALA trims to 3686 chars). */
export const MAX_DESCRIPTION_BYTES = 4096;

/** What the fabric expects a report to name: the current goal state. */
export interface HealthExpectation {
  incarnation: number;
  containerId: string;
  instanceId: string;
}

/** The fields read from a report and the verdict on it. */
export interface HealthVerdict {
  state: string;
  subStatus?: string;
  description?: string;
  incarnation: string;
  containerId: string;
  instanceId: string;
  accepted: boolean;
  httpStatus: number;
  /** Why the report was refused; absent when accepted. */
  reason?: string;
}

const DOCUMENT = 'health report';
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The one child of an element, or undefined when absent; more than one is a shape error. */
function only(parent: MiniElement | undefined, name: string, path: string, problems: string[]): MiniElement | undefined {
  if (parent === undefined) return undefined;
  const found = childrenNamed(parent, name);
  if (found.length > 1) problems.push(`${path}/${name} appears ${found.length} times`);
  return found[0];
}

/** Checks one report body against the expected goal state; never throws. */
export function checkHealthReport(body: Uint8Array, expected: HealthExpectation): HealthVerdict {
  const verdict: HealthVerdict = { state: '', incarnation: '', containerId: '', instanceId: '', accepted: false, httpStatus: 400 };
  const refuse = (httpStatus: number, reason: string): HealthVerdict => Object.assign(verdict, { httpStatus, reason });

  let root: MiniElement;
  try {
    root = parseMiniXml(strictUtf8.decode(body), DOCUMENT);
  } catch (err) {
    return refuse(400, err instanceof AgentError ? err.reason : 'body is not valid UTF-8');
  }
  if (root.name !== 'Health') return refuse(400, `root element is <${root.name}>, not <Health>`);

  const problems: string[] = [];
  const incarnation = only(root, 'GoalStateIncarnation', 'Health', problems);
  const container = only(root, 'Container', 'Health', problems);
  const containerId = only(container, 'ContainerId', 'Container', problems);
  const roleList = only(container, 'RoleInstanceList', 'Container', problems);
  const role = only(roleList, 'Role', 'RoleInstanceList', problems);
  const instanceId = only(role, 'InstanceId', 'Role', problems);
  const health = only(role, 'Health', 'Role', problems);
  const state = only(health, 'State', 'Health', problems);
  const details = only(health, 'Details', 'Health', problems);
  const subStatus = only(details, 'SubStatus', 'Details', problems);
  const description = only(details, 'Description', 'Details', problems);

  verdict.incarnation = incarnation?.text.trim() ?? '';
  verdict.containerId = containerId?.text.trim() ?? '';
  verdict.instanceId = instanceId?.text.trim() ?? '';
  verdict.state = state?.text.trim() ?? '';
  if (subStatus) verdict.subStatus = subStatus.text.trim();
  if (description) verdict.description = description.text;

  if (problems.length > 0) return refuse(400, problems[0]!);
  const missing = [
    [incarnation, 'Health/GoalStateIncarnation'],
    [containerId, 'Container/ContainerId'],
    [instanceId, 'RoleInstanceList/Role/InstanceId'],
    [state, 'Role/Health/State'],
  ].find(([element]) => element === undefined);
  if (missing) return refuse(400, `${missing[1] as string} is missing`);

  const descriptionBytes = Buffer.byteLength(verdict.description ?? '', 'utf8');
  if (descriptionBytes > MAX_DESCRIPTION_BYTES) {
    return refuse(500, `Details/Description is ${descriptionBytes} bytes, over the fabric limit of ${MAX_DESCRIPTION_BYTES}`);
  }
  if (verdict.containerId !== expected.containerId) return refuse(400, `ContainerId ${verdict.containerId} is not this VM's container`);
  if (verdict.instanceId !== expected.instanceId) return refuse(400, `InstanceId ${verdict.instanceId} is not this VM's role instance`);
  if (!/^[0-9]+$/.test(verdict.incarnation)) return refuse(400, `GoalStateIncarnation "${verdict.incarnation}" is not a number`);
  const reported = Number(verdict.incarnation);
  // A report for an older goal state is refused with 410 Gone: the agent must fetch the goal state again.
  if (reported < expected.incarnation) return refuse(410, `GoalStateIncarnation ${reported} is stale (current ${expected.incarnation})`);
  if (reported > expected.incarnation) return refuse(400, `GoalStateIncarnation ${reported} is newer than the goal state (${expected.incarnation})`);
  if (verdict.state !== 'Ready' && verdict.state !== 'NotReady') return refuse(400, `State "${verdict.state}" is not Ready or NotReady`);
  if (verdict.state === 'NotReady' && !verdict.subStatus) return refuse(400, 'State NotReady needs Details/SubStatus');
  return Object.assign(verdict, { accepted: true, httpStatus: 200 });
}
