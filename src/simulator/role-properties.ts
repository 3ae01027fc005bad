import { AgentError } from '../errors.ts';
import { childrenNamed, parseMiniXml, type MiniElement } from './mini-xml.ts';

/**
 * The simulated fabric's checks on posted role properties (POST /machine?comp=roleProperties), with its
 * own reader: the shape WALinuxAgent's `_build_role_properties` sends (fabric-protocol.md 2.9),
 * RoleProperties / Container / ContainerId + RoleInstances / RoleInstance / Id + Properties / Property
 * name= value=, for this VM. The fabric answers 202 Accepted and keeps the last properties it took.
 */

/** What the fabric expects the document to name. */
export interface RolePropertiesExpectation {
  containerId: string;
  instanceId: string;
}

/** The fields read and the verdict. */
export interface RolePropertiesVerdict {
  containerId: string;
  instanceId: string;
  /** Every Property, name -> value, in order. */
  properties: { name: string; value: string }[];
  /** The CertificateThumbprint property, when there is one. */
  certificateThumbprint?: string;
  accepted: boolean;
  httpStatus: number;
  reason?: string;
}

const DOCUMENT = 'role properties';
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function single(parent: MiniElement | undefined, name: string): MiniElement | undefined {
  if (parent === undefined) return undefined;
  const found = childrenNamed(parent, name);
  return found.length === 1 ? found[0] : undefined;
}

/** Checks one body; never throws. */
export function checkRoleProperties(body: Uint8Array, expected: RolePropertiesExpectation): RolePropertiesVerdict {
  const verdict: RolePropertiesVerdict = { containerId: '', instanceId: '', properties: [], accepted: false, httpStatus: 400 };
  const refuse = (reason: string): RolePropertiesVerdict => Object.assign(verdict, { reason });
  let root: MiniElement;
  try {
    root = parseMiniXml(strictUtf8.decode(body), DOCUMENT);
  } catch (err) {
    return refuse(err instanceof AgentError ? err.reason : 'body is not valid UTF-8');
  }
  if (root.name !== 'RoleProperties') return refuse(`root element is <${root.name}>, not <RoleProperties>`);
  const container = single(root, 'Container');
  const containerId = single(container, 'ContainerId');
  const instances = single(container, 'RoleInstances');
  const instance = single(instances, 'RoleInstance');
  const id = single(instance, 'Id');
  const properties = single(instance, 'Properties');
  if (containerId === undefined || id === undefined || properties === undefined) {
    return refuse('needs exactly one Container/ContainerId and one RoleInstances/RoleInstance with one Id and one Properties');
  }
  verdict.containerId = containerId.text.trim();
  verdict.instanceId = id.text.trim();
  for (const property of childrenNamed(properties, 'Property')) {
    const name = property.attributes.get('name');
    const value = property.attributes.get('value');
    if (name === undefined || value === undefined) return refuse('a Property lacks its name or value attribute');
    verdict.properties.push({ name, value });
  }
  if (verdict.properties.length === 0) return refuse('Properties holds no Property');
  const thumbprint = verdict.properties.find((p) => p.name === 'CertificateThumbprint')?.value;
  if (thumbprint !== undefined) verdict.certificateThumbprint = thumbprint;
  if (verdict.containerId !== expected.containerId) return refuse(`ContainerId ${verdict.containerId} is not this VM's container`);
  if (verdict.instanceId !== expected.instanceId) return refuse(`Id ${verdict.instanceId} is not this VM's role instance`);
  if (thumbprint !== undefined && !/^[0-9A-Fa-f]{40}$/.test(thumbprint)) return refuse('CertificateThumbprint is not 40 hexadecimal digits');
  return Object.assign(verdict, { accepted: true, httpStatus: 202 });
}
