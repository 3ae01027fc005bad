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

/**
 * The elements that hold a password in the Microsoft-Windows-Shell-Setup and Microsoft-Windows-UnattendedJoin
 * schemas: AutoLogon/Password, UserAccounts/AdministratorPassword, LocalAccount/Password, DomainAccount
 * and Identification/Credentials/Password (Value and PlainText children, or the text itself).
 */
const PASSWORD_ELEMENTS = new Set(['Password', 'AdministratorPassword']);

const unreadable: XmlFailure = (field, rule) => new StateError(`the answer file is not one winprov can clear: ${field} ${rule}`, {
  hint: 'the file is not a well-formed unattend document; check %WINDIR%\\Panther\\Unattend\\unattend.xml, and remove any password it holds by hand',
});

/** The answer file with every password replaced by CLEARED_PASSWORD, and how many were; everything else kept byte for byte. */
export function clearAnswerFilePasswords(answerFile: string): { text: string; cleared: number } {
  const bom = answerFile.charCodeAt(0) === 0xfeff ? '\ufeff' : '';
  const text = answerFile.slice(bom.length);
  rootOf(parseXml(text, unreadable), 'unattend', unreadable);
  const secrets = elementsOf(text).filter((e) => PASSWORD_ELEMENTS.has(e.name) && !within(e.parent) && holdsSecret(text, e));
  let cleared = text;
  // From the end, so the offsets of the ones before stay right.
  for (const e of secrets.reverse()) cleared = cleared.slice(0, e.contentStart) + CLEARED_PASSWORD + cleared.slice(e.contentEnd);
  if (secrets.length > 0) rootOf(parseXml(cleared, unreadable), 'unattend', unreadable);
  return { text: bom + cleared, cleared: secrets.length };
}

/**
 * Clears the passwords of the answer file Setup reads (Platform.readAnswerFile), writing it only when it
 * holds one. Returns its path (undefined when there is none) and how many were cleared.
 */
export async function clearAnswerFile(platform: Pick<Platform, 'readAnswerFile' | 'writeAnswerFile'>): Promise<{ path: string | undefined; cleared: number }> {
  const current = await platform.readAnswerFile();
  if (current === undefined) return { path: undefined, cleared: 0 };
  const { text, cleared } = clearAnswerFilePasswords(current.xml);
  if (cleared > 0) await platform.writeAnswerFile(new Secret(text));
  return { path: current.path, cleared };
}

/** How many passwords the answer file holds that are not cleared yet. */
export function answerFilePasswords(answerFile: string): number {
  return clearAnswerFilePasswords(answerFile).cleared;
}

/** True inside a password element (its Value), which is cleared with it. */
function within(element: Element | undefined): boolean {
  for (let e = element; e !== undefined; e = e.parent) if (PASSWORD_ELEMENTS.has(e.name)) return true;
  return false;
}

/**
 * A password element holds a secret unless nothing is left of it without its markup (<Value/>, or an empty
 * Value with PlainText: the schema's "no password"), or what is left is already CLEARED_PASSWORD.
 */
function holdsSecret(text: string, element: Element): boolean {
  const left = text.slice(element.contentStart, element.contentEnd)
    .replace(/<(?:\w+:)?PlainText\s*>[^<]*<\/(?:\w+:)?PlainText\s*>|<\/?(?:\w+:)?Value\s*\/?>/g, '')
    .trim();
  return left !== '' && left !== CLEARED_PASSWORD;
}
