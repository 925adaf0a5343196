// The verification core's checks at their edges, one function at a time (the mutants of
// `npm run mutate` that the builder-level tests left alive): which signatures count towards a
// threshold, threshold and expiry boundaries, size and hash pins, role names and paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256, sha512 } from '../../src/crypto/hash.js';
import { signWithKey } from '../../src/crypto/signature.js';
import { checkAgainst } from '../../src/tuf/builder.js';
import type { Envelope } from '../../src/tuf/envelope.js';
import { isTrustError } from '../../src/tuf/errors.js';
import { isExpired } from '../../src/tuf/expires.js';
import { PublicKey } from '../../src/tuf/keys.js';
import type { FileMeta } from '../../src/tuf/metadata.js';
import { assertDelegationName, isDelegationName, isDirectChild, isRoleName, parentOf, pathAllowed, restrictPaths } from '../../src/tuf/roles.js';
import { checkThreshold, verifyThreshold } from '../../src/tuf/verify.js';
import { ecdsaKey, rsaKey, type MemKey } from '../support/memrepo.js';

const MSG = Buffer.from('{"_type":"Targets","version":1}');
const [A, B, C] = [ecdsaKey(), ecdsaKey(), ecdsaKey()];

function envelope(signers: { key: MemKey; keyid?: string; msg?: Buffer }[]): Envelope {
  return {
    signed: {},
    canonical: MSG,
    indexed: false,
    signatures: signers.map(({ key, keyid, msg }) => ({ keyid: keyid ?? key.pub.id, ...signWithKey(key.priv, msg ?? MSG) })),
  };
}

const keysOf = (...ks: MemKey[]): Map<string, PublicKey> => new Map(ks.map((k) => [k.pub.id, k.pub]));

function refused(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => isTrustError(e) && e.code === code);
}

test('verifyThreshold: a threshold is met exactly, and one signature short is refused', () => {
  const keys = keysOf(A, B, C);
  const role = { keyids: [A.pub.id, B.pub.id, C.pub.id], threshold: 2 };
  assert.deepEqual(verifyThreshold(envelope([{ key: A }, { key: B }]), 'targets', keys, role).validKeyIds, [A.pub.id, B.pub.id]);
  refused(() => verifyThreshold(envelope([{ key: A }]), 'targets', keys, role), 'THRESHOLD_NOT_MET');
});

test('verifyThreshold: a valid signature by a key of another role does not count', () => {
  // Root lists every role's keys in one map: the timestamp key must not sign for targets.
  const keys = keysOf(A, B);
  refused(() => verifyThreshold(envelope([{ key: B }]), 'targets', keys, { keyids: [A.pub.id], threshold: 1 }), 'THRESHOLD_NOT_MET');
});

test('verifyThreshold: a listed key ID with no key, or with another key under it, does not count', () => {
  const role = { keyids: [A.pub.id], threshold: 1 };
  refused(() => verifyThreshold(envelope([{ key: A }]), 'targets', new Map(), role), 'THRESHOLD_NOT_MET');
  // B's key filed under A's ID, and a signature by B claiming A's ID.
  refused(() => verifyThreshold(envelope([{ key: B, keyid: A.pub.id }]), 'targets', new Map([[A.pub.id, B.pub]]), role), 'THRESHOLD_NOT_MET');
});

test('verifyThreshold: one key signing twice counts once; a bad signature does not stop the count', () => {
  const keys = keysOf(A, B);
  const role = { keyids: [A.pub.id, B.pub.id], threshold: 2 };
  refused(() => verifyThreshold(envelope([{ key: A }, { key: A }]), 'targets', keys, role), 'THRESHOLD_NOT_MET');
  // co-signing counts validKeyIds: a key signing twice is listed once
  assert.deepEqual(verifyThreshold(envelope([{ key: A }, { key: A }]), 'targets', keys, { ...role, threshold: 1 }).validKeyIds, [A.pub.id]);
  const r = verifyThreshold(envelope([{ key: A, msg: Buffer.from('other') }, { key: A }, { key: B }]), 'targets', keys, role);
  assert.deepEqual(r.validKeyIds, [A.pub.id, B.pub.id]);
  refused(() => verifyThreshold(envelope([{ key: A, msg: Buffer.from('other') }, { key: B }]), 'targets', keys, role), 'THRESHOLD_NOT_MET');
});

test('verifyThreshold: a null keyids list counts nothing', () => {
  refused(() => verifyThreshold(envelope([{ key: A }]), 'targets', keysOf(A), { keyids: null, threshold: 1 }), 'THRESHOLD_NOT_MET');
});

test("verifyThreshold: pycrypto's PSS method is refused for an RSA key in DER, where rsapss verifies", () => {
  // notary reads pycrypto signatures with PEM keys only (its RSAPyCryptoVerifier).
  const k = rsaKey();
  const { sig } = signWithKey(k.priv, MSG);
  const env = (method: string): Envelope => ({ signed: {}, canonical: MSG, indexed: false, signatures: [{ keyid: k.pub.id, method, sig }] });
  const role = { keyids: [k.pub.id], threshold: 1 };
  assert.deepEqual(verifyThreshold(env('rsapss'), 'targets', keysOf(k), role).validKeyIds, [k.pub.id]);
  refused(() => verifyThreshold(env('pycrypto-pkcs#1 pss'), 'targets', keysOf(k), role), 'THRESHOLD_NOT_MET');
});

test('checkThreshold: 1 to the number of keys is valid; 0, more, and non-integers are not', () => {
  checkThreshold('targets', 1, 1);
  checkThreshold('targets', 3, 3);
  for (const [t, n] of [[0, 1], [-1, 1], [4, 3], [2, 1], [1.5, 2], [Number.NaN, 1], [1, 0]] as const) {
    refused(() => checkThreshold('targets', t, n), 'INVALID_THRESHOLD');
  }
});

test('isExpired: expired strictly after the instant', () => {
  const e = { ms: 1000, nanos: 0, offsetMinutes: 0 };
  assert.equal(isExpired(e, 999), false);
  assert.equal(isExpired(e, 1000), false);
  assert.equal(isExpired(e, 1001), true);
});

test('checkAgainst: length and every known hash pinned; unknown hashes alone are refused', () => {
  const bytes = Buffer.from('the file');
  const meta = (hashes: [string, Buffer][], length = bytes.length): FileMeta => ({ length, hashes: new Map(hashes) });
  checkAgainst('targets', bytes, meta([['sha256', sha256(bytes)], ['sha512', sha512(bytes)]]));
  checkAgainst('targets', bytes, meta([['sha512', sha512(bytes)]]));
  checkAgainst('targets', bytes, meta([['md5', Buffer.alloc(16)], ['sha256', sha256(bytes)]]));
  refused(() => checkAgainst('targets', bytes, meta([['sha256', sha256(bytes)], ['sha512', Buffer.alloc(64)]])), 'HASH_MISMATCH');
  refused(() => checkAgainst('targets', bytes, meta([['sha256', Buffer.alloc(32)], ['sha512', sha512(bytes)]])), 'HASH_MISMATCH');
  refused(() => checkAgainst('targets', bytes, meta([['md5', Buffer.alloc(16)]])), 'MISSING_HASH');
  refused(() => checkAgainst('targets', bytes, meta([['sha256', sha256(bytes)]], bytes.length - 1)), 'TOO_LARGE');
  refused(() => checkAgainst('targets', bytes, meta([['sha256', sha256(bytes)]], bytes.length + 1)), 'LENGTH_MISMATCH');
});

test('delegation names: the grammar at its edges', () => {
  const good = ['targets/a', 'targets/a/b', 'targets/a-b_c/0', `targets/${'a'.repeat(247)}`];
  const bad = ['targets', 'targets/', 'targets//a', 'targets/a/', 'targets/.', 'targets/..', 'targets/a/../b', 'targets/A', 'targets/a b', 'Targets/a', 'root/a', 'xtargets/a', `targets/${'a'.repeat(248)}`, 'targets/a.b'];
  for (const n of good) {
    assert.ok(isDelegationName(n), n);
    assertDelegationName(n);
    assert.ok(isRoleName(n), n);
  }
  for (const n of bad) {
    assert.ok(!isDelegationName(n), n);
    refused(() => assertDelegationName(n), 'INVALID_ROLE_NAME');
  }
  for (const n of ['root', 'targets', 'snapshot', 'timestamp']) assert.ok(isRoleName(n), n);
  for (const n of ['Root', 'targets/', 'snapshots', '']) assert.ok(!isRoleName(n), n);
});

test('parents, direct children and paths', () => {
  assert.equal(parentOf('targets'), 'root');
  assert.equal(parentOf('targets/a'), 'targets');
  assert.equal(parentOf('targets/a/b'), 'targets/a');
  assert.ok(isDirectChild('targets', 'targets/a'));
  assert.ok(!isDirectChild('targets', 'targets/a/b'));
  assert.ok(!isDirectChild('targets/a', 'targets/ab'));
  assert.ok(!isDirectChild('targets/a', 'targets/a'));
  assert.deepEqual(restrictPaths(['a/', 'a/b', 'b', ''], ['a']), ['a/', 'a/b']);
  assert.deepEqual(restrictPaths(['a/', 'b'], ['a/', 'b/']), ['a/']);
  assert.deepEqual(restrictPaths(['x'], []), []);
  assert.deepEqual(restrictPaths(['x', 'y'], ['']), ['x', 'y']);
  assert.ok(pathAllowed('a/b', ['x', 'a/']));
  assert.ok(!pathAllowed('b/a', ['a']));
  assert.ok(!pathAllowed('a', []));
  assert.ok(pathAllowed('a', ['']));
});
