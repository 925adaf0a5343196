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

const utf8 = new TextDecoder('utf-8', { fatal: true });

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
  constructor(
    readonly b: Uint8Array,
    readonly opts: ParseOptions,
  ) {}

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
    let s = '';
    for (let i = start; i < this.pos; i++) s += String.fromCharCode(b[i]!);
    return Number(s);
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
    let out = latin1(b, start, this.pos);
    for (;;) {
      const c = b[this.pos];
      if (c === undefined) this.fail('unterminated string');
      if (c === 0x22) {
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail(`invalid character ${JSON.stringify(String.fromCharCode(c))} in string literal`);
      if (c === 0x5c) {
        out += this.escape();
        continue;
      }
      if (c < 0x80) {
        const s = this.pos;
        let d = b[++this.pos];
        while (d !== undefined && d >= 0x20 && d < 0x80 && d !== 0x22 && d !== 0x5c) d = b[++this.pos];
        out += latin1(b, s, this.pos);
        continue;
      }
      out += this.utf8Char();
    }
  }

  /** Decodes one UTF-8 sequence as Go does: an invalid byte is one U+FFFD and consumes one byte. */
  utf8Char(): string {
    const cp = codePointAt(this.b, this.pos);
    if (cp < 0) {
      this.pos++;
      return '\ufffd';
    }
    this.pos += utf8Width(cp);
    return String.fromCodePoint(cp);
  }

  escape(): string {
    const b = this.b;
    const c = b[this.pos + 1];
    this.pos += 2;
    switch (c) {
      case 0x22:
        return '"';
      case 0x5c:
        return '\\';
      case 0x2f:
        return '/';
      case 0x62:
        return '\b';
      case 0x66:
        return '\f';
      case 0x6e:
        return '\n';
      case 0x72:
        return '\r';
      case 0x74:
        return '\t';
      case 0x75: {
        const u = this.hex4();
        if (u >= 0xd800 && u < 0xdc00) {
          // A high surrogate must be followed by an escaped low surrogate to form a pair.
          if (b[this.pos] === 0x5c && b[this.pos + 1] === 0x75) {
            const save = this.pos;
            this.pos += 2;
            const lo = this.hex4();
            if (lo >= 0xdc00 && lo < 0xe000) return String.fromCharCode(u, lo);
            this.pos = save;
          }
          return '\ufffd';
        }
        if (u >= 0xdc00 && u < 0xe000) return '\ufffd';
        return String.fromCharCode(u);
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

function latin1(b: Uint8Array, start: number, end: number): string {
  if (end - start < 64) {
    let s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
    return s;
  }
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
}

/** Decodes strictly valid UTF-8 text (used where the input was already validated). */
export function decodeUtf8(b: Uint8Array): string {
  return utf8.decode(b);
}
