import { FabricDocumentError } from '../errors.ts';
import { childOf, childrenOf, parseXml, textOf, type XmlFailure, type XmlNode, rootOf } from './xml.ts';
import { CONTROL } from '../util/escape.ts';

/**
 * The `GET /machine/?comp=goalstate` answer. Incarnation, ContainerId and InstanceId are echoed in every
 * health report, so they are required and kept verbatim; the configuration URLs are absolute, XML-escaped
 * in the document (`&amp;`) and fetched exactly as decoded.
 */

/** Path of the goal state (note the slash before `?`, as WALinuxAgent and cloud-init send it). */
export const GOAL_STATE_PATH = '/machine/?comp=goalstate';
/** Path of the versions document. */
export const VERSIONS_PATH = '/?comp=versions';
/** Path the health report is POSTed to. */
export const HEALTH_PATH = '/machine?comp=health';

/** Size limit of a goal state document (the real one is about 2 KB). */
export const GOAL_STATE_MAX_BYTES = 256 * 1024;

/** The parts of the goal state winprov uses, values verbatim. */
export interface GoalState {
  incarnation: string;
  containerId: string;
  expectedState: string | undefined;
  /** Undefined when RoleInstanceList has none: some fabrics briefly answer so; the caller re-fetches, bounded. */
  roleInstance: RoleInstance | undefined;
}

/** The first RoleInstance of the goal state and its configuration URLs. */
export interface RoleInstance {
  instanceId: string;
  hostingEnvironmentConfigUrl: string | undefined;
  sharedConfigUrl: string | undefined;
  /** Absent when the VM has no certificates. */
  certificatesUrl: string | undefined;
  configName: string | undefined;
}

const DOCUMENT = 'GoalState';
const MAX_ID_LENGTH = 256;
const MAX_URL_LENGTH = 2048;
// Up to 20 digits: a uint64, the widest counter any fabric client stores the incarnation in.
const INCARNATION = /^[0-9]{1,20}$/;

/** Parses a goal state; throws FabricDocumentError naming the field and the rule. */
export function parseGoalState(xml: string | Uint8Array): GoalState {
  const fail: XmlFailure = (field, rule) => new FabricDocumentError(DOCUMENT, field, rule);
  const doc = parseXml(xml, fail, { arrays: ['RoleInstance'], maxBytes: GOAL_STATE_MAX_BYTES });
  const root = rootOf(doc, DOCUMENT, fail);

  const incarnation = requiredText(root, 'Incarnation', 'Incarnation', fail);
  if (!INCARNATION.test(incarnation)) throw fail('Incarnation', 'must be 1 to 20 digits');

  const machine = childOf(root, 'Machine', 'Machine', fail);
  const expectedState = machine === undefined ? undefined : optionalId(machine, 'ExpectedState', 'Machine/ExpectedState', fail);

  const container = childOf(root, 'Container', 'Container', fail);
  if (container === undefined) throw fail('Container', 'is required');
  const containerId = requiredId(container, 'ContainerId', 'Container/ContainerId', fail);

  const list = childOf(container, 'RoleInstanceList', 'Container/RoleInstanceList', fail);
  // More than one RoleInstance never happens for a VM; the first is the one the fabric reports on.
  const first = list === undefined ? undefined : childrenOf(list, 'RoleInstance', 'Container/RoleInstanceList/RoleInstance', fail)[0];
  const roleInstance = first === undefined ? undefined : parseRoleInstance(first, fail);

  return { incarnation, containerId, expectedState, roleInstance };
}

function parseRoleInstance(node: XmlNode, fail: XmlFailure): RoleInstance {
  const path = 'Container/RoleInstanceList/RoleInstance';
  const instanceId = requiredId(node, 'InstanceId', `${path}/InstanceId`, fail);
  const config = childOf(node, 'Configuration', `${path}/Configuration`, fail) ?? {};
  const at = (name: string): string => `${path}/Configuration/${name}`;
  return {
    instanceId,
    hostingEnvironmentConfigUrl: optionalUrl(config, 'HostingEnvironmentConfig', at('HostingEnvironmentConfig'), fail),
    sharedConfigUrl: optionalUrl(config, 'SharedConfig', at('SharedConfig'), fail),
    certificatesUrl: optionalUrl(config, 'Certificates', at('Certificates'), fail),
    configName: optionalId(config, 'ConfigName', at('ConfigName'), fail),
  };
}

function requiredText(node: XmlNode, name: string, field: string, fail: XmlFailure): string {
  const text = textOf(node[name], field, fail);
  if (text === undefined) throw fail(field, 'is required');
  return text;
}

function requiredId(node: XmlNode, name: string, field: string, fail: XmlFailure): string {
  return checkId(requiredText(node, name, field, fail), field, fail);
}

function optionalId(node: XmlNode, name: string, field: string, fail: XmlFailure): string | undefined {
  const text = textOf(node[name], field, fail);
  return text === undefined ? undefined : checkId(text, field, fail);
}

/** Ids go back to the fabric in the health report and into logs: bounded, and no control characters. */
function checkId(text: string, field: string, fail: XmlFailure): string {
  if (text.length === 0) throw fail(field, 'must not be empty');
  if (text.length > MAX_ID_LENGTH) throw fail(field, `must be at most ${MAX_ID_LENGTH} characters`);
  if (CONTROL.test(text)) throw fail(field, 'must not contain control characters');
  return text;
}

/** A configuration URL: absolute http(s), printable ASCII with no spaces (it is fetched verbatim). */
function optionalUrl(node: XmlNode, name: string, field: string, fail: XmlFailure): string | undefined {
  const text = textOf(node[name], field, fail);
  if (text === undefined) return undefined;
  if (text.length === 0) throw fail(field, 'must not be empty');
  if (text.length > MAX_URL_LENGTH) throw fail(field, `must be at most ${MAX_URL_LENGTH} characters`);
  if (!/^[\x21-\x7e]+$/.test(text)) throw fail(field, 'must be printable ASCII without spaces');
  // WHATWG URL parsing alone accepts "http:host" as absolute; require the "//" authority form.
  if (!/^https?:\/\//i.test(text) || !URL.canParse(text)) throw fail(field, 'must be an absolute http or https URL');
  return text;
}
