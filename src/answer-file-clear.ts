import { StateError } from './errors.ts';
import { parseXml, rootOf, type XmlFailure } from './protocol/xml.ts';
import { elementsOf, type Element } from './answer-file.ts';
import { Secret } from './util/secret.ts';
import type { Platform } from './platform/platform.ts';

/**
 * The passwords in the answer file, cleared once Windows Setup has used them. Setup reads
 * %WINDIR%\Panther\Unattend\unattend.xml at the start of each pass and removes sensitive data only from
 * the copy it caches in %WINDIR%\Panther ("Windows Setup Automation Overview", Sensitive Data in Answer
 * Files), so the AutoLogon password AdditionalUnattendContent brings would stay in that file, in plain
 * text, in every snapshot and backup of the disk. After OOBE (SetupComplete.cmd runs `winprov
 * clear-answer-file`) each password element gets the text Setup puts in its own copy. Windows keeps
 * AutoLogon going from what Setup stored during oobeSystem (Winlogon, the LSA secret), not from the file.
 */

/** What Windows Setup writes in place of a password in the answer file it caches. */
export const CLEARED_PASSWORD = '*SENSITIVE*DATA*DELETED*';

const KEPT_PASSWORDS = 'the answer file keeps its';

/**
 * The start of the journal warning a provisioning run leaves when the answer file would keep its passwords
 * after OOBE (apply.ts); written once, here, because clear-answer-file finds that warning by it and drops it
 * once the passwords are cleared (isKeptPasswordsWarning).
 */
export function keptPasswordsWarning(passwords: number): string {
  return `${KEPT_PASSWORDS} ${passwords === 1 ? 'password' : `${passwords} passwords`} after OOBE`;
}

/** Whether a journal warning is the one keptPasswordsWarning starts. */
export function isKeptPasswordsWarning(warning: { step: string; message: string }): boolean {
  return warning.step === 'unattend' && warning.message.startsWith(KEPT_PASSWORDS);
}

/**
 * The elements that hold a password: every element whose name ends in "Password", which is how the
 * unattend schemas name them (Shell-Setup AutoLogon/Password, UserAccounts/AdministratorPassword,
 * LocalAccount/Password, OfflineUserAccounts/OfflineAdministratorPassword; UnattendedJoin
 * Identification/Credentials/Password and MachinePassword), with a Value child or as their own text.
 */
const PASSWORD_ELEMENT = /Password$/;

const unreadable: XmlFailure = (field, rule) => new StateError(`the answer file is not one winprov can clear: ${field} ${rule}`, {
  hint: 'the file is not a well-formed unattend document; check %WINDIR%\\Panther\\Unattend\\unattend.xml, and remove any password it holds by hand',
});

/** The answer file with every password replaced by CLEARED_PASSWORD, and how many were; everything else kept byte for byte. */
export function clearAnswerFilePasswords(answerFile: string): { text: string; cleared: number } {
  const { bom, text, secrets } = passwordElements(answerFile);
  let cleared = text;
  // From the end, so the offsets of the ones before stay right.
  for (const e of [...secrets].reverse()) cleared = cleared.slice(0, e.contentStart) + CLEARED_PASSWORD + cleared.slice(e.contentEnd);
  if (secrets.length > 0) rootOf(parseXml(cleared, unreadable), 'unattend', unreadable);
  return { text: bom + cleared, cleared: secrets.length };
}

/** The password elements that hold a secret, in document order, of a well-formed unattend document (checked here). */
function passwordElements(answerFile: string): { bom: string; text: string; secrets: Element[] } {
  const bom = answerFile.charCodeAt(0) === 0xfeff ? '\ufeff' : '';
  const text = answerFile.slice(bom.length);
  rootOf(parseXml(text, unreadable), 'unattend', unreadable);
  const elements = elementsOf(text);
  const children = new Map<Element, Element[]>();
  for (const e of elements) {
    if (e.parent === undefined) continue;
    const siblings = children.get(e.parent);
    if (siblings === undefined) children.set(e.parent, [e]);
    else siblings.push(e);
  }
  const secrets = elements.filter((e) => PASSWORD_ELEMENT.test(e.name) && !within(e.parent) && holdsSecret(text, e, children.get(e) ?? []));
  return { bom, text, secrets };
}

/**
 * Clears the passwords of the answer file Setup reads (Platform.readAnswerFile), writing it only when it
 * holds one (never with dryRun). Returns its path (undefined when there is none) and how many there were.
 */
export async function clearAnswerFile(platform: Pick<Platform, 'readAnswerFile' | 'writeAnswerFile'>, options: { dryRun?: boolean } = {}): Promise<{ path: string | undefined; cleared: number }> {
  const current = await platform.readAnswerFile();
  if (current === undefined) return { path: undefined, cleared: 0 };
  const { text, cleared } = clearAnswerFilePasswords(current.xml);
  if (cleared > 0 && options.dryRun !== true) await platform.writeAnswerFile(new Secret(text));
  return { path: current.path, cleared };
}

/** How many passwords the answer file holds that are not cleared yet: counted, nothing rebuilt. */
export function answerFilePasswords(answerFile: string): number {
  return passwordElements(answerFile).secrets.length;
}

/** True inside a password element (its Value), which is cleared with it. */
function within(element: Element | undefined): boolean {
  for (let e = element; e !== undefined; e = e.parent) if (PASSWORD_ELEMENT.test(e.name)) return true;
  return false;
}

/**
 * A password element holds a secret unless it is empty (<Value/>, an empty Value with PlainText: the
 * schema's "no password"; nothing at all), or holds CLEARED_PASSWORD. What counts is the text Setup
 * reads: comments and processing instructions are not in it, a CDATA section's content is. A password
 * of spaces is a password.
 */
function holdsSecret(text: string, element: Element, children: readonly Element[]): boolean {
  const value = children.find((c) => c.name === 'Value');
  if (value !== undefined) {
    const secret = textOf(text, value);
    return secret !== '' && secret !== CLEARED_PASSWORD;
  }
  // Its own text, around any child elements; white space around child elements (indentation) is none.
  let own = '';
  let at = element.contentStart;
  for (const child of children) {
    own += textOf(text, { contentStart: at, contentEnd: child.start });
    at = child.end;
  }
  own += textOf(text, { contentStart: at, contentEnd: element.contentEnd });
  // White space across lines is layout (as around a comment), not a password of spaces.
  if (children.length > 0 || (own.trim() === '' && /[\r\n]/.test(own))) own = own.trim();
  return own !== '' && own.trim() !== CLEARED_PASSWORD;
}

// Markup in text: CDATA (its content counts), comments and processing instructions (they do not).
const NOT_TEXT = /<!\[CDATA\[([^]*?)\]\]>|<!--[^]*?-->|<\?[^]*?\?>/g;

/** The character data between two offsets, as a parser reports it (entities left as written). */
function textOf(text: string, range: Pick<Element, 'contentStart' | 'contentEnd'>): string {
  return text.slice(range.contentStart, range.contentEnd).replace(NOT_TEXT, (_, cdata: string | undefined) => cdata ?? '');
}
