import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { OvfError } from '../../src/errors.ts';
import { parseOvfEnv } from '../../src/protocol/ovf-env.ts';
import { DISALLOWED_PASSWORDS, RESERVED_USER_NAMES, quote } from '../../src/protocol/ovf-rules.ts';
import { escapeXml } from '../../src/protocol/xml.ts';

// Every rule is exercised through parseOvfEnv on a whole document, so the test covers the path a real
// document takes (and a password really is present in the input whose errors are checked).

const PASSWORD = 'Str0ng!Secret#42';
const BASE: Record<string, string | undefined> = {
  ComputerName: 'vm-1',
  AdminUsername: 'operator',
  AdminPassword: PASSWORD,
};

/** A Windows ovf-env.xml with the given element texts (undefined leaves the element out) and raw extras. */
function ovf(values: Record<string, string | undefined> = {}, extra = '', platform = ''): string {
  const fields = Object.entries({ ...BASE, ...values })
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `<wa:${name}>${escapeXml(value)}</wa:${name}>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="utf-8"?><Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" ' +
    'xmlns:wa="http://schemas.microsoft.com/windowsazure" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<wa:ProvisioningSection><wa:WindowsProvisioningConfigurationSet>${fields}${extra}` +
    '</wa:WindowsProvisioningConfigurationSet></wa:ProvisioningSection>' +
    `<wa:PlatformSettingsSection><wa:PlatformSettings>${platform}</wa:PlatformSettings></wa:PlatformSettingsSection></Environment>`
  );
}

/** Asserts an OvfError for `field` whose message names the rule, and that no secret shows in any rendering. */
function assertRule(xml: string, field: string, rule: RegExp, secrets: string[] = [PASSWORD]): OvfError {
  let caught: unknown;
  try {
    parseOvfEnv(xml);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof OvfError, `expected OvfError for ${field}, got ${String(caught)}`);
  assert.equal(caught.field, field);
  assert.match(caught.message, rule);
  assert.match(caught.message, new RegExp(`^ovf-env\\.xml ${field}: `));
  const renderings = [caught.message, String(caught), JSON.stringify(caught), caught.stack ?? '', inspect(caught), caught.describe()];
  for (const secret of secrets) {
    for (const text of renderings) assert.ok(!text.includes(secret), `a secret leaked into: ${text.split('\n')[0]}`);
  }
  return caught;
}

const COMPUTER_NAME_RULE = /must be 1 to 15 characters of letters, digits and hyphens, not all digits/;

test('ComputerName is required', () => {
  assertRule(ovf({ ComputerName: undefined }), 'ComputerName', /is missing; it is required/);
});

test('ComputerName must be 1 to 15 letters, digits and hyphens and not all digits', () => {
  for (const name of ['', 'a'.repeat(16), 'web_01', 'web.01', 'wéb', '0123456789']) {
    assertRule(ovf({ ComputerName: name }), 'ComputerName', COMPUTER_NAME_RULE);
  }
  for (const name of ['a', 'A'.repeat(15), '1-2', 'WEB-01', '9a', '-web']) {
    assert.equal(parseOvfEnv(ovf({ ComputerName: name })).computerName, name);
  }
  for (const name of ['-', 'web-', '1-']) assertRule(ovf({ ComputerName: name }), 'ComputerName', /must not end with a hyphen/);
});

test('ComputerName with surrounding whitespace is refused, not trimmed', () => {
  assertRule(ovf({ ComputerName: ' web-01' }), 'ComputerName', /must not begin or end with whitespace/);
  assertRule(ovf({ ComputerName: 'web-01\t' }), 'ComputerName', /must not begin or end with whitespace/);
});

test('a bad name is quoted JSON-escaped and cut to 40 characters', () => {
  const name = `x\u0085${'y'.repeat(60)}`;
  const err = assertRule(ovf({ ComputerName: name }), 'ComputerName', COMPUTER_NAME_RULE);
  assert.ok(err.message.includes(`"x\\u0085${'y'.repeat(38)}"...`), err.message);
  assert.ok(!err.message.includes('y'.repeat(39)));
  assert.ok(!err.message.includes('\u0085'));
});

test('a bad name that overlaps the password is not quoted', () => {
  const password = 'Abc-Def-1234567890!x';
  const err = assertRule(ovf({ ComputerName: 'Abc-Def-1234567890', AdminPassword: password }), 'ComputerName', COMPUTER_NAME_RULE, [
    password,
    'Abc-Def-1234567890',
  ]);
  assert.match(err.message, /value not shown/);
  assertRule(ovf({ AdminUsername: 'Tr0ub4dor@3xyz', AdminPassword: 'Tr0ub4dor@3xyz' }), 'AdminUsername', /must not contain any of/, [
    'Tr0ub4dor@3xyz',
  ]);
  assert.equal(quote('ops', 'Other#Pass1'), '"ops"');
});

test('AdminUsername is required', () => {
  assertRule(ovf({ AdminUsername: undefined }), 'AdminUsername', /is missing; it is required/);
});

test('AdminUsername must be 1 to 20 characters', () => {
  assertRule(ovf({ AdminUsername: '' }), 'AdminUsername', /must be 1 to 20 characters/);
  assertRule(ovf({ AdminUsername: 'u'.repeat(21) }), 'AdminUsername', /must be 1 to 20 characters/);
  assert.equal(parseOvfEnv(ovf({ AdminUsername: 'u'.repeat(20) })).adminUsername, 'u'.repeat(20));
});

test('AdminUsername must not contain the characters Windows forbids or control characters', () => {
  for (const c of ['"', '/', '\\', '[', ']', ':', ';', '|', '=', ',', '+', '*', '?', '<', '>', '@', '\u007f', '\u0085']) {
    assertRule(ovf({ AdminUsername: `ops${c}team` }), 'AdminUsername', /must not contain any of " \/ \\ \[ \] : ; \| = , \+ \* \? < > @ or control characters/);
  }
  // A C0 control character cannot be in XML at all (XML 1.0 [2] Char): the document fails first, naming the field.
  assertRule(ovf({ AdminUsername: 'ops\u0007team' }), 'AdminUsername', /is not well-formed XML \(at line 1, column \d+\): U\+0007/);
});

test('AdminUsername must not end with a period', () => {
  assertRule(ovf({ AdminUsername: 'operator.' }), 'AdminUsername', /must not end with a period/);
  assert.equal(parseOvfEnv(ovf({ AdminUsername: 'ops.team' })).adminUsername, 'ops.team');
});

test('AdminUsername must not begin or end with whitespace', () => {
  assertRule(ovf({ AdminUsername: 'operator ' }), 'AdminUsername', /must not begin or end with whitespace/);
});

test("AdminUsername must not be one of Azure's reserved names, in any case", () => {
  assert.equal(RESERVED_USER_NAMES.size, 32);
  for (const name of RESERVED_USER_NAMES) {
    for (const variant of [name, name.toUpperCase()]) {
      assertRule(ovf({ AdminUsername: variant }), 'AdminUsername', /must not be one of the names Azure reserves/);
    }
  }
  assertRule(ovf({ AdminUsername: 'Administrator' }), 'AdminUsername', /reserves/);
  // Letters that only upper-casing (as Windows compares account names) turns into the reserved ones.
  for (const name of ['adminiſtrator', 'admın', 'ROOT', 'guesT', 'ſupport']) assertRule(ovf({ AdminUsername: name }), 'AdminUsername', /reserves/);
  assert.equal(parseOvfEnv(ovf({ AdminUsername: 'administrators' })).adminUsername, 'administrators');
});

test('AdminPassword is required, and xsi:nil counts as absent', () => {
  assertRule(ovf({ AdminPassword: undefined }), 'AdminPassword', /is missing; it is required/);
  assertRule(ovf({ AdminPassword: undefined }, '<wa:AdminPassword xsi:nil="true"/>'), 'AdminPassword', /is missing/);
});

test('AdminPassword must be 8 to 123 characters', () => {
  for (const password of ['Ab1!xyz', `Ab1!${'x'.repeat(120)}`]) {
    assertRule(ovf({ AdminPassword: password }), 'AdminPassword', /must be 8 to 123 characters long/, [password, password.slice(0, 6)]);
  }
  for (const password of ['Ab1!xyzw', `Ab1!${'x'.repeat(119)}`]) {
    assert.equal(parseOvfEnv(ovf({ AdminPassword: password })).adminPassword.reveal(), password);
  }
});

test('AdminPassword needs characters from 3 of the 4 groups', () => {
  for (const password of ['alllowercase', 'lower12345', 'UPPER_ONLY!', '12345678!@#$']) {
    assertRule(ovf({ AdminPassword: password }), 'AdminPassword', /at least 3 of these 4 groups: lowercase letters, uppercase letters, digits, special characters/, [password]);
  }
  // Underscore and non-ASCII count as special, as in Azure's [\W_].
  for (const password of ['lower_UPPER', 'lowerUPPER§', 'lower123UP']) {
    assert.equal(parseOvfEnv(ovf({ AdminPassword: password })).adminPassword.reveal(), password);
  }
});

test('AdminPassword must not contain the user name (3 characters or more), in any case', () => {
  const password = 'xxOPERATOR9!';
  assertRule(ovf({ AdminPassword: password }), 'AdminPassword', /must not contain the user name/, [password]);
  assert.equal(parseOvfEnv(ovf({ AdminUsername: 'ab', AdminPassword: 'Xab-Passw0rd' })).adminPassword.reveal(), 'Xab-Passw0rd');
});

test("AdminPassword must not be one of Azure's disallowed passwords, in any case", () => {
  assert.equal(DISALLOWED_PASSWORDS.size, 10);
  // abc@123 is short and iloveyou! has two groups, so earlier rules refuse them first; the rest reach the list.
  for (const password of ['P@$$w0rd', 'P@ssw0rd', 'P@ssword123', 'Pa$$word', 'pass@word1', 'Password!', 'Password1', 'Password22', 'p@SSW0RD']) {
    assertRule(ovf({ AdminPassword: password }), 'AdminPassword', /must not be one of the common passwords Azure disallows/, [password]);
  }
  for (const password of ['abc@123', 'iloveyou!']) assertRule(ovf({ AdminPassword: password }), 'AdminPassword', /./, [password]);
});

test('booleans accept true and false in any case and refuse anything else, naming the field', () => {
  const config = parseOvfEnv(ovf({ ResetPasswordOnFirstLogon: ' TRUE ', EnableAutomaticUpdates: 'False' }, '', '<wa:PreprovisionedVm>tRuE</wa:PreprovisionedVm>'));
  assert.equal(config.resetPasswordOnFirstLogon, true);
  assert.equal(config.enableAutomaticUpdates, false);
  assert.equal(config.platform.preprovisionedVm, true);
  for (const field of ['ResetPasswordOnFirstLogon', 'EnableAutomaticUpdates']) {
    for (const value of ['yes', '1', '']) assertRule(ovf({ [field]: value }), field, /must be true or false/);
  }
  for (const field of ['ProvisionGuestAgent', 'PreprovisionedVm']) {
    assertRule(ovf({}, '', `<wa:${field}>on</wa:${field}>`), field, /must be true or false; got "on"/);
  }
});

test('TimeZone, when present, is 1 to 64 characters of a Windows time zone id', () => {
  const rule = /must be 1 to 64 characters of letters, digits, spaces and \( \) \+ - \. , :/;
  assertRule(ovf({ TimeZone: 'Pacific/Auckland' }), 'TimeZone', rule);
  assertRule(ovf({ TimeZone: 'T'.repeat(65) }), 'TimeZone', rule);
  assertRule(ovf({ TimeZone: 'UTC;drop' }), 'TimeZone', rule);
  assert.equal(parseOvfEnv(ovf({ TimeZone: 'UTC-02' })).timeZone, 'UTC-02');
  assert.equal(parseOvfEnv(ovf({ TimeZone: '(UTC+05:30) Chennai, Kolkata' })).timeZone, '(UTC+05:30) Chennai, Kolkata');
  assert.equal(parseOvfEnv(ovf({ TimeZone: '' })).timeZone, undefined);
});

const listeners = (...items: string[]): string => `<wa:WinRM><wa:Listeners>${items.join('')}</wa:Listeners></wa:WinRM>`;
const HEX40 = '0123456789abcdef0123456789ABCDEF01234567';

test('a WinRM listener Protocol must be Http or Https', () => {
  assertRule(ovf({}, listeners('<wa:Listener><wa:Protocol>ftp</wa:Protocol></wa:Listener>')), 'Protocol', /in WinRM listener 1 must be Http or Https; got "ftp"/);
  assertRule(ovf({}, listeners('<wa:Listener/>')), 'Protocol', /is missing in WinRM listener 1/);
});

test('an Https listener needs a 40-hex-digit CertificateThumbprint', () => {
  const https = (thumbprint: string): string =>
    listeners(`<wa:Listener><wa:Protocol>Https</wa:Protocol>${thumbprint}</wa:Listener>`);
  assertRule(ovf({}, https('')), 'CertificateThumbprint', /is missing in WinRM listener 1/);
  assertRule(ovf({}, https(`<wa:CertificateThumbprint>${HEX40.slice(1)}</wa:CertificateThumbprint>`)), 'CertificateThumbprint', /must be 40 hexadecimal digits/);
  assertRule(ovf({}, https(`<wa:CertificateThumbprint>${HEX40.slice(1)}g</wa:CertificateThumbprint>`)), 'CertificateThumbprint', /must be 40 hexadecimal digits/);
  const config = parseOvfEnv(ovf({}, https(`<wa:CertificateThumbprint>${HEX40}</wa:CertificateThumbprint>`)));
  assert.deepEqual(config.winRmListeners, [{ protocol: 'Https', certificateThumbprint: HEX40.toUpperCase() }]);
});

test('each WinRM protocol may have one listener', () => {
  const http = '<wa:Listener><wa:Protocol>Http</wa:Protocol></wa:Listener>';
  assertRule(ovf({}, listeners(http, http.replace('Http', 'HTTP'))), 'Protocol', /in WinRM listener 2 repeats Http/);
});

const certificate = (inner: string): string =>
  `<wa:StoredCertificateSettings><wa:CertificateSetting>${inner}</wa:CertificateSetting></wa:StoredCertificateSettings>`;

test('a stored certificate Thumbprint must be 40 hex digits, and is returned uppercase', () => {
  assertRule(ovf({}, certificate('<wa:StoreName>My</wa:StoreName><wa:Thumbprint>abc</wa:Thumbprint>')), 'Thumbprint', /in certificate setting 1 must be 40 hexadecimal digits/);
  assertRule(ovf({}, certificate('<wa:StoreName>My</wa:StoreName>')), 'Thumbprint', /is missing in certificate setting 1/);
  const config = parseOvfEnv(ovf({}, certificate(`<wa:StoreName>My</wa:StoreName><wa:Thumbprint>${HEX40}</wa:Thumbprint>`)));
  assert.deepEqual(config.storedCertificateSettings, [{ storeLocation: 'LocalMachine', storeName: 'My', thumbprint: HEX40.toUpperCase() }]);
});

test('a stored certificate StoreLocation is LocalMachine or CurrentUser, and StoreName a plain store name', () => {
  const thumbprint = `<wa:Thumbprint>${HEX40}</wa:Thumbprint>`;
  assertRule(ovf({}, certificate(`<wa:StoreLocation>Elsewhere</wa:StoreLocation><wa:StoreName>My</wa:StoreName>${thumbprint}`)), 'StoreLocation', /must be LocalMachine or CurrentUser/);
  for (const name of ['..', 'My\\..\\Root', 'My/Root', ' My', `${'S'.repeat(65)}`]) {
    assertRule(ovf({}, certificate(`<wa:StoreName>${escapeXml(name)}</wa:StoreName>${thumbprint}`)), 'StoreName', /must be 1 to 64 characters of letters, digits, spaces/);
  }
  assertRule(ovf({}, certificate(thumbprint)), 'StoreName', /is missing in certificate setting 1/);
  const config = parseOvfEnv(ovf({}, certificate(`<wa:StoreLocation>currentuser</wa:StoreLocation><wa:StoreName>Trusted People</wa:StoreName>${thumbprint}`)));
  assert.equal(config.storedCertificateSettings[0]!.storeLocation, 'CurrentUser');
  assert.equal(config.storedCertificateSettings[0]!.storeName, 'Trusted People');
});

const AUTOLOGON = `<AutoLogon><Password><Value>${PASSWORD}</Value></Password><Enabled>true</Enabled><Username>operator</Username></AutoLogon>`;

function unattend(settings: { pass?: string; component?: string; name?: string; content?: string }[]): string {
  const items = settings.map(
    ({ pass = 'oobeSystem', component = 'Microsoft-Windows-Shell-Setup', name = 'AutoLogon', content = escapeXml(AUTOLOGON) }) =>
      `<wa:UnattendPass><wa:PassName>${pass}</wa:PassName><wa:Components><wa:UnattendComponent><wa:ComponentName>${component}</wa:ComponentName>` +
      `<wa:ComponentSettings><wa:ComponentSetting><wa:SettingName>${name}</wa:SettingName><wa:Content>${content}</wa:Content>` +
      '</wa:ComponentSetting></wa:ComponentSettings></wa:UnattendComponent></wa:Components></wa:UnattendPass>',
  );
  return `<wa:AdditionalUnattendContent><wa:Passes>${items.join('')}</wa:Passes></wa:AdditionalUnattendContent>`;
}

test('AdditionalUnattendContent follows Azure: pass oobeSystem, component Microsoft-Windows-Shell-Setup', () => {
  assertRule(ovf({}, unattend([{ pass: 'specialize' }])), 'PassName', /must be oobeSystem/);
  assertRule(ovf({}, unattend([{ component: 'Microsoft-Windows-Deployment' }])), 'ComponentName', /must be Microsoft-Windows-Shell-Setup/);
});

test('AdditionalUnattendContent SettingName is AutoLogon or FirstLogonCommands, each once', () => {
  assertRule(ovf({}, unattend([{ name: 'ComputerName' }])), 'SettingName', /must be AutoLogon or FirstLogonCommands; got "ComputerName"/);
  assertRule(ovf({}, unattend([{}, { name: 'autologon' }])), 'SettingName', /in unattend pass 2, component 1, setting 1 repeats AutoLogon/);
  const config = parseOvfEnv(ovf({}, unattend([{ pass: 'OOBESYSTEM', component: 'microsoft-windows-shell-setup', name: 'autoLogon' }])));
  assert.equal(config.additionalUnattendContent.length, 1);
  const [setting] = config.additionalUnattendContent;
  assert.equal(setting!.passName, 'oobeSystem');
  assert.equal(setting!.componentName, 'Microsoft-Windows-Shell-Setup');
  assert.equal(setting!.settingName, 'AutoLogon');
  assert.equal(setting!.content.reveal(), AUTOLOGON);
  assert.equal(String(setting!.content), '[redacted]');
});

test('AdditionalUnattendContent Content must be under 4 KB and is never quoted', () => {
  const padding = `<Description>${'p'.repeat(4096 - AUTOLOGON.length)}</Description>`;
  const big = AUTOLOGON.replace('</AutoLogon>', `${padding}</AutoLogon>`);
  assertRule(ovf({}, unattend([{ content: escapeXml(big) }])), 'Content', /must be less than 4 KB \(4096 bytes\)/, [PASSWORD, 'pppp']);
  assertRule(ovf({}, unattend([{ content: '' }])), 'Content', /is missing in unattend pass 1/);
});

test("AdditionalUnattendContent Content must be XML whose one root element is the setting's", () => {
  const rule = /must be well-formed XML whose one root element is AutoLogon/;
  const broken = `<AutoLogon><Password>${PASSWORD}<q</Password></AutoLogon>`;
  assertRule(ovf({}, unattend([{ content: escapeXml(broken) }])), 'Content', rule, [PASSWORD, `${PASSWORD.slice(4)}<q`, 'q</Password']);
  assertRule(ovf({}, unattend([{ content: escapeXml('<FirstLogonCommands/>') }])), 'Content', rule);
  assertRule(ovf({}, unattend([{ content: escapeXml(`${AUTOLOGON}${AUTOLOGON}`) }])), 'Content', rule);
  assertRule(ovf({}, unattend([{ content: escapeXml(`${AUTOLOGON}<Other/>`) }])), 'Content', rule);
  assertRule(ovf({}, unattend([{ content: 'plain text' }])), 'Content', rule);
  // Unescaped child elements are not the setting's text: the content must arrive escaped or as CDATA.
  assertRule(ovf({}, unattend([{ content: AUTOLOGON }])), 'Content', /must be text, not nested elements/);
  const cdata = parseOvfEnv(ovf({}, unattend([{ content: `<![CDATA[${AUTOLOGON}]]>` }])));
  assert.equal(cdata.additionalUnattendContent[0]!.content.reveal(), AUTOLOGON);
});

test('GuestAgentPackageName is a plain file name, never a path', () => {
  const rule = /must be a file name of 1 to 128 letters, digits/;
  for (const name of ['..\\..\\Windows\\evil.zip', '../agent.zip', '.hidden.zip', 'C:agent.zip', 'a b.zip']) {
    assertRule(ovf({}, '', `<wa:GuestAgentPackageName>${escapeXml(name)}</wa:GuestAgentPackageName>`), 'GuestAgentPackageName', rule);
  }
  const config = parseOvfEnv(ovf({}, '', '<wa:GuestAgentPackageName>WindowsAzureVmAgent.2.7.41491.1102_221107-1407.fre.zip</wa:GuestAgentPackageName>'));
  assert.equal(config.platform.guestAgentPackageName, 'WindowsAzureVmAgent.2.7.41491.1102_221107-1407.fre.zip');
});

test('KmsServerHostname is a host name with an optional port', () => {
  for (const host of ['kms host', 'kms.example.com:port', '-kms', 'kms/path', 'kms.example.com:123456']) {
    assertRule(ovf({}, '', `<wa:KmsServerHostname>${escapeXml(host)}</wa:KmsServerHostname>`), 'KmsServerHostname', /must be a host name/);
  }
  const config = parseOvfEnv(ovf({}, '', '<wa:KmsServerHostname>kms.core.windows.net:1688</wa:KmsServerHostname>'));
  assert.equal(config.platform.kmsServerHostname, 'kms.core.windows.net:1688');
});

test('names are looked up as data: "constructor" or "toString" is no protocol, store location or setting', () => {
  const listener = listeners('<wa:Listener><wa:Protocol>constructor</wa:Protocol></wa:Listener>');
  assertRule(ovf({}, listener), 'Protocol', /must be Http or Https/);
  const setting = `<wa:StoreLocation>toString</wa:StoreLocation><wa:StoreName>My</wa:StoreName><wa:Thumbprint>${HEX40}</wa:Thumbprint>`;
  assertRule(ovf({}, certificate(setting)), 'StoreLocation', /must be LocalMachine or CurrentUser/);
  assertRule(ovf({}, unattend([{ name: 'hasOwnProperty' }])), 'SettingName', /must be AutoLogon or FirstLogonCommands/);
});
