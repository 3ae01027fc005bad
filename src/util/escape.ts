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
