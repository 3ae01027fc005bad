import { FabricDocumentError } from '../errors.ts';
import { buildXml, type XmlFailure } from './xml.ts';

/**
 * The role properties POSTed to `/machine?comp=roleProperties` (fabric-protocol.md 2.9, the shape of
 * WALinuxAgent's `_build_role_properties`; cloudbase-init posts the RDP certificate thumbprint the same
 * way): the container and role instance from the goal state, and one property, CertificateThumbprint,
 * the SHA-1 thumbprint of the certificate the RDP listener presents. The fabric answers 202 Accepted
 * and keeps the last value it was given.
 */

export const ROLE_PROPERTIES_PATH = '/machine?comp=roleProperties';

/** The one property winprov posts. */
export const CERTIFICATE_THUMBPRINT_PROPERTY = 'CertificateThumbprint';

export interface RoleProperties {
  containerId: string;
  instanceId: string;
  /** Upper-case SHA-1 thumbprint, 40 hexadecimal digits. */
  certificateThumbprint: string;
}

const THUMBPRINT = /^[0-9A-F]{40}$/;
const fail: XmlFailure = (field, rule) => new FabricDocumentError('RoleProperties', field, rule);

/** A thumbprint as Windows and WMI write it (any case, maybe spaced) in the fabric's form, or undefined. */
export function normalizeThumbprint(text: string): string | undefined {
  const compact = text.replace(/[\s:]/g, '').toUpperCase();
  // All zeros is what Win32_TSGeneralSetting holds before Remote Desktop has made its certificate.
  return THUMBPRINT.test(compact) && !/^0+$/.test(compact) ? compact : undefined;
}

/** Builds the RoleProperties document; the builder escapes every value. */
export function buildRoleProperties(p: RoleProperties): string {
  if (!THUMBPRINT.test(p.certificateThumbprint)) throw fail('Property/@value', 'must be 40 upper-case hexadecimal digits (a SHA-1 thumbprint)');
  return buildXml({
    RoleProperties: {
      Container: {
        ContainerId: p.containerId,
        RoleInstances: {
          RoleInstance: {
            Id: p.instanceId,
            Properties: { Property: { '@_name': CERTIFICATE_THUMBPRINT_PROPERTY, '@_value': p.certificateThumbprint } },
          },
        },
      },
    },
  }, fail);
}
