/**
 * Plain-text tables for the benchmark report: columns padded to their widest cell, numbers right-aligned,
 * in a form a Markdown file can quote as is (pipes and a separator line).
 */

/** A cell: text as given, a number rounded to `digits` (default 0), or undefined for "-". */
export type Cell = string | number | undefined;

/** Column headings and rows; `digits` gives the decimals of numeric cells per column. */
export interface TableSpec {
  headings: string[];
  rows: Cell[][];
  digits?: number[];
}

/** Formats one cell: NaN and undefined as "-", numbers with fixed decimals. */
export function formatCell(cell: Cell, digits = 0): string {
  if (cell === undefined) return '-';
  if (typeof cell === 'number') return Number.isFinite(cell) ? cell.toFixed(digits) : '-';
  return cell;
}

/** A Markdown table: `| a | b |` lines, right-aligned numeric columns (":" on the separator's right). */
export function formatTable(spec: TableSpec): string {
  const columns = spec.headings.length;
  for (const [i, row] of spec.rows.entries()) {
    if (row.length !== columns) throw new RangeError(`row ${i} has ${row.length} cells, the table ${columns} columns`);
  }
  const text = spec.rows.map((row) => row.map((cell, c) => formatCell(cell, spec.digits?.[c] ?? 0)));
  const numeric = spec.headings.map((_, c) => spec.rows.length > 0 && spec.rows.every((row) => typeof row[c] === 'number' || row[c] === undefined));
  const widths = spec.headings.map((h, c) => Math.max(h.length, 3, ...text.map((row) => row[c]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join(' | ')} |`;
  const separator = `| ${widths.map((w, c) => (numeric[c] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(spec.headings), separator, ...text.map(line)].join('\n');
}
