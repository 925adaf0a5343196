// The canonical bytes of a targets role, without re-serialising entries that did not change
// (issue 4: `add -p` in a repository of 100,000 targets re-signs a 20 MB file for one new
// entry). A role re-signed after a few edits is the file it was loaded from with those entries
// replaced: the file's other entries are copied as bytes once the scan below has proven each of
// them to be exactly what serialising the model gives (canonical order, notary's escapes only,
// no field the model drops or rewrites), and the edited entries are serialised. The result is
// always identical to canonicalBytes(toJson(meta), 'sign'); whenever the file is not in that
// form, every entry is serialised instead.

import { canonicalString, fileFormString, formatNumber, quote, sortKeysUtf8 } from './canonical.js';
import { toJson, type FileMeta, type Targets } from './metadata.js';
import { codePointAt, utf8Width } from './utf8.js';

/** The file a targets role was parsed from, and what has been edited in it since. */
export interface TargetsBase {
  /** The role's file as loaded and verified: `meta` was parsed from it before the edits. */
  bytes: Uint8Array;
  /** Names of the targets that may differ from the file (added, replaced or removed). */
  changed: Iterable<string>;
}

/** `signed` of a role, serialised. */
export interface SignedText {
  /** notary's canonical bytes: what signatures cover. */
  canonical: Buffer;
  /** The same in file form (HTML-escaped, formats.md §1.3); the same Buffer when nothing is escaped. */
  fileForm: Buffer;
}

/**
 * canonicalBytes(toJson(meta), 'sign') and its file form, copying unchanged entries from `base`;
 * `copied` counts the entries taken from it.
 */
export function targetsText(meta: Targets, base?: TargetsBase): SignedText & { copied: number } {
  const { head, tail } = frame(meta);
  const spliced = base && splice(meta, base);
  const canonical = assemble(head, spliced ?? everyEntry(meta), tail);
  const fileForm = needsEscapes(canonical) ? Buffer.from(fileFormString(canonical.toString('utf8')), 'utf8') : canonical;
  return { canonical, fileForm, copied: spliced?.kept ?? 0 };
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

/** An entry's text, or a run of consecutive entries of the base file (with their commas). */
type Item = string | Run;

interface Run {
  start: number;
  end: number;
}

function everyEntry(meta: Targets): Item[] {
  return sortKeysUtf8([...meta.targets.keys()]).map((name) => entryText(name, meta.targets.get(name)!));
}

// ---------------------------------------------------------------------------------------------
// Splicing

interface Spliced {
  items: Item[];
  kept: number;
  bytes: Buffer;
  /** Triples (escapeStart, escapeEnd, replacementIndex) of escapes in the base to decode. */
  cuts: number[];
}

/** The entries of `meta` with the unchanged ones taken from the base file, or undefined. */
function splice(meta: Targets, base: TargetsBase): Spliced | undefined {
  const changed = [...new Set(base.changed)].map((name) => ({ name, utf8: Buffer.from(name, 'utf8') }));
  // A lone surrogate is written as U+FFFD but sorted as itself: leave such names to the full path.
  if (changed.some((c) => c.utf8.toString('utf8') !== c.name)) return undefined;
  changed.sort((a, b) => Buffer.compare(a.utf8, b.utf8));
  const fresh = changed.filter((c) => meta.targets.has(c.name));
  const bytes = Buffer.from(base.bytes.buffer, base.bytes.byteOffset, base.bytes.byteLength);
  const s = new Scanner(bytes);
  const items: Item[] = [];
  let run: Run | undefined;
  let kept = 0;
  let ci = 0;
  let fi = 0;
  const flush = (): void => {
    if (run) items.push(run);
    run = undefined;
  };
  try {
    s.toTargets();
    s.entries((ns, ne, es, ee) => {
      while (fi < fresh.length && compareTo(fresh[fi]!.utf8, bytes, ns, ne) < 0) {
        flush();
        items.push(entryText(fresh[fi]!.name, meta.targets.get(fresh[fi]!.name)!));
        fi++;
      }
      while (ci < changed.length && compareTo(changed[ci]!.utf8, bytes, ns, ne) < 0) ci++;
      if (ci < changed.length && compareTo(changed[ci]!.utf8, bytes, ns, ne) === 0) {
        flush();
        ci++;
        return;
      }
      kept++;
      if (run) run.end = ee;
      else run = { start: es, end: ee };
    });
  } catch (e) {
    if (e === BAIL) return undefined;
    throw e;
  }
  flush();
  for (; fi < fresh.length; fi++) items.push(entryText(fresh[fi]!.name, meta.targets.get(fresh[fi]!.name)!));
  // The file must be what the model was parsed from: every entry kept or edited, nothing else.
  if (kept + fresh.length !== meta.targets.size) return undefined;
  return { items, kept, bytes, cuts: s.cuts };
}

function assemble(head: string, parts: Item[] | Spliced, tail: string): Buffer {
  const { items, bytes, cuts } = Array.isArray(parts) ? { items: parts, bytes: undefined, cuts: [] } : parts;
  let size = Buffer.byteLength(head) + Buffer.byteLength(tail) + Math.max(0, items.length - 1);
  for (const it of items) size += typeof it === 'string' ? Buffer.byteLength(it) : it.end - it.start;
  const out = Buffer.allocUnsafe(size);
  let at = out.write(head, 0, 'utf8');
  let cut = 0;
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out[at++] = 0x2c;
    const it = items[i]!;
    if (typeof it === 'string') {
      at += out.write(it, at, 'utf8');
      continue;
    }
    // Decode the HTML escapes of this run (they only shorten it).
    while (cut < cuts.length && cuts[cut]! < it.start) cut += 3;
    let from = it.start;
    for (; cut < cuts.length && cuts[cut]! < it.end; cut += 3) {
      at += bytes!.copy(out, at, from, cuts[cut]!);
      at += REPLACEMENT[cuts[cut + 2]!]!.copy(out, at);
      from = cuts[cut + 1]!;
    }
    at += bytes!.copy(out, at, from, it.end);
  }
  at += out.write(tail, at, 'utf8');
  return at === size ? out : out.subarray(0, at);
}

const HTML_BYTES = [Buffer.from('<'), Buffer.from('>'), Buffer.from('&'), Buffer.from('\u2028'), Buffer.from('\u2029')];

function needsEscapes(canonical: Buffer): boolean {
  return HTML_BYTES.some((b) => canonical.includes(b));
}

/** Byte order of `a` against b[s, e). */
function compareTo(a: Uint8Array, b: Uint8Array, s: number, e: number): number {
  const n = Math.min(a.length, e - s);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[s + i]!;
    if (d !== 0) return d;
  }
  return a.length - (e - s);
}

// ---------------------------------------------------------------------------------------------
// Scanning the base file

const BAIL = Symbol('bail');
const MAX_DEPTH = 512;
const SIGNED = Buffer.from('{"signed":{');
const TARGETS_KEY = Buffer.from('targets');
const REPLACEMENT = [Buffer.from('<'), Buffer.from('>'), Buffer.from('&'), Buffer.from('\u2028'), Buffer.from('\u2029')];

/** Accepts only what the model serialises byte for byte; anything else throws BAIL. */
class Scanner {
  pos = 0;
  /** Triples (escapeStart, escapeEnd, replacementIndex) for the HTML escapes seen in values. */
  readonly cuts: number[] = [];
  constructor(readonly b: Buffer) {}

  private expect(c: number): void {
    if (this.b[this.pos] !== c) throw BAIL;
    this.pos++;
  }

  private literal(text: string): void {
    const b = this.b;
    for (let i = 0; i < text.length; i++) if (b[this.pos + i] !== text.charCodeAt(i)) throw BAIL;
    this.pos += text.length;
  }

  /** Moves to the `{` of `signed.targets`, skipping the other members of `signed`. */
  toTargets(): void {
    if (!this.b.subarray(0, SIGNED.length).equals(SIGNED)) throw BAIL;
    this.pos = SIGNED.length;
    for (;;) {
      const ks = this.pos + 1;
      this.string(true);
      const ke = this.pos - 1;
      this.expect(0x3a);
      if (compareTo(TARGETS_KEY, this.b, ks, ke) === 0) return;
      this.value(1);
      this.expect(0x2c);
    }
  }

  /**
   * Every entry of the targets object, in order: name bytes [ns, ne), entry bytes [es, ee)
   * (from the name's opening quote to the value's closing brace).
   */
  entries(each: (ns: number, ne: number, es: number, ee: number) => void): void {
    const b = this.b;
    this.expect(0x7b);
    if (b[this.pos] === 0x7d) return;
    let ps = -1;
    let pe = -1;
    for (;;) {
      const es = this.pos;
      this.string(true);
      const ns = es + 1;
      const ne = this.pos - 1;
      if (ps >= 0 && compareRanges(b, ps, pe, ns, ne) >= 0) throw BAIL;
      ps = ns;
      pe = ne;
      this.expect(0x3a);
      this.fileMeta();
      each(ns, ne, es, this.pos);
      const c = b[this.pos++];
      if (c === 0x2c) continue;
      if (c === 0x7d) return;
      throw BAIL;
    }
  }

  /** `{["custom":…,]"hashes":{…},"length":N}` with nothing the model would drop or rewrite. */
  private fileMeta(): void {
    const b = this.b;
    this.expect(0x7b);
    if (b[this.pos + 1] === 0x63) {
      this.literal('"custom":');
      if (b[this.pos] === 0x6e) throw BAIL; // "custom":null is dropped by the model
      this.value(1);
      this.expect(0x2c);
    }
    this.literal('"hashes":{');
    if (b[this.pos] === 0x7d) this.pos++;
    else {
      let ps = -1;
      let pe = -1;
      for (;;) {
        const ks = this.pos + 1;
        this.string(true);
        const ke = this.pos - 1;
        if (ps >= 0 && compareRanges(b, ps, pe, ks, ke) >= 0) throw BAIL;
        ps = ks;
        pe = ke;
        this.expect(0x3a);
        this.base64();
        const c = b[this.pos++];
        if (c === 0x2c) continue;
        if (c === 0x7d) break;
        throw BAIL;
      }
    }
    this.literal(',"length":');
    const d0 = this.pos;
    this.digits();
    if (b[d0] === 0x2d) throw BAIL;
    this.expect(0x7d);
  }

  /** A string that decodes and re-encodes to itself: standard alphabet, padded, zero spare bits. */
  private base64(): void {
    const b = this.b;
    this.expect(0x22);
    const start = this.pos;
    let p = start;
    while (SEXTET[b[p]!]! < 64) p++;
    const data = p - start;
    let pad = 0;
    while (b[p] === 0x3d && pad < 2) {
      p++;
      pad++;
    }
    if ((data + pad) % 4 !== 0) throw BAIL;
    if (pad > 0 && (SEXTET[b[start + data - 1]!]! & (pad === 1 ? 0x03 : 0x0f)) !== 0) throw BAIL;
    this.pos = p;
    this.expect(0x22);
  }

  private value(depth: number): void {
    if (depth > MAX_DEPTH) throw BAIL;
    const c = this.b[this.pos];
    if (c === 0x7b) this.object(depth);
    else if (c === 0x5b) this.array(depth);
    else if (c === 0x22) this.string(false);
    else if (c === 0x74) this.literal('true');
    else if (c === 0x66) this.literal('false');
    else if (c === 0x6e) this.literal('null');
    else this.digits();
  }

  private object(depth: number): void {
    const b = this.b;
    this.pos++;
    if (b[this.pos] === 0x7d) {
      this.pos++;
      return;
    }
    let ps = -1;
    let pe = -1;
    for (;;) {
      const ks = this.pos + 1;
      this.string(true);
      const ke = this.pos - 1;
      if (ps >= 0 && compareRanges(b, ps, pe, ks, ke) >= 0) throw BAIL;
      ps = ks;
      pe = ke;
      this.expect(0x3a);
      this.value(depth + 1);
      const c = b[this.pos++];
      if (c === 0x2c) continue;
      if (c === 0x7d) return;
      throw BAIL;
    }
  }

  private array(depth: number): void {
    const b = this.b;
    this.pos++;
    if (b[this.pos] === 0x5d) {
      this.pos++;
      return;
    }
    for (;;) {
      this.value(depth + 1);
      const c = b[this.pos++];
      if (c === 0x2c) continue;
      if (c === 0x5d) return;
      throw BAIL;
    }
  }

  /** An integer as formatNumber writes it in sign mode (at most 15 digits: always safe). */
  private digits(): void {
    const b = this.b;
    let p = this.pos;
    if (b[p] === 0x2d) p++;
    const first = b[p];
    if (first === 0x30) {
      if (p > this.pos) throw BAIL; // -0
      p++;
    } else if (first !== undefined && first >= 0x31 && first <= 0x39) {
      const d0 = p;
      let c = b[++p];
      while (c !== undefined && c >= 0x30 && c <= 0x39) c = b[++p];
      if (p - d0 > 15) throw BAIL;
    } else throw BAIL;
    this.pos = p;
  }

  /**
   * A string whose canonical text is its bytes once Go's HTML escapes are decoded (recorded as
   * cuts): valid UTF-8, no control characters, `\"` and `\\` as the only other escapes. Keys
   * (and target names) take no escapes at all, so that they compare as raw bytes.
   */
  private string(asKey: boolean): void {
    const b = this.b;
    if (b[this.pos] !== 0x22) throw BAIL;
    let p = this.pos + 1;
    for (;;) {
      while (PLAIN[b[p]!] === 1) p++;
      const c = b[p];
      if (c === undefined || c < 0x20) throw BAIL;
      if (c === 0x22) break;
      if (c === 0x5c) {
        if (asKey) throw BAIL;
        const e = b[p + 1];
        if (e === 0x22 || e === 0x5c) {
          p += 2;
          continue;
        }
        const idx = htmlEscape(b, p);
        if (idx < 0) throw BAIL;
        this.cuts.push(p, p + 6, idx);
        p += 6;
        continue;
      }
      if (c < 0x80) {
        p++;
        continue;
      }
      const cp = codePointAt(b, p);
      if (cp < 0) throw BAIL;
      p += utf8Width(cp);
    }
    this.pos = p + 1;
  }
}

/** Index into REPLACEMENT of the escape \u003c \u003e \u0026 \u2028 \u2029 at p, else -1. */
function htmlEscape(b: Uint8Array, p: number): number {
  if (b[p + 1] !== 0x75) return -1;
  const h = String.fromCharCode(b[p + 2] ?? 0, b[p + 3] ?? 0, b[p + 4] ?? 0, b[p + 5] ?? 0);
  return ['003c', '003e', '0026', '2028', '2029'].indexOf(h);
}

/** 1 for the ASCII bytes a string holds as they are (not control characters, `"` or `\\`). */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 0x80; c++) PLAIN[c] = c === 0x22 || c === 0x5c ? 0 : 1;

/** Base64 digit values; 64 for every other byte (and for reads past the end). */
const SEXTET = new Uint8Array(256).fill(64);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, i) => (SEXTET[c.charCodeAt(0)] = i));

function compareRanges(b: Uint8Array, as: number, ae: number, bs: number, be: number): number {
  const n = Math.min(ae - as, be - bs);
  for (let i = 0; i < n; i++) {
    const d = b[as + i]! - b[bs + i]!;
    if (d !== 0) return d;
  }
  return ae - as - (be - bs);
}
