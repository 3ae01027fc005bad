import { FabricDocumentError } from '../errors.ts';
import { attributeOf, childOf, childrenOf, parseXml, type XmlFailure, type XmlNode, rootOf } from './xml.ts';
import { CONTROL } from '../util/escape.ts';

/**
 * The HostingEnvironmentConfig document (URL from the goal state). winprov reads only StoredCertificates:
 * which certificate store each fabric certificate goes to. The store name reaches the OS, so it is held to
 * a strict character set.
 */

/** Where one fabric certificate is to be imported. */
export interface StoredCertificate {
  name: string;
  /** Uppercase hex SHA-1, from certificateId "sha1:...". */
  thumbprint: string;
  storeName: string;
  /** configurationLevel "System" is LocalMachine, "User" is CurrentUser. */
  storeLocation: 'LocalMachine' | 'CurrentUser';
}

/** The parts of HostingEnvironmentConfig winprov uses. */
export interface HostingEnvironmentConfig {
  storedCertificates: StoredCertificate[];
}

/** Size limit of a HostingEnvironmentConfig document (the real one is a few KB). */
export const HOSTING_ENV_MAX_BYTES = 1024 * 1024;

const DOCUMENT = 'HostingEnvironmentConfig';
const MAX_CERTIFICATES = 100;
const MAX_NAME_LENGTH = 256;
const CERTIFICATE_ID = /^sha1:([0-9a-f]{40})$/i;
// Letters, digits, space, '-', '_', '.'; no leading/trailing space or dot, so "." and ".." (which a
// PowerShell Cert:\ path would resolve as folders) and names Windows would silently trim are refused.
const STORE_NAME = /^[A-Za-z0-9_-](?:[A-Za-z0-9 ._-]{0,62}[A-Za-z0-9_-])?$/;
const LOCATIONS: Readonly<Record<string, StoredCertificate['storeLocation']>> = {
  System: 'LocalMachine',
  User: 'CurrentUser',
};

/** Parses a HostingEnvironmentConfig; throws FabricDocumentError naming the field and the rule. */
export function parseHostingEnvironmentConfig(xml: string | Uint8Array): HostingEnvironmentConfig {
  const fail: XmlFailure = (field, rule) => new FabricDocumentError(DOCUMENT, field, rule);
  const doc = parseXml(xml, fail, { arrays: ['StoredCertificate'], maxBytes: HOSTING_ENV_MAX_BYTES });
  const root = rootOf(doc, DOCUMENT, fail);
  const stored = childOf(root, 'StoredCertificates', 'StoredCertificates', fail);
  if (stored === undefined) {
    if (root['StoredCertificates'] !== undefined) throw fail('StoredCertificates', 'must contain elements, not text');
    return { storedCertificates: [] };
  }
  const nodes = childrenOf(stored, 'StoredCertificate', 'StoredCertificates/StoredCertificate', fail);
  if (nodes.length > MAX_CERTIFICATES) {
    throw fail('StoredCertificates/StoredCertificate', `must appear at most ${MAX_CERTIFICATES} times`);
  }
  return {
    storedCertificates: nodes.map((node, index) =>
      parseStoredCertificate(node, `StoredCertificates/StoredCertificate[${index + 1}]`, fail),
    ),
  };
}

function parseStoredCertificate(node: XmlNode, path: string, fail: XmlFailure): StoredCertificate {
  const attribute = (name: string): string => {
    const value = attributeOf(node, name);
    if (value === undefined) throw fail(`${path}/@${name}`, 'is required');
    return value;
  };

  const name = attribute('name');
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw fail(`${path}/@name`, `must be 1 to ${MAX_NAME_LENGTH} characters`);
  }
  if (CONTROL.test(name)) throw fail(`${path}/@name`, 'must not contain control characters');

  const id = CERTIFICATE_ID.exec(attribute('certificateId'));
  if (id === null) throw fail(`${path}/@certificateId`, 'must be "sha1:" followed by 40 hex digits');

  const storeName = attribute('storeName');
  if (!STORE_NAME.test(storeName)) {
    throw fail(
      `${path}/@storeName`,
      'must be 1 to 64 letters, digits, spaces, "-", "_" or ".", not starting or ending with a space or "."',
    );
  }

  const level = attribute('configurationLevel');
  const storeLocation = Object.hasOwn(LOCATIONS, level) ? LOCATIONS[level] : undefined;
  if (storeLocation === undefined) throw fail(`${path}/@configurationLevel`, 'must be "System" or "User"');

  return { name, thumbprint: id[1]!.toUpperCase(), storeName, storeLocation };
}
