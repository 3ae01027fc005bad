import { OvfError } from '../errors.ts';
import { Secret } from '../util/secret.ts';
import { CONTROL, INVISIBLE, escapeUnsafe } from '../util/escape.ts';
import { parseXml } from './xml.ts';
import { parseUnattendContent } from './unattend-content.ts';

/**
 * The value rules of ovf-env.xml: Azure's own osProfile validation (ARM OSProfile reference, Windows VM
 * FAQ, PSRule Azure.VM.ComputerName) plus the Windows password policy. Azure checks these before it
 * deploys, so a violation here means a hand-made or damaged document; each one fails with the element's
 * name and the rule in plain words. No rule ever prints the password, custom data or unattend content.
 */

/** User names Azure refuses for a Windows adminUsername, lower-case (compared case-insensitively). */
export const RESERVED_USER_NAMES: ReadonlySet<string> = new Set([
  'administrator', 'admin', 'user', 'user1', 'test', 'user2', 'test1', 'user3', 'admin1', '1', '123', 'a',
  'actuser', 'adm', 'admin2', 'aspnet', 'backup', 'console', 'david', 'guest', 'john', 'owner', 'root',
  'server', 'sql', 'support', 'support_388945a0', 'sys', 'test2', 'test3', 'user4', 'user5',
]);

/** Passwords Azure refuses as too common, lower-case; compared case-insensitively, which only widens the list. */
export const DISALLOWED_PASSWORDS: ReadonlySet<string> = new Set(
  [
    'abc@123', 'P@$$w0rd', 'P@ssw0rd', 'P@ssword123', 'Pa$$word', 'pass@word1', 'Password!', 'Password1', 'Password22',
    'iloveyou!',
  ].map((p) => p.toLowerCase()),
);

/** Size limit of one AdditionalUnattendContent Content ("less than 4 KB including the root element"). */
/**
 * Size limit of ovf-env.xml. The largest legitimate part is custom data: at most 65,535 bytes (ARM), which
 * is 87,380 characters of base64. Two unattend settings under 4 KB each grow at most 6x when entity-escaped
 * (&quot;), about 48 KiB; everything else fits in a few KiB. That is under 150 KiB, so 256 KiB leaves room
 * while keeping a hostile document cheap to refuse.
 */
export const OVF_ENV_MAX_BYTES = 256 * 1024;

export const UNATTEND_CONTENT_MAX_BYTES = 4096;

const ECHO_MAX = 40;
const COMPUTER_NAME = /^[A-Za-z0-9-]{1,15}$/;
const USER_NAME_FORBIDDEN = /["/\\[\]:;|=,+*?<>@]/;
const TIME_ZONE = /^[A-Za-z0-9 ()+\-.,:]{1,64}$/;
const THUMBPRINT = /^[0-9A-Fa-f]{40}$/;
// Same store-name rule as hosting-env.ts: no leading/trailing space or dot, so "." and ".." cannot turn a
// Cert:\LocalMachine\<name> path into a folder walk, and Windows has nothing to trim silently.
const STORE_NAME = /^[A-Za-z0-9_-](?:[A-Za-z0-9 ._-]{0,62}[A-Za-z0-9_-])?$/;
// The package is looked up as $$\OEM\GuestAgent\<name> on the media: a plain file name, never a path.
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
const HOST_AND_PORT = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})(?::[0-9]{1,5})?$/;
// Maps, not object literals: a lookup of "constructor" or "__proto__" must find nothing.
const STORE_LOCATIONS = new Map<string, string>([['localmachine', 'LocalMachine'], ['currentuser', 'CurrentUser']]);
const PROTOCOLS = new Map<string, 'Http' | 'Https'>([['http', 'Http'], ['https', 'Https']]);
const SETTING_NAMES = new Map<string, string>([['autologon', 'AutoLogon'], ['firstlogoncommands', 'FirstLogonCommands']]);

type Text = string | undefined;

/** One WinRM listener as winprov configures it. */
export interface WinRmListener {
  protocol: 'Http' | 'Https';
  certificateThumbprint: string | undefined;
}

/** One certificate Azure asks to place in a store (StoredCertificateSettings/CertificateSetting). */
export interface CertificateSetting {
  storeLocation: string;
  storeName: string;
  thumbprint: string;
}

/** One AdditionalUnattendContent setting, with its names in Azure's spelling. */
export interface UnattendSetting {
  passName: string;
  componentName: string;
  settingName: string;
  content: Secret<string>;
}

/**
 * A value quoted for an error message: JSON-escaped, cut to 40 characters, and withheld altogether when
 * it overlaps the password (a document whose user name is its password must not print it that way).
 */
export function quote(value: string, password: Text): string {
  if (password !== undefined && password.length > 0) {
    const v = value.toLowerCase();
    const p = password.toLowerCase();
    if (v.length > 0 && (p.includes(v) || v.includes(p))) return '(value not shown: it overlaps the password)';
  }
  const shown = value.length > ECHO_MAX ? `${JSON.stringify(value.slice(0, ECHO_MAX))}...` : JSON.stringify(value);
  // An echoed right-to-left override would reorder the log line that prints it, and JSON leaves DEL and the
  // C1 controls (U+0085 is a line break to some readers) as they are: show such characters escaped.
  return escapeUnsafe(shown);
}

function missing(field: string, where?: string): OvfError {
  return new OvfError(field, `is missing${where === undefined ? '' : ` in ${where}`}; it is required`);
}

/** The error for a rule; `value` is quoted after it (never pass a secret). */
function invalid(field: string, rule: string, value?: string, password?: Text): OvfError {
  return new OvfError(field, value === undefined ? rule : `${rule}; got ${quote(value, password)}`);
}

const WHITESPACE_RULE = 'must not begin or end with whitespace (Azure trims nothing)';

/** ComputerName: required; 1-15 letters, digits and hyphens, not all digits (a NetBIOS-safe DNS label). */
export function checkComputerName(value: Text, password: Text): string {
  const field = 'ComputerName';
  if (value === undefined) throw missing(field);
  if (value !== value.trim()) throw invalid(field, WHITESPACE_RULE, value, password);
  if (!COMPUTER_NAME.test(value) || /^[0-9]+$/.test(value)) {
    throw invalid(field, 'must be 1 to 15 characters of letters, digits and hyphens, not all digits', value, password);
  }
  // Azure's naming rules for a Windows computer name ("can't end with period or hyphen"); "-" alone too.
  if (value.endsWith('-')) throw invalid(field, 'must not end with a hyphen', value, password);
  return value;
}

/** AdminUsername: required; Azure's Windows user-name rules. */
export function checkAdminUsername(value: Text, password: Text): string {
  const field = 'AdminUsername';
  if (value === undefined) throw missing(field);
  if (value !== value.trim()) throw invalid(field, WHITESPACE_RULE, value, password);
  if (value.length < 1 || value.length > 20) throw invalid(field, 'must be 1 to 20 characters', value, password);
  if (USER_NAME_FORBIDDEN.test(value) || CONTROL.test(value)) {
    const rule = 'must not contain any of " / \\ [ ] : ; | = , + * ? < > @ or control characters';
    throw invalid(field, rule, value, password);
  }
  if (value.endsWith('.')) throw invalid(field, 'must not end with a period', value, password);
  const hidden = INVISIBLE.exec(value);
  if (hidden !== null) {
    // Such a name shows as another one in logs and in Windows' own lists ("ops\u200Badmin" reads "opsadmin").
    const code = `U+${hidden[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    throw invalid(field, `must not contain invisible or direction-changing characters (${code} at position ${hidden.index + 1}: zero-width, bidirectional override, non-breaking space ...)`);
  }
  // Windows matches account names case-insensitively by upper-casing (RtlUpcaseUnicodeString): "adminiſtrator"
  // (U+017F) and "admın" (U+0131) are ADMINISTRATOR and ADMIN there, though lower-casing leaves them apart.
  if (RESERVED_USER_NAMES.has(value.toLowerCase()) || RESERVED_USER_NAMES.has(value.toUpperCase().toLowerCase())) {
    const rule = 'must not be one of the names Azure reserves (administrator, admin, guest, root ...)';
    throw invalid(field, rule, value, password);
  }
  return value;
}

/** AdminPassword: required; Azure's complexity rules and Windows' "must not contain the account name". */
export function checkAdminPassword(value: Text, username: string): Secret<string> {
  const field = 'AdminPassword';
  if (value === undefined) throw missing(field);
  if (value.length < 8 || value.length > 123) throw invalid(field, 'must be 8 to 123 characters long');
  const groups = [/[a-z]/, /[A-Z]/, /[0-9]/, /[\W_]/].filter((re) => re.test(value)).length;
  if (groups < 3) {
    const groupsRule = 'lowercase letters, uppercase letters, digits, special characters';
    throw invalid(field, `must contain characters from at least 3 of these 4 groups: ${groupsRule}`);
  }
  // Windows' complexity policy checks the account name only when it is 3 characters or longer.
  if (username.length >= 3 && value.toLowerCase().includes(username.toLowerCase())) {
    throw invalid(field, 'must not contain the user name (Windows password policy)');
  }
  // No examples in this message: they are passwords, and one of them may be this one.
  if (DISALLOWED_PASSWORDS.has(value.toLowerCase())) {
    throw invalid(field, 'must not be one of the common passwords Azure disallows');
  }
  return new Secret(value);
}

/** An xsd:boolean limited to true/false in any case (surrounding whitespace collapses, as in XML Schema). */
export function checkBoolean(field: string, value: Text, password: Text): boolean | undefined {
  if (value === undefined) return undefined;
  const word = value.trim().toLowerCase();
  if (word === 'true' || word === 'false') return word === 'true';
  throw invalid(field, 'must be true or false', value, password);
}

/** TimeZone: optional Windows time zone id; an empty element counts as absent. */
export function checkTimeZone(value: Text, password: Text): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!TIME_ZONE.test(value)) {
    const rule = 'must be 1 to 64 characters of letters, digits, spaces and ( ) + - . , : (a Windows time zone id)';
    throw invalid('TimeZone', rule, value, password);
  }
  return value;
}

function thumbprint(field: string, value: Text, where: string): string {
  if (value === undefined || value === '') throw missing(field, where);
  if (!THUMBPRINT.test(value)) throw invalid(field, `in ${where} must be 40 hexadecimal digits (a SHA-1 thumbprint)`);
  return value.toUpperCase();
}

/** A WinRM listener: Protocol Http or Https in any case; Https needs a thumbprint, Http has none (one given is ignored). */
export function checkListener(protocolText: Text, thumbprintText: Text, where: string, password: Text): WinRmListener {
  if (protocolText === undefined) throw missing('Protocol', where);
  const protocol = PROTOCOLS.get(protocolText.toLowerCase());
  if (protocol === undefined) throw invalid('Protocol', `in ${where} must be Http or Https`, protocolText, password);
  if (protocol === 'Http') return { protocol, certificateThumbprint: undefined };
  return { protocol, certificateThumbprint: thumbprint('CertificateThumbprint', thumbprintText, where) };
}

/** A stored certificate: StoreLocation LocalMachine (the ARM default) or CurrentUser, a plain StoreName, a thumbprint. */
export function checkCertificateSetting(
  raw: { storeLocation: Text; storeName: Text; thumbprint: Text },
  where: string,
  password: Text,
): CertificateSetting {
  const location = raw.storeLocation ?? '';
  const storeLocation = location === '' ? 'LocalMachine' : STORE_LOCATIONS.get(location.toLowerCase());
  if (storeLocation === undefined) {
    throw invalid('StoreLocation', `in ${where} must be LocalMachine or CurrentUser`, location, password);
  }
  const { storeName } = raw;
  if (storeName === undefined || storeName === '') throw missing('StoreName', where);
  if (!STORE_NAME.test(storeName)) {
    const rule = "must be 1 to 64 characters of letters, digits, spaces, '-', '_' and '.'";
    throw invalid('StoreName', `in ${where} ${rule}, not beginning or ending with a space or '.'`, storeName, password);
  }
  return { storeLocation, storeName, thumbprint: thumbprint('Thumbprint', raw.thumbprint, where) };
}

/** GuestAgentPackageName: optional file name on the media (never a path); empty counts as absent. */
export function checkPackageName(value: Text, password: Text): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!FILE_NAME.test(value)) {
    const rule = "must be a file name of 1 to 128 letters, digits, '.', '-' and '_', not starting with '.'";
    throw invalid('GuestAgentPackageName', rule, value, password);
  }
  return value;
}

/** KmsServerHostname: optional host name with an optional :port; empty counts as absent. */
export function checkKmsHost(value: Text, password: Text): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!HOST_AND_PORT.test(value)) {
    const rule = "must be a host name of letters, digits, '-' and '.', optionally with :port";
    throw invalid('KmsServerHostname', rule, value, password);
  }
  return value;
}

/**
 * Azure's AdditionalUnattendContent rules: pass oobeSystem, component Microsoft-Windows-Shell-Setup,
 * setting AutoLogon or FirstLogonCommands (names in any case), and Content a single XML element named for
 * the setting, under 4 KB. Content is spliced into unattend.xml, so anything else is refused; being an
 * AutoLogon block it holds a password, so no message quotes it.
 */
export function checkUnattendSetting(
  raw: { passName: Text; componentName: Text; settingName: Text; content: Text },
  where: string,
  password: Text,
): UnattendSetting {
  const { passName = '', componentName = '', settingName = '', content } = raw;
  if (passName.toLowerCase() !== 'oobesystem') {
    throw invalid('PassName', `in ${where} must be oobeSystem (the only pass Azure supports)`, passName, password);
  }
  if (componentName.toLowerCase() !== 'microsoft-windows-shell-setup') {
    const rule = `in ${where} must be Microsoft-Windows-Shell-Setup (the only component Azure supports)`;
    throw invalid('ComponentName', rule, componentName, password);
  }
  const setting = SETTING_NAMES.get(settingName.toLowerCase());
  if (setting === undefined) {
    throw invalid('SettingName', `in ${where} must be AutoLogon or FirstLogonCommands`, settingName, password);
  }
  if (content === undefined || content.trim() === '') throw missing('Content', where);
  if (Buffer.byteLength(content, 'utf8') >= UNATTEND_CONTENT_MAX_BYTES) {
    throw invalid('Content', `in ${where} must be less than 4 KB (${UNATTEND_CONTENT_MAX_BYTES} bytes) of UTF-8`);
  }
  // The parser's own messages can quote the text, so every failure becomes this fixed rule.
  const failure = (): OvfError =>
    invalid('Content', `in ${where} must be well-formed XML whose one root element is ${setting}`);
  const root = parseXml(content, failure, { maxBytes: UNATTEND_CONTENT_MAX_BYTES });
  const elements = Object.keys(root).filter((key) => !key.startsWith('#') && !key.startsWith('@_'));
  if (elements.length !== 1 || elements[0] !== setting || Array.isArray(root[setting])) throw failure();
  // Only the settings Setup documents for it, each value checked: the content ends up in Setup's answer file.
  parseUnattendContent(setting as 'AutoLogon' | 'FirstLogonCommands', content, where, UNATTEND_CONTENT_MAX_BYTES);
  const names = { passName: 'oobeSystem', componentName: 'Microsoft-Windows-Shell-Setup', settingName: setting };
  return { ...names, content: new Secret(content) };
}
