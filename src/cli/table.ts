// Tables as notary prints them: Go text/tabwriter with minwidth 4, tabwidth 4, padding 4, spaces.
// Every column but the last is padded to its widest cell + 4; the last is not padded.

export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, header.map((h) => '-'.repeat(runeCount(h))), ...rows];
  const widths: number[] = [];
  for (const row of all) {
    row.forEach((cell, i) => {
      if (i === row.length - 1) return;
      widths[i] = Math.max(widths[i] ?? 0, Math.max(4, runeCount(cell) + 4));
    });
  }
  return all
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - runeCount(cell)))).join('') + '\n')
    .join('');
}

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Go's `...` + tail truncation used by `key list` for long GUNs and locations. */
export function truncateLeft(s: string, max: number): string {
  return s.length > max ? '...' + s.slice(s.length - (max - 3)) : s;
}
