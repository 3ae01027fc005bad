import { OvfError } from '../errors.ts';
import { Secret } from '../util/secret.ts';
import { escapeXml, isNode, parseXml, textOf, type XmlFailure, type XmlNode } from './xml.ts';

/**
 * The Content of one AdditionalUnattendContent setting, read into the settings Windows Setup documents
 * for it (Unattended Windows Setup Reference, Microsoft-Windows-Shell-Setup: AutoLogon, FirstLogonCommands)
 * and built again as answer-file XML. Whoever deploys the VM writes this XML and it ends up in the answer
 * file Setup runs as SYSTEM, so nothing of it is copied as text: only the documented elements are read,
 * each value is checked, and the answer file gets markup winprov builds with every value escaped. Anything
 * else (another element, an attribute, a value that carries markup or control characters) is refused by
 * name, never quoting the content: AutoLogon holds a password.
 */

export interface AutoLogon {
  username: string;
  domain?: string;
  enabled?: boolean;
  logonCount?: number;
  password?: { value: Secret<string>; plainText?: boolean };
}

export interface FirstLogonCommand {
  order: number;
  commandLine: string;
  description?: string;
  requiresUserInput?: boolean;
}

export type UnattendContent =
  | { setting: 'AutoLogon'; autoLogon: AutoLogon }
  | { setting: 'FirstLogonCommands'; commands: FirstLogonCommand[] };

/** The namespace of wcm:action (the answer file's own declaration, repeated on FirstLogonCommands). */
export const WCM_NAMESPACE = 'http://schemas.microsoft.com/WMIConfig/2002/State';

// Unattend reference limits: CommandLine at most 1024 characters, Description 256; a user or domain
// name well under 256; the password Windows accepts at most 127 (base64 of UTF-16 when PlainText is false).
const COMMAND_LINE_MAX = 1024;
const DESCRIPTION_MAX = 256;
const NAME_MAX = 256;
const PASSWORD_MAX = 1024;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// In a name, any markup character; in a command line (where < > & | are cmd syntax), only what starts markup.
const NAME_MARKUP = /[<>&"]/;
const MARKUP_START = /<[A-Za-z/!?]/;
const CHILDREN = {
  AutoLogon: ['Domain', 'Enabled', 'LogonCount', 'Password', 'Username'],
  Password: ['Value', 'PlainText'],
  FirstLogonCommands: ['SynchronousCommand'],
  SynchronousCommand: ['CommandLine', 'Description', 'Order', 'RequiresUserInput'],
} as const;

/**
 * Reads and checks one setting's Content (its root element already known to be `setting`); throws
 * OvfError('Content', rule) naming the element and the rule, never a value.
 */
export function parseUnattendContent(setting: 'AutoLogon' | 'FirstLogonCommands', content: string, where: string, maxBytes: number): UnattendContent {
  const refuse = (rule: string): OvfError => new OvfError('Content', `in ${where} (${setting}) ${rule}`);
  const wellFormed: XmlFailure = () => refuse(`must be well-formed XML whose one root element is ${setting}, without a DOCTYPE`);
  const root = parseXml(content, wellFormed, { maxBytes, arrays: ['SynchronousCommand'] });
  const node = elementOf(root[setting], setting, refuse);
  if (setting === 'AutoLogon') return { setting, autoLogon: autoLogon(node, refuse) };
  const commands = (Array.isArray(node['SynchronousCommand']) ? node['SynchronousCommand'] : []).map((item, i) =>
    command(elementOf(item, `SynchronousCommand ${i + 1}`, refuse, ['action']), i + 1, refuse));
  if (commands.length === 0) throw refuse('must hold at least one SynchronousCommand');
  const orders = new Set(commands.map((c) => c.order));
  if (orders.size !== commands.length) throw refuse('must give each SynchronousCommand its own Order');
  return { setting, commands };
}

type Refuse = (rule: string) => OvfError;

/** An element with only the documented children (and attributes), no text of its own. */
function elementOf(value: unknown, name: string, refuse: Refuse, attributes: readonly string[] = []): XmlNode {
  if (typeof value === 'string' && value.trim() === '') return {};
  if (!isNode(value)) throw refuse(`${name} must be an element with the documented child elements`);
  const local = name.replace(/ \d+$/, '') as keyof typeof CHILDREN;
  const allowed: readonly string[] = CHILDREN[local];
  for (const [key, child] of Object.entries(value)) {
    if (key === '#text') {
      if (typeof child !== 'string' || child.trim() !== '') throw refuse(`${name} must not hold text of its own`);
    } else if (key.startsWith('@_')) {
      const attribute = key.slice(2);
      if (!attributes.includes(attribute)) throw refuse(`${name} must not carry the attribute ${attribute}`);
      // wcm:action="add" is how an answer file adds a list item; nothing else is meaningful here.
      if (child !== 'add') throw refuse(`${name} may carry only wcm:action="add"`);
    } else if (!allowed.includes(key)) {
      throw refuse(`${name} must not contain ${key.slice(0, 40)}: only ${allowed.join(', ')} are documented settings`);
    }
  }
  return value;
}

function text(node: XmlNode, name: string, refuse: Refuse): string | undefined {
  const value = textOf(node[name], name, (field, rule) => refuse(`${field} ${rule}`));
  if (value === undefined) return undefined;
  if (CONTROL.test(value)) throw refuse(`${name} must not contain control characters or line breaks`);
  return value;
}

function bool(node: XmlNode, name: string, refuse: Refuse): boolean | undefined {
  const value = text(node, name, refuse);
  if (value === undefined) return undefined;
  const word = value.trim().toLowerCase();
  if (word !== 'true' && word !== 'false') throw refuse(`${name} must be true or false`);
  return word === 'true';
}

function integer(node: XmlNode, name: string, refuse: Refuse, min: number, max: number): number | undefined {
  const value = text(node, name, refuse);
  if (value === undefined) return undefined;
  if (!/^[0-9]{1,10}$/.test(value.trim()) || Number(value) < min || Number(value) > max) throw refuse(`${name} must be a whole number from ${min} to ${max}`);
  return Number(value);
}

function name(node: XmlNode, field: string, refuse: Refuse): string | undefined {
  const value = text(node, field, refuse);
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > NAME_MAX || value !== value.trim() || NAME_MARKUP.test(value)) {
    throw refuse(`${field} must be 1 to ${NAME_MAX} characters, without surrounding spaces or any of < > & "`);
  }
  return value;
}

function autoLogon(node: XmlNode, refuse: Refuse): AutoLogon {
  const username = name(node, 'Username', refuse);
  if (username === undefined) throw refuse('needs a Username (the account Windows logs on)');
  const result: AutoLogon = { username };
  const domain = name(node, 'Domain', refuse);
  if (domain !== undefined) result.domain = domain;
  const enabled = bool(node, 'Enabled', refuse);
  if (enabled !== undefined) result.enabled = enabled;
  const logonCount = integer(node, 'LogonCount', refuse, 1, 999_999);
  if (logonCount !== undefined) result.logonCount = logonCount;
  if (node['Password'] !== undefined) {
    const password = elementOf(node['Password'], 'Password', refuse);
    const value = textOf(password['Value'], 'Value', (field, rule) => refuse(`Password/${field} ${rule}`)) ?? '';
    if (value.length > PASSWORD_MAX || CONTROL.test(value)) throw refuse(`Password/Value must be at most ${PASSWORD_MAX} characters without control characters`);
    const plainText = bool(password, 'PlainText', refuse);
    result.password = { value: new Secret(value), ...(plainText === undefined ? {} : { plainText }) };
  }
  return result;
}

function command(node: XmlNode, index: number, refuse: Refuse): FirstLogonCommand {
  const where = `SynchronousCommand ${index}`;
  const commandLine = text(node, 'CommandLine', refuse);
  if (commandLine === undefined || commandLine.trim() === '' || commandLine.length > COMMAND_LINE_MAX) {
    throw refuse(`${where} needs a CommandLine of 1 to ${COMMAND_LINE_MAX} characters`);
  }
  if (MARKUP_START.test(commandLine)) throw refuse(`${where} CommandLine must not contain XML markup (< followed by a letter, /, ! or ?)`);
  const order = integer(node, 'Order', refuse, 1, 1000);
  if (order === undefined) throw refuse(`${where} needs an Order`);
  const result: FirstLogonCommand = { order, commandLine };
  const description = text(node, 'Description', refuse);
  if (description !== undefined) {
    if (description.length > DESCRIPTION_MAX || MARKUP_START.test(description)) throw refuse(`${where} Description must be at most ${DESCRIPTION_MAX} characters without XML markup`);
    result.description = description;
  }
  const requiresUserInput = bool(node, 'RequiresUserInput', refuse);
  if (requiresUserInput !== undefined) result.requiresUserInput = requiresUserInput;
  return result;
}

/**
 * The setting as answer-file markup, indented for a component's children, in the shape Azure's own answer
 * file carries it; every value escaped. The result holds the AutoLogon password: it is a Secret.
 */
export function buildUnattendSetting(content: UnattendContent, indent = '      '): Secret<string> {
  const lines: string[] = [];
  const add = (depth: number, line: string): void => void lines.push(`${indent}${'  '.repeat(depth)}${line}`);
  const leaf = (depth: number, tag: string, value: string | number | boolean | undefined): void => {
    if (value !== undefined) add(depth, `<${tag}>${escapeXml(String(value))}</${tag}>`);
  };
  if (content.setting === 'AutoLogon') {
    const a = content.autoLogon;
    add(0, '<AutoLogon>');
    if (a.password !== undefined) {
      add(1, '<Password>');
      leaf(2, 'Value', a.password.value.reveal());
      leaf(2, 'PlainText', a.password.plainText);
      add(1, '</Password>');
    }
    leaf(1, 'Enabled', a.enabled);
    leaf(1, 'LogonCount', a.logonCount);
    leaf(1, 'Username', a.username);
    leaf(1, 'Domain', a.domain);
    add(0, '</AutoLogon>');
  } else {
    add(0, `<FirstLogonCommands xmlns:wcm="${WCM_NAMESPACE}">`);
    for (const c of [...content.commands].sort((x, y) => x.order - y.order)) {
      add(1, '<SynchronousCommand wcm:action="add">');
      leaf(2, 'CommandLine', c.commandLine);
      leaf(2, 'Description', c.description);
      leaf(2, 'Order', c.order);
      leaf(2, 'RequiresUserInput', c.requiresUserInput);
      add(1, '</SynchronousCommand>');
    }
    add(0, '</FirstLogonCommands>');
  }
  return new Secret(lines.join('\n'));
}
