/**
 * Text shown where its reader cannot tell characters apart from what they do: a terminal, the serial
 * console, a one-line field. Control characters would act (ESC sequences clear the screen, move the
 * cursor and rewrite lines; CR returns to the start of the line), and invisible ones change how the
 * text reads without being seen; both are written as \uXXXX instead.
 */

/**
 * Characters that change how text reads without being seen: Unicode format characters (zero-width space
 * U+200B, the bidirectional marks, embeddings, overrides and isolates U+200E-U+200F, U+202A-U+202E,
 * U+2066-U+2069, U+FEFF ...), separators other than the space (U+2028, U+2029, U+00A0 ...), unpaired surrogates.
 */
export const INVISIBLE = /(?:(?! )\p{Zs})|[\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

/** C0 controls (tab and line ends included), DEL and the C1 controls (U+0085 is a line break to some readers). */
export const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const UNSAFE = new RegExp(`${CONTROL.source}|${INVISIBLE.source}`, 'gu');

/** Text with its control and invisible characters written as \uXXXX; the rest as it is. Escaped text stays as it is. */
export function escapeUnsafe(text: string): string {
  // A match is one UTF-16 unit or, for a format character past U+FFFF, two: each is written.
  return text.replace(UNSAFE, (c) => (c.length === 1 ? unit(c, 0) : unit(c, 0) + unit(c, 1)));
}

function unit(c: string, i: number): string {
  return `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
}

/**
 * Text from the fabric as an error reason shows it, stricter than escapeUnsafe: printable ASCII only,
 * anything else escaped (\xNN up to U+00FF, \u{...} above) and a backslash doubled, so an HTTP header or
 * body (net/http-response.ts, net/http.ts) cannot put a control sequence
 * (C0, or C1 from a byte 0x80-0x9F), a line separator or a bidirectional override into a log line or a
 * terminal. At most `max` characters, never cutting an escape in two.
 */
export function printable(text: string, max: number): string {
  let shown = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    let piece = char;
    if (char === '\\') piece = '\\\\';
    else if (code > 0xff) piece = `\\u{${code.toString(16)}}`;
    else if (code < 0x20 || code > 0x7e) piece = `\\x${code.toString(16).padStart(2, '0')}`;
    if (shown.length + piece.length > max) break;
    shown += piece;
  }
  return shown;
}
