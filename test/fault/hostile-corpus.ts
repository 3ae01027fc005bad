import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { escapeXml } from '../../src/protocol/xml.ts';

/**
 * The hostile input corpus: documents an attacker or a broken fabric could hand the agent, each with the
 * error it must end in (code, and a reason naming the field and the rule). Static documents live in
 * test/fixtures/hostile/; the rest are built here from valid templates with one thing changed.
 */

/** The documents the corpus covers, named as the simulator's endpoints (and ovf-env for the media). */
export type HostileDocument = 'ovf-env' | 'versions' | 'goalstate' | 'hostingEnvironmentConfig' | 'certificates';

/** One hostile document and the error it must end in. */
export interface HostileCase {
  name: string;
  document: HostileDocument;
  body: string | Uint8Array;
  code: string;
  /** Matches the error's reason: it names the document's field and the rule. */
  reason: RegExp;
  /** Bodies the simulator cannot serve (invalid UTF-8) are fed to the parser only. */
  parserOnly?: boolean;
}

/** The admin password of every hostile ovf-env.xml: no error message may ever show it. */
export const PASSWORD = 'Hostile-Pw-42!';

const HOSTILE = fileURLToPath(new URL('../fixtures/hostile/', import.meta.url));
const fixture = (name: string): string => readFileSync(`${HOSTILE}${name}`, 'utf8');

const DEFAULT_FIELDS: Record<string, string | undefined> = { ComputerName: 'hostile-01', AdminUsername: 'opsadmin', AdminPassword: PASSWORD };

/** A Windows ovf-env.xml in the shape Azure writes; field values are raw XML text (escape with x()). */
export function ovfEnv(fields: Record<string, string | undefined> = {}, extra = '', platform = ''): string {
  const elements = Object.entries({ ...DEFAULT_FIELDS, ...fields })
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `      <${name}>${value}</${name}>`)
    .join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:wa="http://schemas.microsoft.com/windowsazure" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
  <wa:ProvisioningSection>
    <wa:Version>1.0</wa:Version>
    <WindowsProvisioningConfigurationSet xmlns="http://schemas.microsoft.com/windowsazure">
      <ConfigurationSetType>WindowsProvisioningConfiguration</ConfigurationSetType>
${elements}${extra}
    </WindowsProvisioningConfigurationSet>
  </wa:ProvisioningSection>
  <wa:PlatformSettingsSection>
    <wa:Version>1.0</wa:Version>
    <PlatformSettings xmlns="http://schemas.microsoft.com/windowsazure">
      <ProvisionGuestAgent>false</ProvisionGuestAgent>${platform}
    </PlatformSettings>
  </wa:PlatformSettingsSection>
</Environment>
`;
}

/** Escapes text for an element. */
export const x = escapeXml;

const unattend = (pass: string, setting: string, content: string): string =>
  `\n      <AdditionalUnattendContent><Passes><UnattendPass><PassName>${pass}</PassName><Components><UnattendComponent>` +
  `<ComponentName>Microsoft-Windows-Shell-Setup</ComponentName><ComponentSettings><ComponentSetting><SettingName>${setting}</SettingName>` +
  `<Content>${x(content)}</Content></ComponentSetting></ComponentSettings></UnattendComponent></Components></UnattendPass></Passes></AdditionalUnattendContent>`;
const certificateSetting = (location: string, store: string, thumbprint = 'AB'.repeat(20)): string =>
  `\n      <StoredCertificateSettings><CertificateSetting><StoreLocation>${location}</StoreLocation><StoreName>${store}</StoreName><Thumbprint>${thumbprint}</Thumbprint></CertificateSetting></StoredCertificateSettings>`;
const listeners = (...items: string[]): string => `\n      <WinRM><Listeners>${items.join('')}</Listeners></WinRM>`;

const ovfRule = (field: string, rule: string): RegExp => new RegExp(`^ovf-env\\.xml ${field}: .*${rule}`);
const DOC = '\\(document\\)';

function ovfCase(name: string, body: string | Uint8Array, reason: RegExp): HostileCase {
  return { name, document: 'ovf-env', body, code: 'OVF_INVALID', reason };
}

const NAME_RULE = 'must be 1 to 15 characters of letters, digits and hyphens';
const USER_CHARACTERS = 'must not contain any of';
const INVISIBLE = 'must not contain invisible or direction-changing characters';

/** Hostile ovf-env.xml documents: entities, size, encoding, structure, names, passwords, prototype keys. */
export const OVF_CASES: HostileCase[] = [
  ovfCase('ovf-env: DOCTYPE with nested entities (billion laughs)', fixture('ovf-billion-laughs.xml'), ovfRule(DOC, 'must not contain a DOCTYPE')),
  ovfCase('ovf-env: external entity reading /etc/passwd', fixture('ovf-external-entity.xml'), ovfRule(DOC, 'must not contain a DOCTYPE')),
  ovfCase('ovf-env: parameter entity fetching a remote DTD', fixture('ovf-parameter-entity.xml'), ovfRule(DOC, 'must not contain a DOCTYPE')),
  ovfCase('ovf-env: entity declared without a DOCTYPE', fixture('ovf-entity-without-doctype.xml'), ovfRule(DOC, 'must not declare entities')),
  ovfCase('ovf-env: lower-case doctype', ovfEnv().replace('<Environment', '<!doctype Environment>\n<Environment'), ovfRule(DOC, 'must not contain a DOCTYPE')),
  ovfCase('ovf-env: __proto__ element', fixture('ovf-prototype-pollution.xml'), ovfRule(DOC, 'is not well-formed XML')),
  ovfCase('ovf-env: constructor/prototype elements', fixture('ovf-constructor-element.xml'), ovfRule(DOC, 'is not well-formed XML')),
  ovfCase('ovf-env: 20000 nested elements', ovfEnv({}, `\n<a>${'<b>'.repeat(20_000)}${'</b>'.repeat(20_000)}</a>`), ovfRule(DOC, 'is not well-formed XML')),
  ovfCase('ovf-env: 300 KiB document', ovfEnv({}, `\n<Padding>${'A'.repeat(300 * 1024)}</Padding>`), ovfRule(DOC, 'bytes, over the limit of 262144')),
  ovfCase('ovf-env: custom data over the limit', ovfEnv({ CustomData: 'QUFB'.repeat(70_000) }), ovfRule(DOC, 'over the limit of 262144')),
  ovfCase('ovf-env: invalid UTF-8 in AdminUsername', Buffer.concat([Buffer.from(ovfEnv({ AdminUsername: 'ops' }).split('ops</AdminUsername>')[0]!), Buffer.from([0xc3, 0x28]), Buffer.from(`ops</AdminUsername>${ovfEnv({ AdminUsername: 'ops' }).split('ops</AdminUsername>')[1]}`)]), ovfRule(DOC, 'is not valid UTF-8')),
  ovfCase('ovf-env: overlong UTF-8 encoding of "/"', Buffer.concat([Buffer.from(ovfEnv().slice(0, 200)), Buffer.from([0xc0, 0xaf]), Buffer.from(ovfEnv().slice(200))]), ovfRule(DOC, 'is not valid UTF-8')),
  ovfCase('ovf-env: UTF-8-encoded surrogate', Buffer.concat([Buffer.from(ovfEnv().slice(0, 200)), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(ovfEnv().slice(200))]), ovfRule(DOC, 'is not valid UTF-8')),
  ovfCase('ovf-env: UTF-16 document', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(ovfEnv(), 'utf16le')]), ovfRule(DOC, 'is not valid UTF-8')),
  ovfCase('ovf-env: empty file', '', ovfRule(DOC, 'is empty')),
  ovfCase('ovf-env: JSON instead of XML', '{"ComputerName": "web-01"}', /^ovf-env\.xml (\(document\)|Environment): /),
  ovfCase('ovf-env: wrong root element', ovfEnv().replaceAll('Environment', 'Enviroment'), ovfRule('Environment', 'must be the one root element')),
  ovfCase('ovf-env: no ProvisioningSection', ovfEnv().replaceAll('wa:ProvisioningSection', 'wa:OtherSection'), ovfRule('ProvisioningSection', 'is missing')),
  ovfCase('ovf-env: Linux configuration set', ovfEnv().replaceAll('WindowsProvisioningConfigurationSet', 'LinuxProvisioningConfigurationSet'), ovfRule('LinuxProvisioningConfigurationSet', 'this image is Windows')),
  ovfCase('ovf-env: wrong ConfigurationSetType', ovfEnv().replace('>WindowsProvisioningConfiguration<', '>LinuxProvisioningConfiguration<'), ovfRule('ConfigurationSetType', 'must be WindowsProvisioningConfiguration')),
  ovfCase('ovf-env: ComputerName missing', ovfEnv({ ComputerName: undefined }), ovfRule('ComputerName', 'is missing; it is required')),
  ovfCase('ovf-env: AdminUsername missing', ovfEnv({ AdminUsername: undefined }), ovfRule('AdminUsername', 'is missing; it is required')),
  ovfCase('ovf-env: AdminPassword missing', ovfEnv({ AdminPassword: undefined }), ovfRule('AdminPassword', 'is missing; it is required')),
  ovfCase('ovf-env: ComputerName twice', ovfEnv({}, '\n      <ComputerName>other-01</ComputerName>'), ovfRule('ComputerName', 'must appear once')),
  ovfCase('ovf-env: AdminPassword twice', ovfEnv({}, `\n      <AdminPassword>${PASSWORD}x</AdminPassword>`), ovfRule('AdminPassword', 'must appear once')),
  ovfCase('ovf-env: ComputerName holding elements', ovfEnv({ ComputerName: '<First>web</First><Second>01</Second>' }), ovfRule('ComputerName', 'must be text, not nested elements')),
  ovfCase('ovf-env: ResetPasswordOnFirstLogon "yes"', ovfEnv({ ResetPasswordOnFirstLogon: 'yes' }), ovfRule('ResetPasswordOnFirstLogon', 'must be true or false')),
  ovfCase('ovf-env: ProvisionGuestAgent "1"', ovfEnv().replace('<ProvisionGuestAgent>false<', '<ProvisionGuestAgent>1<'), ovfRule('ProvisionGuestAgent', 'must be true or false')),
  ovfCase('ovf-env: ComputerName with a double quote', ovfEnv({ ComputerName: x('web"01') }), ovfRule('ComputerName', NAME_RULE)),
  ovfCase('ovf-env: ComputerName with ";"', ovfEnv({ ComputerName: 'web;shutdown' }), ovfRule('ComputerName', NAME_RULE)),
  ovfCase('ovf-env: ComputerName with $()', ovfEnv({ ComputerName: '$(Restart-Computer)' }), ovfRule('ComputerName', NAME_RULE)),
  ovfCase('ovf-env: ComputerName with backticks', ovfEnv({ ComputerName: 'web`calc`' }), ovfRule('ComputerName', NAME_RULE)),
  ovfCase('ovf-env: ComputerName with a newline', ovfEnv({ ComputerName: 'web&#10;01' }), ovfRule('ComputerName', NAME_RULE)),
  ovfCase('ovf-env: ComputerName with a right-to-left override', ovfEnv({ ComputerName: 'web\u202e10' }), ovfRule('ComputerName', `${NAME_RULE}.*got "web\\\\u202e10"`)),
  ovfCase('ovf-env: ComputerName with a zero-width space', ovfEnv({ ComputerName: 'web\u200b01' }), ovfRule('ComputerName', NAME_RULE)),
  ovfCase('ovf-env: ComputerName with an emoji', ovfEnv({ ComputerName: 'web-\u{1f600}' }), ovfRule('ComputerName', NAME_RULE)),
  ovfCase('ovf-env: ComputerName all digits', ovfEnv({ ComputerName: '1234567' }), ovfRule('ComputerName', 'not all digits')),
  ovfCase('ovf-env: ComputerName of 16 characters', ovfEnv({ ComputerName: 'a'.repeat(16) }), ovfRule('ComputerName', NAME_RULE)),
  ovfCase('ovf-env: AdminUsername with a double quote', ovfEnv({ AdminUsername: x('ops"admin') }), ovfRule('AdminUsername', USER_CHARACTERS)),
  ovfCase('ovf-env: AdminUsername with ";"', ovfEnv({ AdminUsername: 'ops;net user' }), ovfRule('AdminUsername', USER_CHARACTERS)),
  ovfCase('ovf-env: AdminUsername with a newline', ovfEnv({ AdminUsername: 'ops&#13;&#10;admin' }), ovfRule('AdminUsername', USER_CHARACTERS)),
  ovfCase('ovf-env: AdminUsername with a right-to-left override', ovfEnv({ AdminUsername: 'ops\u202enimda' }), ovfRule('AdminUsername', `${INVISIBLE} \\(U\\+202E at position 4`)),
  ovfCase('ovf-env: AdminUsername with a zero-width joiner', ovfEnv({ AdminUsername: 'ops\u200dadmin' }), ovfRule('AdminUsername', `${INVISIBLE} \\(U\\+200D`)),
  ovfCase('ovf-env: AdminUsername with a non-breaking space', ovfEnv({ AdminUsername: 'ops&#160;admin' }), ovfRule('AdminUsername', `${INVISIBLE} \\(U\\+00A0`)),
  ovfCase('ovf-env: AdminUsername with a byte-order mark inside', ovfEnv({ AdminUsername: 'ops\ufeffadmin' }), ovfRule('AdminUsername', `${INVISIBLE} \\(U\\+FEFF`)),
  ovfCase('ovf-env: reserved AdminUsername Administrator', ovfEnv({ AdminUsername: 'Administrator' }), ovfRule('AdminUsername', 'names Azure reserves')),
  ovfCase('ovf-env: reserved AdminUsername ROOT', ovfEnv({ AdminUsername: 'ROOT' }), ovfRule('AdminUsername', 'names Azure reserves')),
  ovfCase('ovf-env: AdminUsername ending with a period', ovfEnv({ AdminUsername: 'opsadmin.' }), ovfRule('AdminUsername', 'must not end with a period')),
  ovfCase('ovf-env: AdminUsername with a leading space', ovfEnv({ AdminUsername: ' opsadmin' }), ovfRule('AdminUsername', 'must not begin or end with whitespace')),
  ovfCase('ovf-env: AdminUsername of 21 characters', ovfEnv({ AdminUsername: 'u'.repeat(21) }), ovfRule('AdminUsername', 'must be 1 to 20 characters')),
  ovfCase('ovf-env: weak password, one character class', ovfEnv({ AdminPassword: 'passwordpassword' }), ovfRule('AdminPassword', 'at least 3 of these 4 groups')),
  ovfCase('ovf-env: password of 7 characters', ovfEnv({ AdminPassword: 'Ab1!xyz' }), ovfRule('AdminPassword', 'must be 8 to 123 characters')),
  ovfCase('ovf-env: password of 124 characters', ovfEnv({ AdminPassword: `Ab1!${'x'.repeat(120)}` }), ovfRule('AdminPassword', 'must be 8 to 123 characters')),
  ovfCase('ovf-env: common password P@ssw0rd', ovfEnv({ AdminPassword: 'P@ssw0rd' }), ovfRule('AdminPassword', 'common passwords Azure disallows')),
  ovfCase('ovf-env: password containing the user name', ovfEnv({ AdminPassword: 'My-opsadmin-1' }), ovfRule('AdminPassword', 'must not contain the user name')),
  ovfCase('ovf-env: StoreLocation __proto__', ovfEnv({}, certificateSetting('__proto__', 'My')), ovfRule('StoreLocation', 'must be LocalMachine or CurrentUser')),
  ovfCase('ovf-env: StoreLocation constructor', ovfEnv({}, certificateSetting('constructor', 'My')), ovfRule('StoreLocation', 'must be LocalMachine or CurrentUser')),
  ovfCase('ovf-env: StoreName walking up folders', ovfEnv({}, certificateSetting('LocalMachine', x('..\\..\\Root'))), ovfRule('StoreName', 'letters, digits, spaces')),
  ovfCase('ovf-env: StoreName with a command', ovfEnv({ }, certificateSetting('LocalMachine', 'My;Remove-Item C:\\')), ovfRule('StoreName', 'letters, digits, spaces')),
  ovfCase('ovf-env: Thumbprint not hexadecimal', ovfEnv({}, certificateSetting('LocalMachine', 'My', `${'Z'.repeat(39)}'`)), ovfRule('Thumbprint', '40 hexadecimal digits')),
  ovfCase('ovf-env: WinRM listener protocol Ftp', ovfEnv({}, listeners('<Listener><Protocol>Ftp</Protocol></Listener>')), ovfRule('Protocol', 'must be Http or Https')),
  ovfCase('ovf-env: WinRM Https listener without a thumbprint', ovfEnv({}, listeners('<Listener><Protocol>Https</Protocol></Listener>')), ovfRule('CertificateThumbprint', 'is missing')),
  ovfCase('ovf-env: two WinRM Http listeners', ovfEnv({}, listeners('<Listener><Protocol>Http</Protocol></Listener>', '<Listener><Protocol>http</Protocol></Listener>')), ovfRule('Protocol', 'repeats Http')),
  ovfCase('ovf-env: TimeZone with $()', ovfEnv({ TimeZone: '$(Set-TimeZone UTC)' }), ovfRule('TimeZone', 'a Windows time zone id')),
  ovfCase('ovf-env: TimeZone with a newline', ovfEnv({ TimeZone: 'UTC&#10;Remove-Item' }), ovfRule('TimeZone', 'a Windows time zone id')),
  ovfCase('ovf-env: GuestAgentPackageName as a path', ovfEnv({}, '', `\n      <GuestAgentPackageName>${x('..\\..\\Windows\\evil.exe')}</GuestAgentPackageName>`), ovfRule('GuestAgentPackageName', 'must be a file name')),
  ovfCase('ovf-env: KmsServerHostname with ";"', ovfEnv({}, '', '\n      <KmsServerHostname>kms;calc.exe</KmsServerHostname>'), ovfRule('KmsServerHostname', 'must be a host name')),
  ovfCase('ovf-env: unattend pass specialize', ovfEnv({}, unattend('specialize', 'FirstLogonCommands', '<FirstLogonCommands/>')), ovfRule('PassName', 'must be oobeSystem')),
  ovfCase('ovf-env: unattend SettingName __proto__', ovfEnv({}, unattend('oobeSystem', '__proto__', '<x/>')), ovfRule('SettingName', 'must be AutoLogon or FirstLogonCommands')),
  ovfCase('ovf-env: unattend Content with a DOCTYPE', ovfEnv({}, unattend('oobeSystem', 'AutoLogon', '<!DOCTYPE AutoLogon [<!ENTITY e SYSTEM "file:///c:/windows/win.ini">]><AutoLogon>&e;</AutoLogon>')), ovfRule('Content', 'must be well-formed XML whose one root element is AutoLogon')),
  ovfCase('ovf-env: unattend Content of another setting', ovfEnv({}, unattend('oobeSystem', 'AutoLogon', '<FirstLogonCommands/>')), ovfRule('Content', 'root element is AutoLogon')),
];

// ---- Fabric documents -------------------------------------------------------------------------------

const GOAL_STATE = (fields: { incarnation?: string; container?: string; instance?: string; configuration?: string } = {}): string => `<?xml version="1.0" encoding="utf-8"?>
<GoalState xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Version>2012-11-30</Version>
  ${fields.incarnation ?? '<Incarnation>1</Incarnation>'}
  <Machine><ExpectedState>Started</ExpectedState></Machine>
  ${fields.container ?? `<Container>
    <ContainerId>c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2</ContainerId>
    <RoleInstanceList>
      <RoleInstance>
        ${fields.instance ?? '<InstanceId>b61f93d0-e1ed-40b2-b067-22c243233448.MachineRole_IN_0</InstanceId>'}
        <Configuration>${fields.configuration ?? ''}</Configuration>
      </RoleInstance>
    </RoleInstanceList>
  </Container>`}
</GoalState>
`;

const storedCertificate = (attributes: string): string => `<?xml version="1.0" encoding="utf-8"?>
<HostingEnvironmentConfig version="1.0.0.0" goalStateIncarnation="1">
  <StoredCertificates>
    <StoredCertificate ${attributes} />
  </StoredCertificates>
</HostingEnvironmentConfig>
`;
const CERTIFICATE = 'name="Stored0" certificateId="sha1:C093FA5CD3AAE057CB7C4E04532B2E16E07C26CA" storeName="My" configurationLevel="System"';

const certificateFile = (inner: string): string => `<?xml version="1.0" encoding="utf-8"?>
<CertificateFile>
  <Version>2012-11-30</Version>
  <Incarnation>1</Incarnation>
  ${inner}
</CertificateFile>
`;
const versions = (inner: string): string => `<?xml version="1.0" encoding="utf-8"?>\n<Versions>${inner}</Versions>\n`;

function fabricCase(name: string, document: HostileDocument, body: string | Uint8Array, code: string, reason: RegExp, parserOnly = false): HostileCase {
  return { name, document, body, code, reason, ...(parserOnly ? { parserOnly } : {}) };
}
const gs = (name: string, body: string | Uint8Array, reason: RegExp, parserOnly = false) =>
  fabricCase(`goal state: ${name}`, 'goalstate', body, 'FABRIC_DOCUMENT_INVALID', reason, parserOnly);
const hec = (name: string, body: string, reason: RegExp) => fabricCase(`hosting config: ${name}`, 'hostingEnvironmentConfig', body, 'FABRIC_DOCUMENT_INVALID', reason);
const cert = (name: string, body: string, reason: RegExp, code = 'FABRIC_DOCUMENT_INVALID') => fabricCase(`certificates: ${name}`, 'certificates', body, code, reason);
const ver = (name: string, body: string, reason: RegExp, code = 'FABRIC_DOCUMENT_INVALID') => fabricCase(`versions: ${name}`, 'versions', body, code, reason);

/** Hostile goal states, hosting environment configs, certificate files and versions documents. */
export const FABRIC_CASES: HostileCase[] = [
  gs('DOCTYPE with nested entities', fixture('goal-state-billion-laughs.xml'), /^GoalState \(document\): must not contain a DOCTYPE/),
  gs('external entity reading /proc/self/environ', fixture('goal-state-external-entity.xml'), /^GoalState \(document\): must not contain a DOCTYPE/),
  gs('__proto__ element', fixture('goal-state-prototype-pollution.xml'), /^GoalState \(document\): is not well-formed XML: .*__proto__/),
  gs('constructor element', GOAL_STATE({ configuration: '<constructor><name>x</name></constructor>' }), /^GoalState \(document\): is not well-formed XML: .*constructor/),
  gs('20000 nested elements', GOAL_STATE({ configuration: `${'<a>'.repeat(20_000)}${'</a>'.repeat(20_000)}` }), /^GoalState \(document\): is not well-formed XML \(at line 11, column \d+\): elements nested more than 100 deep/),
  gs('300 KiB document', GOAL_STATE({ configuration: `<Padding>${'A'.repeat(300 * 1024)}</Padding>` }), /^GoalState \(document\): is \d+ bytes, over the limit of 262144/),
  gs('invalid UTF-8', Buffer.concat([Buffer.from(GOAL_STATE().slice(0, 120)), Buffer.from([0xff, 0xfe, 0xfd]), Buffer.from(GOAL_STATE().slice(120))]), /^GoalState \(document\): is not valid UTF-8/, true),
  gs('empty body', ' ', /^GoalState \(document\): is empty/),
  gs('an HTML error page with status 200', '<html><body><h1>Service Unavailable</h1></body></html>', /^GoalState \(document\): must have the single root element GoalState/),
  gs('Incarnation missing', GOAL_STATE({ incarnation: '' }), /^GoalState Incarnation: is required/),
  gs('Incarnation twice', GOAL_STATE({ incarnation: '<Incarnation>1</Incarnation><Incarnation>2</Incarnation>' }), /^GoalState Incarnation: must appear once/),
  gs('Incarnation with SQL', GOAL_STATE({ incarnation: "<Incarnation>1'; DROP TABLE vms;--</Incarnation>" }), /^GoalState Incarnation: must be 1 to 20 digits/),
  gs('negative Incarnation', GOAL_STATE({ incarnation: '<Incarnation>-1</Incarnation>' }), /^GoalState Incarnation: must be 1 to 20 digits/),
  gs('Incarnation holding elements', GOAL_STATE({ incarnation: '<Incarnation><Value>1</Value></Incarnation>' }), /^GoalState Incarnation: must be text, not nested elements/),
  gs('Container missing', GOAL_STATE({ container: '' }), /^GoalState Container: is required/),
  gs('ContainerId with a newline', GOAL_STATE({ container: '<Container><ContainerId>c6d5&#10;Injected: header</ContainerId></Container>' }), /^GoalState Container\/ContainerId: must not contain control characters/),
  gs('InstanceId of 300 characters', GOAL_STATE({ instance: `<InstanceId>${'i'.repeat(300)}</InstanceId>` }), /^GoalState Container\/RoleInstanceList\/RoleInstance\/InstanceId: must be at most 256 characters/),
  gs('InstanceId missing', GOAL_STATE({ instance: '' }), /^GoalState Container\/RoleInstanceList\/RoleInstance\/InstanceId: is required/),
  gs('certificates URL on another host', fixture('goal-state-foreign-certificates-url.xml'), /^GoalState certificates: URL points at 127\.0\.0\.2:9, not at the WireServer/),
  gs('certificates URL with file:', GOAL_STATE({ configuration: '<Certificates>file:///etc/shadow</Certificates>' }), /Configuration\/Certificates: must be an absolute http or https URL/),
  gs('certificates URL with a space', GOAL_STATE({ configuration: '<Certificates>http://127.0.0.1/a b</Certificates>' }), /Configuration\/Certificates: must be printable ASCII without spaces/),
  hec('external entity', fixture('hosting-env-external-entity.xml'), /^HostingEnvironmentConfig \(document\): must not contain a DOCTYPE/),
  hec('store name walking up folders', fixture('hosting-env-store-traversal.xml'), /^HostingEnvironmentConfig StoredCertificates\/StoredCertificate\[1\]\/@storeName: must be 1 to 64 letters/),
  hec('store name with a command', storedCertificate(CERTIFICATE.replace('storeName="My"', 'storeName="My;Remove-Item C:\\"')), /@storeName: must be 1 to 64 letters/),
  hec('certificateId with md5', storedCertificate(CERTIFICATE.replace('sha1:', 'md5:')), /@certificateId: must be "sha1:" followed by 40 hex digits/),
  hec('configurationLevel __proto__', storedCertificate(CERTIFICATE.replace('"System"', '"__proto__"')), /@configurationLevel: must be "System" or "User"/),
  hec('configurationLevel constructor', storedCertificate(CERTIFICATE.replace('"System"', '"constructor"')), /@configurationLevel: must be "System" or "User"/),
  hec('storeName missing', storedCertificate(CERTIFICATE.replace('storeName="My" ', '')), /@storeName: is required/),
  hec('name with a control character', storedCertificate(CERTIFICATE.replace('Stored0', 'Stored\u001b[31m0')), /^HostingEnvironmentConfig StoredCertificates\/StoredCertificate\/@name: is not well-formed XML \(at line 4, column \d+\): U\+001B/),
  hec('name with a C1 control character', storedCertificate(CERTIFICATE.replace('Stored0', 'Stored\u009b31m0')), /@name: must not contain control characters/),
  hec('101 stored certificates', storedCertificate(Array.from({ length: 101 }, () => CERTIFICATE).join(' />\n    <StoredCertificate ')), /StoredCertificate: must appear at most 100 times/),
  cert('external entity', fixture('certificates-external-entity.xml'), /^CertificateFile \(document\): must not contain a DOCTYPE/),
  cert('Data not base64', certificateFile('<Format>Pkcs7BlobWithPfxContents</Format><Data>MIIB$(whoami)==</Data>'), /^CertificateFile Data: must be base64/),
  cert('Data in incomplete groups', certificateFile('<Format>Pkcs7BlobWithPfxContents</Format><Data>MIIBAAE</Data>'), /^CertificateFile Data: must be base64 in complete 4-character groups/),
  cert('Data holding elements', certificateFile('<Format>Pkcs7BlobWithPfxContents</Format><Data><Blob>MIIB</Blob></Data>'), /^CertificateFile Data: must be text/),
  cert('Format with an escape sequence', certificateFile('<Format>Pkcs7\u001b[2J</Format><Data>MIIB</Data>'), /^CertificateFile Format: is not well-formed XML \(at line 5, column 16\): U\+001B is a character XML does not allow/),
  cert('Format with a C1 control character', certificateFile('<Format>Pkcs7\u009b2J</Format><Data>MIIB</Data>'), /^CertificateFile Format: must be at most 256 characters without control characters/),
  cert('Data of random bytes', certificateFile(`<Format>Pkcs7BlobWithPfxContents</Format><Data>${Buffer.from('not an envelope at all, just text '.repeat(20)).toString('base64')}</Data>`), /^certificates envelope: /, 'CERTIFICATE_DECRYPT_FAILED'),
  cert('5 MiB document', certificateFile(`<Format>Pkcs7BlobWithPfxContents</Format><Data>${'QUFB'.repeat(5 * 256 * 1024)}</Data>`), /^CertificateFile \(document\): is \d+ bytes, over the limit of 4194304/),
  ver('DOCTYPE with nested entities', fixture('versions-billion-laughs.xml'), /^Versions \(document\): must not contain a DOCTYPE/),
  ver('only unknown versions', versions('<Preferred><Version>2099-01-01</Version></Preferred>'), /offers protocol versions \[2099-01-01\], none of 2015-04-05 or 2012-11-30/, 'FABRIC_VERSION_UNSUPPORTED'),
  ver('no versions at all', versions(''), /offers protocol versions \[\], none of/, 'FABRIC_VERSION_UNSUPPORTED'),
  ver('Version with a space', versions('<Preferred><Version>2015-04-05 OR 1=1</Version></Preferred>'), /^Versions Preferred\/Version\[1\]: must be printable ASCII without spaces/),
  ver('65 versions', versions(`<Supported>${'<Version>2015-04-05</Version>'.repeat(65)}</Supported>`), /^Versions Supported\/Version: must appear at most 64 times/),
  ver('__proto__ list', versions('<Preferred><Version>2015-04-05</Version></Preferred><__proto__><Version>x</Version></__proto__>'), /^Versions \(document\): is not well-formed XML: .*__proto__/),
  ver('wrong root', '<?xml version="1.0"?><Version>2015-04-05</Version>', /^Versions \(document\): must have the single root element Versions/),
];

// ---- Not well-formed XML --------------------------------------------------------------------------
// fast-xml-parser accepted every one of these; XML 1.0 refuses them, and so does the agent, with the position.

const NOT_XML = (field: string, rule: string): RegExp => new RegExp(`^${field}: is not well-formed XML \\(at line \\d+, column \\d+\\): .*${rule}`);
const GS_ID = 'GoalState Container\\/ContainerId';
const GS_INSTANCE = 'GoalState Container\\/RoleInstanceList\\/RoleInstance\\/InstanceId';
const bom = Buffer.from([0xef, 0xbb, 0xbf]);

/** Documents that are not well-formed XML, each refused with the position of the fault and the field where it is a value. */
export const NOT_WELL_FORMED_CASES: HostileCase[] = [
  ovfCase('ovf-env: undefined entity &nbsp; in ComputerName', ovfEnv({ ComputerName: 'web&nbsp;01' }), NOT_XML('ovf-env\\.xml ComputerName', '"&" must start &amp;')),
  ovfCase('ovf-env: bare "&" in AdminPassword', ovfEnv({ AdminPassword: 'Hostile & Pw-42!' }), NOT_XML('ovf-env\\.xml AdminPassword', '"&" must start')),
  ovfCase('ovf-env: "&" without ";" in AdminUsername', ovfEnv({ AdminUsername: 'ops&amp' }), NOT_XML('ovf-env\\.xml AdminUsername', '"&" must start')),
  ovfCase('ovf-env: reference to U+FFFE', ovfEnv({ ComputerName: 'web&#xFFFE;' }), NOT_XML('ovf-env\\.xml ComputerName', 'character reference &#xFFFE;')),
  ovfCase('ovf-env: "<" inside an attribute value', ovfEnv({}, '\n      <CustomData i:nil="<true>"/>'), NOT_XML('ovf-env\\.xml \\(document\\)', '"<" inside an attribute value')),
  ovfCase('ovf-env: a second XML declaration', ovfEnv().replace('\n<Environment', '\n<?xml version="1.0"?>\n<Environment'), NOT_XML('ovf-env\\.xml \\(document\\)', 'XML declaration .*only at the very start')),
  ovfCase('ovf-env: an XML declaration inside the root', ovfEnv({}, '\n      <?XML version="1.0"?>'), NOT_XML('ovf-env\\.xml \\(document\\)', 'only at the very start')),
  ovfCase('ovf-env: two byte-order marks', Buffer.concat([bom, bom, Buffer.from(ovfEnv())]), NOT_XML('ovf-env\\.xml \\(document\\)', 'byte-order mark is allowed only as the very first character')),
  ovfCase('ovf-env: a byte-order mark after the declaration', ovfEnv().replace('?>\n', '?>\ufeff\n'), NOT_XML('ovf-env\\.xml \\(document\\)', 'byte-order mark')),
  ovfCase('ovf-env: "--" inside a comment', ovfEnv({}, '\n      <!-- ComputerName -- old value -->'), NOT_XML('ovf-env\\.xml \\(document\\)', '"--" inside a comment')),
  ovfCase('ovf-env: U+0001 in AdminUsername', ovfEnv({ AdminUsername: 'ops\u0001admin' }), NOT_XML('ovf-env\\.xml AdminUsername', 'U\\+0001 is a character XML does not allow')),
  ovfCase('ovf-env: U+FFFF in ComputerName', ovfEnv({ ComputerName: 'web\uffff' }), NOT_XML('ovf-env\\.xml ComputerName', 'U\\+FFFF')),
  ovfCase('ovf-env: "]]>" in TimeZone', ovfEnv({ TimeZone: 'UTC]]>' }), NOT_XML('ovf-env\\.xml TimeZone', '"\\]\\]>" in text')),
  ovfCase('ovf-env: text after the root element', `${ovfEnv()}trailing`, NOT_XML('ovf-env\\.xml \\(document\\)', 'text after the root element')),
  ovfCase('ovf-env: a second root element', `${ovfEnv()}<Environment/>`, NOT_XML('ovf-env\\.xml \\(document\\)', 'a second root element')),
  ovfCase('ovf-env: mismatched end tag', ovfEnv({ ComputerName: 'web-01</ComputerNam><ComputerName>' }), NOT_XML('ovf-env\\.xml \\(document\\)', 'end tag that does not match')),
  ovfCase('ovf-env: unclosed element', ovfEnv().replace('</Environment>', ''), NOT_XML('ovf-env\\.xml \\(document\\)', 'ends inside an element')),
  ovfCase('ovf-env: attribute without quotes', ovfEnv({}, '\n      <CustomData i:nil=true/>'), NOT_XML('ovf-env\\.xml \\(document\\)', 'must be in quotes')),
  ovfCase('ovf-env: the same attribute twice', ovfEnv({}, '\n      <CustomData i:nil="true" i:nil="false"/>'), NOT_XML('ovf-env\\.xml \\(document\\)', 'the same attribute twice')),
  ovfCase('ovf-env: element name starting with a digit', ovfEnv({}, '\n      <1Padding/>'), NOT_XML('ovf-env\\.xml \\(document\\)', 'not a valid XML name')),
  ovfCase('ovf-env: declared UTF-16 in a UTF-8 body', ovfEnv().replace('encoding="utf-8"', 'encoding="utf-16"'), NOT_XML('ovf-env\\.xml \\(document\\)', 'says encoding utf-16; only UTF-8 is read')),
  ovfCase('ovf-env: declared ISO-8859-1', ovfEnv().replace('encoding="utf-8"', 'encoding="ISO-8859-1"'), NOT_XML('ovf-env\\.xml \\(document\\)', 'only UTF-8 is read')),
  ovfCase('ovf-env: UTF-16LE without a byte-order mark', Buffer.from(ovfEnv(), 'utf16le'), ovfRule(DOC, 'is not valid UTF-8: it is UTF-16')),
  gs('U+FFFF in ContainerId (echoed in every health report)', GOAL_STATE({ container: '<Container><ContainerId>c6d5\uffff</ContainerId></Container>' }), NOT_XML(GS_ID, 'U\\+FFFF is a character XML does not allow')),
  gs('U+0008 in InstanceId (echoed in every health report)', GOAL_STATE({ instance: '<InstanceId>b61f\u0008</InstanceId>' }), NOT_XML(GS_INSTANCE, 'U\\+0008')),
  gs('lone surrogate in ContainerId', GOAL_STATE({ container: '<Container><ContainerId>c6d5\ud800</ContainerId></Container>' }), NOT_XML(GS_ID, 'U\\+D800'), true),
  gs('undefined entity in InstanceId', GOAL_STATE({ instance: '<InstanceId>b61f&copy;</InstanceId>' }), NOT_XML(GS_INSTANCE, '"&" must start')),
  gs('reference to U+0000 in Incarnation', GOAL_STATE({ incarnation: '<Incarnation>1&#0;</Incarnation>' }), NOT_XML('GoalState Incarnation', 'character reference &#0;')),
  gs('a second root element', `${GOAL_STATE()}<GoalState/>`, NOT_XML('GoalState \\(document\\)', 'a second root element')),
  gs('text after the root element', `${GOAL_STATE()}<html>503</html`, NOT_XML('GoalState \\(document\\)', 'a second root element')),
  gs('an XML declaration after the root', `${GOAL_STATE()}<?xml version="1.0"?>`, NOT_XML('GoalState \\(document\\)', 'only at the very start')),
  gs('"--" inside a comment', GOAL_STATE({ configuration: '<!-- a -- b -->' }), NOT_XML('GoalState \\(document\\)', '"--" inside a comment')),
  gs('CDATA holding U+0000', GOAL_STATE({ instance: '<InstanceId><![CDATA[b61f\u0000]]></InstanceId>' }), NOT_XML(GS_INSTANCE, 'U\\+0000')),
  hec('"<" inside an attribute value', storedCertificate(CERTIFICATE.replace('"My"', '"<My>"')), NOT_XML('HostingEnvironmentConfig \\(document\\)', '"<" inside an attribute value')),
  hec('undefined entity in an attribute', storedCertificate(CERTIFICATE.replace('"My"', '"My&nbsp;"')), NOT_XML('HostingEnvironmentConfig StoredCertificates\\/StoredCertificate\\/@storeName', '"&" must start')),
  hec('the same attribute twice', storedCertificate(`${CERTIFICATE} storeName="Root"`), NOT_XML('HostingEnvironmentConfig \\(document\\)', 'the same attribute twice')),
  cert('U+0000 in Data', certificateFile('<Format>Pkcs7BlobWithPfxContents</Format><Data>MIIB\u0000</Data>'), NOT_XML('CertificateFile Data', 'U\\+0000')),
  cert('unbalanced tags', certificateFile('<Format>Pkcs7BlobWithPfxContents</Format><Data>MIIB'), NOT_XML('CertificateFile \\(document\\)', 'end tag that does not match')),
  ver('declared UTF-16', versions('<Preferred><Version>2015-04-05</Version></Preferred>').replace('encoding="utf-8"', 'encoding="UTF-16"'), NOT_XML('Versions \\(document\\)', 'says encoding UTF-16; only UTF-8 is read')),
  ver('XML 1.1', versions('<Preferred><Version>2015-04-05</Version></Preferred>').replace('version="1.0"', 'version="1.1"'), NOT_XML('Versions \\(document\\)', 'only XML 1.0 is read')),
  ver('a processing instruction named xml inside', versions('<?xml version="1.0"?><Preferred><Version>2015-04-05</Version></Preferred>'), NOT_XML('Versions \\(document\\)', 'only at the very start')),
];

/** Values that are unusual but legal: they must reach the machine exactly, as data, never as code. */
export interface VerbatimCase {
  name: string;
  username: string;
  password: string;
  customData: string;
}

/** Legal but unusual values, each run to Ready. */
export const VERBATIM_CASES: VerbatimCase[] = [
  { name: 'a user name with an apostrophe and a password with markup', username: "o'brien", password: `Pw<&>"'${'$'}(calc)\`whoami\`1`, customData: "'; Remove-Item -Recurse C:\\ ; echo '" },
  { name: 'a user name with $() and custom data with a here-string terminator', username: '$(Restart-Computer)', password: 'Pw-$env:COMPUTERNAME-9', customData: "'@\n\"@\nWrite-Host pwned\n" },
  { name: 'a user name with backticks and a password with emoji and RTL text', username: 'ops`calc`', password: 'Pw-\u{1f600}-\u05e9\u05dc\u05d5\u05dd-9x', customData: '\u0000\u0001binary\u00ff and NUL bytes' },
  { name: 'a user name with an emoji', username: 'ops\u{1f600}', password: 'Hostile-Pw-42!', customData: '#cloud-config\nruncmd: [ "rm -rf /" ]\n' },
];
