/**
 * The lexical productions of XML 1.0 (Fifth Edition) that the well-formedness check (xml-check.ts) and the
 * builder (xml.ts) share: Char, S, Name, the XML declaration and references. Regular expressions are
 * sticky: a match is anchored at lastIndex.
 */

// XML 1.0 [4] NameStartChar and [4a] NameChar; [5] Name. Sticky, so a match is anchored at lastIndex.
const START = ':A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
export const NAME = new RegExp(`[${START}][${START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F\\u2040]*`, 'uy');
// [23] XMLDecl with [24] VersionInfo, [80] EncodingDecl, [81] EncName, [32] SDDecl, [25] Eq, [3] S.
export const XML_DECLARATION =
  /<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"(1\.[0-9]+)"|'(1\.[0-9]+)')(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"([A-Za-z][A-Za-z0-9._-]*)"|'([A-Za-z][A-Za-z0-9._-]*)'))?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\r\n]*\?>/y;
// [66] CharRef and [68] EntityRef; only the five predefined entities exist without a DTD (4.6, WFC: Entity Declared).
export const REFERENCE = /&(?:#x([0-9A-Fa-f]+)|#([0-9]+)|(lt|gt|amp|apos|quot));/y;

/** XML 1.0 [2] Char, for one code point. */
export function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

/** The offset of the first code point in text[from, to) that is not an XML Char (a lone surrogate included), or -1. */
export function firstNonXmlChar(text: string, from = 0, to = text.length): number {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c < 0xd800) continue;
    if (c === 0x9 || c === 0xa || c === 0xd || (c >= 0xe000 && c <= 0xfffd)) continue;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < to) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        i += 1;
        continue;
      }
    }
    return i;
  }
  return -1;
}

/** "U+001B", for a rule: the code point, never the surrounding text. */
export function codePointName(text: string, at: number): string {
  return `U+${(text.codePointAt(at) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

export const isSpace = (c: number): boolean => c === 0x20 || c === 0x9 || c === 0xa || c === 0xd;
