// A targets file's `targets` read from its verified bytes. For a file in notary's form the
// entries are indexed while the scanner proves the bytes canonical, and an entry becomes a
// FileMeta only when asked for: a lookup builds one, a listing none. Every entry is still
// checked when the file is read (formats.md §2.3): the common shape by the index itself, any
// other by parseFileMeta, so a file is refused exactly when the full parse would refuse it.

import { parseEnvelope, type Envelope } from './envelope.js';
import type { Ctx } from './guards.js';
import type { Json } from './json.js';
import { parseFileMeta, parseTargets, type FileMeta, type Targets } from './metadata.js';
import { compareBytes, type MemberSink } from './scan.js';

/** Reads a targets or delegation file; `targets` is an IndexedTargets when the file allows. */
export function parseTargetsFile(bytes: Uint8Array, role: string): { env: Envelope; meta: Targets } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Offsets are kept as int32: a larger file is read without the index.
  const index = buf.length <= MAX_INDEXED ? new TargetIndex(buf.length) : undefined;
  const env = parseEnvelope(buf, role, index);
  const meta = parseTargets(env.signed, role, index && env.indexed ? (ctx) => new IndexedTargets(buf, index, ctx) : undefined);
  return { env, meta };
}

const MAX_INDEXED = 0x7fffffff;

/** What `list` prints of a target. */
export interface TargetSummary {
  name: string;
  length: number;
  /** Hex, or '' when the entry has no sha256 hash. */
  sha256: string;
  role: string;
}

/** Summaries of every entry, in the map's order; entries in the common shape need no FileMeta. */
export function summaries(targets: ReadonlyMap<string, FileMeta>, role: string): Iterable<TargetSummary> {
  if (targets instanceof IndexedTargets) return targets.summaries(role);
  return summariesOf(targets, role);
}

/** True when the map's order is the byte order of the names. */
export function inNameOrder(targets: ReadonlyMap<string, FileMeta>): boolean {
  return targets instanceof IndexedTargets && targets.inNameOrder;
}

function* summariesOf(targets: ReadonlyMap<string, FileMeta>, role: string): Generator<TargetSummary> {
  for (const [name, meta] of targets) yield summary(name, meta, role);
}

function summary(name: string, meta: FileMeta, role: string): TargetSummary {
  return { name, length: meta.length, sha256: meta.hashes.get('sha256')?.toString('hex') ?? '', role };
}

// ---------------------------------------------------------------------------------------------
// The index

/** Per entry: name start and end, value start and end, sha256 base64 start and end. */
const STRIDE = 6;
/** In the sha256 start slot: the entry has no sha256 hash. */
const NO_SHA256 = -1;
/** In the sha256 start slot: the entry is not in the common shape and is read by parseFileMeta. */
const OTHER_SHAPE = -2;

const HASHES_OPEN = Buffer.from('{"hashes":{');
const LENGTH_KEY = Buffer.from(',"length":');
const SHA256 = Buffer.from('sha256');

/** Values of base64 characters, -1 for any other byte. */
const B64 = new Int8Array(256).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) B64[c.charCodeAt(0)] = i;

/**
 * Receives the members of `targets` from the scanner, in file order, which the scanner checks to
 * be strictly increasing byte order of the names. An entry in the common shape
 * `{"hashes":{"<alg>":"<base64>",...},"length":<digits>}` is checked here, byte by byte, for
 * everything both the scanner and parseFileMeta would check; any other entry is left to them.
 */
export class TargetIndex implements MemberSink {
  readonly key = 'targets';
  count = 0;
  private pos: Int32Array;
  private lens: Float64Array;
  private pending = -1;

  constructor(fileLength: number) {
    const guess = (fileLength >> 8) + 8;
    this.pos = new Int32Array(guess * STRIDE);
    this.lens = new Float64Array(guess);
  }

  member(b: Uint8Array, keyStart: number, keyEnd: number, valueStart: number): number {
    const i = this.slot();
    const p = this.pos;
    const o = i * STRIDE;
    p[o] = keyStart;
    p[o + 1] = keyEnd;
    p[o + 2] = valueStart;
    const end = this.common(b, valueStart, o);
    if (end < 0) {
      p[o + 4] = OTHER_SHAPE;
      this.pending = i;
      return -1;
    }
    p[o + 3] = end;
    this.count++;
    return end;
  }

  scanned(valueEnd: number): void {
    this.pos[this.pending * STRIDE + 3] = valueEnd;
    this.count++;
  }

  nameStart(i: number): number {
    return this.pos[i * STRIDE]!;
  }

  nameEnd(i: number): number {
    return this.pos[i * STRIDE + 1]!;
  }

  valueStart(i: number): number {
    return this.pos[i * STRIDE + 2]!;
  }

  valueEnd(i: number): number {
    return this.pos[i * STRIDE + 3]!;
  }

  /** NO_SHA256, OTHER_SHAPE, or where the sha256 base64 text starts. */
  sha256Start(i: number): number {
    return this.pos[i * STRIDE + 4]!;
  }

  sha256End(i: number): number {
    return this.pos[i * STRIDE + 5]!;
  }

  /** The length of an entry in the common shape. */
  length(i: number): number {
    return this.lens[i]!;
  }

  private slot(): number {
    const i = this.count;
    if (i === this.lens.length) {
      const pos = new Int32Array(this.pos.length * 2);
      pos.set(this.pos);
      this.pos = pos;
      const lens = new Float64Array(this.lens.length * 2);
      lens.set(this.lens);
      this.lens = lens;
    }
    return i;
  }

  /**
   * Matches the common shape at `v` and returns the end of the value, or -1. Hash names are
   * [a-z][a-z0-9]* in increasing order, hash values padded standard base64 with no spare bits
   * set, the length at most 15 digits without a leading zero: canonical as the scanner
   * requires, valid as parseFileMeta requires, with no escape to decode, and exactly the text
   * serialising its FileMeta gives (splice.ts copies such entries when re-signing).
   */
  private common(b: Uint8Array, v: number, o: number): number {
    for (let k = 0; k < HASHES_OPEN.length; k++) if (b[v + k] !== HASHES_OPEN[k]) return -1;
    let q = v + HASHES_OPEN.length;
    let prevStart = -1;
    let prevEnd = -1;
    let shaStart = NO_SHA256;
    let shaEnd = NO_SHA256;
    let c = b[q];
    for (;;) {
      if (c !== 0x22) return -1;
      const as = ++q;
      c = b[q];
      if (c === undefined || c < 0x61 || c > 0x7a) return -1;
      c = b[++q];
      while (c !== undefined && ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39))) c = b[++q];
      const ae = q;
      if (c !== 0x22 || b[q + 1] !== 0x3a || b[q + 2] !== 0x22) return -1;
      if (prevStart >= 0 && compareBytes(b, prevStart, prevEnd, as, ae) >= 0) return -1;
      prevStart = as;
      prevEnd = ae;
      q += 3;
      const vs = q;
      c = b[q];
      while (c !== undefined && B64[c]! >= 0) c = b[++q];
      const last = q - 1;
      if (c === 0x3d) {
        c = b[++q];
        if (c === 0x3d) c = b[++q];
      }
      if (c !== 0x22 || (q - vs) % 4 !== 0) return -1;
      const pad = q - 1 - last;
      if (pad > 0 && (B64[b[last]!]! & (pad === 1 ? 0x03 : 0x0f)) !== 0) return -1;
      if (ae - as === SHA256.length && isSha256(b, as)) {
        shaStart = vs;
        shaEnd = q;
      }
      c = b[++q];
      if (c === 0x2c) {
        c = b[++q];
        continue;
      }
      if (c !== 0x7d) return -1;
      q++;
      break;
    }
    for (let k = 0; k < LENGTH_KEY.length; k++) if (b[q + k] !== LENGTH_KEY[k]) return -1;
    q += LENGTH_KEY.length;
    const ds = q;
    c = b[q];
    if (c === 0x30) c = b[++q];
    else {
      while (c !== undefined && c >= 0x30 && c <= 0x39) c = b[++q];
      if (q === ds || q - ds > 15) return -1;
    }
    if (c !== 0x7d) return -1;
    let length = 0;
    for (let k = ds; k < q; k++) length = length * 10 + (b[k]! - 0x30);
    this.pos[o + 4] = shaStart;
    this.pos[o + 5] = shaEnd;
    this.lens[o / STRIDE] = length;
    return q + 1;
  }
}

function isSha256(b: Uint8Array, at: number): boolean {
  for (let k = 0; k < SHA256.length; k++) if (b[at + k] !== SHA256[k]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// The map

/**
 * The entries of an indexed targets file as a Map. Reads come from the file bytes; a value read
 * from the file is built on each get (change an entry with set, as with any Map). Edits
 * (publishing) are kept beside the index with a Map's semantics: a replaced entry keeps its
 * place, a new or re-added one goes last.
 */
export class IndexedTargets implements Map<string, FileMeta> {
  readonly [Symbol.toStringTag] = 'Map';
  /** Entries of the file replaced by set, by index. */
  private readonly replaced = new Map<number, FileMeta>();
  /** Entries of the file deleted (or cleared), by index. */
  private readonly dropped = new Set<number>();
  private cleared = false;
  /** Entries set that are not (or no longer) entries of the file, in insertion order. */
  private readonly added = new Map<string, FileMeta>();

  constructor(
    /** The file the entries are read from. */
    readonly file: Buffer,
    private readonly index: TargetIndex,
    private readonly ctx: Ctx,
  ) {
    for (let i = 0; i < index.count; i++) if (index.sha256Start(i) === OTHER_SHAPE) this.meta(i);
  }

  get size(): number {
    return (this.cleared ? 0 : this.index.count - this.dropped.size) + this.added.size;
  }

  /** True while the order is the byte order of the names (nothing was added). */
  get inNameOrder(): boolean {
    return this.added.size === 0;
  }

  get(name: string): FileMeta | undefined {
    const a = this.added.get(name);
    if (a) return a;
    const i = this.live(name);
    return i < 0 ? undefined : (this.replaced.get(i) ?? this.meta(i));
  }

  has(name: string): boolean {
    return this.added.has(name) || this.live(name) >= 0;
  }

  set(name: string, meta: FileMeta): this {
    const i = this.added.has(name) ? -1 : this.live(name);
    if (i >= 0) this.replaced.set(i, meta);
    else this.added.set(name, meta);
    return this;
  }

  delete(name: string): boolean {
    if (this.added.delete(name)) return true;
    const i = this.live(name);
    if (i < 0) return false;
    this.dropped.add(i);
    this.replaced.delete(i);
    return true;
  }

  clear(): void {
    this.cleared = true;
    this.replaced.clear();
    this.added.clear();
  }

  forEach(fn: (meta: FileMeta, name: string, map: Map<string, FileMeta>) => void, thisArg?: unknown): void {
    for (const [name, meta] of this) fn.call(thisArg, meta, name, this);
  }

  *entries(): IterableIterator<[string, FileMeta]> {
    for (const i of this.liveIndexes()) yield [this.name(i), this.replaced.get(i) ?? this.meta(i)];
    yield* this.added;
  }

  *keys(): IterableIterator<string> {
    for (const i of this.liveIndexes()) yield this.name(i);
    yield* this.added.keys();
  }

  *values(): IterableIterator<FileMeta> {
    for (const [, meta] of this) yield meta;
  }

  [Symbol.iterator](): IterableIterator<[string, FileMeta]> {
    return this.entries();
  }

  *summaries(role: string): Generator<TargetSummary> {
    const x = this.index;
    const count = this.cleared ? 0 : x.count;
    for (let i = 0; i < count; i++) {
      if (this.dropped.has(i)) continue;
      const sha = x.sha256Start(i);
      const meta = this.replaced.get(i) ?? (sha === OTHER_SHAPE ? this.meta(i) : undefined);
      if (meta) yield summary(this.name(i), meta, role);
      else yield { name: this.name(i), length: x.length(i), sha256: sha === NO_SHA256 ? '' : base64Hex(this.file, sha, x.sha256End(i)), role };
    }
    yield* summariesOf(this.added, role);
  }

  /**
   * Visits the entries in name byte order, for serialising: `copy` gets the range of an
   * unchanged entry in the common shape, whose text in the file (`"name":{…}`) is exactly its
   * canonical text; `serialise` gets any other entry. Visits nothing and returns false when an
   * added name has no UTF-8 form (a lone surrogate sorts differently as text than as bytes).
   */
  visitInOrder(copy: (start: number, end: number) => void, serialise: (name: string, meta: FileMeta) => void): boolean {
    const added = [...this.added].map(([name, meta]) => ({ name, meta, utf8: Buffer.from(name, 'utf8') }));
    if (added.some((e) => e.utf8.toString('utf8') !== e.name)) return false;
    added.sort((l, r) => Buffer.compare(l.utf8, r.utf8));
    const x = this.index;
    const count = this.cleared ? 0 : x.count;
    let a = 0;
    for (let i = 0; i < count; i++) {
      if (this.dropped.has(i)) continue;
      const ns = x.nameStart(i);
      const ne = x.nameEnd(i);
      for (; a < added.length && compareWith(this.file, ns, ne, added[a]!.utf8) > 0; a++) serialise(added[a]!.name, added[a]!.meta);
      const edited = this.replaced.get(i);
      if (edited) serialise(this.name(i), edited);
      else if (x.sha256Start(i) === OTHER_SHAPE) serialise(this.name(i), this.meta(i));
      else copy(ns - 1, x.valueEnd(i));
    }
    for (; a < added.length; a++) serialise(added[a]!.name, added[a]!.meta);
    return true;
  }

  private *liveIndexes(): Generator<number> {
    const count = this.cleared ? 0 : this.index.count;
    for (let i = 0; i < count; i++) if (!this.dropped.has(i)) yield i;
  }

  /** The index of a file entry that is still in the map, or -1. */
  private live(name: string): number {
    if (this.cleared) return -1;
    const i = this.find(name);
    return i >= 0 && !this.dropped.has(i) ? i : -1;
  }

  private name(i: number): string {
    return this.file.toString('utf8', this.index.nameStart(i), this.index.nameEnd(i));
  }

  /** Binary search over the names (the scanner proved them in increasing byte order). */
  private find(name: string): number {
    const want = Buffer.from(name, 'utf8');
    // A lone surrogate has no UTF-8 form: no name in the file can equal it.
    if (want.toString('utf8') !== name) return -1;
    const x = this.index;
    let lo = 0;
    let hi = x.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const d = compareWith(this.file, x.nameStart(mid), x.nameEnd(mid), want);
      if (d === 0) return mid;
      if (d < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private meta(i: number): FileMeta {
    const x = this.index;
    const f = this.file;
    const v = x.valueStart(i);
    if (x.sha256Start(i) === OTHER_SHAPE) {
      // On bytes the scanner accepted, JSON.parse reads what Go reads (envelope.ts relies on it too).
      const value: Json = JSON.parse(f.toString('utf8', v, x.valueEnd(i))) as Json;
      return parseFileMeta(value, this.ctx.at(this.name(i)));
    }
    const hashes = new Map<string, Buffer>();
    let q = v + HASHES_OPEN.length;
    for (;;) {
      const as = q + 1;
      const ae = f.indexOf(0x22, as);
      const vs = ae + 3;
      const ve = f.indexOf(0x22, vs);
      hashes.set(f.toString('latin1', as, ae), Buffer.from(f.toString('latin1', vs, ve), 'base64'));
      q = ve + 1;
      if (f[q] === 0x7d) break;
      q++;
    }
    return { length: x.length(i), hashes };
  }
}

function compareWith(b: Uint8Array, s: number, e: number, want: Uint8Array): number {
  const n = Math.min(e - s, want.length);
  for (let k = 0; k < n; k++) {
    const d = b[s + k]! - want[k]!;
    if (d !== 0) return d;
  }
  return e - s - want.length;
}

const hexScratch = Buffer.alloc(64);

/** The hex form of the bytes a checked base64 text stands for. */
function base64Hex(b: Uint8Array, s: number, e: number): string {
  const out = (e - s) * 0.75 <= hexScratch.length ? hexScratch : Buffer.alloc(((e - s) >> 2) * 3);
  let n = 0;
  let acc = 0;
  let bits = 0;
  for (let p = s; p < e; p++) {
    const v = B64[b[p]!]!;
    if (v < 0) break; // padding
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out.toString('hex', 0, n);
}
