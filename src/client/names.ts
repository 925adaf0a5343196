// Names a shell may complete: the GUNs, cached delegation roles and key IDs of a trust directory.

import { join } from 'node:path';
import { listKeyFiles, PRIVATE_DIR } from '../keystore/keyfiles.js';
import { listCachedDelegations, listGuns } from '../storage/listing.js';

export const BASE_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;

export function gunsIn(trustDir: string): string[] {
  return listGuns(trustDir);
}

/** The base roles, then the delegations cached for `gun`. */
export function rolesOf(trustDir: string, gun: string | undefined): string[] {
  return [...BASE_ROLES, ...(gun === undefined ? [] : listCachedDelegations(trustDir, gun))];
}

export function keyIdsIn(trustDir: string): string[] {
  try {
    return [...new Set(listKeyFiles(join(trustDir, PRIVATE_DIR), () => undefined).map((k) => k.id))].sort();
  } catch {
    return [];
  }
}
