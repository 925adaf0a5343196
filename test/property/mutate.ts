// Mutations of real files, as data: a counterexample reads as the file's id and a short list of
// edits, and shrinks towards fewer, earlier and smaller edits. Byte-level edits (flip, set,
// insert, delete, duplicate, truncate, swap) work on any file; JSON-aware ones (replace a
// scalar, insert a member, duplicate a member, re-escape a character, bump a number) keep a
// notary file parseable often enough to reach the checks behind the parser.
//
// Reused by any property over real files: envelope parsing here, the builder's properties later.
import fc from 'fast-check';

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number; length: number }
  | { op: 'duplicate'; at: number; length: number; times: number }
  | { op: 'truncate'; at: number }
  | { op: 'swap'; a: number; b: number; length: number }
  | { op: 'scalar'; nth: number; text: string }
  | { op: 'member'; nth: number; key: string; value: string }
  | { op: 'repeatMember'; nth: number; value: string }
  | { op: 'escape'; at: number }
  | { op: 'bump'; nth: number; delta: number };

/** Bytes that matter to JSON, UTF-8, base64 and DER readers. */
const INTERESTING_BYTES = [
  0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x39, 0x3a, 0x3c, 0x3d, 0x3e, 0x41, 0x5b, 0x5c, 0x5d, 0x61, 0x65, 0x75,
  0x7b, 0x7d, 0x7f, 0x80, 0x81, 0xbf, 0xc0, 0xc2, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff,
  // DER: SEQUENCE, SET, INTEGER, OID, OCTET/BIT STRING, long-form lengths, context tags.
  0x02, 0x03, 0x04, 0x05, 0x06, 0x30, 0x31, 0x82, 0x84, 0x85, 0xa0, 0xa1, 0xa3,
];

/** JSON values and fragments: numbers at the edges of int32/int53/int64, odd escapes, raw bytes. */
export const JSON_VALUES = [
  '0',
  '-0',
  '-1',
  '1',
  '2',
  '1.0',
  '1e2',
  '1E400',
  '-1e-400',
  '2147483647',
  '2147483648',
  '9007199254740991',
  '9007199254740993',
  '123456789012345',
  '1234567890123456',
  '9223372036854775807',
  '18446744073709551616',
  'true',
  'false',
  'null',
  '""',
  '"\\u0000"',
  '"\\ud800"',
  '"\\udc00\\ud800"',
  '"\\ud83d\\ude00"',
  '"<>&"',
  '"\\u003c\\u003e\\u0026"',
  '"\\u2028\\u2029"',
  '"a\\"b\\\\c"',
  '"\\/"',
  '"\\b\\f\\n\\r\\t"',
  '"\xff"',
  '"\xc0\x80"',
  '"\xed\xa0\x80"',
  '"\xc3\xa9"',
  '"\x01"',
  '{}',
  '[]',
  '[null]',
  '{"__proto__":{"polluted":1}}',
  '{"version":1}',
  '{"a":{"version":1},"signatures":[]}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '"AAAA"',
  '"AAA="',
  '"AA=="',
  '"!!!!"',
  '"-_-_"',
  '"2030-01-01T00:00:00Z"',
  '"2030-01-01T00:00:00.123456789+01:00"',
  '"9999-12-31T23:59:59Z"',
  '"0000-01-01T00:00:00Z"',
  '"2030-02-30T00:00:00Z"',
  '"Root"',
  '"Targets"',
  '"Snapshot"',
  '"Timestamp"',
  '"targets/x"',
  '"ecdsa"',
  '"ed25519"',
  '"rsa"',
  '"ecdsa-x509"',
];

/** Keys to insert: case variants of known fields, prototype names, fields of other roles. */
export const JSON_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'signed',
  'Signed',
  'signatures',
  'SIGNATURES',
  '_type',
  '_Type',
  'version',
  'Version',
  'expires',
  'Expires',
  'keys',
  'Keys',
  'roles',
  'Roles',
  'keyids',
  'KeyIDs',
  'threshold',
  'Threshold',
  'targets',
  'Targets',
  'meta',
  'Meta',
  'delegations',
  'paths',
  'Paths',
  'name',
  'Name',
  'length',
  'Length',
  'hashes',
  'Hashes',
  'custom',
  'sha256',
  'sha512',
  'keytype',
  'keyval',
  'public',
  'private',
  'keyid',
  'method',
  'sig',
  'consistent_snapshot',
  'x',
  '',
  '\u00e9',
  '\u{1f600}',
];

/** Short texts to insert anywhere. */
const INSERTS = [' ', '\n', '\t', '\r', '\u00a0', ',', ':', '"', '\\', '{', '}', '[', ']', '-', '0', 'e', '\\u', '\\u00', ...JSON_VALUES];

const position = fc.nat({ max: 1 << 24 });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: position, byte: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.nat({ max: 255 })) }),
  fc.record({ op: fc.constant('insert' as const), at: position, text: fc.oneof(fc.constantFrom(...INSERTS), fc.string({ maxLength: 8 })) }),
  fc.record({ op: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('duplicate' as const), at: position, length: fc.integer({ min: 1, max: 64 }), times: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: position }),
  fc.record({ op: fc.constant('swap' as const), a: position, b: position, length: fc.integer({ min: 1, max: 32 }) }),
  fc.record({ op: fc.constant('scalar' as const), nth: position, text: fc.constantFrom(...JSON_VALUES) }),
  fc.record({ op: fc.constant('member' as const), nth: position, key: fc.constantFrom(...JSON_KEYS), value: fc.constantFrom(...JSON_VALUES) }),
  fc.record({ op: fc.constant('repeatMember' as const), nth: position, value: fc.constantFrom(...JSON_VALUES) }),
  fc.record({ op: fc.constant('escape' as const), at: position }),
  fc.record({ op: fc.constant('bump' as const), nth: position, delta: fc.constantFrom(1, -1, 2 ** 31, 2 ** 53, -(2 ** 53), 10 ** 15) }),
);

/** One to `max` mutations, applied in order. */
export function mutationsArb(max = 4): fc.Arbitrary<Mutation[]> {
  return fc.array(mutationArb, { minLength: 1, maxLength: max });
}

/** One of `files`, shown in counterexamples by its id alone. */
export function fileArb<F extends { id: string }>(files: readonly F[]): fc.Arbitrary<F> {
  const shown = files.map((f) => Object.defineProperty({ ...f }, fc.toStringMethod, { value: () => `<${f.id}>` }));
  return fc.constantFrom(...shown);
}

/** A mutated copy of one of `files`: `{file, mutations}` (the bytes are `applyMutations(file.bytes, mutations)`). */
export function mutatedFileArb<F extends { id: string }>(files: readonly F[], max = 4): fc.Arbitrary<{ file: F; mutations: Mutation[] }> {
  return fc.record({ file: fileArb(files), mutations: mutationsArb(max) });
}

// ---------------------------------------------------------------------------------------------
// Applying

/** Ranges of the JSON scalars (strings with their quotes, numbers, literals) of possibly broken JSON. */
export function scalarTokens(b: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c === 0x22) {
      let j = i + 1;
      while (j < b.length && b[j] !== 0x22) j += b[j] === 0x5c ? 2 : 1;
      out.push([i, Math.min(j + 1, b.length)]);
      i = j + 1;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      while (j < b.length && /[0-9eE.+-]/.test(String.fromCharCode(b[j]!))) j++;
      out.push([i, j]);
      i = j;
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
      let j = i + 1;
      while (j < b.length && b[j]! >= 0x61 && b[j]! <= 0x7a) j++;
      out.push([i, j]);
      i = j;
    } else i++;
  }
  return out;
}

/** Members whose value is a scalar: [key start, key end, value start, value end]. */
function scalarMembers(b: Uint8Array): [number, number, number, number][] {
  const t = scalarTokens(b);
  const out: [number, number, number, number][] = [];
  for (let k = 0; k + 1 < t.length; k++) {
    const [ks, ke] = t[k]!;
    const [vs, ve] = t[k + 1]!;
    if (b[ks] === 0x22 && b[ke] === 0x3a && vs === ke + 1) out.push([ks, ke, vs, ve]);
  }
  return out;
}

/** Texts up to U+00FF are bytes (so that `"\xff"` is a raw 0xff byte); others are UTF-8. */
const enc = (s: string): Buffer => Buffer.from(s, /[^\x00-\xff]/.test(s) ? 'utf8' : 'latin1');

function splice(b: Buffer, start: number, end: number, insert: Uint8Array): Buffer {
  return Buffer.concat([b.subarray(0, start), insert, b.subarray(end)]);
}

/** Applies one mutation. Positions are taken modulo the length, so every mutation applies to every file. */
export function applyMutation(b: Buffer, m: Mutation): Buffer {
  const n = b.length;
  switch (m.op) {
    case 'flip': {
      if (n === 0) return b;
      const out = Buffer.from(b);
      out[m.at % n] = out[m.at % n]! ^ (1 << m.bit);
      return out;
    }
    case 'set': {
      if (n === 0) return b;
      const out = Buffer.from(b);
      out[m.at % n] = m.byte;
      return out;
    }
    case 'insert': {
      const at = m.at % (n + 1);
      return splice(b, at, at, enc(m.text));
    }
    case 'delete': {
      const at = m.at % (n + 1);
      return splice(b, at, Math.min(n, at + m.length), Buffer.alloc(0));
    }
    case 'duplicate': {
      const at = m.at % (n + 1);
      const chunk = b.subarray(at, Math.min(n, at + m.length));
      return splice(b, at, at, Buffer.concat(Array.from({ length: m.times }, () => chunk)));
    }
    case 'truncate':
      return b.subarray(0, m.at % (n + 1));
    case 'swap': {
      if (n < 2 * m.length) return b;
      let a = m.a % (n - m.length + 1);
      let c = m.b % (n - m.length + 1);
      if (a > c) [a, c] = [c, a];
      if (c < a + m.length) return b;
      const x = Buffer.from(b.subarray(a, a + m.length));
      const y = Buffer.from(b.subarray(c, c + m.length));
      return Buffer.concat([b.subarray(0, a), y, b.subarray(a + m.length, c), x, b.subarray(c + m.length)]);
    }
    case 'scalar': {
      const t = scalarTokens(b);
      if (t.length === 0) return b;
      const [s, e] = t[m.nth % t.length]!;
      return splice(b, s, e, enc(m.text));
    }
    case 'member': {
      // Just inside an object (after `{`), after a comma, or before a `}`.
      const spots: number[] = [];
      for (let i = 0; i < n; i++) if (b[i] === 0x7b || b[i] === 0x7d || b[i] === 0x2c) spots.push(i);
      if (spots.length === 0) return b;
      const at = spots[m.nth % spots.length]!;
      const member = `${JSON.stringify(m.key)}:${m.value}`;
      if (b[at] === 0x7d) return splice(b, at, at, enc(b[at - 1] === 0x7b ? member : `,${member}`));
      return splice(b, at + 1, at + 1, enc(b[at + 1] === 0x7d ? member : `${member},`));
    }
    case 'repeatMember': {
      const ms = scalarMembers(b);
      if (ms.length === 0) return b;
      const [ks, ke, , ve] = ms[m.nth % ms.length]!;
      return splice(b, ve, ve, Buffer.concat([enc(','), b.subarray(ks, ke + 1), enc(m.value)]));
    }
    case 'escape': {
      // A character of a string written another way: `<` as `\u003c` and back, `a` as `\u0061`.
      if (n === 0) return b;
      const at = m.at % n;
      const c = b[at]!;
      if (c === 0x5c && b[at + 1] === 0x75) {
        const code = parseInt(b.subarray(at + 2, at + 6).toString('latin1'), 16);
        return Number.isNaN(code) || code > 0x7f ? b : splice(b, at, at + 6, Buffer.from([code]));
      }
      if (c < 0x20 || c >= 0x7f) return b;
      return splice(b, at, at + 1, enc(`\\u${c.toString(16).padStart(4, '0')}`));
    }
    case 'bump': {
      const t = scalarTokens(b).filter(([s]) => b[s] !== 0x22 && b[s] !== 0x74 && b[s] !== 0x66 && b[s] !== 0x6e);
      if (t.length === 0) return b;
      const [s, e] = t[m.nth % t.length]!;
      const v = Number(b.subarray(s, e).toString('latin1'));
      if (!Number.isSafeInteger(v)) return b;
      return splice(b, s, e, enc(String(BigInt(v) + BigInt(m.delta))));
    }
  }
}

export function applyMutations(b: Buffer, ms: readonly Mutation[]): Buffer {
  return ms.reduce(applyMutation, b);
}
