import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { OvfError } from '../../src/errors.ts';
import { OVF_ENV_MAX_BYTES, parseOvfEnv, readOvfEnv, redactOvfEnv, type ProvisioningConfig } from '../../src/protocol/ovf-env.ts';
import { parseXml, textOf, type XmlNode } from '../../src/protocol/xml.ts';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/ovf/${name}.xml`, import.meta.url), 'utf8');
const bytes = (name: string): Uint8Array => readFileSync(new URL(`../fixtures/ovf/${name}.xml`, import.meta.url));
const readFail = (field: string, rule: string): Error => new Error(`${field} ${rule}`);

/** Every secret in windows-default-namespace.xml, and fragments of them that must not survive either. */
const DEFAULT_NS_SECRETS = [
  'Zq7!vR2#pLx9', 'Zq7!', 'pLx9', '&lt;more&gt;', 'Q3VzdG9tRGF0YVNlY3JldFBheWxvYWQ=', 'Q3VzdG9t', 'Dj0in-Secret!x',
  'AutoL0gon-Secret!', 'AutoL0gon', 'FirstLogon-Secret', 'SynchronousCommand',
];

function assertOvfError(fn: () => unknown, field: string, rule: RegExp, secrets: string[] = []): OvfError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof OvfError, `expected OvfError, got ${String(caught)}`);
  assert.equal(caught.field, field);
  assert.match(caught.message, rule);
  for (const secret of secrets) {
    for (const text of [caught.message, String(caught), JSON.stringify(caught), caught.stack ?? '', inspect(caught)]) {
      assert.ok(!text.includes(secret), `a secret leaked into: ${text.split('\n')[0]}`);
    }
  }
  return caught;
}

function assertNoSecrets(text: string, secrets: readonly string[]): void {
  for (const secret of secrets) assert.ok(!text.includes(secret), `the copy still holds ${JSON.stringify(secret)}:\n${text}`);
}

/** A small Windows document with the given raw XML inside the configuration set. */
function doc(inner: string, password = '<AdminPassword>Sm4ll#Doc-pw</AdminPassword>'): string {
  return (
    '<Environment xmlns:wa="http://schemas.microsoft.com/windowsazure" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    '<wa:ProvisioningSection><wa:WindowsProvisioningConfigurationSet>' +
    `<ComputerName>vm-7</ComputerName><AdminUsername>operator</AdminUsername>${password}${inner}` +
    '</wa:WindowsProvisioningConfigurationSet></wa:ProvisioningSection></Environment>'
  );
}

/** The configuration with its secrets revealed, so one deepEqual checks every field and no extra one. */
function plain(config: ProvisioningConfig): unknown {
  return {
    ...config,
    adminPassword: config.adminPassword.reveal(),
    customData: config.customData?.reveal(),
    additionalUnattendContent: config.additionalUnattendContent.map((s) => ({ ...s, content: s.content.reveal() })),
  };
}

const NO_EXTRAS = { winRmListeners: [], storedCertificateSettings: [], additionalUnattendContent: [] };
const unattendSetting = (settingName: string, content: string): unknown => ({
  passName: 'oobeSystem', componentName: 'Microsoft-Windows-Shell-Setup', settingName, content,
});

test('reads the default-namespace layout with every field', () => {
  assert.deepEqual(plain(parseOvfEnv(fixture('windows-default-namespace'))), {
    computerName: 'web-01',
    adminUsername: 'azureuser',
    adminPassword: ' Zq7!vR2#pLx9 & <more> ', // verbatim: surrounding spaces kept, entities decoded
    resetPasswordOnFirstLogon: false,
    enableAutomaticUpdates: true,
    timeZone: 'Pacific Standard Time',
    customData: 'Q3VzdG9tRGF0YVNlY3JldFBheWxvYWQ=',
    winRmListeners: [
      { protocol: 'Http', certificateThumbprint: undefined },
      { protocol: 'Https', certificateThumbprint: 'F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9' },
    ],
    storedCertificateSettings: [
      { storeLocation: 'LocalMachine', storeName: 'My', thumbprint: 'F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9' },
      { storeLocation: 'LocalMachine', storeName: 'Root', thumbprint: '8979F1AC8C4215827BF3B5A403E6137B504D02A4' },
    ],
    additionalUnattendContent: [
      unattendSetting(
        'AutoLogon',
        '<AutoLogon><Password><Value>AutoL0gon-Secret!</Value></Password><Enabled>true</Enabled><LogonCount>1</LogonCount>' +
          '<Username>azureuser</Username></AutoLogon>',
      ),
      unattendSetting(
        'FirstLogonCommands',
        '<FirstLogonCommands><SynchronousCommand wcm:action="add"><Order>1</Order><CommandLine>cmd /c echo FirstLogon-Secret' +
          '</CommandLine><Description>greet</Description></SynchronousCommand></FirstLogonCommands>',
      ),
    ],
    platform: {
      provisionGuestAgent: true,
      guestAgentPackageName: 'WindowsAzureVmAgent.2.7.41491.1102_221107-1407.fre.zip',
      kmsServerHostname: 'kms.core.windows.net',
      preprovisionedVm: false,
    },
  });
});

test('reads the all-wa:-prefixed layout, with xsi:nil as absent and booleans in any case', () => {
  assert.deepEqual(plain(parseOvfEnv(fixture('windows-wa-prefixed'))), {
    ...NO_EXTRAS,
    computerName: 'SQL-NODE-7',
    adminUsername: 'ops.team',
    adminPassword: 'hT4$kd93-Lmq',
    resetPasswordOnFirstLogon: true,
    enableAutomaticUpdates: false,
    timeZone: undefined,
    customData: undefined,
    winRmListeners: [{ protocol: 'Http', certificateThumbprint: undefined }],
    platform: { provisionGuestAgent: false, guestAgentPackageName: undefined, kmsServerHostname: 'kms.core.windows.net:1688', preprovisionedVm: false },
  });
});

test('reads the ns0:/ns1: layout, with a CDATA password', () => {
  assert.deepEqual(plain(parseOvfEnv(bytes('windows-ns0-ns1'))), {
    ...NO_EXTRAS,
    computerName: 'a1',
    adminUsername: 'deploy_bot',
    adminPassword: '<Cd4ta&Pass>',
    resetPasswordOnFirstLogon: false,
    enableAutomaticUpdates: undefined,
    timeZone: undefined,
    customData: 'I3BzMQpXcml0ZS1Ib3N0ICdoaSc=',
    storedCertificateSettings: [
      { storeLocation: 'LocalMachine', storeName: 'TrustedPeople', thumbprint: '8979F1AC8C4215827BF3B5A403E6137B504D02A4' },
    ],
    platform: { provisionGuestAgent: false, guestAgentPackageName: undefined, kmsServerHostname: 'kms.core.windows.net', preprovisionedVm: true },
  });
});

test('applies the defaults when optional elements and PlatformSettingsSection are absent', () => {
  assert.deepEqual(plain(parseOvfEnv(fixture('windows-minimal'))), {
    ...NO_EXTRAS,
    computerName: 'vm-0',
    adminUsername: 'winadmin',
    adminPassword: 'Minimal#2024pw',
    resetPasswordOnFirstLogon: false,
    enableAutomaticUpdates: undefined,
    timeZone: undefined,
    customData: undefined,
    platform: { provisionGuestAgent: true, guestAgentPackageName: undefined, kmsServerHostname: undefined, preprovisionedVm: false },
  });
});

test('the parsed configuration prints no secret', () => {
  const config = parseOvfEnv(fixture('windows-default-namespace'));
  for (const text of [JSON.stringify(config), inspect(config, { depth: 10 }), String(config.adminPassword)]) {
    assertNoSecrets(text, DEFAULT_NS_SECRETS);
  }
});

test('accepts UTF-8 bytes with a byte-order mark', () => {
  const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('windows-minimal')]);
  assert.equal(parseOvfEnv(withBom).computerName, 'vm-0');
});

test('a Linux provisioning configuration is refused with a clear reason', () => {
  const err = assertOvfError(() => parseOvfEnv(fixture('linux')), 'LinuxProvisioningConfigurationSet', /this image is Windows/);
  assert.ok(!err.message.includes('UserPassword<'));
});

test('the document structure is checked: root, sections and ConfigurationSetType', () => {
  assertOvfError(() => parseOvfEnv('<Envelope><ProvisioningSection/></Envelope>'), 'Environment', /must be the one root element/);
  assertOvfError(() => parseOvfEnv(`${doc('')}<Environment/>`), '(document)', /a second root element/);
  assertOvfError(() => parseOvfEnv('<Environment><PlatformSettingsSection/></Environment>'), 'ProvisioningSection', /is missing/);
  assertOvfError(() => parseOvfEnv('<Environment><wa:ProvisioningSection xmlns:wa="u"/></Environment>'), 'WindowsProvisioningConfigurationSet', /is missing/);
  assertOvfError(
    () => parseOvfEnv(doc('<ConfigurationSetType>LinuxProvisioningConfiguration</ConfigurationSetType>')),
    'ConfigurationSetType',
    /must be WindowsProvisioningConfiguration/,
  );
  assert.equal(parseOvfEnv(doc('<ConfigurationSetType>windowsprovisioningconfiguration</ConfigurationSetType>')).computerName, 'vm-7');
  // Text where elements belong is refused, not read as an empty section (the listeners would vanish).
  assertOvfError(() => parseOvfEnv(doc('<WinRM>https</WinRM>')), 'WinRM', /must contain elements, not text/);
  assertOvfError(() => parseOvfEnv(doc('<AdditionalUnattendContent>AutoLogon</AdditionalUnattendContent>')), 'AdditionalUnattendContent', /must contain elements, not text/);
});

test('a repeated single-valued element is refused, whatever the prefixes', () => {
  assertOvfError(() => parseOvfEnv(doc('<ComputerName>vm-8</ComputerName>')), 'ComputerName', /must appear once/);
  const twice = '<a:AdminPassword xmlns:a="x">Sm4ll#Doc-pw</a:AdminPassword><b:AdminPassword xmlns:b="y">0ther#Secret</b:AdminPassword>';
  assertOvfError(() => parseOvfEnv(doc('', twice)), 'AdminPassword', /must appear once/, ['Sm4ll#Doc-pw', '0ther#Secret']);
  assertOvfError(() => parseOvfEnv(doc('<WinRM/><WinRM/>')), 'WinRM', /must appear once/);
});

test('a secret element holding nested elements is refused without quoting it', () => {
  const nested = '<AdminPassword>Sm4ll<b>#Doc</b>-pw</AdminPassword>';
  assertOvfError(() => parseOvfEnv(doc('', nested)), 'AdminPassword', /must be text, not nested elements/, ['Sm4ll', '#Doc', '-pw']);
  assertOvfError(() => parseOvfEnv(doc('<CustomData><x>c2VjcmV0</x></CustomData>')), 'CustomData', /must be text/, ['c2VjcmV0']);
});

test('a malformed document is refused without quoting the text near the error', () => {
  const cases = [
    doc('', '<AdminPassword>ab<cdLeakMe</AdminPassword>'),
    doc('', '<AdminPassword>ab<cd LeakMe</AdminPassword>'),
    doc('', '<AdminPassword>ab<LeakMe>x</AdminPassword>'),
    doc('', '<AdminPassword>ab</LeakMe></AdminPassword>'),
    doc('', '<AdminPassword attr="LeakMe>ab</AdminPassword>'),
  ];
  for (const xml of cases) {
    const err = assertOvfError(() => parseOvfEnv(xml), '(document)', /is not well-formed XML/, ['LeakMe', 'cdLeak']);
    assert.match(err.message, /at line 1, column \d+/);
  }
  assertOvfError(() => parseOvfEnv(new Uint8Array([0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e])), '(document)', /is not valid UTF-8/);
  assertOvfError(() => parseOvfEnv(`<!DOCTYPE Environment [<!ENTITY pw "x">]>${doc('')}`), '(document)', /DOCTYPE/);
  assertOvfError(() => parseOvfEnv(''), '(document)', /is empty/);
});

test(`the size limit (${OVF_ENV_MAX_BYTES} bytes) admits Azure's largest custom data and refuses more`, () => {
  // ARM allows 65,535 bytes of custom data: 87,380 characters of base64.
  const largest = 'QUJD'.repeat(87_380 / 4);
  const config = parseOvfEnv(doc(`<CustomData>${largest}</CustomData>`));
  assert.equal(config.customData?.reveal().length, 87_380);
  const oversize = doc(`<CustomData>${'QUJD'.repeat(OVF_ENV_MAX_BYTES / 4)}</CustomData>`);
  assertOvfError(() => parseOvfEnv(oversize), '(document)', /over the limit of 262144/);
});

test('an empty CustomData is no custom data, and an Http listener carries no thumbprint', () => {
  const config = parseOvfEnv(
    doc(
      '<CustomData></CustomData><WinRM><Listeners><Listener><Protocol>Http</Protocol>' +
        '<CertificateThumbprint>F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9</CertificateThumbprint></Listener></Listeners></WinRM>',
    ),
  );
  assert.equal(config.customData, undefined);
  assert.deepEqual(config.winRmListeners, [{ protocol: 'Http', certificateThumbprint: undefined }]);
});

// ---- Redaction ----

/** The configuration set of a redacted copy, read back with the project's XML parser (local names). */
function setOf(copy: string): XmlNode {
  const tree = parseXml(copy, readFail) as { Environment: { ProvisioningSection: { WindowsProvisioningConfigurationSet: XmlNode } } };
  return tree.Environment.ProvisioningSection.WindowsProvisioningConfigurationSet;
}
const textIn = (node: unknown, name: string): string | undefined => textOf((node as XmlNode)[name], name, readFail);
/** True when the copy is the placeholder document (and it, too, reads back as XML). */
const isPlaceholder = (copy: string): boolean => 'OvfEnvNotSaved' in parseXml(copy, readFail);

test('the redacted copy keeps the document and blanks every secret', () => {
  const copy = redactOvfEnv(fixture('windows-default-namespace'));
  assertNoSecrets(copy, DEFAULT_NS_SECRETS);
  const set = setOf(copy);
  assert.equal(textIn(set, 'AdminPassword'), '[redacted]');
  assert.equal(textIn(set, 'CustomData'), '[redacted]');
  assert.equal(textIn((set['DomainJoin'] as XmlNode)['Credentials'], 'Password'), '[redacted]');
  assert.equal(textIn(set, 'ComputerName'), 'web-01');
  assert.equal(textIn(set, 'AdminUsername'), 'azureuser');
  assert.equal(textIn(set, 'TimeZone'), 'Pacific Standard Time');
  assert.match(copy, /<Content>\[redacted\]<\/Content>[\s\S]*<Content>\[redacted\]<\/Content>/);
  assert.match(copy, /<wa:ProvisioningSection>/); // prefixes and namespaces are kept
  assert.match(copy, /<Thumbprint>f6abaa61098a301ebb8a571c3c7cf77f355f7fa9<\/Thumbprint>/);
});

test('every fixture has a redacted copy that reads back as XML and holds none of its secrets', () => {
  for (const name of ['windows-default-namespace', 'windows-wa-prefixed', 'windows-ns0-ns1', 'windows-minimal']) {
    const config = parseOvfEnv(fixture(name));
    const secrets = [config.adminPassword.reveal(), config.customData?.reveal(), ...config.additionalUnattendContent.map((s) => s.content.reveal())];
    for (const input of [fixture(name), bytes(name)]) {
      const copy = redactOvfEnv(input);
      assert.ok(!isPlaceholder(copy), `${name} should be kept`);
      assertNoSecrets(copy, secrets.filter((s): s is string => s !== undefined));
      assert.equal(textIn(setOf(copy), 'AdminPassword'), '[redacted]');
    }
  }
});

test('redaction holds against adversarial but well-formed documents', () => {
  const cases: { inner: string; password?: string; secrets: string[] }[] = [
    // password split across CDATA sections and text
    { inner: '', password: '<AdminPassword>Alpha<![CDATA[Bravo]]>Charlie9!</AdminPassword>', secrets: ['Alpha', 'Bravo', 'Charlie'] },
    // entity-encoded password (numeric and named references)
    { inner: '', password: '<AdminPassword>&#x4B;ilo&#77;ike&amp;9!Zulu</AdminPassword>', secrets: ['KiloMike', 'ilo', 'ike', 'Zulu', '&#x4B;'] },
    // any prefix, including a doubled one, and lower case
    { inner: '', password: '<p:AdminPassword xmlns:p="u">Pref1x#Secret</p:AdminPassword>', secrets: ['Pref1x'] },
    { inner: '<a:b:AdminPassword>D0uble:Prefix</a:b:AdminPassword>', secrets: ['D0uble'] },
    { inner: '<adminpassword>L0wer#case</adminpassword>', secrets: ['L0wer'] },
    // attributes on the element, one holding '>'
    { inner: '', password: '<AdminPassword note="a > b" xsi:nil="false">Attr1b#Secret</AdminPassword>', secrets: ['Attr1b'] },
    // nested elements and mixed text
    { inner: '<CustomData>head<Inner>N3sted</Inner><More/>t4il</CustomData>', secrets: ['head', 'N3sted', 't4il', 'Inner'] },
    // xsi:nil with content anyway
    { inner: '<CustomData xsi:nil="true">Ni1Content</CustomData>', secrets: ['Ni1Content'] },
    // a secret in a password attribute, and in a comment
    { inner: `<Credentials Password="Attr#Pw1" userPassword='Other#Pw2'/>`, secrets: ['Attr#Pw1', 'Other#Pw2'] },
    { inner: '<!-- AdminPassword was C0mment#Pw -->', secrets: ['C0mment'] },
    // a DomainJoin password and a Content with the secret in escaped XML
    { inner: '<DomainJoin><Credentials><Password>J01n#Secret</Password></Credentials></DomainJoin>', secrets: ['J01n'] },
    { inner: '<Content>&lt;AutoLogon&gt;&lt;Password&gt;&lt;Value&gt;Aut0#Secret&lt;/Value&gt;</Content>', secrets: ['Aut0'] },
  ];
  for (const { inner, password, secrets } of cases) {
    const copy = redactOvfEnv(doc(inner, password));
    assert.ok(!isPlaceholder(copy), `expected a redacted copy for ${inner || password}`);
    assertNoSecrets(copy, [...secrets, 'Sm4ll#Doc-pw']);
    assert.equal(textIn(setOf(copy), 'ComputerName'), 'vm-7');
  }
});

test('self-closing and empty secret elements stay as they are; whitespace-only content is blanked', () => {
  const copy = redactOvfEnv(doc('<CustomData xsi:nil="true"/><Password></Password><UserPassword>   </UserPassword>'));
  assert.match(copy, /<CustomData xsi:nil="true"\/>/);
  assert.match(copy, /<Password><\/Password>/);
  assert.match(copy, /<UserPassword>\[redacted\]<\/UserPassword>/);
});

test('a secret that also appears outside its element gives the placeholder', () => {
  const copy = redactOvfEnv(doc('<TimeZone>Sm4ll#Doc-pw</TimeZone>'));
  assert.ok(isPlaceholder(copy));
  assertNoSecrets(copy, ['Sm4ll#Doc-pw']);
});

test('a malformed, hostile or oversize document gives only the placeholder', () => {
  const secret = 'Br0ken#Secret';
  const cases: (string | Uint8Array)[] = [
    doc('', `<AdminPassword>${secret}`), // truncated inside the password
    doc('', `<AdminPassword><![CDATA[${secret}</AdminPassword>`), // CDATA never closed
    doc('', `<AdminPassword>${secret}</AdminPasword>`), // misspelt end tag
    doc('', `<AdminPassword>${secret.slice(0, 5)}<${secret.slice(5)}</AdminPassword>`), // raw '<'
    doc('', `<AdminPassword a="${secret}>x</AdminPassword>`), // attribute quote never closed
    doc('', `<!-- <AdminPassword>${secret}</AdminPassword>`), // comment never closed
    `<!DOCTYPE Environment>${doc('', `<AdminPassword>${secret}</AdminPassword>`)}`,
    doc('', `<AdminPassword>${secret}</AdminPassword>`).slice(0, -20),
    new Uint8Array([...Buffer.from(doc('', `<AdminPassword>${secret}</AdminPassword>`)), 0xff]),
    doc(`<CustomData>${'A'.repeat(OVF_ENV_MAX_BYTES)}</CustomData>`, `<AdminPassword>${secret}</AdminPassword>`),
    '',
  ];
  for (const input of cases) {
    const copy = redactOvfEnv(input);
    assert.ok(isPlaceholder(copy), `expected the placeholder for ${String(input).slice(0, 300)}`);
    assertNoSecrets(copy, [secret, secret.slice(0, 5), secret.slice(5)]);
  }
});

test('no truncation of a real-shaped document returns its secrets', () => {
  const xml = fixture('windows-default-namespace');
  for (let end = 0; end < xml.length; end += 3) {
    assertNoSecrets(redactOvfEnv(xml.slice(0, end)), DEFAULT_NS_SECRETS);
  }
});

test('readOvfEnv gives the same redacted copy and configuration as the two separate calls', () => {
  const dir = new URL('../fixtures/ovf/', import.meta.url);
  for (const name of ['windows-default-namespace.xml', 'windows-wa-prefixed.xml', 'windows-ns0-ns1.xml', 'windows-minimal.xml']) {
    const xml = readFileSync(new URL(name, dir));
    const read = readOvfEnv(xml);
    assert.equal(read.redacted, redactOvfEnv(xml), name);
    assert.deepEqual(JSON.stringify(read.config()), JSON.stringify(parseOvfEnv(xml)), name);
    assert.equal(read.config().adminPassword.reveal(), parseOvfEnv(xml).adminPassword.reveal(), name);
  }
  const broken = readOvfEnv('<Environment><AdminPassword>Secr3t-Value!</Environment>');
  assert.match(broken.redacted, /OvfEnvNotSaved/);
  assert.doesNotMatch(broken.redacted, /Secr3t-Value!/);
  assert.throws(() => broken.config(), (err: Error) => /not well-formed/.test(err.message));
});
