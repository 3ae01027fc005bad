import { FabricDocumentError, FabricVersionError } from '../errors.ts';
import { childOf, parseXml, textOf, type XmlFailure, type XmlNode, rootOf } from './xml.ts';

/**
 * The `GET /?comp=versions` answer: the wire protocol versions the fabric prefers and supports.
 * Real fabrics list Preferred 2015-04-05 and 2012-11-30 under Supported; WALinuxAgent's sample lists
 * 2012-11-30 only under Preferred, so both lists count when choosing.
 */

/** The versions document as listed by the fabric, values verbatim. */
export interface FabricVersions {
  preferred: string[];
  supported: string[];
}

/** The protocol versions winprov speaks, newest first. */
export const PROTOCOL_VERSIONS = ['2015-04-05', '2012-11-30'] as const;

/** A protocol version winprov speaks. */
export type ProtocolVersion = (typeof PROTOCOL_VERSIONS)[number];

/** Size limit of a versions document (the real one is about 500 bytes). */
export const VERSIONS_MAX_BYTES = 64 * 1024;

const DOCUMENT = 'Versions';
const MAX_VERSIONS = 64;
const MAX_VERSION_LENGTH = 64;

/** Parses a versions document; throws FabricDocumentError naming the field and the rule. */
export function parseVersions(xml: string | Uint8Array): FabricVersions {
  const fail: XmlFailure = (field, rule) => new FabricDocumentError(DOCUMENT, field, rule);
  const doc = parseXml(xml, fail, { arrays: ['Version'], maxBytes: VERSIONS_MAX_BYTES });
  const root = rootOf(doc, DOCUMENT, fail);
  return {
    preferred: versionList(root, 'Preferred', fail),
    supported: versionList(root, 'Supported', fail),
  };
}

/** The newest version winprov speaks that the fabric lists as preferred or supported; FabricVersionError if none. */
export function chooseProtocolVersion(v: FabricVersions): ProtocolVersion {
  const offered = new Set([...v.preferred, ...v.supported]);
  const chosen = PROTOCOL_VERSIONS.find((version) => offered.has(version));
  if (chosen === undefined) throw new FabricVersionError([...offered]);
  return chosen;
}

/** The Version texts of Preferred or Supported; an absent list is empty (the sample has no Supported 2012-11-30). */
function versionList(root: XmlNode, listName: string, fail: XmlFailure): string[] {
  const list = childOf(root, listName, listName, fail);
  if (list === undefined) {
    if (root[listName] !== undefined) throw fail(listName, 'must contain Version elements, not text');
    return [];
  }
  const raw = list['Version'];
  const items = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (items.length > MAX_VERSIONS) throw fail(`${listName}/Version`, `must appear at most ${MAX_VERSIONS} times`);
  return items.map((item, index) => {
    const field = `${listName}/Version[${index + 1}]`;
    const text = textOf(item, field, fail) ?? '';
    if (text.length === 0 || text.length > MAX_VERSION_LENGTH) {
      throw fail(field, `must be 1 to ${MAX_VERSION_LENGTH} characters`);
    }
    if (!/^[\x21-\x7e]+$/.test(text)) throw fail(field, 'must be printable ASCII without spaces');
    return text;
  });
}
