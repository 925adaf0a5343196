// Role names and delegation paths (formats.md §2.5, §7.6; SEC-V9).

import { TrustError } from './errors.js';

/** No `.` among the characters: no `.` or `..` segment either. */
const DELEGATION_NAME = /^[-a-z0-9_/]+$/;

export function isDelegationName(name: string): boolean {
  return name.startsWith('targets/') && name.length < 256 && DELEGATION_NAME.test(name) && !name.endsWith('/') && !name.includes('//');
}

export function assertDelegationName(name: string): void {
  if (!isDelegationName(name)) {
    throw new TrustError(
      'INVALID_ROLE_NAME',
      `${JSON.stringify(name)} is not a valid delegation role name: it must start with "targets/", use only a-z, 0-9, "-", "_" and "/", and be a clean path shorter than 256 characters`,
      { role: name },
    );
  }
}

/** Any role notary knows: a base role or a valid delegation. */
export function isRoleName(name: string): boolean {
  return name === 'root' || name === 'targets' || name === 'snapshot' || name === 'timestamp' || isDelegationName(name);
}

/** The role that delegates to a targets role: `root` for `targets`, else the name up to its last `/`. */
export function parentOf(role: string): string {
  return role === 'targets' ? 'root' : role.slice(0, role.lastIndexOf('/'));
}

export function isDirectChild(parent: string, child: string): boolean {
  return child.startsWith(parent + '/') && !child.slice(parent.length + 1).includes('/');
}

/** A child's paths kept only where some parent path is a string prefix of them. */
export function restrictPaths(childPaths: readonly string[], parentPaths: readonly string[]): string[] {
  return childPaths.filter((p) => parentPaths.some((pp) => p.startsWith(pp)));
}

export function pathAllowed(target: string, paths: readonly string[]): boolean {
  return paths.some((p) => target.startsWith(p));
}
