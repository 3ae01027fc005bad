import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProvisioningScenario } from './scenario.ts';
import { escapeXml } from './templates.ts';

/**
 * The provisioning media Azure attaches to a Windows VM: a drive marked by a tag file, holding ovf-env.xml
 * and, when the VM has custom data, CustomData.bin (raw bytes, not base64) - see fabric-protocol.md 6.1.
 */

/** The tag file that marks the provisioning drive (cloudbase-init azureservice.py looks for it). */
export const MEDIA_TAG_FILE = 'E6DA6616-8EC4-48E0-BE93-58CE6ACE3CFB.tag';

/** A certificate the ovf-env names (StoredCertificateSettings, WinRM Https listener). */
export interface MediaCertificate {
  thumbprint: string;
  storeName: string;
}

/** A package name of the shape the fabric puts in PlatformSettings when the guest agent is to be installed. */
export const GUEST_AGENT_PACKAGE = 'WindowsAzureVmAgent.2.7.41491.1102_240111-2208.fre.zip';

function element(name: string, value: string | boolean | undefined): string[] {
  return value === undefined ? [] : [`<${name}>${escapeXml(String(value))}</${name}>`];
}

function storedCertificates(certificates: readonly MediaCertificate[]): string[] {
  if (certificates.length === 0) return [];
  const settings = certificates.map(
    (c) =>
      `  <CertificateSetting><StoreLocation>LocalMachine</StoreLocation><StoreName>${escapeXml(c.storeName)}</StoreName><Thumbprint>${escapeXml(c.thumbprint)}</Thumbprint></CertificateSetting>`,
  );
  return ['<StoredCertificateSettings>', ...settings, '</StoredCertificateSettings>'];
}

function winRm(scenario: ProvisioningScenario, certificates: readonly MediaCertificate[]): string[] {
  const first = certificates[0];
  if (scenario.winRmHttps !== true || first === undefined) return [];
  return [
    '<WinRM>',
    '  <Listeners>',
    `    <Listener><Protocol>Https</Protocol><CertificateThumbprint>${escapeXml(first.thumbprint)}</CertificateThumbprint></Listener>`,
    '  </Listeners>',
    '</WinRM>',
  ];
}

/** AdditionalUnattendContent as the ovf-env.xml nests it (fabric-protocol.md 6.3), each Content escaped. */
function unattendContent(scenario: ProvisioningScenario): string[] {
  const settings = ([['AutoLogon', scenario.autoLogonContent], ['FirstLogonCommands', scenario.firstLogonCommandsContent]] as const)
    .filter(([, content]) => content !== undefined)
    .map(([name, content]) => `<ComponentSetting><SettingName>${name}</SettingName><Content>${escapeXml(content!)}</Content></ComponentSetting>`);
  if (settings.length === 0) return [];
  return [
    '<AdditionalUnattendContent><Passes><UnattendPass><PassName>oobeSystem</PassName><Components><UnattendComponent>',
    `  <ComponentName>Microsoft-Windows-Shell-Setup</ComponentName><ComponentSettings>${settings.join('')}</ComponentSettings>`,
    '</UnattendComponent></Components></UnattendPass></Passes></AdditionalUnattendContent>',
  ];
}

/**
 * ovf-env.xml in the Windows shape (fabric-protocol.md 6.3): wa:-prefixed sections, the configuration
 * sets in the windowsazure default namespace with the i: prefix for xsi, values XML-escaped.
 */
export function ovfEnvXml(scenario: ProvisioningScenario, certificates: readonly MediaCertificate[]): string {
  const provisioning = [
    '<ConfigurationSetType>WindowsProvisioningConfiguration</ConfigurationSetType>',
    ...element('ComputerName', scenario.computerName),
    ...element('AdminPassword', scenario.adminPassword),
    ...element('ResetPasswordOnFirstLogon', scenario.resetPasswordOnFirstLogon ?? false),
    ...element('EnableAutomaticUpdates', scenario.enableAutomaticUpdates ?? true),
    ...element('TimeZone', scenario.timeZone),
    ...storedCertificates(certificates),
    ...winRm(scenario, certificates),
    ...element('AdminUsername', scenario.adminUsername),
    ...element('CustomData', scenario.customData === undefined ? undefined : Buffer.from(scenario.customData, 'utf8').toString('base64')),
    ...unattendContent(scenario),
  ];
  const platform = [
    '<KmsServerHostname>kms.core.windows.net</KmsServerHostname>',
    ...element('ProvisionGuestAgent', scenario.provisionGuestAgent),
    scenario.provisionGuestAgent ? `<GuestAgentPackageName>${escapeXml(GUEST_AGENT_PACKAGE)}</GuestAgentPackageName>` : '<GuestAgentPackageName i:nil="true" />',
    '<UseAVMA>false</UseAVMA>',
    '<RetainWindowsPEPassInUnattend>true</RetainWindowsPEPassInUnattend>',
    '<RetainOfflineServicingPassInUnattend>true</RetainOfflineServicingPassInUnattend>',
    '<PreprovisionedVm>false</PreprovisionedVm>',
  ];
  const indent = (lines: string[]): string => lines.map((line) => `      ${line}`).join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" xmlns:wa="http://schemas.microsoft.com/windowsazure" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <wa:ProvisioningSection>
    <wa:Version>1.0</wa:Version>
    <WindowsProvisioningConfigurationSet xmlns="http://schemas.microsoft.com/windowsazure" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
${indent(provisioning)}
    </WindowsProvisioningConfigurationSet>
  </wa:ProvisioningSection>
  <wa:PlatformSettingsSection>
    <wa:Version>1.0</wa:Version>
    <PlatformSettings xmlns="http://schemas.microsoft.com/windowsazure" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
${indent(platform)}
    </PlatformSettings>
  </wa:PlatformSettingsSection>
</Environment>
`;
}

/** Writes the media files into dir (created if missing): ovf-env.xml, the tag file, CustomData.bin when there is custom data. */
export async function writeMedia(dir: string, scenario: ProvisioningScenario, certificates: readonly MediaCertificate[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  // The media carries the admin password in clear text, as the real one does: keep it private to the owner.
  await writeFile(join(dir, 'ovf-env.xml'), ovfEnvXml(scenario, certificates), { mode: 0o600 });
  await writeFile(join(dir, MEDIA_TAG_FILE), '');
  if (scenario.customData !== undefined) {
    await writeFile(join(dir, 'CustomData.bin'), Buffer.from(scenario.customData, 'utf8'), { mode: 0o600 });
  }
}
