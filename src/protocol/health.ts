import { FabricDocumentError } from '../errors.ts';
import { buildXml, type XmlFailure, type XmlNode } from './xml.ts';

/**
 * The health report POSTed to `/machine?comp=health` (shape of WALinuxAgent's `_build_health_report`).
 * It echoes the goal state's incarnation, container id and instance id. Ready carries no Details.
 *
 * What each value may hold (XML 1.0 [2] Char), and what happens otherwise, before any request is sent:
 * - incarnation, container id, instance id: the fabric's own values, echoed verbatim or not at all; one
 *   holding a character XML does not allow is refused (FabricDocumentError 'HealthReport', naming the
 *   element), since a changed id would report on another VM;
 * - state, sub-status: a fixed vocabulary, refused otherwise (only a defect can get there);
 * - description: the agent's own text; forbidden characters are removed (a lone surrogate becomes U+FFFD)
 *   and it is cut to HEALTH_DESCRIPTION_MAX, so a failure can always be reported.
 */

/** Longest description sent, in UTF-16 code units (cloud-init's trim; over-long ones got HTTP 500, WALinuxAgent #2017). */
export const HEALTH_DESCRIPTION_MAX = 512;

/** What a health report says. */
export interface HealthReport {
  incarnation: string;
  containerId: string;
  instanceId: string;
  state: 'Ready' | 'NotReady';
  /** With state NotReady only. */
  subStatus?: 'Provisioning' | 'ProvisioningFailed';
  /** With subStatus only; cleaned and trimmed to HEALTH_DESCRIPTION_MAX. */
  description?: string;
}

// Control characters other than tab and newline, and U+FFFE/U+FFFF, which XML 1.0 (section 2.2, Char) does not allow.
const UNWANTED = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffe\uffff]/g;

const STATES: ReadonlySet<string> = new Set(['Ready', 'NotReady']);
const SUB_STATUSES: ReadonlySet<string> = new Set(['Provisioning', 'ProvisioningFailed']);
const fail: XmlFailure = (field, rule) => new FabricDocumentError('HealthReport', field, rule);

/** Builds the Health XML document for a report; the builder escapes every value. */
export function buildHealthReport(r: HealthReport): string {
  if (!STATES.has(r.state)) throw fail('Health/State', 'must be Ready or NotReady');
  if (r.subStatus !== undefined && !SUB_STATUSES.has(r.subStatus)) throw fail('Details/SubStatus', 'must be Provisioning or ProvisioningFailed');
  const health: XmlNode = { State: r.state };
  if (r.state === 'NotReady' && r.subStatus !== undefined) {
    health['Details'] = { SubStatus: r.subStatus, Description: cleanDescription(r.description ?? '') };
  }
  return buildXml({
    Health: {
      '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      '@_xmlns:xsd': 'http://www.w3.org/2001/XMLSchema',
      GoalStateIncarnation: r.incarnation,
      Container: {
        ContainerId: r.containerId,
        RoleInstanceList: { Role: { InstanceId: r.instanceId, Health: health } },
      },
    },
  }, fail);
}

/**
 * Drops characters XML cannot carry (lone surrogates become U+FFFD) and cuts to HEALTH_DESCRIPTION_MAX
 * code units, never between the two halves of a surrogate pair.
 */
function cleanDescription(text: string): string {
  const cleaned = text.toWellFormed().replace(UNWANTED, '');
  if (cleaned.length <= HEALTH_DESCRIPTION_MAX) return cleaned;
  let end = HEALTH_DESCRIPTION_MAX;
  const last = cleaned.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return cleaned.slice(0, end);
}
