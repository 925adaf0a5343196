// Fast path for the verify input. notary writes `signed` already in canonical order, only
// HTML-escaped; for such bytes the canonical form is the same bytes with those five escapes
// decoded. This scanner proves that property byte by byte (sorted unique keys, no whitespace,
// valid UTF-8, plain integers) and returns the canonical bytes without building a tree.
// Anything it is unsure of returns null and the caller takes the full parse-and-encode path,
// so the result is always identical to canonicalBytes(parseJson(bytes), 'verify').
//
// A MemberSink sees the members of one object of the top level (a targets file's `targets`)
// as byte ranges while they are scanned, so that the caller can index them instead of parsing.

import { codePointAt, utf8Width } from './utf8.js';

export interface ScanResult {
  end: number;
  canonical: Buffer;
  /** Where the sink's object is (from its `{` to after its `}`), when it was found and scanned. */
  indexed?: { start: number; end: number };
}

export interface MemberSink {
  /** The top-level key (plain ASCII) whose object value is indexed. */
  readonly key: string;
  /**
   * One member: its key between the quotes, and where its value starts. Returns the end of the
   * value when the sink proved the value canonical itself (it then holds no escape to decode),
   * or -1 to have the scanner check it and report its end to `scanned`.
   */
  member(b: Uint8Array, keyStart: number, keyEnd: number, valueStart: number): number;
  scanned(valueEnd: number): void;
}

/** A sink's findings are only meaningful when the result is not null. */
export function scanCanonical(b: Uint8Array, start: number, sink?: MemberSink): ScanResult | null {
  const s = new Scanner(b, start, sink);
  try {
    s.value(0);
  } catch (e) {
    if (e === BAIL) return null;
    throw e;
  }
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const indexed = s.indexed;
  const { cuts, cutCount } = s;
  if (cutCount === 0) return { end: s.pos, canonical: buf.subarray(start, s.pos), indexed };
  // Assembled in one buffer: a view per piece would cost more than the scan (a file can hold
  // 170,000 escapes per MiB).
  let size = s.pos - start;
  for (let i = 0; i < cutCount; i++) size -= ESCAPE_LENGTH - REPLACEMENT[cuts[2 * i + 1]!]!.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  let from = start;
  for (let i = 0; i < cutCount; i++) {
    at = copyBytes(buf, from, cuts[2 * i]!, out, at);
    const r = REPLACEMENT[cuts[2 * i + 1]!]!;
    for (let k = 0; k < r.length; k++) out[at++] = r[k]!;
    from = cuts[2 * i]! + ESCAPE_LENGTH;
  }
  copyBytes(buf, from, s.pos, out, at);
  return { end: s.pos, canonical: out, indexed };
}

/** `\uXXXX` */
const ESCAPE_LENGTH = 6;

/** Copies b[from, to) to out at `at`; returns the position after it. */
function copyBytes(b: Buffer, from: number, to: number, out: Buffer, at: number): number {
  if (to - from > 32) return at + b.copy(out, at, from, to);
  for (let i = from; i < to; i++) out[at++] = b[i]!;
  return at;
}

const REPLACEMENT: Buffer[] = [
  Buffer.from('<'),
  Buffer.from('>'),
  Buffer.from('&'),
  Buffer.from('\u2028'),
  Buffer.from('\u2029'),
];

const BAIL = Symbol('bail');
const MAX_DEPTH = 512;

class Scanner {
  /** Pairs (where the escape starts, replacement index) for the escapes to decode. */
  cuts = new Float64Array(64);
  cutCount = 0;
  indexed: { start: number; end: number } | undefined;
  private readonly sinkKey: Buffer | undefined;
  constructor(
    readonly b: Uint8Array,
    public pos: number,
    readonly sink: MemberSink | undefined,
  ) {
    this.sinkKey = sink && Buffer.from(sink.key, 'latin1');
  }

  value(depth: number): void {
    if (depth > MAX_DEPTH) throw BAIL;
    const c = this.b[this.pos];
    if (c === 0x7b) this.object(depth);
    else if (c === 0x5b) this.array(depth);
    else if (c === 0x22) this.string(false);
    else if (c === 0x74) this.word(0x74, 0x72, 0x75, 0x65, -1);
    else if (c === 0x66) this.word(0x66, 0x61, 0x6c, 0x73, 0x65);
    else if (c === 0x6e) this.word(0x6e, 0x75, 0x6c, 0x6c, -1);
    else this.number();
  }

  cut(at: number, replacement: number): void {
    if (2 * this.cutCount === this.cuts.length) {
      const grown = new Float64Array(this.cuts.length * 2);
      grown.set(this.cuts);
      this.cuts = grown;
    }
    this.cuts[2 * this.cutCount] = at;
    this.cuts[2 * this.cutCount + 1] = replacement;
    this.cutCount++;
  }

  word(a: number, b: number, c: number, d: number, e: number): void {
    const x = this.b;
    const p = this.pos;
    if (x[p] !== a || x[p + 1] !== b || x[p + 2] !== c || x[p + 3] !== d) throw BAIL;
    if (e >= 0) {
      if (x[p + 4] !== e) throw BAIL;
      this.pos += 5;
    } else this.pos += 4;
  }

  number(): void {
    const b = this.b;
    let p = this.pos;
    if (b[p] === 0x2d) p++;
    const first = b[p];
    if (first === 0x30) {
      if (b[p - 1] === 0x2d) throw BAIL; // -0 canonicalises to 0
      p++;
    } else if (first !== undefined && first >= 0x31 && first <= 0x39) {
      const d0 = p;
      let c = b[++p];
      while (c !== undefined && c >= 0x30 && c <= 0x39) c = b[++p];
      if (p - d0 > 15) throw BAIL; // beyond 15 digits the float64 round trip needs the slow path
    } else throw BAIL;
    const c = b[p];
    if (c === 0x2e || c === 0x65 || c === 0x45) throw BAIL;
    this.pos = p;
  }

  /** Keys may not hold escapes: their byte order is then checked on the raw bytes. */
  string(asKey: boolean): void {
    const b = this.b;
    let p = this.pos + 1;
    for (;;) {
      const c = b[p];
      if (c === undefined) throw BAIL;
      if (c === 0x22) break;
      if (c < 0x20) throw BAIL;
      if (c === 0x5c) {
        if (asKey) throw BAIL;
        const e = b[p + 1];
        if (e === 0x22 || e === 0x5c) {
          p += 2;
          continue;
        }
        if (e !== 0x75) throw BAIL;
        const idx = unicodeEscape(b, p);
        if (idx < 0) throw BAIL;
        this.cut(p, idx);
        p += ESCAPE_LENGTH;
        continue;
      }
      if (c < 0x80) {
        p++;
        continue;
      }
      p = utf8Valid(b, p);
    }
    this.pos = p + 1;
  }

  /** With `sink`, each member goes to the sink first. */
  object(depth: number, sink?: MemberSink): void {
    const b = this.b;
    this.pos++;
    if (b[this.pos] === 0x7d) {
      this.pos++;
      return;
    }
    let prevStart = -1;
    let prevEnd = -1;
    for (;;) {
      if (b[this.pos] !== 0x22) throw BAIL;
      const ks = this.pos + 1;
      this.string(true);
      const ke = this.pos - 1;
      if (prevStart >= 0 && compareBytes(b, prevStart, prevEnd, ks, ke) >= 0) throw BAIL;
      prevStart = ks;
      prevEnd = ke;
      if (b[this.pos] !== 0x3a) throw BAIL;
      this.pos++;
      if (sink) {
        const end = sink.member(b, ks, ke, this.pos);
        if (end >= 0) this.pos = end;
        else {
          this.value(depth + 1);
          sink.scanned(this.pos);
        }
      } else if (depth === 0 && this.sinkKey && b[this.pos] === 0x7b && bytesEqual(b, ks, ke, this.sinkKey)) {
        const start = this.pos;
        this.object(depth + 1, this.sink);
        this.indexed = { start, end: this.pos };
      } else this.value(depth + 1);
      const c = b[this.pos];
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        return;
      }
      throw BAIL;
    }
  }

  array(depth: number): void {
    const b = this.b;
    this.pos++;
    if (b[this.pos] === 0x5d) {
      this.pos++;
      return;
    }
    for (;;) {
      this.value(depth + 1);
      const c = b[this.pos];
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        return;
      }
      throw BAIL;
    }
  }
}

/** Index into REPLACEMENT for \u003c \u003e \u0026 \u2028 \u2029 (lower-case hex), else -1. */
function unicodeEscape(b: Uint8Array, p: number): number {
  const h1 = b[p + 2];
  const h2 = b[p + 3];
  const h3 = b[p + 4];
  const h4 = b[p + 5];
  if (h1 === 0x30 && h2 === 0x30) {
    if (h3 === 0x33 && h4 === 0x63) return 0;
    if (h3 === 0x33 && h4 === 0x65) return 1;
    if (h3 === 0x32 && h4 === 0x36) return 2;
  } else if (h1 === 0x32 && h2 === 0x30 && h3 === 0x32) {
    if (h4 === 0x38) return 3;
    if (h4 === 0x39) return 4;
  }
  return -1;
}

/** Validates one UTF-8 sequence at p and returns the index after it; bails on invalid input. */
function utf8Valid(b: Uint8Array, p: number): number {
  const cp = codePointAt(b, p);
  if (cp < 0) throw BAIL;
  return p + utf8Width(cp);
}

function bytesEqual(b: Uint8Array, s: number, e: number, want: Uint8Array): boolean {
  if (e - s !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (b[s + i] !== want[i]) return false;
  return true;
}

export function compareBytes(b: Uint8Array, as: number, ae: number, bs: number, be: number): number {
  const n = Math.min(ae - as, be - bs);
  for (let i = 0; i < n; i++) {
    const d = b[as + i]! - b[bs + i]!;
    if (d !== 0) return d;
  }
  return ae - as - (be - bs);
}
