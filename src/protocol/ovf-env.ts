import { OvfError } from '../errors.ts';
import { Secret } from '../util/secret.ts';
import {
  checkAdminPassword, checkAdminUsername, checkBoolean, checkCertificateSetting, checkComputerName, checkKmsHost,
  checkListener, checkPackageName, checkTimeZone, checkUnattendSetting, quote,
  type CertificateSetting, type UnattendSetting, type WinRmListener,
} from './ovf-rules.ts';
import { childOf, childrenOf, isNode, parseXml, textOf, type ParseOptions, type XmlFailure, type XmlNode } from './xml.ts';
import { redactOvfEnv, redactParsedOvfEnv } from './ovf-redact.ts';
import { OVF_ENV_MAX_BYTES } from './ovf-rules.ts';

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


const ARRAYS = ['CertificateSetting', 'Listener', 'UnattendPass', 'UnattendComponent', 'ComponentSetting'];

// fast-xml-parser's "not well-formed" messages quote document text (a tag name made of password
// characters), so only the position survives; the well-formedness check's own rules (position, then
// rule) quote nothing of the document and are kept.
const fail: XmlFailure = (field, rule) => {
  if (field === '(document)' && rule.startsWith('is not well-formed XML') && !/^is not well-formed XML \(at line \d+, column \d+\): /.test(rule)) {
    const at = /\(at line \d+, column \d+\)/.exec(rule);
    return new OvfError(field, `is not well-formed XML${at ? ` ${at[0]}` : ''}`);
  }
  return new OvfError(field, rule);
};

// ovf-env.xml errors name an element by its local name alone (AdminPassword, not a path).
const PARSE: ParseOptions = {
  arrays: ARRAYS,
  maxBytes: OVF_ENV_MAX_BYTES,
  fieldName: (elements, attribute) => (attribute === undefined ? elements.at(-1)! : `${elements.at(-1)}/@${attribute}`),
};

/** Parses and validates ovf-env.xml; throws OvfError(field, rule), never quoting a secret. */
export function parseOvfEnv(xml: string | Uint8Array): ProvisioningConfig {
  return configOf(parseXml(xml, fail, PARSE));
}

/**
 * Reads ovf-env.xml once for both of its uses: the redacted copy to save (always available, even for a
 * document that fails validation) and the validated configuration (which may throw OvfError).
 */
export function readOvfEnv(xml: string | Uint8Array): { redacted: string; config: () => ProvisioningConfig } {
  let document: XmlNode | undefined;
  let failure: unknown;
  try {
    document = parseXml(xml, fail, PARSE);
  } catch (err) {
    failure = err;
  }
  return {
    redacted: redactParsedOvfEnv(xml, document),
    config: () => {
      if (document === undefined) throw failure;
      return configOf(document);
    },
  };
}

export { redactOvfEnv, OVF_ENV_MAX_BYTES };

function configOf(document: XmlNode): ProvisioningConfig {
  const environment = environmentOf(document);
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
