// The target lists of `add --from` and `addhash --from` (docs/commands/add.md, addhash.md): one
// target per line, its fields separated by spaces or tabs.
//
//   add:      NAME PATH
//   addhash:  NAME SIZE SHA256 [SHA512]
//
// A field holding spaces or tabs or starting with `"`, and a name starting with `#`, is written
// as a JSON string ("my app"). Blank lines and lines starting with `#` are skipped; a CR before
// the line end and a byte-order mark before the first line are ignored. Lines are UTF-8.

import { CliError } from './errors.js';

export interface ListLine {
  /** 1-based line number in the input. */
  line: number;
  fields: string[];
}

/** The lines of a list that carry a target, split into fields. `source` names the input in errors. */
export function listLines(bytes: Buffer, source: string): ListLine[] {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const out: ListLine[] = [];
  let start = 0;
  for (let n = 1; start < bytes.length; n++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    let text: string;
    try {
      text = decoder.decode(bytes.subarray(start, end));
    } catch {
      throw lineError(source, n, 'not valid UTF-8');
    }
    start = end + 1;
    if (n === 1 && text.startsWith('\ufeff')) text = text.slice(1);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const fields = splitFields(text, (why) => lineError(source, n, why));
    if (fields.length === 0 || (fields[0]!.startsWith('#') && !text.trimStart().startsWith('"'))) continue;
    out.push({ line: n, fields });
  }
  return out;
}

function splitFields(text: string, bad: (why: string) => Error): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (i >= text.length) return fields;
    if (text[i] !== '"') {
      let j = i;
      while (j < text.length && text[j] !== ' ' && text[j] !== '\t') j++;
      fields.push(text.slice(i, j));
      i = j;
      continue;
    }
    let j = i + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    if (j >= text.length) throw bad(`field ${fields.length + 1} opens a quote that is not closed`);
    let value: unknown;
    try {
      value = JSON.parse(text.slice(i, j + 1));
    } catch {
      throw bad(`field ${fields.length + 1} is not a valid JSON string: ${text.slice(i, j + 1)}`);
    }
    if (j + 1 < text.length && text[j + 1] !== ' ' && text[j + 1] !== '\t') throw bad(`field ${fields.length + 1} goes on after its closing quote`);
    fields.push(value as string);
    i = j + 1;
  }
}

/** An error about one line; nothing of the list was staged. */
export function lineError(source: string, line: number, why: string, hint?: string): CliError {
  return new CliError('BAD_LIST_LINE', `line ${line} of ${source}: ${why}`, { hint: hint ?? `nothing was staged; fix line ${line} and run the command again` });
}
