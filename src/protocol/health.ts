import { buildXml, type XmlNode } from './xml.ts';

/**
 * The health report POSTed to `/machine?comp=health` (shape of WALinuxAgent's `_build_health_report`).
 * It echoes the goal state's incarnation, container id and instance id. Ready carries no Details.
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

/** Builds the Health XML document for a report; the builder escapes every value. */
export function buildHealthReport(r: HealthReport): string {
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
  });
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
