/**
 * Windows PowerShell 5.1 started with -EncodedCommand writes its error stream to a redirected stderr as
 * CLIXML, whatever -OutputFormat says (ConsoleHost.ErrorFormat: non-interactive, stderr redirected and
 * the command encoded; PowerShell 6 later honoured an explicit -OutputFormat). Errors, warnings and
 * progress then arrive as one line "#< CLIXML" followed by
 *   <Objs Version="1.1.0.1" xmlns="..."><Obj S="progress" ...>...</Obj><S S="Error">text_x000D__x000A_</S></Objs>
 * This turns such a line back into the text a person would have read; other lines pass unchanged.
 */

/** The header line PowerShell writes before the first serialized object. */
const CLIXML_HEADER = '#< CLIXML';
/** A string of one output stream: <S S="Error">...</S> (also warning, verbose, debug, information). */
const STREAM_STRING = /<S S="([A-Za-z]+)">([^<]*)<\/S>/g;
const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML character references and entities, then PowerShell's _xHHHH_ escapes (CR, LF, control characters). */
function decodeText(text: string): string {
  return text
    .replace(/&(amp|lt|gt|quot|apos);|&#x([0-9A-Fa-f]+);|&#([0-9]+);/g, (whole, name: string | undefined, hex: string | undefined, dec: string | undefined) => {
      if (name !== undefined) return XML_ENTITIES[name] ?? whole;
      const code = hex !== undefined ? Number.parseInt(hex, 16) : Number(dec);
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    })
    .replace(/_x([0-9A-Fa-f]{4})_/g, (_whole, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/**
 * The readable lines one stderr line stands for: [] for the CLIXML header and for serialized progress
 * records (noise, not errors); for a CLIXML line, one line per run of strings of the same stream (the
 * host writes each line of an error record as a string of its own, and a record's message must not be
 * parted from its FullyQualifiedErrorId), prefixed "warning: " etc. for streams other than Error; any
 * other line unchanged.
 */
export function readableStderr(line: string): string[] {
  const trimmed = line.trim();
  if (trimmed === CLIXML_HEADER) return [];
  if (!trimmed.startsWith('<Objs ')) return [line];
  const runs: { stream: string; parts: string[] }[] = [];
  for (const [, name, body] of trimmed.matchAll(STREAM_STRING)) {
    const stream = name!.toLowerCase();
    const parts = decodeText(body!)
      .split(/\r?\n/)
      .map((part) => part.trim())
      .filter((part) => part !== '');
    if (parts.length === 0) continue;
    const last = runs.at(-1);
    if (last?.stream === stream) last.parts.push(...parts);
    else runs.push({ stream, parts });
  }
  return runs.map(({ stream, parts }) => `${stream === 'error' ? '' : `${stream}: `}${parts.join(' ')}`);
}
