// Names as paths (SEC-F4): a GUN or role name becomes a path only after validation, and the
// joined path is checked to be inside its base with a path-relative test.
//
// Layout (formats.md §4.1):
//   <trustDir>/tuf/<gun>/metadata/<role>.json      (delegations nest: metadata/targets/x.json)
//   <trustDir>/tuf/<gun>/changelist/<name>.change
//   <trustDir>/tuf/<gun>/.dtrust.lock              (dtrust only; notary ignores it)

import { isAbsolute, join } from 'node:path';
import { isRoleName } from '../tuf/roles.js';
import { isInside } from './atomic.js';
import { StorageError } from './errors.js';

export const MAX_GUN_LENGTH = 255;
/** Most file systems limit one path component to 255 bytes. */
const MAX_SEGMENT_BYTES = 255;

const GUN_HINT =
  'a GUN is a name such as docker.io/library/alpine or example.com/app: "/"-separated parts, ' +
  'none of them empty, "." or "..", no leading "/", no backslash or control characters, ' +
  `at most ${MAX_GUN_LENGTH} characters`;

// C0 controls, DEL and C1 controls.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The rule a GUN breaks, or undefined when it is valid. */
export function gunProblem(gun: string): string | undefined {
  if (typeof gun !== 'string') return 'it is not a string';
  if (gun === '') return 'it is empty';
  const ctl = CONTROL.exec(gun);
  if (ctl) return `it contains the control character U+${ctl[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  if (LONE_SURROGATE.test(gun)) return 'it is not valid Unicode (lone surrogate)';
  if (gun.includes('\\')) return 'it contains a backslash';
  if (gun.startsWith('/')) return 'it starts with "/" (a GUN is a relative name)';
  const chars = [...gun].length;
  if (chars > MAX_GUN_LENGTH) return `it is ${chars} characters long (at most ${MAX_GUN_LENGTH})`;
  for (const seg of gun.split('/')) {
    if (seg === '') return gun.endsWith('/') ? 'it ends with "/"' : 'it has an empty part ("//")';
    if (seg === '.' || seg === '..') return `it has a "${seg}" part`;
    if (/^\s+$/u.test(seg)) return 'it has a part made only of whitespace';
    if (Buffer.byteLength(seg, 'utf8') > MAX_SEGMENT_BYTES) return `one of its parts is longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return undefined;
}

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
