import { PlatformRejectedError, StateError } from './errors.ts';
import { Secret } from './util/secret.ts';
import { parseXml, rootOf, type XmlFailure } from './protocol/xml.ts';
import { buildUnattendSetting, parseUnattendContent, WCM_NAMESPACE, type UnattendContent } from './protocol/unattend-content.ts';
import { UNATTEND_CONTENT_MAX_BYTES, type UnattendSetting } from './protocol/ovf-rules.ts';
import type { Journal } from './journal.ts';
import type { Platform } from './platform/platform.ts';
import { answerFilePasswords } from './answer-file-clear.ts';

/**
 * AdditionalUnattendContent, applied the way Azure applies it: into the oobeSystem pass of the answer
 * file, component Microsoft-Windows-Shell-Setup, where Azure's own answer file carries AutoLogon and
 * FirstLogonCommands. Windows Setup looks for an answer file at the start of every configuration pass,
 * and %WINDIR%\Panther\Unattend\unattend.xml (where prepare-image puts winprov's) outranks the copy it
 * cached in %WINDIR%\Panther and replaces it at the start of each pass ("Windows Setup Automation
 * Overview", Implicit Answer File Search Order and Sensitive Data in Answer Files). So the file changed
 * during specialize is the one oobeSystem reads. The merge is idempotent: the two settings replace any
 * earlier ones in that component, so a run again (or after a crash) writes the same file.
 */

const OOBE = 'oobeSystem';
const SHELL_SETUP = 'Microsoft-Windows-Shell-Setup';
// The attributes winprov's templates give every component (unattend/unattend.xml).
const COMPONENT_ATTRIBUTES = `name="${SHELL_SETUP}" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS" xmlns:wcm="${WCM_NAMESPACE}"`;

const unreadable: XmlFailure = (field, rule) => new StateError(`the answer file is not one winprov can merge into: ${field} ${rule}`);

/**
 * The apply step: reads the settings again (already checked with ovf-env.xml), merges, writes. Returns
 * how many passwords the file Setup reads now holds (answer-file-clear.ts clears them after OOBE).
 */
export async function applyUnattendContent(platform: Platform, journal: Journal, settings: readonly UnattendSetting[]): Promise<{ passwords: number }> {
  const contents = settings.map((s, i) =>
    parseUnattendContent(s.settingName as UnattendContent['setting'], s.content.reveal(), `unattend setting ${i + 1}`, UNATTEND_CONTENT_MAX_BYTES));
  const current = await platform.readAnswerFile();
  if (current === undefined) {
    throw new PlatformRejectedError('applyUnattendContent', 'the VM asks for additional unattend content, but there is no answer file at %WINDIR%\\Panther\\Unattend\\unattend.xml to carry it into the oobeSystem pass', {
      hint: 'prepare the image with "winprov prepare-image", which places the answer file there',
    });
  }
  const merged = mergeOobeSettings(current.xml, contents);
  // Counted before the write: a file this cannot read is refused with nothing changed.
  const passwords = answerFilePasswords(merged.reveal());
  const path = await platform.writeAnswerFile(merged);
  // Names and counts only: the content holds the AutoLogon password and the commands may hold anything.
  await journal.applied('unattend', `${contents.map(describe).join(', ')} into the ${OOBE} pass of ${path}`);
  return { passwords };
}

function describe(content: UnattendContent): string {
  if (content.setting === 'FirstLogonCommands') return `FirstLogonCommands (${content.commands.length} command${content.commands.length === 1 ? '' : 's'})`;
  return `AutoLogon (${content.autoLogon.username}${content.autoLogon.logonCount === undefined ? '' : `, ${content.autoLogon.logonCount} logon(s)`})`;
}

export interface Element {
  name: string;
  attributes: Map<string, string>;
  start: number;
  /** End of the start tag. */
  contentStart: number;
  /** Start of the end tag (= end for an empty element). */
  contentEnd: number;
  end: number;
  parent: Element | undefined;
}

// A comment, CDATA, a processing instruction or declaration, an end tag (1), a start tag (2, 3 = attributes, 4 = "/"), text.
// A processing instruction ends at "?>", not at the first ">" its data may hold (XML 1.0 [16] PI).
const TOKEN = /<!--[^]*?-->|<!\[CDATA\[[^]*?\]\]>|<\?[^]*?\?>|<![^]*?>|<\/([^\s>]+)\s*>|<([^\s/>!?]+)((?:[^<>"'/]|"[^"]*"|'[^']*'|\/(?!>))*)(\/?)>|[^<]+/y;
const ATTRIBUTE = /([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
const local = (name: string): string => name.slice(name.lastIndexOf(':') + 1);

/** Every element with its offsets; the document was parsed (well-formed) before this runs. */
export function elementsOf(xml: string): Element[] {
  const all: Element[] = [];
  const stack: Element[] = [];
  const token = new RegExp(TOKEN);
  for (let m = token.exec(xml); m !== null; m = token.exec(xml)) {
    const [part, endName, startName, attributes, selfClosing] = m;
    if (endName !== undefined) {
      const open = stack.pop();
      if (open === undefined) throw unreadable('(document)', 'has an unmatched end tag');
      open.contentEnd = m.index;
      open.end = m.index + part.length;
    } else if (startName !== undefined) {
      const attrs = new Map<string, string>();
      for (const [, key, double, single] of (attributes ?? '').matchAll(ATTRIBUTE)) attrs.set(local(key!), double ?? single ?? '');
      const end = m.index + part.length;
      const element: Element = { name: local(startName), attributes: attrs, start: m.index, contentStart: end, contentEnd: end, end, parent: stack.at(-1) };
      all.push(element);
      if (selfClosing !== '/') stack.push(element);
    }
  }
  return all;
}

/**
 * The answer file with the settings in its oobeSystem Shell-Setup component (added when missing),
 * replacing the same settings already there; everything else is kept as it was, byte for byte.
 */
export function mergeOobeSettings(answerFile: string, contents: readonly UnattendContent[]): Secret<string> {
  const text = answerFile.charCodeAt(0) === 0xfeff ? answerFile.slice(1) : answerFile;
  rootOf(parseXml(text, unreadable), 'unattend', unreadable);
  const elements = elementsOf(text);
  const root = elements.find((e) => e.parent === undefined)!;
  const settings = elements.find((e) => e.name === 'settings' && e.parent === root && e.attributes.get('pass') === OOBE);
  const component = settings && elements.find((e) => e.name === 'component' && e.parent === settings && e.attributes.get('name') === SHELL_SETUP);
  const names = new Set<string>(contents.map((c) => c.setting));
  // The file's own line breaks (the MSI may install the template with CRLF).
  const nl = text.includes('\r\n') ? '\r\n' : '\n';
  const fragments = contents.map((c) => buildUnattendSetting(c).reveal().replaceAll('\n', nl));
  const edits: { from: number; to: number; text: string }[] = [];
  const empty = (e: Element): boolean => e.end === e.contentStart;
  if (component !== undefined && !empty(component)) {
    for (const old of elements.filter((e) => e.parent === component && names.has(e.name))) {
      const from = lineStart(text, old.start);
      // A whole line goes with its line break, so a merge run again writes the same file.
      const wholeLine = (from === 0 || text[from - 1] === '\n') && text.startsWith(nl, old.end);
      edits.push({ from, to: wholeLine ? old.end + nl.length : old.end, text: '' });
    }
    edits.push({ from: lineStart(text, component.contentEnd), to: lineStart(text, component.contentEnd), text: `${fragments.join(nl)}${nl}` });
  } else if (component !== undefined) {
    // <component .../>: opened, given the settings, closed.
    const tag = text.slice(component.start, component.end).replace(/\s*\/>$/, '>');
    edits.push({ from: component.start, to: component.end, text: `${tag}${nl}${fragments.join(nl)}${nl}    </component>` });
  } else {
    const block = `    <component ${COMPONENT_ATTRIBUTES}>${nl}${fragments.join(nl)}${nl}    </component>${nl}`;
    if (settings !== undefined && !empty(settings)) {
      edits.push({ from: lineStart(text, settings.contentEnd), to: lineStart(text, settings.contentEnd), text: block });
    } else {
      const whole = `  <settings pass="${OOBE}">${nl}${block}  </settings>${nl}`;
      if (settings !== undefined) edits.push({ from: settings.start, to: settings.end, text: whole.trimStart() });
      else edits.push({ from: lineStart(text, root.contentEnd), to: lineStart(text, root.contentEnd), text: whole });
    }
  }
  let merged = text;
  for (const edit of edits.sort((a, b) => b.from - a.from)) merged = merged.slice(0, edit.from) + edit.text + merged.slice(edit.to);
  // What Setup will read must still be one well-formed unattend document.
  rootOf(parseXml(merged, unreadable), 'unattend', unreadable);
  return new Secret(merged);
}

/** The offset where the line holding `offset` starts, when only spaces precede it there; else offset itself. */
function lineStart(text: string, offset: number): number {
  let at = offset;
  while (at > 0 && (text[at - 1] === ' ' || text[at - 1] === '\t')) at -= 1;
  return at === 0 || text[at - 1] === '\n' ? at : offset;
}
