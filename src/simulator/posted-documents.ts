import type { IncomingMessage } from 'node:http';
import { textAnswer, type Answer } from './answers.ts';
import { checkHealthReport, type HealthExpectation, type HealthVerdict } from './health-check.ts';
import { readBody } from './replies.ts';
import { checkRoleProperties, type RolePropertiesExpectation, type RolePropertiesVerdict } from './role-properties.ts';

/**
 * What the simulated fabric makes of the documents the agent posts (health reports, role properties):
 * the body read up to a cap, checked (health-check.ts, role-properties.ts), a scripted status overriding
 * the verdict, and the answer. The simulator (server.ts) records each verdict.
 */

/** A health report body larger than this is refused unread (413); real ones are well under 8 KiB. */
const MAX_HEALTH_BODY = 64 * 1024;

/**
 * Reads and checks one health report against the goal state current once it is read (`expected`); a
 * scripted status overrides the verdict (the report is then not accepted).
 */
export async function judgeHealthReport(req: IncomingMessage, expected: () => HealthExpectation, scriptedStatus?: number): Promise<{ verdict: HealthVerdict; answer: Answer }> {
  const body = await readBody(req, MAX_HEALTH_BODY);
  const expectation = expected();
  const verdict =
    body === undefined
      ? { state: '', incarnation: '', containerId: '', instanceId: '', accepted: false, httpStatus: 413, reason: `body over ${MAX_HEALTH_BODY} bytes` }
      : checkHealthReport(body, expectation);
  if (scriptedStatus !== undefined) Object.assign(verdict, { accepted: false, httpStatus: scriptedStatus, reason: `scripted status ${scriptedStatus}` });
  if (!verdict.accepted) return { verdict, answer: textAnswer(verdict.httpStatus, verdict.reason ?? 'refused') };
  // The real WireServer answers 200 with an empty body (azure-init testing-server notes), plus the latest incarnation.
  return { verdict, answer: { status: 200, body: '', contentType: 'text/xml; charset=utf-8', headers: { 'x-ms-latest-goal-state-incarnation-number': String(expectation.incarnation) } } };
}

/** Reads and checks role properties; 202 Accepted with no body, as WALinuxAgent expects (fabric-protocol.md 2.1). */
export async function judgeRoleProperties(req: IncomingMessage, expected: RolePropertiesExpectation, scriptedStatus?: number): Promise<{ verdict: RolePropertiesVerdict; answer: Answer }> {
  const body = await readBody(req, MAX_HEALTH_BODY);
  const verdict = body === undefined
    ? { containerId: '', instanceId: '', properties: [], accepted: false, httpStatus: 413, reason: `body over ${MAX_HEALTH_BODY} bytes` }
    : checkRoleProperties(body, expected);
  if (scriptedStatus !== undefined) Object.assign(verdict, { accepted: false, httpStatus: scriptedStatus, reason: `scripted status ${scriptedStatus}` });
  return { verdict, answer: verdict.accepted ? { status: 202, body: '', contentType: 'text/xml; charset=utf-8' } : textAnswer(verdict.httpStatus, verdict.reason ?? 'refused') };
}
