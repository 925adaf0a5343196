import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalBytes, canonicalString, fileFormString, compareUtf8 } from '../../src/tuf/canonical.js';
import { parseJson } from '../../src/tuf/json.js';
import { parseEnvelope } from '../../src/tuf/envelope.js';
import { scanCanonical } from '../../src/tuf/scan.js';
import { isTrustError } from '../../src/tuf/errors.js';
import { FIXTURES } from '../helpers.js';

interface Vector {
  name: string;
  input_json_text?: string;
  input_base64?: string;
  notary_signing_bytes_hex: string | null;
  notary_error: string | null;
  notary_on_disk_wrapped: string | null;
}

const vectors = JSON.parse(readFileSync(join(FIXTURES, 'canonical-json', 'vectors.json'), 'utf8')) as Vector[];

function inputOf(v: Vector): Buffer {
  return v.input_base64 !== undefined ? Buffer.from(v.input_base64, 'base64') : Buffer.from(v.input_json_text!, 'utf8');
}

test('there are 24 vectors', () => assert.equal(vectors.length, 24));

for (const v of vectors) {
  test(`vector: ${v.name}`, () => {
    const input = inputOf(v);
    if (v.notary_signing_bytes_hex === null) {
      // notary errors: either the input is not JSON Go accepts, or the value cannot be encoded.
      assert.throws(() => canonicalBytes(parseJson(input), 'verify'), (e: unknown) => isTrustError(e));
      return;
    }
    const value = parseJson(input);
    const canon = canonicalBytes(value, 'verify');
    assert.equal(canon.toString('hex'), v.notary_signing_bytes_hex);

    // The fast scanner must agree wherever it accepts the bytes.
    const scanned = scanCanonical(input, 0);
    if (scanned) assert.equal(scanned.canonical.toString('hex'), v.notary_signing_bytes_hex);

    if (v.notary_on_disk_wrapped === null) {
      assert.throws(() => fileFormString(canonicalString(value, 'verify')), (e: unknown) => isTrustError(e, 'CANONICAL_UNSUPPORTED'));
    } else {
      const disk = `{"signed":${fileFormString(canonicalString(value, 'verify'))}}`;
      assert.equal(disk, v.notary_on_disk_wrapped);
      // Reading the disk form back gives the same signing bytes (fast path and slow path).
      const env = parseEnvelope(Buffer.from(`${disk.slice(0, -1)},"signatures":[]}`), 'targets');
      assert.equal(env.canonical.toString('hex'), v.notary_signing_bytes_hex);
    }
  });
}

test('sign mode refuses what notary cannot round-trip', () => {
  for (const bad of ['{"n":1.5}', '{"n":9007199254740993}', '{"s":"a\\tb"}', '{"n":1e300}']) {
    assert.throws(() => canonicalBytes(parseJson(Buffer.from(bad)), 'sign'), (e: unknown) => isTrustError(e, 'CANONICAL_UNSUPPORTED'), bad);
  }
  assert.equal(canonicalBytes(parseJson(Buffer.from('{"n":9007199254740991}')), 'sign').toString(), '{"n":9007199254740991}');
});

test('UTF-8 key order differs from UTF-16 order around surrogates', () => {
  assert.ok(compareUtf8('\uff5e', '\ud83d\ude00') < 0);
  assert.ok('\uff5e' > '\ud83d\ude00'); // JS order is the other way round
  assert.ok(compareUtf8('z', 'é') < 0);
});

test('duplicate keys: last wins by default, refused when strict', () => {
  assert.equal(canonicalString(parseJson(Buffer.from('{"a":1,"a":2}')), 'verify'), '{"a":2}');
  assert.throws(() => parseJson(Buffer.from('{"a":1,"a":2}'), { rejectDuplicates: true }), (e: unknown) => isTrustError(e, 'JSON_DUPLICATE_KEY'));
});

test('__proto__ is plain data', () => {
  const v = parseJson(Buffer.from('{"__proto__":{"x":1},"b":2}'));
  assert.equal(canonicalString(v, 'verify'), '{"__proto__":{"x":1},"b":2}');
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

test('the scanner bails on non-canonical input instead of guessing', () => {
  for (const s of ['{"b":1,"a":2}', '{"a":1,"a":2}', '{ "a":1}', '{"a":-0}', '{"a":1.0}', '{"a":"\\n"}', '{"a":"\\u00e9"}', '{"a\\"":1}', '{"a":12345678901234567}']) {
    assert.equal(scanCanonical(Buffer.from(s), 0), null, s);
  }
  assert.equal(scanCanonical(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), 0), null);
});

test('members after "signatures" are read as Go reads them (ignored), on the fast path too', () => {
  const signed = '{"_type":"Targets","version":1}';
  for (const tail of [',"x":1', ',"extra":{"a":[1]}']) {
    const file = Buffer.from(`{"signed":${signed},"signatures":[]${tail}}`);
    const env = parseEnvelope(file, 'targets');
    assert.equal(env.canonical.toString(), signed);
    assert.deepEqual(env.signatures, []);
  }
  // A second `signed` after the signatures is still a duplicate key.
  assert.throws(
    () => parseEnvelope(Buffer.from(`{"signed":${signed},"signatures":[],"signed":{}}`), 'targets'),
    (e: unknown) => isTrustError(e, 'JSON_DUPLICATE_KEY'),
  );
});
