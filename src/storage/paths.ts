// Names as paths (SEC-F4): a GUN or role name becomes a path only after validation, and the
// joined path is checked to be inside its base with a path-relative test.
//
// Layout (formats.md §4.1):
//   <trustDir>/tuf/<gun>/metadata/<role>.json      (delegations nest: metadata/targets/x.json)
//   <trustDir>/tuf/<gun>/changelist/<name>.change
//   <trustDir>/tuf/<gun>/.dtrust.lock              (dtrust only; notary ignores it)

import { isAbsolute, join } from 'node:path';
import { MAX_GUN_LENGTH, gunProblem } from '../tuf/gun.js';
import { isRoleName } from '../tuf/roles.js';
import { isInside } from './atomic.js';
import { StorageError } from './errors.js';

const GUN_HINT =
  'a GUN is a name such as docker.io/library/alpine or example.com/app: "/"-separated parts, ' +
  'none of them empty, "." or "..", no leading "/", no backslash or control characters, ' +
  `at most ${MAX_GUN_LENGTH} characters`;

/** Throws StorageError INVALID_GUN naming the GUN and the rule it breaks. */
export function validateGun(gun: string): void {
  const problem = gunProblem(gun);
  if (problem !== undefined) {
    throw new StorageError('INVALID_GUN', `invalid GUN ${JSON.stringify(gun)}: ${problem}`, { gun, hint: GUN_HINT });
  }
}

function assertAbsoluteTrustDir(trustDir: string): void {
  if (!isAbsolute(trustDir)) {
    throw new Error(`internal error: the trust directory must be absolute, got ${JSON.stringify(trustDir)}`);
  }
}

/** `<trustDir>/tuf` */
export function tufDir(trustDir: string): string {
  assertAbsoluteTrustDir(trustDir);
  return join(trustDir, 'tuf');
}

/** `tuf/<gun>`, relative to the trust dir, "/"-separated (after validation). */
export function gunRelative(gun: string): string {
  validateGun(gun);
  return `tuf/${gun}`;
}

/** `<trustDir>/tuf/<gun>`, after validating the GUN and checking the result is inside tuf/. */
export function gunDir(trustDir: string, gun: string): string {
  validateGun(gun);
  const base = tufDir(trustDir);
  const dir = join(base, ...gun.split('/'));
  if (dir === base || !isInside(base, dir)) {
    throw new StorageError('INVALID_GUN', `invalid GUN ${JSON.stringify(gun)}: it does not name a directory inside ${base}`, {
      gun,
      path: dir,
      hint: GUN_HINT,
    });
  }
  return dir;
}

export function metadataDir(trustDir: string, gun: string): string {
  return join(gunDir(trustDir, gun), 'metadata');
}

export function changelistDir(trustDir: string, gun: string): string {
  return join(gunDir(trustDir, gun), 'changelist');
}

export function validateRole(role: string, gun?: string): void {
  if (typeof role !== 'string' || !isRoleName(role)) {
    throw new StorageError('INVALID_ROLE', `invalid role name ${JSON.stringify(role)}`, {
      role: String(role),
      ...(gun !== undefined ? { gun } : {}),
      hint: 'a role is root, targets, snapshot, timestamp or a delegation such as targets/releases (a-z, 0-9, "-", "_", "/")',
    });
  }
}

/** `<trustDir>/tuf/<gun>/metadata/<role>.json`; delegation roles nest as directories. */
export function roleFile(trustDir: string, gun: string, role: string): string {
  const meta = metadataDir(trustDir, gun);
  validateRole(role, gun);
  const file = join(meta, ...role.split('/')) + '.json';
  if (!isInside(meta, file) || file === meta) {
    throw new StorageError('INVALID_ROLE', `invalid role name ${JSON.stringify(role)}: it does not name a file inside ${meta}`, {
      role,
      gun,
      path: file,
    });
  }
  return file;
}
