// The names that reach key files (SEC-F4): roles (PEM headers, prompts), GUNs (`gun` headers) and
// key IDs (file names), at the edges of each rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKeyStoreError, type KeyStoreErrorCode } from '../../src/keystore/errors.js';
import { printable, validateGun, validateKeyId, validateRole } from '../../src/keystore/names.js';
import { gunProblem } from '../../src/tuf/gun.js';

const refused = (f: () => unknown, code: KeyStoreErrorCode, what: string): void =>
  assert.throws(f, (e) => isKeyStoreError(e, code), what);

test('roles: 1 to 255 characters of letters, digits, _ - . /; no empty, "." or ".." segment anywhere', () => {
  for (const role of ['root', 'targets/releases', 'alice', 'a.b-c_d', '...', 'a/..b', 'x'.repeat(255), `${'x'.repeat(127)}/${'y'.repeat(127)}`]) {
    assert.equal(validateRole(role), role);
  }
  const bad = ['', 'x'.repeat(256), 'a b', 'a\nb', 'é', '/a', 'a/', 'a//b', '.', '..', './a', 'a/.', 'a/./b', '../a', 'a/..', 'a/../b', 'targets/../root'];
  for (const role of bad) refused(() => validateRole(role), 'INVALID_ROLE', JSON.stringify(role));
});

test('GUNs of key files follow the metadata cache rules: the same GUNs pass, the others are refused with the rule', () => {
  for (const gun of ['example.com/app', 'with space/app', 'localhost:5000/a', 'x'.repeat(255), 'é/ü', '.hidden/x']) {
    assert.equal(gunProblem(gun), undefined, gun);
    assert.equal(validateGun(gun), gun);
  }
  for (const gun of ['', 'x'.repeat(256), '/abs', 'a//b', 'a/', '..', 'a/../b', 'a/./b', 'a\\b', 'a\nb', 'a\u0085b', ' ']) {
    const why = gunProblem(gun);
    assert.notEqual(why, undefined, JSON.stringify(gun));
    assert.throws(() => validateGun(gun), (e) => isKeyStoreError(e, 'INVALID_GUN') && e.message === `invalid GUN ${JSON.stringify(printable(gun))}: ${why}`, JSON.stringify(gun));
  }
});

test('key IDs: exactly 64 lowercase hex digits', () => {
  const id = 'ab'.repeat(32);
  assert.equal(validateKeyId(id), id);
  for (const bad of ['', id.slice(1), id + 'a', id.toUpperCase(), 'g' + id.slice(1), `${id}\n`, `../${id.slice(3)}`]) {
    refused(() => validateKeyId(bad), 'INVALID_KEY_ID', JSON.stringify(bad));
  }
});

test('printable escapes control characters and bounds the length', () => {
  assert.equal(printable('a\u0000b\u001f\u007f\u009fc'), 'a\\x00b\\x1f\\x7f\\x9fc');
  assert.equal(printable('x'.repeat(400)).length, 300);
});
