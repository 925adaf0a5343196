// A minimal, strict DER reader and writer: just enough for X.509 certificates and PKCS#8 key
// files. Every read is bounds-checked; malformed input throws DerError (never a RangeError).
// Like Go's cryptobyte, only DER is accepted: definite, minimal lengths and low tag numbers.

import { DtrustError, type ErrorFields } from '../errors.js';

export interface DerErrorFields extends ErrorFields {
  /** Where in the input the malformed element starts. */
  offset: number;
}

/** Input that is not the DER expected; the message says where (`malformed DER at offset N: ...`). */
export class DerError extends DtrustError<'BAD_DER', DerErrorFields> {
  readonly offset: number;

  constructor(code: 'BAD_DER', message: string, fields: DerErrorFields, cause?: unknown) {
    super(code, `malformed DER at offset ${fields.offset}: ${message}`, fields, cause);
    this.name = 'DerError';
    this.offset = fields.offset;
  }
}

/** Universal tags, with the constructed bit already set for SEQUENCE and SET. */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  NUMERIC_STRING: 0x12,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Tag byte of a context-specific constructed [n] (explicit tagging), n < 31. */
export function contextTag(n: number, constructed = true): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

/** One TLV element. Offsets are absolute positions in the buffer it was read from. */
export interface Tlv {
  /** The identifier octet (class, constructed bit and tag number < 31). */
  tag: number;
  constructed: boolean;
  /** Offset of the identifier octet. */
  start: number;
  headerLength: number;
  contentStart: number;
  /** Offset just past the content (end of the element). */
  end: number;
}

/** Reads the TLV starting at `offset`; it must end at or before `limit`. */
export function readTlv(buf: Uint8Array, offset = 0, limit = buf.length): Tlv {
  if (limit > buf.length) limit = buf.length;
  if (offset < 0 || offset >= limit) throw new DerError('BAD_DER', 'truncated element (no tag)', { offset });
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('BAD_DER', 'high tag numbers are not supported', { offset });
  if (offset + 1 >= limit) throw new DerError('BAD_DER', 'truncated element (no length)', { offset });
  const first = buf[offset + 1]!;
  let length: number;
  let headerLength: number;
  if (first < 0x80) {
    length = first;
    headerLength = 2;
  } else if (first === 0x80) {
    throw new DerError('BAD_DER', 'indefinite length', { offset });
  } else {
    const n = first & 0x7f;
    if (n > 4) throw new DerError('BAD_DER', 'length too long', { offset });
    if (offset + 2 + n > limit) throw new DerError('BAD_DER', 'truncated length', { offset });
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[offset + 2 + i]!;
    if (buf[offset + 2]! === 0 || length < 0x80) throw new DerError('BAD_DER', 'non-minimal length', { offset });
    headerLength = 2 + n;
  }
  const contentStart = offset + headerLength;
  const end = contentStart + length;
  if (end > limit) throw new DerError('BAD_DER', 'truncated content', { offset });
  return { tag, constructed: (tag & 0x20) !== 0, start: offset, headerLength, contentStart, end };
}

/** Reads the single element that makes up all of `buf` (no trailing data). */
export function readSingle(buf: Uint8Array, expectedTag?: number): Tlv {
  const t = readTlv(buf, 0, buf.length);
  if (t.end !== buf.length) throw new DerError('BAD_DER', 'trailing data', { offset: t.end });
  if (expectedTag !== undefined) expectTag(t, expectedTag);
  return t;
}

/** Throws unless the element has the given tag. */
export function expectTag(t: Tlv, tag: number, what?: string): Tlv {
  if (t.tag !== tag) {
    const name = what === undefined ? '' : ` for ${what}`;
    throw new DerError('BAD_DER', `expected tag 0x${hex2(tag)}${name}, found 0x${hex2(t.tag)}`, { offset: t.start });
  }
  return t;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** The children of a constructed element, in order. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  if (!parent.constructed) throw new DerError('BAD_DER', 'element is not constructed', { offset: parent.start });
  const out: Tlv[] = [];
  let at = parent.contentStart;
  while (at < parent.end) {
    const c = readTlv(buf, at, parent.end);
    out.push(c);
    at = c.end;
  }
  return out;
}

/** The content octets of an element (a view, not a copy). */
export function contentOf(buf: Uint8Array, t: Tlv): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + t.contentStart, t.end - t.contentStart);
}

/** The whole encoding (header + content) of an element (a view, not a copy). */
export function elementOf(buf: Uint8Array, t: Tlv): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + t.start, t.end - t.start);
}

// ---- primitive decoders (they take content octets) ----

/**
 * OBJECT IDENTIFIER content to dotted decimal. An arc above 2^31-1 is refused, as Go's parsers
 * (encoding/asn1, cryptobyte) refuse it; this also keeps the work linear in the content.
 */
export function decodeOid(c: Uint8Array, offset = 0): string {
  if (c.length === 0) throw new DerError('BAD_DER', 'empty OBJECT IDENTIFIER', { offset });
  let out = '';
  let v = 0;
  let inArc = false;
  for (let i = 0; i < c.length; i++) {
    const b = c[i]!;
    if (!inArc && b === 0x80) throw new DerError('BAD_DER', 'non-minimal OBJECT IDENTIFIER arc', { offset });
    if (v >= 1 << 24) throw new DerError('BAD_DER', 'OBJECT IDENTIFIER arc larger than 2^31-1', { offset });
    v = v * 128 + (b & 0x7f);
    inArc = (b & 0x80) !== 0;
    if (inArc) continue;
    if (out !== '') out += `.${v}`;
    else {
      // The first arc holds two: 40 * x + y, where x is 0, 1 or 2.
      const x = v < 80 ? Math.floor(v / 40) : 2;
      out = `${x}.${v - x * 40}`;
    }
    v = 0;
  }
  if (inArc) throw new DerError('BAD_DER', 'truncated OBJECT IDENTIFIER', { offset });
  return out;
}

/** INTEGER content (two's complement, minimal) to bigint. */
export function decodeInteger(c: Uint8Array, offset = 0): bigint {
  if (c.length === 0) throw new DerError('BAD_DER', 'empty INTEGER', { offset });
  if (c.length > 1 && ((c[0] === 0 && (c[1]! & 0x80) === 0) || (c[0] === 0xff && (c[1]! & 0x80) !== 0))) {
    throw new DerError('BAD_DER', 'non-minimal INTEGER', { offset });
  }
  // Through hex: a byte-by-byte shift would copy the growing bigint each time (quadratic).
  let v = BigInt(`0x${Buffer.from(c.buffer, c.byteOffset, c.length).toString('hex')}`);
  if (c[0]! & 0x80) v -= 1n << BigInt(c.length * 8);
  return v;
}

/** BOOLEAN content; DER allows only 0x00 and 0xff. */
export function decodeBoolean(c: Uint8Array, offset = 0): boolean {
  if (c.length !== 1 || (c[0] !== 0 && c[0] !== 0xff)) throw new DerError('BAD_DER', 'invalid BOOLEAN', { offset });
  return c[0] === 0xff;
}

/** BIT STRING content: the unused-bit count and the bytes. */
export function decodeBitString(c: Uint8Array, offset = 0): { unusedBits: number; bytes: Buffer } {
  const unused = c[0];
  if (unused === undefined || unused > 7 || (c.length === 1 && unused !== 0)) {
    throw new DerError('BAD_DER', 'invalid BIT STRING', { offset });
  }
  const bytes = Buffer.from(c.buffer, c.byteOffset + 1, c.length - 1);
  if (unused > 0 && (bytes[bytes.length - 1]! & ((1 << unused) - 1)) !== 0) {
    throw new DerError('BAD_DER', 'invalid BIT STRING padding', { offset });
  }
  return { unusedBits: unused, bytes };
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(Z|[+-]\d{4})$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(Z|[+-]\d{4})$/;

/**
 * UTCTime (tag 0x17) or GeneralizedTime (0x18) content to milliseconds since the epoch, with the
 * rules of Go's x509 parser: seconds may be omitted in UTCTime only, no fractions, a zone of
 * `Z` or ±hhmm (a zero offset must be written `Z`), two-digit years 50–99 are 19xx.
 */
export function decodeTime(tag: number, c: Uint8Array, offset = 0): number {
  const s = Buffer.from(c.buffer, c.byteOffset, c.length).toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  if (tag === Tag.UTC_TIME) {
    m = UTC_TIME.exec(s);
    if (!m) throw new DerError('BAD_DER', 'malformed UTCTime', { offset });
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (tag === Tag.GENERALIZED_TIME) {
    m = GENERALIZED_TIME.exec(s);
    if (!m) throw new DerError('BAD_DER', 'malformed GeneralizedTime', { offset });
    year = Number(m[1]);
  } else {
    throw new DerError('BAD_DER', `unsupported time tag 0x${hex2(tag)}`, { offset });
  }
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const zone = m[7]!;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  if (
    d.getUTCFullYear() !== year ||
    d.getUTCMonth() !== month - 1 ||
    d.getUTCDate() !== day ||
    d.getUTCHours() !== hour ||
    d.getUTCMinutes() !== minute ||
    d.getUTCSeconds() !== second
  ) {
    throw new DerError('BAD_DER', 'time out of range', { offset });
  }
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(3, 5));
    if (zh > 23 || zm > 59 || (zh === 0 && zm === 0)) throw new DerError('BAD_DER', 'invalid time zone', { offset });
    offsetMinutes = (zh * 60 + zm) * (zone[0] === '-' ? -1 : 1);
  }
  return d.getTime() - offsetMinutes * 60_000;
}

// ---- writer ----

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One element with the given identifier octet and content. */
export function derTlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(content.length), content]);
}

export function derSequence(...items: Uint8Array[]): Buffer {
  return derTlv(Tag.SEQUENCE, Buffer.concat(items));
}

/** SET OF, with the elements sorted as DER requires. */
export function derSet(...items: Uint8Array[]): Buffer {
  const sorted = items.map((i) => Buffer.from(i)).sort(Buffer.compare);
  return derTlv(Tag.SET, Buffer.concat(sorted));
}

/** Minimal two's complement INTEGER. A byte array is taken as an unsigned big-endian value. */
export function derInteger(v: bigint | number | Uint8Array): Buffer {
  let n: bigint;
  if (v instanceof Uint8Array) {
    n = 0n;
    for (const b of v) n = (n << 8n) | BigInt(b);
  } else {
    n = BigInt(v);
  }
  const bytes: number[] = [];
  if (n >= 0n) {
    do {
      bytes.unshift(Number(n & 0xffn));
      n >>= 8n;
    } while (n > 0n);
    if (bytes[0]! & 0x80) bytes.unshift(0);
  } else {
    do {
      bytes.unshift(Number(n & 0xffn));
      n >>= 8n;
    } while (n < -1n);
    if (!(bytes[0]! & 0x80)) bytes.unshift(0xff);
  }
  return derTlv(Tag.INTEGER, Buffer.from(bytes));
}

export function derOctetString(bytes: Uint8Array): Buffer {
  return derTlv(Tag.OCTET_STRING, bytes);
}

export function derBitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  return derTlv(Tag.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

export function derBoolean(v: boolean): Buffer {
  return derTlv(Tag.BOOLEAN, Buffer.from([v ? 0xff : 0]));
}

export function derNull(): Buffer {
  return Buffer.from([Tag.NULL, 0]);
}

/** OBJECT IDENTIFIER from dotted decimal. */
export function derOid(oid: string): Buffer {
  const parts = oid.split('.');
  if (parts.length < 2 || parts.some((p) => !/^\d+$/.test(p))) throw new DerError('BAD_DER', `invalid OID ${oid}`, { offset: 0 });
  const arcs = parts.map((p) => BigInt(p));
  const [a, b] = [arcs[0]!, arcs[1]!];
  if (a > 2n || (a < 2n && b >= 40n)) throw new DerError('BAD_DER', `invalid OID ${oid}`, { offset: 0 });
  const out: number[] = [];
  for (const arc of [a * 40n + b, ...arcs.slice(2)]) {
    const group: number[] = [];
    let v = arc;
    do {
      group.unshift(Number(v & 0x7fn) | (group.length > 0 ? 0x80 : 0));
      v >>= 7n;
    } while (v > 0n);
    out.push(...group);
  }
  return derTlv(Tag.OID, Buffer.from(out));
}

/** Explicit context tag [n] wrapping one element. */
export function derExplicit(n: number, inner: Uint8Array): Buffer {
  return derTlv(contextTag(n, true), inner);
}
