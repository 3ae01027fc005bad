import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { MEDIA_TAG_FILE, ovfEnvXml, writeMedia } from '../../src/simulator/media.ts';
import { resolveScenario } from '../../src/simulator/scenario.ts';

const dir = await mkdtemp(join(tmpdir(), 'winprov-media-'));
after(() => rm(dir, { recursive: true, force: true }));

// A parser of the test's own, keeping prefixes, so the namespace layout itself is checked.
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, trimValues: true });
type Node = Record<string, any>;

const certificates = [
  { thumbprint: 'F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9', storeName: 'My' },
  { thumbprint: '8979F1AC8C4215827BF3B5A403E6137B504D02A4', storeName: 'Root' },
];

test('ovf-env.xml has the Windows shape: wa: sections, configuration sets in the windowsazure namespace', () => {
  const xml = ovfEnvXml(resolveScenario({ adminPassword: 'P@ss' }), []);
  assert.equal(XMLValidator.validate(xml), true);
  const env = (parser.parse(xml) as Node).Environment as Node;
  assert.equal(env['@xmlns'], 'http://schemas.dmtf.org/ovf/environment/1');
  assert.equal(env['@xmlns:wa'], 'http://schemas.microsoft.com/windowsazure');
  const set = env['wa:ProvisioningSection'].WindowsProvisioningConfigurationSet as Node;
  assert.equal(env['wa:ProvisioningSection']['wa:Version'], '1.0');
  assert.equal(set['@xmlns'], 'http://schemas.microsoft.com/windowsazure');
  assert.equal(set['@xmlns:i'], 'http://www.w3.org/2001/XMLSchema-instance');
  assert.equal(set.ConfigurationSetType, 'WindowsProvisioningConfiguration');
  assert.equal(set.ComputerName, 'winprov-demo');
  assert.equal(set.AdminUsername, 'azureuser');
  assert.equal(set.AdminPassword, 'P@ss');
  assert.equal(set.ResetPasswordOnFirstLogon, 'false');
  assert.equal(set.EnableAutomaticUpdates, 'true');
  for (const absent of ['TimeZone', 'WinRM', 'CustomData', 'StoredCertificateSettings']) assert.equal(set[absent], undefined, absent);
  const platform = env['wa:PlatformSettingsSection'].PlatformSettings as Node;
  assert.equal(platform['@xmlns'], 'http://schemas.microsoft.com/windowsazure');
  assert.equal(platform.ProvisionGuestAgent, 'true');
  assert.match(platform.GuestAgentPackageName, /\.zip$/);
  assert.equal(platform.KmsServerHostname, 'kms.core.windows.net');
});

test('values are XML-escaped and come back exactly', () => {
  const scenario = resolveScenario({ computerName: 'a&b<c>', adminUsername: 'o\'neil"', adminPassword: ' <&>"\' x ', timeZone: 'UTC & co' });
  const xml = ovfEnvXml(scenario, []);
  assert.equal(XMLValidator.validate(xml), true);
  const raw = new XMLParser({ parseTagValue: false, trimValues: false, removeNSPrefix: true });
  const set = (raw.parse(xml) as Node).Environment.ProvisioningSection.WindowsProvisioningConfigurationSet as Node;
  assert.equal(set.ComputerName, 'a&b<c>');
  assert.equal(set.AdminUsername, 'o\'neil"');
  assert.equal(set.AdminPassword, ' <&>"\' x ');
  assert.equal(set.TimeZone, 'UTC & co');
});

test('certificates go to StoredCertificateSettings, and WinRM Https names the first one', () => {
  const scenario = resolveScenario({ certificateCount: 2, winRmHttps: true, provisionGuestAgent: false, enableAutomaticUpdates: false, resetPasswordOnFirstLogon: true });
  const env = (parser.parse(ovfEnvXml(scenario, certificates)) as Node).Environment as Node;
  const set = env['wa:ProvisioningSection'].WindowsProvisioningConfigurationSet as Node;
  const settings = set.StoredCertificateSettings.CertificateSetting as Node[];
  assert.deepEqual(
    settings.map((s) => [s.StoreLocation, s.StoreName, s.Thumbprint]),
    certificates.map((c) => ['LocalMachine', c.storeName, c.thumbprint]),
  );
  const listener = set.WinRM.Listeners.Listener as Node;
  assert.equal(listener.Protocol, 'Https');
  assert.equal(listener.CertificateThumbprint, certificates[0]!.thumbprint);
  assert.equal(set.EnableAutomaticUpdates, 'false');
  assert.equal(set.ResetPasswordOnFirstLogon, 'true');
  const platform = env['wa:PlatformSettingsSection'].PlatformSettings as Node;
  assert.equal(platform.ProvisionGuestAgent, 'false');
  assert.equal(platform.GuestAgentPackageName['@i:nil'], 'true');
});

test('writeMedia writes the three files, custom data raw in CustomData.bin and base64 in ovf-env.xml, private to the owner', async () => {
  const target = join(dir, 'media');
  await writeMedia(target, resolveScenario({ customData: 'line1\r\nünïcode\u0000end' }), []);
  assert.deepEqual((await readdir(target)).sort(), ['CustomData.bin', MEDIA_TAG_FILE, 'ovf-env.xml'].sort());
  assert.deepEqual(await readFile(join(target, 'CustomData.bin')), Buffer.from('line1\r\nünïcode\u0000end', 'utf8'));
  const set = (parser.parse(await readFile(join(target, 'ovf-env.xml'), 'utf8')) as Node).Environment['wa:ProvisioningSection'].WindowsProvisioningConfigurationSet;
  assert.equal(Buffer.from(set.CustomData, 'base64').toString('utf8'), 'line1\r\nünïcode\u0000end');
  assert.equal((await readFile(join(target, MEDIA_TAG_FILE))).length, 0);
  if (process.platform !== 'win32') assert.equal((await stat(join(target, 'ovf-env.xml'))).mode & 0o777, 0o600);
});
