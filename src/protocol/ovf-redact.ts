import { OvfError } from '../errors.ts';
import { decodeUtf8, escapeXml, isNode, parseXml, type XmlFailure, type XmlNode } from './xml.ts';
import { OVF_ENV_MAX_BYTES } from './ovf-rules.ts';

/**
 * The saved copy of ovf-env.xml: the original text with every secret removed, or a placeholder when that
 * cannot be done with certainty. Separate from parsing so each stays small; the agent parses once for both
 * (readOvfEnv in ovf-env.ts).
 */

const REDACTED = '[redacted]';
// Only whether the document reads matters here; errors are never shown.
const failed: XmlFailure = (field, rule) => new OvfError(field, rule);

/** Element local names whose content is secret: anything with Password in it, CustomData, unattend Content. */
function isSecretElement(qualifiedName: string): boolean {
  const local = qualifiedName.slice(qualifiedName.lastIndexOf(':') + 1);
  return /password|customdata/i.test(local) || /^content$/i.test(local);
}

/**
 * The copy of ovf-env.xml that is saved: the original text with the content of every secret element
 * (AdminPassword, DomainJoin Password, anything named *Password*, CustomData, Content) and every *Password*
 * attribute value replaced by "[redacted]", whatever the prefix, CDATA or nesting; comments are dropped.
 * A document that is not well-formed, too large, or whose secret shows up anywhere else yields a
 * placeholder document instead: a secret is never returned.
 */
export function redactOvfEnv(xml: string | Uint8Array): string {
  let original: XmlNode | undefined;
  try {
    original = parseXml(xml, failed, { maxBytes: OVF_ENV_MAX_BYTES });
  } catch {
    original = undefined;
  }
  return redactParsedOvfEnv(xml, original);
}

/** redactOvfEnv for a document already parsed (undefined: it could not be, and a placeholder is saved). */
export function redactParsedOvfEnv(xml: string | Uint8Array, original: XmlNode | undefined): string {
  const size = typeof xml === 'string' ? Buffer.byteLength(xml, 'utf8') : xml.byteLength;
  if (size > OVF_ENV_MAX_BYTES) return placeholder(size, `it is larger than the limit of ${OVF_ENV_MAX_BYTES} bytes`);
  let text: string;
  try {
    if (original === undefined) throw failed('(document)', 'unreadable');
    text = typeof xml === 'string' ? xml : decodeUtf8(xml, failed);
  } catch {
    return placeholder(size, 'it could not be read as XML');
  }
  const copy = redactText(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  if (copy === undefined) return placeholder(size, 'it could not be read as XML');
  try {
    parseXml(copy, failed, { maxBytes: 2 * OVF_ENV_MAX_BYTES });
  } catch {
    return placeholder(size, 'the redacted text did not read back as XML');
  }
  // A second line of defence: no secret the parser saw may survive, raw or escaped. Values shorter than
  // 6 characters are skipped: they collide with ordinary markup and are no valid password anyway.
  for (const secret of secretValues(original)) {
    if (secret.trim().length >= 6 && (copy.includes(secret) || copy.includes(escapeXml(secret)))) {
      return placeholder(size, 'a secret value also appears outside its element');
    }
  }
  return copy;
}

function placeholder(size: number, reason: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>\n' +
    `<!-- This ovf-env.xml was not kept because ${reason}; it may hold the admin password or custom data. -->\n` +
    `<OvfEnvNotSaved bytes="${size}"/>\n`
  );
}

/** Every text the parser read inside a secret element or a *Password* attribute. */
function secretValues(node: unknown, inside = false, found: string[] = []): string[] {
  if (typeof node === 'string') {
    if (inside) found.push(node);
  } else if (Array.isArray(node)) {
    for (const item of node) secretValues(item, inside, found);
  } else if (isNode(node)) {
    for (const [key, value] of Object.entries(node)) {
      const secret = key.startsWith('@_') ? /password/i.test(key) : key !== '#text' && isSecretElement(key);
      secretValues(value, inside || secret, found);
    }
  }
  return found;
}

// One token at a time: a comment (group 1, dropped), CDATA, a processing instruction, an end tag (group 2),
// a start tag (group 3; quoted values may hold '>'), text, or a lone '<': a declaration (DOCTYPE) or broken markup.
const TOKEN = new RegExp(
  String.raw`(<!--[^]*?-->)|<!\[CDATA\[[^]*?\]\]>|<\?[^]*?\?>|<\/([^\s>]+)\s*>` +
    String.raw`|<([^\s/>!?<]+)(?:[^<>"']|"[^"]*"|'[^']*')*>|[^<]+|<`,
  'y',
);
const PASSWORD_ATTRIBUTE = /(\s[^\s=<>]*password[^\s=<>]*\s*=\s*)(["'])[^]*?\2/gi;

/** Copies the text, dropping the content of secret elements and comments; undefined when the markup is broken. */
function redactText(text: string): string | undefined {
  const token = new RegExp(TOKEN);
  const stack: string[] = [];
  let out = '';
  let hiddenDepth = -1; // stack depth of the secret element whose content is being dropped; -1 while copying
  let contentStart = 0;
  let position = 0;
  for (let match = token.exec(text); match !== null; match = token.exec(text)) {
    const [part, comment, endName, startName] = match;
    if (part === '<') return undefined;
    if (endName !== undefined) {
      if (stack.pop() !== endName) return undefined;
      if (stack.length === hiddenDepth) {
        if (match.index > contentStart) out += REDACTED;
        hiddenDepth = -1;
      }
    }
    // Comments are dropped: the fabric writes none, and one is a place a secret could hide.
    if (hiddenDepth < 0 && comment === undefined) {
      out += startName === undefined ? part : part.replace(PASSWORD_ATTRIBUTE, `$1$2${REDACTED}$2`);
    }
    if (startName !== undefined && !part.endsWith('/>')) {
      if (hiddenDepth < 0 && isSecretElement(startName)) {
        hiddenDepth = stack.length;
        contentStart = match.index + part.length;
      }
      stack.push(startName);
    }
    position = match.index + part.length;
  }
  return stack.length === 0 && position === text.length ? out : undefined;
}
