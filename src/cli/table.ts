// Tables as notary prints them: Go text/tabwriter with minwidth 4, tabwidth 4, padding 4, spaces.
// Every column but the last is padded to its widest cell + 4; the last is not padded.

export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [...tableChunks(header, rows, (row) => row)].join('');
}

/**
 * formatTable for large tables: `rows` is iterated twice (widths, then text), cells are made row
 * by row, and the text comes in pieces of LINES_PER_CHUNK lines.
 */
export function* tableChunks<T>(header: readonly string[], rows: Iterable<T>, cells: (row: T) => readonly string[]): Generator<string> {
  const head = [header, header.map((h) => '-'.repeat(runeCount(h)))];
  const widths: number[] = [];
  const measure = (row: readonly string[]): void => {
    for (let i = 0; i < row.length - 1; i++) widths[i] = Math.max(widths[i] ?? 0, Math.max(4, runeCount(row[i]!) + 4));
  };
  const line = (row: readonly string[]): string => {
    let s = '';
    for (let i = 0; i < row.length - 1; i++) s += row[i]! + ' '.repeat(widths[i]! - runeCount(row[i]!));
    return s + (row[row.length - 1] ?? '') + '\n';
  };
  head.forEach(measure);
  for (const r of rows) measure(cells(r));
  let text = head.map(line).join('');
  let n = 0;
  for (const r of rows) {
    text += line(cells(r));
    if (++n % LINES_PER_CHUNK === 0) {
      yield text;
      text = '';
    }
  }
  if (text !== '') yield text;
}

const LINES_PER_CHUNK = 512;

/** Go's tabwriter measures cells in runes (code points). */
function runeCount(s: string): number {
  if (!SURROGATE.test(s)) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

const SURROGATE = /[\ud800-\udfff]/;

/** Go's `...` + tail truncation used by `key list` for long GUNs and locations. */
export function truncateLeft(s: string, max: number): string {
  return s.length > max ? '...' + s.slice(s.length - (max - 3)) : s;
}
