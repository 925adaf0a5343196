// The GUN, role and key ID validators (storage/paths.ts, keystore/names.ts, tuf/roles.ts): only
// their typed errors; a GUN or role they accept becomes a path inside its directory; a role the
// engine accepts is accepted by the storage and key store validators; all are linear in the name.
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { KeyStoreError } from '../../src/keystore/errors.js';
import { isKeyId, printable, validateGun as keystoreGun, validateKeyId, validateRole as keystoreRole } from '../../src/keystore/names.js';
import { StorageError } from '../../src/storage/errors.js';
import { gunProblem } from '../../src/tuf/gun.js';
import { gunDir, roleFile, validateGun, validateRole } from '../../src/storage/paths.js';
import { TrustError } from '../../src/tuf/errors.js';
import { assertDelegationName, isDelegationName, isRoleName } from '../../src/tuf/roles.js';
import { delicateString } from './arbitraries.js';
import { property } from './budget.js';
import { outcome, typedAs } from './checks.js';
import { fileArb } from './mutate.js';
import { assertLinear } from './timing.js';

const TRUST_DIR = '/nonexistent/trust';
const inside = (base: string, p: string): boolean => {
  const r = relative(base, p);
  return r !== '' && r !== '..' && !r.startsWith('../') && !r.startsWith('/');
};

const nameChars = fc.constantFrom('a', 'z', 'A', '0', '-', '_', '.', '/', '\\', ' ', '\t', '\u0000', '\u007f', '\u0085', '\u00e9', '\ud800', '\udc00', '\u{1f600}', '\u2028', ':', '*');
const name = fc.oneof(
  fc.string({ unit: nameChars, maxLength: 20 }),
  fc.stringMatching(/^targets(\/[a-z0-9_.-]{0,6}){0,3}\/?$/),
  fc.stringMatching(/^[a-z0-9.]{1,12}(\/[a-z0-9._-]{0,8}){0,3}$/),
  delicateString(10),
  fc.constantFrom('root', 'targets', 'snapshot', 'timestamp', 'targets/', 'targets/..', 'targets/./a', 'targets//a', '..', '.', '/', 'a/../b'),
  fc.string({ minLength: 250, maxLength: 260, unit: fc.constantFrom('a', '/', 'é') }),
);

property(
  'names/validators-agree',
  fc.property(name, (s) => {
    // GUNs: storage (paths) and keystore (PEM headers).
    const gun = outcome(() => validateGun(s), typedAs(StorageError));
    assert.equal(gun.ok, gunProblem(s) === undefined);
    if (gun.ok) {
      const dir = gunDir(TRUST_DIR, s);
      assert.ok(inside(join(TRUST_DIR, 'tuf'), dir), `${JSON.stringify(s)} → ${dir}`);
    }
    outcome(() => keystoreGun(s), typedAs(KeyStoreError));
    // Roles: the engine's grammar is the strictest.
    const deleg = isDelegationName(s);
    assert.equal(outcome(() => assertDelegationName(s), typedAs(TrustError)).ok, deleg);
    if (deleg) {
      assert.ok(outcome(() => keystoreRole(s), typedAs(KeyStoreError)).ok, 'a delegation name is a key store role');
      assert.ok(isRoleName(s));
    }
    const role = outcome(() => validateRole(s), typedAs(StorageError));
    assert.equal(role.ok, isRoleName(s));
    if (role.ok) {
      assert.ok(outcome(() => keystoreRole(s), typedAs(KeyStoreError)).ok, 'a role is a valid key role');
      const meta = join(TRUST_DIR, 'tuf', 'example.com', 'app', 'metadata');
      assert.ok(inside(meta, roleFile(TRUST_DIR, 'example.com/app', s)));
    }
    outcome(() => keystoreRole(s), typedAs(KeyStoreError));
    // Key IDs.
    assert.equal(outcome(() => validateKeyId(s), typedAs(KeyStoreError)).ok, isKeyId(s));
    assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(printable(s)));
  }),
);

const VALIDATORS: { id: string; run: (s: string) => void }[] = [
  { id: 'storage validateGun', run: (s) => void gunProblem(s) },
  { id: 'keystore validateGun', run: (s) => void outcome(() => keystoreGun(s), typedAs(KeyStoreError)) },
  { id: 'storage validateRole', run: (s) => void outcome(() => validateRole(s), typedAs(StorageError)) },
  { id: 'keystore validateRole', run: (s) => void outcome(() => keystoreRole(s), typedAs(KeyStoreError)) },
  { id: 'isDelegationName', run: (s) => void isDelegationName(s) },
  { id: 'validateKeyId', run: (s) => void outcome(() => validateKeyId(s), typedAs(KeyStoreError)) },
  { id: 'printable', run: (s) => void printable(s) },
];
const UNITS = ['a', 'a/', '/', '//', './', '../', 'a.', '\\', ' ', '\u0000', '\ud800', '\udc00', '\u{1f600}', 'targets/', 'é', 'a-_'];

property(
  'names/linear-time',
  fc.property(fileArb(VALIDATORS), fc.constantFrom('', 'targets/', 'example.com/'), fc.oneof(fc.constantFrom(...UNITS), fc.string({ minLength: 1, maxLength: 4 })), (v, prefix, unit) => {
    assertLinear(v.id, (n) => prefix + unit.repeat(Math.ceil(n / unit.length)), v.run);
  }),
);
