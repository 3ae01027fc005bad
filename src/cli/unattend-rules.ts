import { XMLValidator } from 'fast-xml-parser';
import { attributeOf, childOf, childrenOf, parseXml, textOf, type XmlNode } from '../protocol/xml.ts';
import { WINPROV_EXE } from '../platform/windows/setup-complete.ts';

/**
 * Reads winprov's answer files the way Windows Setup does, by structure (unattend schema,
 * learn.microsoft.com "Microsoft-Windows-Deployment | RunSynchronous"), and lists what is wrong with them.
 */

/** One RunSynchronousCommand of the specialize pass. */
export interface SpecializeCommand {
  /** wcm:action; list entries need "add" to be added. */
  action: string | undefined;
  order: number;
  path: string;
  description: string | undefined;
  willReboot: string | undefined;
}

/** What a template must run in specialize: winprov's provision command with these arguments. */
export interface UnattendExpectation {
  /** The arguments after "winprov.exe", e.g. "provision" or "provision --defer-ready". */
  winprovArguments: string;
}

/** The Path element's limit (RunSynchronousCommand | Path: "up to 259 characters"). */
export const PATH_LIMIT = 259;

const IDENTITY = { processorArchitecture: 'amd64', publicKeyToken: '31bf3856ad364e35', language: 'neutral', versionScope: 'nonSxS' };
const fail = (field: string, rule: string) => new Error(`${field} ${rule}`);

/** The RunSynchronous commands of the specialize pass, in document order. Throws when the XML is not well-formed. */
export function specializeCommands(xml: string): SpecializeCommand[] {
  const root = parseUnattend(xml);
  const deployment = component(root, 'specialize', 'Microsoft-Windows-Deployment');
  const run = deployment ? childOf(deployment, 'RunSynchronous', 'RunSynchronous', fail) : undefined;
  return (run ? childrenOf(run, 'RunSynchronousCommand', 'RunSynchronousCommand', fail) : []).map((command) => ({
    action: attributeOf(command, 'action'),
    // Digits only: Number() also reads "0x1", " 1.0 " and "1e0", which the schema's unsignedInt does not.
    order: orderOf(textOf(command['Order'], 'Order', fail)),
    path: textOf(command['Path'], 'Path', fail) ?? '',
    description: textOf(command['Description'], 'Description', fail),
    willReboot: textOf(command['WillReboot'], 'WillReboot', fail),
  }));
}

function orderOf(text: string | undefined): number {
  return text !== undefined && /^[0-9]{1,9}$/.test(text) ? Number(text) : Number.NaN;
}

/** The namespace of wcm:action (unattend schema: wcm:action="add" adds an entry to a list). */
const WCM_NAMESPACE = 'http://schemas.microsoft.com/WMIConfig/2002/State';

/**
 * What the shared parser cannot see, since it drops namespace prefixes: every component declares the wcm
 * prefix with its namespace, and every list entry is added with the prefixed attribute (a plain
 * action="add", or wcm: bound to another namespace, is not the attribute Setup reads).
 */
function namespaceProblems(xml: string): string[] {
  const problems: string[] = [];
  for (const tag of xml.match(/<component\b[^>]*>/g) ?? []) {
    if (!tag.includes(`xmlns:wcm="${WCM_NAMESPACE}"`)) problems.push(`${/name="([^"]*)"/.exec(tag)?.[1] ?? 'a'} component must declare xmlns:wcm="${WCM_NAMESPACE}"`);
  }
  for (const tag of xml.match(/<RunSynchronousCommand\b[^>]*>/g) ?? []) {
    if (!/\swcm:action="add"/.test(tag)) problems.push('RunSynchronousCommand must carry wcm:action="add", with the wcm prefix');
  }
  return problems;
}

/** The command line that runs winprov with these arguments and always ends with exit code 0. */
export function wrappedCommand(winprovArguments: string): string {
  return `%WINDIR%\\System32\\cmd.exe /c ""${WINPROV_EXE}" ${winprovArguments} & exit /b 0"`;
}

/** Everything wrong with an answer file for winprov; empty when there is nothing. */
export function unattendProblems(xml: string, expected: UnattendExpectation): string[] {
  const { provisioning, settings } = answerFileProblems(xml, expected);
  return [...provisioning, ...settings];
}

/**
 * The same, in two kinds: what keeps Setup from running winprov as it must in specialize (not well-formed,
 * the root, a component's identity or namespace, the command), and settings the templates have that an image
 * may do without (drivers kept through generalize, OOBE pages skipped, no account or name of its own).
 */
export function answerFileProblems(xml: string, expected: UnattendExpectation): { provisioning: string[]; settings: string[] } {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) return { provisioning: [`not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`], settings: [] };
  try {
    const root = parseUnattend(xml);
    return {
      provisioning: [...namespaceProblems(xml), ...specializeProblems(root, xml, expected)],
      settings: [...generalizeProblems(root), ...oobeProblems(root), ...ownedSettings(root)],
    };
  } catch (err) {
    return { provisioning: [err instanceof Error ? err.message : String(err)], settings: [] };
  }
}

function generalizeProblems(root: XmlNode): string[] {
  const pnp = component(root, 'generalize', 'Microsoft-Windows-PnpSysprep');
  if (!pnp) return ['generalize pass: no Microsoft-Windows-PnpSysprep component'];
  return text(pnp, 'PersistAllDeviceInstalls') === 'true' ? [] : ['generalize pass: PersistAllDeviceInstalls must be true'];
}

function specializeProblems(root: XmlNode, xml: string, expected: UnattendExpectation): string[] {
  if (!component(root, 'specialize', 'Microsoft-Windows-Deployment')) return ['specialize pass: no Microsoft-Windows-Deployment component'];
  const problems: string[] = [];
  const commands = specializeCommands(xml);
  const expectedPath = wrappedCommand(expected.winprovArguments);
  const winprov = commands.filter((command) => command.path.includes(WINPROV_EXE));
  if (winprov.length !== 1) problems.push(`specialize pass: ${winprov.length} RunSynchronousCommand entries run winprov; expected exactly one`);
  else if (winprov[0]!.path !== expectedPath) problems.push(`specialize pass: the command is ${JSON.stringify(winprov[0]!.path)}; expected ${JSON.stringify(expectedPath)}`);
  const orders = new Set<number>();
  for (const command of commands) {
    if (command.action !== 'add') problems.push(`specialize pass: RunSynchronousCommand needs wcm:action="add", not ${command.action ?? '(absent)'}`);
    if (!Number.isInteger(command.order) || command.order < 1 || orders.has(command.order)) problems.push(`specialize pass: Order ${Number.isNaN(command.order) ? '(not digits)' : command.order} must be a unique integer from 1, in digits`);
    orders.add(command.order);
    if (command.path.length > PATH_LIMIT) problems.push(`specialize pass: Path is ${command.path.length} characters, over the limit of ${PATH_LIMIT}`);
    // winprov must end as success for Setup; OnRequest would give its exit codes a meaning (1, 2 = reboot).
    if (command.path.includes(WINPROV_EXE) && command.willReboot !== 'Never') problems.push(`specialize pass: WillReboot must be Never for winprov, not ${command.willReboot ?? '(absent)'}`);
  }
  return problems;
}

function oobeProblems(root: XmlNode): string[] {
  const shell = component(root, 'oobeSystem', 'Microsoft-Windows-Shell-Setup');
  const oobe = shell ? childOf(shell, 'OOBE', 'OOBE', fail) : undefined;
  if (!oobe) return ['oobeSystem pass: no Microsoft-Windows-Shell-Setup OOBE settings'];
  const problems = ['HideEULAPage', 'SkipMachineOOBE', 'SkipUserOOBE']
    .filter((name) => text(oobe, name) !== 'true')
    .map((name) => `oobeSystem pass: OOBE ${name} must be true`);
  if (!['1', '2', '3'].includes(text(oobe, 'ProtectYourPC') ?? '')) problems.push('oobeSystem pass: OOBE ProtectYourPC must be 1, 2 or 3');
  return problems;
}

/** winprov names the machine and creates the account: an answer file that does either would race it. */
function ownedSettings(root: XmlNode): string[] {
  const problems: string[] = [];
  for (const pass of ['specialize', 'oobeSystem']) {
    const setup = component(root, pass, 'Microsoft-Windows-Shell-Setup');
    if (setup?.['ComputerName'] !== undefined) problems.push(`${pass} pass: Shell-Setup ComputerName must not be set (winprov sets the name)`);
    if (setup?.['UserAccounts'] !== undefined || setup?.['AutoLogon'] !== undefined) problems.push(`${pass} pass: Shell-Setup must not set accounts or passwords (winprov does)`);
  }
  return problems;
}

function parseUnattend(xml: string): XmlNode {
  const parsed = parseXml(xml, fail, { arrays: ['settings', 'component', 'RunSynchronousCommand'] });
  const root = childOf(parsed, 'unattend', 'unattend', fail);
  if (!root) throw new Error('the root element must be <unattend>');
  // The shared parser drops xmlns attributes (removeNSPrefix); Setup ignores elements outside this namespace.
  if (!/<unattend\s[^>]*\bxmlns="urn:schemas-microsoft-com:unattend"/.test(xml)) throw new Error('<unattend> must declare xmlns="urn:schemas-microsoft-com:unattend"');
  return root;
}

/** The named component of a pass, checked for the identity Setup matches it by. */
function component(root: XmlNode, pass: string, name: string): XmlNode | undefined {
  const settings = childrenOf(root, 'settings', 'settings', fail).filter((s) => attributeOf(s, 'pass') === pass);
  const found = settings.flatMap((s) => childrenOf(s, 'component', 'component', fail)).filter((c) => attributeOf(c, 'name') === name);
  if (found.length > 1) throw new Error(`${pass} pass: component ${name} appears ${found.length} times`);
  const match = found[0];
  if (match === undefined) return undefined;
  for (const [key, value] of Object.entries(IDENTITY)) {
    if (attributeOf(match, key) !== value) throw new Error(`${pass} pass: component ${name} must have ${key}="${value}"`);
  }
  return match;
}

function text(node: XmlNode, name: string): string | undefined {
  return textOf(node[name], name, fail)?.trim();
}

/** The log SetupComplete.cmd appends to. */
export const SETUP_COMPLETE_LOG = '%ProgramData%\\winprov\\setupcomplete.log';

/**
 * Everything wrong with SetupComplete.cmd for the deferred-Ready mode ("Add a custom script to Windows
 * Setup": Setup ignores its exit code, and it must not reboot): provision, then clear-answer-file after
 * the ":done" label (answer-file-clear.ts). A batch file has no parser to lean on, so
 * this reads it line by line.
 */
export function setupCompleteProblems(text: string): string[] {
  const problems: string[] = [];
  // cmd.exe misreads labels and long lines in LF-only files.
  if (/(^|[^\r])\n/.test(text)) problems.push('line endings must be CRLF');
  const lines = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !/^rem\b/i.test(line));
  const runs = lines.filter((line) => line.startsWith(`"${WINPROV_EXE}"`));
  if (runs.length !== 2) problems.push(`runs winprov ${runs.length} times; expected twice (provision, then clear-answer-file)`);
  else {
    if (!/^"[^"]+" provision >>"%WINPROV_LOG%" 2>&1$/.test(runs[0]!)) problems.push(`runs ${JSON.stringify(runs[0])} first; expected "provision" (no --defer-ready) with its output appended to the log`);
    if (!/^"[^"]+" clear-answer-file >>"%WINPROV_LOG%" 2>&1$/.test(runs[1]!)) problems.push(`runs ${JSON.stringify(runs[1])} second; expected "clear-answer-file" with its output appended to the log`);
    // After the label every way through the script reaches (goto done), with nothing that leaves between:
    // the passwords go whatever provision did.
    const done = lines.findIndex((line) => line.toLowerCase() === ':done');
    const clear = lines.indexOf(runs[1]!);
    if (done < 0) problems.push('has no ":done" label: "goto done" would end the script before clear-answer-file');
    else if (clear < done) problems.push('runs clear-answer-file before the ":done" label; a failed provision would skip it');
    else if (lines.slice(done + 1, clear).some((line) => /^(exit|goto)\b/i.test(line))) problems.push('leaves the script between ":done" and clear-answer-file');
  }
  if (!lines.some((line) => line === `set "WINPROV_LOG=${SETUP_COMPLETE_LOG}"`)) problems.push(`must log to ${SETUP_COMPLETE_LOG}`);
  if (lines.at(-1) !== 'exit /b 0') problems.push('must end with "exit /b 0"');
  if (lines.some((line) => /\b(shutdown(\.exe)?|restart-computer)\b/i.test(line))) problems.push('must not restart the machine');
  return problems;
}
