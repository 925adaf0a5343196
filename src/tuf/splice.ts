// The canonical bytes of a targets role, without re-serialising entries that did not change
// (issue 4: `add -p` in a repository of 100,000 targets re-signs a 20 MB file for one new
// entry). A role read from a file in notary's form holds its entries as an IndexedTargets,
// whose index already proved, while the file was read, which entries are exactly the text that
// serialising them gives (targetfiles.ts). Those that were not edited since are copied from the
// file; every other entry is serialised. The result is always identical to
// canonicalBytes(toJson(meta), 'sign').

import { canonicalString, fileFormString, formatNumber, quote, sortKeysUtf8 } from './canonical.js';
import { toJson, type FileMeta, type Targets } from './metadata.js';
import { IndexedTargets } from './targetfiles.js';

/** `signed` of a role, serialised. */
export interface SignedText {
  /** notary's canonical bytes: what signatures cover. */
  canonical: Buffer;
  /** The same in file form (HTML-escaped, formats.md §1.3); the same Buffer when nothing is escaped. */
  fileForm: Buffer;
}

/** canonicalBytes(toJson(meta), 'sign') and its file form; `copied` counts the entries copied from the file. */
export function targetsText(meta: Targets): SignedText & { copied: number } {
  const { head, tail } = frame(meta);
  const spliced = meta.targets instanceof IndexedTargets ? splice(meta.targets) : undefined;
  const canonical = assemble(head, spliced?.items ?? everyEntry(meta), tail, spliced?.file);
  const fileForm = needsEscapes(canonical) ? Buffer.from(fileFormString(canonical.toString('utf8')), 'utf8') : canonical;
  return { canonical, fileForm, copied: spliced?.copied ?? 0 };
}

/** The text before and after the entries: `{…"targets":{` and `},"version":N}`. */
function frame(meta: Targets): { head: string; tail: string } {
  const text = canonicalString(toJson({ ...meta, targets: new Map() }), 'sign');
  const tail = `},"version":${formatNumber(meta.version, 'sign')}}`;
  // `version` is the last key and `targets` the one before it, whatever the delegations hold.
  if (!text.endsWith(`,"targets":{${tail}`)) throw new Error('targets: unexpected layout of the serialised role');
  return { head: text.slice(0, text.length - tail.length), tail };
}

/** `"name":{…}`: canonicalString of the entry as toJson writes it. */
function entryText(name: string, fm: FileMeta): string {
  let s = quote(name, 'sign') + ':{';
  if (fm.custom !== undefined && fm.custom !== null) s += '"custom":' + canonicalString(fm.custom, 'sign') + ',';
  s += '"hashes":{';
  const algs = sortKeysUtf8([...fm.hashes.keys()]);
  for (let i = 0; i < algs.length; i++) {
    if (i > 0) s += ',';
    s += quote(algs[i]!, 'sign') + ':"' + fm.hashes.get(algs[i]!)!.toString('base64') + '"';
  }
  return s + '},"length":' + formatNumber(fm.length, 'sign') + '}';
}

/** An entry's text, or a run of consecutive entries of the file (with their commas). */
type Item = string | Run;

interface Run {
  start: number;
  end: number;
}

function everyEntry(meta: Targets): Item[] {
  return sortKeysUtf8([...meta.targets.keys()]).map((name) => entryText(name, meta.targets.get(name)!));
}

/** The entries with the unchanged ones as runs of the file, or undefined to serialise them all. */
function splice(targets: IndexedTargets): { items: Item[]; copied: number; file: Buffer } | undefined {
  const items: Item[] = [];
  let run: Run | undefined;
  let copied = 0;
  const visited = targets.visitInOrder(
    (start, end) => {
      copied++;
      // Consecutive entries of the file are one comma apart.
      if (run && run.end + 1 === start) run.end = end;
      else items.push((run = { start, end }));
    },
    (name, fm) => {
      run = undefined;
      items.push(entryText(name, fm));
    },
  );
  return visited ? { items, copied, file: targets.file } : undefined;
}

function assemble(head: string, items: Item[], tail: string, file?: Buffer): Buffer {
  let size = Buffer.byteLength(head) + Buffer.byteLength(tail) + Math.max(0, items.length - 1);
  for (const it of items) size += typeof it === 'string' ? Buffer.byteLength(it) : it.end - it.start;
  const out = Buffer.allocUnsafe(size);
  let at = out.write(head, 0, 'utf8');
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out[at++] = 0x2c;
    const it = items[i]!;
    at += typeof it === 'string' ? out.write(it, at, 'utf8') : file!.copy(out, at, it.start, it.end);
  }
  at += out.write(tail, at, 'utf8');
  return out;
}

const HTML_BYTES = [Buffer.from('<'), Buffer.from('>'), Buffer.from('&'), Buffer.from('\u2028'), Buffer.from('\u2029')];

function needsEscapes(canonical: Buffer): boolean {
  return HTML_BYTES.some((b) => canonical.includes(b));
}
