// The zero-copy canonical scanner (tuf/scan.ts) against the full parser plus the canonical
// encoder, on random values in notary's file form and on mutated bytes (random and real notary
// `signed` objects): whenever the scanner accepts bytes, the parser accepts them too and the
// scanner's canonical bytes are the encoder's. And serialise(parse(x)) is a fixed point.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalBytes, canonicalString, fileFormString } from '../../src/tuf/canonical.js';
import { TrustError } from '../../src/tuf/errors.js';
import { parseJson, type Json } from '../../src/tuf/json.js';
import { scanCanonical } from '../../src/tuf/scan.js';
import { TargetIndex } from '../../src/tuf/targetfiles.js';
import { jsonValue, keysOf } from './arbitraries.js';
import { property } from './budget.js';
import { assertPrototypesUntouched, outcome, typedAs } from './checks.js';
import { notaryMetadata } from './corpus.js';
import { applyMutations, fileArb, mutationsArb } from './mutate.js';

const typed = typedAs(TrustError);

/** The `signed` object of each real metadata file, as it sits in the file. */
const REAL_SIGNED = notaryMetadata().map((f) => {
  const start = '{"signed":'.length;
  const end = f.bytes.lastIndexOf(',"signatures":');
  return { id: f.id, bytes: f.bytes.subarray(start, end) };
});

function fileForm(v: Json): Buffer {
  return Buffer.from(fileFormString(canonicalString(v, 'sign')), 'utf8');
}

/** Whenever the scanner accepts, the parser accepts the same bytes and encodes them to the same canonical bytes. */
function scanAgrees(b: Buffer): void {
  for (const sink of [undefined, new TargetIndex(b.length)]) {
    const s = scanCanonical(b, 0, sink);
    if (s === null) continue;
    const parsed = parseJson(b.subarray(0, s.end));
    assert.deepEqual(s.canonical, canonicalBytes(parsed, 'verify'), 'scanner and encoder disagree');
  }
}

property(
  'canonical/random-values-scan-as-parsed',
  fc.property(jsonValue({ maxDigits15: true }), (v) => {
    const file = fileForm(v);
    const canonical = Buffer.from(canonicalString(v, 'sign'), 'utf8');
    const s = scanCanonical(file, 0);
    // Keys holding an escaped character are left to the full parser; everything else is scanned.
    const escapedKey = keysOf(v).some((k) => /[<>&\u2028\u2029"\\]/.test(k));
    if (!escapedKey) assert.ok(s, 'bytes in notary\'s form take the fast path');
    if (s) {
      assert.equal(s.end, file.length);
      assert.deepEqual(s.canonical, canonical);
    }
    assert.deepEqual(canonicalBytes(parseJson(file), 'verify'), canonical, 'the full parse gives the signed bytes');
    scanAgrees(file);
  }),
);

/** A random value in file form or a real `signed` object, then mutated. */
const mutatedSigned = fc
  .oneof(fc.record({ value: jsonValue(), mutations: mutationsArb() }), fc.record({ file: fileArb(REAL_SIGNED), mutations: mutationsArb() }))
  .map((input) => ({ input, bytes: (): Buffer => applyMutations('file' in input ? input.file.bytes : fileForm(input.value), input.mutations) }));

property(
  'canonical/mutated-bytes-scan-as-parsed',
  fc.property(mutatedSigned, ({ bytes }) => {
    scanAgrees(bytes());
    assertPrototypesUntouched();
  }),
);

property(
  'canonical/serialise-parse-stable',
  fc.property(mutatedSigned, ({ bytes }) => {
    const b = bytes();
    const first = outcome(() => canonicalBytes(parseJson(b), 'verify'), typed);
    if (!first.ok) return;
    const c1 = first.value;
    // Control characters are copied raw into canonical bytes (as Go does), which makes them no longer JSON.
    if (c1.some((x) => x < 0x20)) return;
    assert.deepEqual(canonicalBytes(parseJson(c1), 'verify'), c1, 'canonical bytes re-parse to themselves');
    const file = Buffer.from(fileFormString(c1.toString('utf8')), 'utf8');
    assert.deepEqual(canonicalBytes(parseJson(file), 'verify'), c1, 'the file form re-parses to the canonical bytes');
    const s = scanCanonical(file, 0);
    if (s) assert.deepEqual(s.canonical, c1);
  }),
);
