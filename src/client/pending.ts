// Role files signed by fewer keys than their threshold wait here for their co-signers
// (`delegation cosign`): `tuf/<gun>/pending/<role>.json` in the GUN's cache directory.

import { join } from 'node:path';
import type { MetadataCache } from '../storage/cache.js';
import { parentOf } from '../tuf/roles.js';

/** Saves `bytes` as the pending file of `role`; returns its path. */
export async function savePending(cache: MetadataCache, role: string, bytes: Buffer): Promise<string> {
  const { ensurePrivateDir, writeFileAtomic } = await import('../storage/atomic.js');
  const dir = await ensurePrivateDir(cache.dir, `pending/${parentOf(role)}`);
  const path = join(dir, `${role.slice(role.lastIndexOf('/') + 1)}.json`);
  await writeFileAtomic(path, bytes, { base: cache.dir });
  return path;
}
