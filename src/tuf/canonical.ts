// notary's canonical JSON (github.com/docker/go/canonical/json), formats.md §1.
//
// Two encoders over one value tree:
//  - canonical bytes: what is signed and verified (keys in UTF-8 byte order, only `"` and `\`
//    escaped, every other byte raw, integers only);
//  - file form: the canonical bytes with `<` `>` `&` U+2028 U+2029 HTML-escaped, which is what
//    Go's json.Marshal writes around the RawMessage (§1.3) and what the server re-serialises.

import { TrustError } from './errors.js';
import type { Json } from './json.js';

/**
 * `verify`: Go's generic path, used on values parsed from files: large integers wrap through
 * int64 as Go does, control characters are copied raw.
 * `sign`: refuses anything notary cannot round-trip (floats, integers beyond 2^53, control
 * characters), so that dtrust never produces bytes that break a repository.
 */
export type CanonicalMode = 'verify' | 'sign';

const SURROGATE = /[\ud800-\udfff]/;
const CONTROL = /[\u0000-\u001f]/;
const NEEDS_ESCAPE = /["\\]/;
const HTML = /[<>&\u2028\u2029]/g;
const HTML_TEST = /[<>&\u2028\u2029]/;
const TWO_63 = 2 ** 63;

export function canonicalString(value: Json, mode: CanonicalMode): string {
  return write(value, mode);
}

export function canonicalBytes(value: Json, mode: CanonicalMode): Buffer {
  return Buffer.from(canonicalString(value, mode), 'utf8');
}

/** The on-disk form of canonical text: HTML-escaped, refusing control characters as Go does. */
export function fileFormString(canonical: string): string {
  if (CONTROL.test(canonical)) {
    throw new TrustError(
      'CANONICAL_UNSUPPORTED',
      'a string contains a control character (U+0000-U+001F); notary cannot store such metadata',
    );
  }
  return HTML_TEST.test(canonical) ? canonical.replace(HTML, htmlEscape) : canonical;
}

function htmlEscape(c: string): string {
  switch (c) {
    case '<':
      return '\\u003c';
    case '>':
      return '\\u003e';
    case '&':
      return '\\u0026';
    case '\u2028':
      return '\\u2028';
    default:
      return '\\u2029';
  }
}

/** Sorts keys by UTF-8 byte order, which differs from JS order only around surrogates. */
export function sortKeysUtf8(keys: string[]): string[] {
  for (const k of keys) {
    if (SURROGATE.test(k)) return keys.sort(compareUtf8);
  }
  return keys.sort();
}

export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Map UTF-16 units to code point order: surrogates above U+E000-U+FFFF.
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

export function quote(s: string, mode: CanonicalMode): string {
  if (mode === 'sign' && CONTROL.test(s)) {
    throw new TrustError(
      'CANONICAL_UNSUPPORTED',
      `the string ${JSON.stringify(s)} contains a control character (U+0000-U+001F), which notary cannot publish`,
    );
  }
  return NEEDS_ESCAPE.test(s) ? `"${s.replace(/["\\]/g, '\\$&')}"` : `"${s}"`;
}

export function formatNumber(n: number, mode: CanonicalMode): string {
  if (!Number.isFinite(n) || !Number.isInteger(n)) {
    throw new TrustError('CANONICAL_UNSUPPORTED', `json: unsupported value: ${n} (notary's canonical JSON has integers only)`);
  }
  if (mode === 'sign' && !Number.isSafeInteger(n)) {
    throw new TrustError(
      'CANONICAL_UNSUPPORTED',
      `the integer ${n} is beyond 2^53 and would not survive notary's float64 round trip`,
    );
  }
  if (Number.isSafeInteger(n)) return n === 0 ? '0' : String(n);
  if (n >= TWO_63 || n < -TWO_63) return '-9223372036854775808';
  return BigInt(n).toString();
}

// Text is built by concatenation: V8 joins the pieces as a rope once, where an array of every
// piece costs its garbage collector more than the encoding itself on large files.
function write(v: Json, mode: CanonicalMode): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return quote(v, mode);
  if (typeof v === 'number') return formatNumber(v, mode);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) s += ',';
      s += write(v[i]!, mode);
    }
    return s + ']';
  }
  const keys = sortKeysUtf8(Object.keys(v));
  let s = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (i > 0) s += ',';
    s += quote(k, mode) + ':' + write(v[k]!, mode);
  }
  return s + '}';
}
