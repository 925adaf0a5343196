// Names that reach key files: key IDs (file names), roles and GUNs (PEM headers, and the legacy
// `tuf_keys/<gun>/` directories). Validated before anything is created (SEC-F4).

import { gunProblem } from '../tuf/gun.js';
import { KeyStoreError } from './errors.js';

/** notary's default role for imported keys without a `role` header. */
export const DEFAULT_IMPORT_ROLE = 'delegation';

const KEY_ID = /^[0-9a-f]{64}$/;

export function isKeyId(s: string): boolean {
  return KEY_ID.test(s);
}

export function validateKeyId(id: string): string {
  if (!KEY_ID.test(id)) {
    throw new KeyStoreError('INVALID_KEY_ID', `invalid key ID provided: ${printable(id)}`, {
      hint: 'a key ID is 64 lowercase hexadecimal characters, as shown by `key list`',
    });
  }
  return id;
}

/** Roles whose key files carry a `gun` header (formats.md §4.2). */
export function roleHasGun(role: string): boolean {
  return role === 'targets' || role === 'snapshot' || role === 'timestamp';
}

/**
 * Key roles are free-form in notary (`-r alice`), but they end up in a PEM header and in
 * prompts: 1-255 characters, letters, digits and `_ - . /`, no `.`/`..` segment.
 */
export function validateRole(role: string): string {
  const ok =
    role.length > 0 &&
    role.length <= 255 &&
    /^[A-Za-z0-9_\-./]+$/.test(role) &&
    role.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
  if (!ok) {
    throw new KeyStoreError('INVALID_ROLE', `invalid role name ${JSON.stringify(printable(role))}`, {
      role,
      hint: 'a role is root, targets, snapshot, a delegation such as targets/releases, or a name of letters, digits, "-", "_" and "."',
    });
  }
  return role;
}

/** SEC-F4, by the same rules as the GUN's directory in the metadata cache (tuf/gun.ts). */
export function validateGun(gun: string): string {
  const why = gunProblem(gun);
  if (why !== undefined) {
    throw new KeyStoreError('INVALID_GUN', `invalid GUN ${JSON.stringify(printable(gun))}: ${why}`, {
      gun,
      hint: 'a GUN looks like registry.example.com/org/repo',
    });
  }
  return gun;
}

/** Control characters escaped, for messages. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).slice(0, 300);
}
