// SEC-F4: GUNs and role names become paths only after validation; nothing touches the disk for a
// rejected name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MetadataCache } from '../../src/storage/cache.js';
import { Changelist } from '../../src/storage/changelist.js';
import { isStorageError } from '../../src/storage/errors.js';
import { withGunLock } from '../../src/storage/lock.js';
import { gunProblem } from '../../src/tuf/gun.js';
import { gunDir, roleFile, validateGun } from '../../src/storage/paths.js';
import { tempDir } from '../rig/tmp.js';

const BAD: [string, RegExp][] = [
  ['', /empty/],
  ['../../x', /"\.\." part/],
  ['..', /"\.\." part/],
  ['a/../b', /"\.\." part/],
  ['a/./b', /"\." part/],
  ['.', /"\." part/],
  ['/abs', /starts with "\/"/],
  ['/', /starts with "\/"/],
  ['a//b', /empty part/],
  ['a/', /ends with "\/"/],
  ['a\\b', /backslash/],
  ['..\\..\\x', /backslash/],
  ['a\0b', /U\+0000/],
  ['a\nb', /U\+000A/],
  ['a\tb', /U\+0009/],
  ['a\u007fb', /U\+007F/],
  ['a\u0085b', /U\+0085/],
  ['x'.repeat(256), /256 characters/],
  ['a/ /b', /whitespace/],
  ['a/\u3000', /whitespace/],
  ['   ', /whitespace/],
  ['a\ud800b', /Unicode/],
  [`a/${'é'.repeat(130)}`, /bytes/],
];

const GOOD = [
  'a',
  'example.com/app',
  'docker.io/library/alpine',
  'targets/__proto__',
  '__proto__',
  'constructor',
  'x'.repeat(255),
  'with space',
  'localhost:5000/my-app_1.0',
  'é/ü',
  '...',
  '.hidden/x',
  'a..b',
];

test('invalid GUNs are rejected with the rule and a hint, naming the GUN', () => {
  for (const [gun, rule] of BAD) {
    assert.throws(
      () => validateGun(gun),
      (e) =>
        isStorageError(e, 'INVALID_GUN') &&
        e.gun === gun &&
        rule.test(e.message) &&
        e.message.startsWith(`invalid GUN ${JSON.stringify(gun)}`) &&
        (e.hint ?? '').includes('docker.io/library/alpine'),
      JSON.stringify(gun),
    );
    assert.notEqual(gunProblem(gun), undefined);
  }
});

test('the rule named is the first one broken: empty, not a string', () => {
  assert.equal(gunProblem(''), 'it is empty');
  assert.equal(gunProblem(42 as unknown as string), 'it is not a string');
  assert.equal(gunProblem(undefined as unknown as string), 'it is not a string');
});

test('valid GUNs map to <trustDir>/tuf/<gun>', () => {
  for (const gun of GOOD) {
    assert.equal(gunProblem(gun), undefined, gun);
    assert.equal(gunDir('/t', gun), join('/t', 'tuf', ...gun.split('/')));
  }
});

test('nothing is created on disk for a rejected GUN, by any storage entry point', async () => {
  const trustDir = await tempDir('paths-reject-');
  for (const [gun] of BAD) {
    assert.throws(() => new MetadataCache(trustDir, gun), (e) => isStorageError(e, 'INVALID_GUN'));
    assert.throws(() => new Changelist(trustDir, gun), (e) => isStorageError(e, 'INVALID_GUN'));
    let ran = false;
    await assert.rejects(
      withGunLock(trustDir, gun, async () => {
        ran = true;
      }),
      (e) => isStorageError(e, 'INVALID_GUN'),
    );
    assert.equal(ran, false);
    assert.throws(() => roleFile(trustDir, gun, 'root'), (e) => isStorageError(e, 'INVALID_GUN'));
  }
  assert.deepEqual(readdirSync(trustDir), []);
  assert.ok(!existsSync(join(dirname(trustDir), 'x')));
});

test('roleFile: base roles and nested delegations; invalid role names refused', () => {
  assert.equal(roleFile('/t', 'g/h', 'root'), '/t/tuf/g/h/metadata/root.json');
  assert.equal(roleFile('/t', 'g', 'targets'), '/t/tuf/g/metadata/targets.json');
  assert.equal(roleFile('/t', 'g', 'targets/releases'), '/t/tuf/g/metadata/targets/releases.json');
  assert.equal(roleFile('/t', 'g', 'targets/a/b'), '/t/tuf/g/metadata/targets/a/b.json');
  assert.equal(roleFile('/t', 'g', 'targets/__proto__'), '/t/tuf/g/metadata/targets/__proto__.json');
  for (const role of ['', 'foo', 'targets/', 'targets/../root', 'targets/./x', 'targets//x', 'targets/A', '../root', 'targets/x\\y', 'root/x']) {
    assert.throws(() => roleFile('/t', 'g', role), (e) => isStorageError(e, 'INVALID_ROLE'), role);
  }
});

test('a relative trust dir is a caller bug', () => {
  assert.throws(() => gunDir('relative', 'g'), /absolute/);
});
