import { OvfError } from '../errors.ts';
import { Secret } from '../util/secret.ts';
import {
  checkAdminPassword, checkAdminUsername, checkBoolean, checkCertificateSetting, checkComputerName, checkKmsHost,
  checkListener, checkPackageName, checkTimeZone, checkUnattendSetting, quote,
  type CertificateSetting, type UnattendSetting, type WinRmListener,
} from './ovf-rules.ts';
import {
  childOf, childrenOf, decodeUtf8, escapeXml, isNode, parseXml, textOf, type XmlFailure, type XmlNode,
} from './xml.ts';

/**
 * ovf-env.xml, the user's provisioning configuration on the provisioning media (fabric-protocol.md 6.3):
 * Environment / ProvisioningSection / WindowsProvisioningConfigurationSet and
 * Environment / PlatformSettingsSection / PlatformSettings. Elements are read by local name, whatever the
 * prefix (wa:, ns1:, the default namespace: all occur); xsi:nil means absent. Values are verbatim: the
 * password is never trimmed, and names with surrounding whitespace are refused rather than trimmed.
 */

/** The Windows provisioning configuration, validated against Azure's osProfile rules. */
export interface ProvisioningConfig {
  computerName: string;
  adminUsername: string;
  adminPassword: Secret<string>;
  /** ResetPasswordOnFirstLogon; false when absent. */
  resetPasswordOnFirstLogon: boolean;
  enableAutomaticUpdates: boolean | undefined;
  timeZone: string | undefined;
  /**
   * The CustomData element's text when present (base64 per Azure); the bytes the agent writes come from
   * CustomData.bin on the media.
   */
  customData: Secret<string> | undefined;
  /** At most one per protocol; an Http listener carries no thumbprint (one in the document is ignored). */
  winRmListeners: WinRmListener[];
  /** Thumbprints uppercase; storeLocation LocalMachine (the default) or CurrentUser. */
  storedCertificateSettings: CertificateSetting[];
  additionalUnattendContent: UnattendSetting[];
  platform: {
    /** true when absent (Azure's provisionVMAgent default). */
    provisionGuestAgent: boolean;
    guestAgentPackageName: string | undefined;
    kmsServerHostname: string | undefined;
    /** false when absent. */
    preprovisionedVm: boolean;
  };
}

/**
 * Size limit of ovf-env.xml. The largest legitimate part is custom data: at most 65,535 bytes (ARM), which
 * is 87,380 characters of base64. Two unattend settings under 4 KB each grow at most 6x when entity-escaped
 * (&quot;), about 48 KiB; everything else fits in a few KiB. That is under 150 KiB, so 256 KiB leaves room
 * while keeping a hostile document cheap to refuse.
 */
export const OVF_ENV_MAX_BYTES = 256 * 1024;

const ARRAYS = ['CertificateSetting', 'Listener', 'UnattendPass', 'UnattendComponent', 'ComponentSetting'];
const REDACTED = '[redacted]';

// The parser's "not well-formed" messages quote document text (a tag name made of password characters),
// so only the position survives.
const fail: XmlFailure = (field, rule) => {
  if (field === '(document)' && rule.startsWith('is not well-formed XML')) {
    const at = /\(at line \d+, column \d+\)/.exec(rule);
    return new OvfError(field, `is not well-formed XML${at ? ` ${at[0]}` : ''}`);
  }
  return new OvfError(field, rule);
};

/** Parses and validates ovf-env.xml; throws OvfError(field, rule), never quoting a secret. */
export function parseOvfEnv(xml: string | Uint8Array): ProvisioningConfig {
  const environment = environmentOf(parseXml(xml, fail, { arrays: ARRAYS, maxBytes: OVF_ENV_MAX_BYTES }));
  const set = windowsSet(environment);
  const text = (name: string): string | undefined => textOf(set[name], name, fail);
  const password = text('AdminPassword');
  const type = text('ConfigurationSetType');
  if (type !== undefined && type.toLowerCase() !== 'windowsprovisioningconfiguration') {
    throw fail('ConfigurationSetType', `must be WindowsProvisioningConfiguration; got ${quote(type, password)}`);
  }
  const computerName = checkComputerName(text('ComputerName'), password);
  const adminUsername = checkAdminUsername(text('AdminUsername'), password);
  const adminPassword = checkAdminPassword(password, adminUsername);
  const flag = (name: string): boolean | undefined => checkBoolean(name, text(name), password);
  const resetPasswordOnFirstLogon = flag('ResetPasswordOnFirstLogon') ?? false;
  const enableAutomaticUpdates = flag('EnableAutomaticUpdates');
  const timeZone = checkTimeZone(text('TimeZone'), password);
  const customData = text('CustomData');
  return {
    computerName, adminUsername, adminPassword, resetPasswordOnFirstLogon, enableAutomaticUpdates, timeZone,
    customData: customData === undefined || customData === '' ? undefined : new Secret(customData),
    winRmListeners: winRmListeners(set, password),
    storedCertificateSettings: storedCertificates(set, password),
    additionalUnattendContent: unattendContent(set, password),
    platform: platformSettings(environment, password),
  };
}

function environmentOf(doc: XmlNode): XmlNode {
  const roots = Object.keys(doc).filter((key) => !key.startsWith('#') && !key.startsWith('@_'));
  const environment = childOf(doc, 'Environment', 'Environment', fail);
  if (environment === undefined || roots.length !== 1) throw fail('Environment', 'must be the one root element');
  return environment;
}

function windowsSet(environment: XmlNode): XmlNode {
  const section = childOf(environment, 'ProvisioningSection', 'ProvisioningSection', fail);
  if (section === undefined) throw fail('ProvisioningSection', 'is missing; it is required');
  if (section['LinuxProvisioningConfigurationSet'] !== undefined) {
    const rule = 'is a Linux provisioning configuration, but this image is Windows: deploy it with a Windows osProfile';
    throw fail('LinuxProvisioningConfigurationSet', rule);
  }
  const set = childOf(section, 'WindowsProvisioningConfigurationSet', 'WindowsProvisioningConfigurationSet', fail);
  if (set === undefined) throw fail('WindowsProvisioningConfigurationSet', 'is missing; it is required');
  return set;
}

function winRmListeners(set: XmlNode, password: string | undefined): WinRmListener[] {
  const winRm = childOf(set, 'WinRM', 'WinRM', fail);
  const listeners = winRm && childOf(winRm, 'Listeners', 'Listeners', fail);
  if (listeners === undefined) return [];
  const result: WinRmListener[] = [];
  childrenOf(listeners, 'Listener', 'Listener', fail).forEach((node, index) => {
    const where = `WinRM listener ${index + 1}`;
    const text = (name: string): string | undefined => textOf(node[name], name, fail);
    const listener = checkListener(text('Protocol'), text('CertificateThumbprint'), where, password);
    // One listener per transport and address is all WinRM allows; a second would fail at apply time.
    if (result.some((other) => other.protocol === listener.protocol)) {
      throw fail('Protocol', `in ${where} repeats ${listener.protocol}; each protocol may have one listener`);
    }
    result.push(listener);
  });
  return result;
}

function storedCertificates(set: XmlNode, password: string | undefined): CertificateSetting[] {
  const settings = childOf(set, 'StoredCertificateSettings', 'StoredCertificateSettings', fail);
  if (settings === undefined) return [];
  return childrenOf(settings, 'CertificateSetting', 'CertificateSetting', fail).map((node, index) => {
    const text = (name: string): string | undefined => textOf(node[name], name, fail);
    const raw = { storeLocation: text('StoreLocation'), storeName: text('StoreName'), thumbprint: text('Thumbprint') };
    return checkCertificateSetting(raw, `certificate setting ${index + 1}`, password);
  });
}

// AdditionalUnattendContent / Passes / UnattendPass / Components / UnattendComponent / ComponentSettings /
// ComponentSetting, flattened into ARM's one-list shape.
function unattendContent(set: XmlNode, password: string | undefined): UnattendSetting[] {
  const additional = childOf(set, 'AdditionalUnattendContent', 'AdditionalUnattendContent', fail);
  const passes = additional && childOf(additional, 'Passes', 'Passes', fail);
  if (passes === undefined) return [];
  const result: UnattendSetting[] = [];
  const nested = (node: XmlNode, container: string, item: string): XmlNode[] => {
    const parent = childOf(node, container, container, fail);
    return parent === undefined ? [] : childrenOf(parent, item, item, fail);
  };
  childrenOf(passes, 'UnattendPass', 'UnattendPass', fail).forEach((pass, p) => {
    const passName = textOf(pass['PassName'], 'PassName', fail);
    nested(pass, 'Components', 'UnattendComponent').forEach((component, c) => {
      const componentName = textOf(component['ComponentName'], 'ComponentName', fail);
      nested(component, 'ComponentSettings', 'ComponentSetting').forEach((setting, s) => {
        const where = `unattend pass ${p + 1}, component ${c + 1}, setting ${s + 1}`;
        const settingName = textOf(setting['SettingName'], 'SettingName', fail);
        const content = textOf(setting['Content'], 'Content', fail);
        const checked = checkUnattendSetting({ passName, componentName, settingName, content }, where, password);
        if (result.some((other) => other.settingName === checked.settingName)) {
          throw fail('SettingName', `in ${where} repeats ${checked.settingName}; each setting may appear once`);
        }
        result.push(checked);
      });
    });
  });
  return result;
}

function platformSettings(environment: XmlNode, password: string | undefined): ProvisioningConfig['platform'] {
  const section = childOf(environment, 'PlatformSettingsSection', 'PlatformSettingsSection', fail);
  const settings = section && childOf(section, 'PlatformSettings', 'PlatformSettings', fail);
  const text = (name: string): string | undefined => settings && textOf(settings[name], name, fail);
  return {
    provisionGuestAgent: checkBoolean('ProvisionGuestAgent', text('ProvisionGuestAgent'), password) ?? true,
    guestAgentPackageName: checkPackageName(text('GuestAgentPackageName'), password),
    kmsServerHostname: checkKmsHost(text('KmsServerHostname'), password),
    preprovisionedVm: checkBoolean('PreprovisionedVm', text('PreprovisionedVm'), password) ?? false,
  };
}

// ---- Redaction -------------------------------------------------------------------------------------

/** Element local names whose content is secret: anything with Password in it, CustomData, unattend Content. */
function isSecretElement(qualifiedName: string): boolean {
  const local = qualifiedName.slice(qualifiedName.lastIndexOf(':') + 1);
  return /password|customdata/i.test(local) || /^content$/i.test(local);
}

/**
 * The copy of ovf-env.xml that is saved: the original text with the content of every secret element
 * (AdminPassword, DomainJoin Password, anything named *Password*, CustomData, Content) and every *Password*
 * attribute value replaced by "[redacted]", whatever the prefix, CDATA or nesting; comments are dropped.
 * A document that is not well-formed, too large, or whose secret shows up anywhere else yields a
 * placeholder document instead: a secret is never returned.
 */
export function redactOvfEnv(xml: string | Uint8Array): string {
  const size = typeof xml === 'string' ? Buffer.byteLength(xml, 'utf8') : xml.byteLength;
  if (size > OVF_ENV_MAX_BYTES) return placeholder(size, `it is larger than the limit of ${OVF_ENV_MAX_BYTES} bytes`);
  let original: XmlNode;
  let text: string;
  try {
    original = parseXml(xml, fail, { maxBytes: OVF_ENV_MAX_BYTES });
    text = typeof xml === 'string' ? xml : decodeUtf8(xml, fail);
  } catch {
    return placeholder(size, 'it could not be read as XML');
  }
  const copy = redactText(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  if (copy === undefined) return placeholder(size, 'it could not be read as XML');
  try {
    parseXml(copy, fail, { maxBytes: 2 * OVF_ENV_MAX_BYTES });
  } catch {
    return placeholder(size, 'the redacted text did not read back as XML');
  }
  // A second line of defence: no secret the parser saw may survive, raw or escaped. Values shorter than
  // 6 characters are skipped: they collide with ordinary markup and are no valid password anyway.
  for (const secret of secretValues(original)) {
    if (secret.trim().length >= 6 && (copy.includes(secret) || copy.includes(escapeXml(secret)))) {
      return placeholder(size, 'a secret value also appears outside its element');
    }
  }
  return copy;
}

function placeholder(size: number, reason: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>\n' +
    `<!-- This ovf-env.xml was not kept because ${reason}; it may hold the admin password or custom data. -->\n` +
    `<OvfEnvNotSaved bytes="${size}"/>\n`
  );
}

/** Every text the parser read inside a secret element or a *Password* attribute. */
function secretValues(node: unknown, inside = false, found: string[] = []): string[] {
  if (typeof node === 'string') {
    if (inside) found.push(node);
  } else if (Array.isArray(node)) {
    for (const item of node) secretValues(item, inside, found);
  } else if (isNode(node)) {
    for (const [key, value] of Object.entries(node)) {
      const secret = key.startsWith('@_') ? /password/i.test(key) : key !== '#text' && isSecretElement(key);
      secretValues(value, inside || secret, found);
    }
  }
  return found;
}

// One token at a time: a comment (group 1, dropped), CDATA, a processing instruction, an end tag (group 2),
// a start tag (group 3; quoted values may hold '>'), text, or a lone '<': a declaration (DOCTYPE) or broken markup.
const TOKEN = new RegExp(
  String.raw`(<!--[^]*?-->)|<!\[CDATA\[[^]*?\]\]>|<\?[^]*?\?>|<\/([^\s>]+)\s*>` +
    String.raw`|<([^\s/>!?<]+)(?:[^<>"']|"[^"]*"|'[^']*')*>|[^<]+|<`,
  'y',
);
const PASSWORD_ATTRIBUTE = /(\s[^\s=<>]*password[^\s=<>]*\s*=\s*)(["'])[^]*?\2/gi;

/** Copies the text, dropping the content of secret elements and comments; undefined when the markup is broken. */
function redactText(text: string): string | undefined {
  const token = new RegExp(TOKEN);
  const stack: string[] = [];
  let out = '';
  let hiddenDepth = -1; // stack depth of the secret element whose content is being dropped; -1 while copying
  let contentStart = 0;
  let position = 0;
  for (let match = token.exec(text); match !== null; match = token.exec(text)) {
    const [part, comment, endName, startName] = match;
    if (part === '<') return undefined;
    if (endName !== undefined) {
      if (stack.pop() !== endName) return undefined;
      if (stack.length === hiddenDepth) {
        if (match.index > contentStart) out += REDACTED;
        hiddenDepth = -1;
      }
    }
    // Comments are dropped: the fabric writes none, and one is a place a secret could hide.
    if (hiddenDepth < 0 && comment === undefined) {
      out += startName === undefined ? part : part.replace(PASSWORD_ATTRIBUTE, `$1$2${REDACTED}$2`);
    }
    if (startName !== undefined && !part.endsWith('/>')) {
      if (hiddenDepth < 0 && isSecretElement(startName)) {
        hiddenDepth = stack.length;
        contentStart = match.index + part.length;
      }
      stack.push(startName);
    }
    position = match.index + part.length;
  }
  return stack.length === 0 && position === text.length ? out : undefined;
}
