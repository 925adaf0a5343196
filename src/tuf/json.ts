// A JSON reader with Go's semantics (encoding/json into interface{}):
// numbers are IEEE doubles, each invalid UTF-8 byte and each lone surrogate becomes U+FFFD,
// raw control characters in strings are a syntax error. Objects have no prototype, so
// untrusted keys such as "__proto__" are plain data.

import { TrustError } from './errors.js';
import { codePointAt, utf8Width } from './utf8.js';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export interface ParseOptions {
  /** Refuse duplicate keys instead of letting the last one win (Go's behaviour). */
  rejectDuplicates?: boolean;
  /** Used in error messages. */
  what?: string;
}

// Made on first use: a TextDecoder costs a short command that never decodes (addhash) ~0.3 ms.
let utf8: InstanceType<typeof TextDecoder> | undefined;

export function isJsonObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseJson(bytes: Uint8Array, opts: ParseOptions = {}): Json {
  const p = new Parser(bytes, opts);
  p.ws();
  const v = p.value(0);
  p.ws();
  if (p.pos !== bytes.length) p.fail('unexpected data after the top-level value');
  return v;
}

const MAX_DEPTH = 512;

class Parser {
  pos = 0;
  readonly b: Buffer;
  constructor(
    bytes: Uint8Array,
    readonly opts: ParseOptions,
  ) {
    this.b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(msg: string): never {
    const what = this.opts.what ? `${this.opts.what}: ` : '';
    throw new TrustError('JSON_SYNTAX', `${what}invalid JSON at byte ${this.pos}: ${msg}`);
  }

  ws(): void {
    const b = this.b;
    let c = b[this.pos];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++this.pos];
  }

  value(depth: number): Json {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    const c = this.b[this.pos];
    switch (c) {
      case 0x7b:
        return this.object(depth);
      case 0x5b:
        return this.array(depth);
      case 0x22:
        return this.string();
      case 0x74:
        return this.literal('true', true);
      case 0x66:
        return this.literal('false', false);
      case 0x6e:
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.number();
        return this.fail(c === undefined ? 'unexpected end of input' : `unexpected character ${JSON.stringify(String.fromCharCode(c))}`);
    }
  }

  literal<T>(word: string, v: T): T {
    for (let i = 0; i < word.length; i++) {
      if (this.b[this.pos + i] !== word.charCodeAt(i)) this.fail(`expected ${word}`);
    }
    this.pos += word.length;
    return v;
  }

  number(): number {
    const b = this.b;
    const start = this.pos;
    if (b[this.pos] === 0x2d) this.pos++;
    const d0 = b[this.pos];
    if (d0 === 0x30) this.pos++;
    else if (d0 !== undefined && d0 >= 0x31 && d0 <= 0x39) this.digits();
    else this.fail('invalid number');
    if (b[this.pos] === 0x2e) {
      this.pos++;
      if (!this.digits()) this.fail('invalid number');
    }
    if (b[this.pos] === 0x65 || b[this.pos] === 0x45) {
      this.pos++;
      if (b[this.pos] === 0x2b || b[this.pos] === 0x2d) this.pos++;
      if (!this.digits()) this.fail('invalid number');
    }
    return Number(latin1(b, start, this.pos));
  }

  digits(): boolean {
    const b = this.b;
    const start = this.pos;
    let c = b[this.pos];
    while (c !== undefined && c >= 0x30 && c <= 0x39) c = b[++this.pos];
    return this.pos > start;
  }

  string(): string {
    const b = this.b;
    this.pos++; // opening quote
    const start = this.pos;
    // Fast path: printable ASCII without escapes.
    for (;;) {
      const c = b[this.pos];
      if (c === undefined) this.fail('unterminated string');
      if (c === 0x22) {
        const s = latin1(b, start, this.pos);
        this.pos++;
        return s;
      }
      if (c === 0x5c || c < 0x20 || c >= 0x80) break;
      this.pos++;
    }
    // Decoded into a scratch buffer as UTF-16LE, one character at a time: V8 makes a string from
    // UTF-16 several times faster than from UTF-8 (a million U+FFFD: 0.3-10 ms against 25 ms),
    // and adding to a string per character is superlinear.
    let n = 0;
    for (let i = start; i < this.pos; i++) n = writeCodePoint(b[i]!, n);
    let p = this.pos;
    for (;;) {
      const c = b[p];
      if (c === undefined) {
        this.pos = p;
        this.fail('unterminated string');
      }
      if (c === 0x22) {
        this.pos = p + 1;
        return scratch.toString('utf16le', 0, n);
      }
      if (c < 0x20) {
        this.pos = p;
        this.fail(`invalid character ${JSON.stringify(String.fromCharCode(c))} in string literal`);
      }
      if (c === 0x5c) {
        this.pos = p;
        n = writeCodePoint(this.escape(), n);
        p = this.pos;
        continue;
      }
      if (c < 0x80) {
        n = writeCodePoint(c, n);
        p++;
        continue;
      }
      // Go's decoding: a valid sequence is kept, each byte that starts no valid one is a U+FFFD.
      const cp = codePointAt(b, p);
      if (cp >= 0) {
        n = writeCodePoint(cp, n);
        p += utf8Width(cp);
      } else {
        n = writeCodePoint(0xfffd, n);
        p++;
      }
    }
  }

  /** One escape as a code point; a surrogate that is not half of an escaped pair is U+FFFD. */
  escape(): number {
    const b = this.b;
    const c = b[this.pos + 1];
    this.pos += 2;
    switch (c) {
      case 0x22:
      case 0x5c:
      case 0x2f:
        return c;
      case 0x62:
        return 0x08;
      case 0x66:
        return 0x0c;
      case 0x6e:
        return 0x0a;
      case 0x72:
        return 0x0d;
      case 0x74:
        return 0x09;
      case 0x75: {
        const u = this.hex4();
        if (u >= 0xd800 && u < 0xdc00) {
          // A high surrogate must be followed by an escaped low surrogate to form a pair.
          if (b[this.pos] === 0x5c && b[this.pos + 1] === 0x75) {
            const save = this.pos;
            this.pos += 2;
            const lo = this.hex4();
            if (lo >= 0xdc00 && lo < 0xe000) return 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            this.pos = save;
          }
          return 0xfffd;
        }
        if (u >= 0xdc00 && u < 0xe000) return 0xfffd;
        return u;
      }
      default:
        this.pos -= 2;
        return this.fail('invalid escape');
    }
  }

  hex4(): number {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.b[this.pos + i];
      let d: number;
      if (c !== undefined && c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c !== undefined && c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (c !== undefined && c >= 0x41 && c <= 0x46) d = c - 0x37;
      else return this.fail('invalid \\u escape');
      v = v * 16 + d;
    }
    this.pos += 4;
    return v;
  }

  object(depth: number): JsonObject {
    const o: JsonObject = Object.create(null) as JsonObject;
    this.pos++;
    this.ws();
    if (this.b[this.pos] === 0x7d) {
      this.pos++;
      return o;
    }
    for (;;) {
      if (this.b[this.pos] !== 0x22) this.fail('expected a string key');
      const k = this.string();
      this.ws();
      if (this.b[this.pos] !== 0x3a) this.fail("expected ':'");
      this.pos++;
      this.ws();
      const v = this.value(depth + 1);
      if (this.opts.rejectDuplicates && Object.hasOwn(o, k)) {
        const what = this.opts.what ? `${this.opts.what}: ` : '';
        throw new TrustError('JSON_DUPLICATE_KEY', `${what}duplicate key ${JSON.stringify(k)}`, { field: k });
      }
      o[k] = v;
      this.ws();
      const c = this.b[this.pos];
      if (c === 0x2c) {
        this.pos++;
        this.ws();
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        return o;
      }
      this.fail("expected ',' or '}'");
    }
  }

  array(depth: number): Json[] {
    const a: Json[] = [];
    this.pos++;
    this.ws();
    if (this.b[this.pos] === 0x5d) {
      this.pos++;
      return a;
    }
    for (;;) {
      a.push(this.value(depth + 1));
      this.ws();
      const c = this.b[this.pos];
      if (c === 0x2c) {
        this.pos++;
        this.ws();
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        return a;
      }
      this.fail("expected ',' or ']'");
    }
  }
}

function latin1(b: Buffer, start: number, end: number): string {
  if (end - start < 16) {
    let s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
    return s;
  }
  return b.toString('latin1', start, end);
}

/** Where string() decodes strings that need it (parsing is synchronous: one is enough). */
let scratch = Buffer.allocUnsafe(2048);

/** Appends `cp` to the scratch buffer as UTF-16LE at byte `n`; returns the new end. */
function writeCodePoint(cp: number, n: number): number {
  if (n + 4 > scratch.length) {
    const next = Buffer.allocUnsafe(scratch.length * 2);
    scratch.copy(next, 0, 0, n);
    scratch = next;
  }
  if (cp < 0x10000) {
    scratch[n] = cp & 0xff;
    scratch[n + 1] = cp >> 8;
    return n + 2;
  }
  const hi = 0xd7c0 + (cp >> 10);
  const lo = 0xdc00 | (cp & 0x3ff);
  scratch[n] = hi & 0xff;
  scratch[n + 1] = hi >> 8;
  scratch[n + 2] = lo & 0xff;
  scratch[n + 3] = lo >> 8;
  return n + 4;
}

/** Decodes strictly valid UTF-8 text (used where the input was already validated). */
export function decodeUtf8(b: Uint8Array): string {
  utf8 ??= new TextDecoder('utf-8', { fatal: true });
  return utf8.decode(b);
}
