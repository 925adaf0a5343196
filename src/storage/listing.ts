// What the trust directory holds, by name: the GUNs with metadata or staged changes and the
// delegation roles cached for a GUN. For suggestions (shell completion): unreadable parts are
// skipped, and nothing here is trusted.

import { readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { gunProblem } from '../tuf/gun.js';

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** GUNs under `<trustDir>/tuf` (a directory holding `metadata/` or `changelist/`), sorted. */
export function listGuns(trustDir: string, maxDepth = 8): string[] {
  const out: string[] = [];
  const walk = (dir: string, gun: string, depth: number): void => {
    const subs = entries(dir).filter((e) => e.isDirectory());
    if (gun !== '' && subs.some((e) => e.name === 'metadata' || e.name === 'changelist') && gunProblem(gun) === undefined) out.push(gun);
    if (depth >= maxDepth) return;
    for (const e of subs) if (e.name !== 'metadata' && e.name !== 'changelist') walk(join(dir, e.name), gun === '' ? e.name : `${gun}/${e.name}`, depth + 1);
  };
  walk(join(trustDir, 'tuf'), '', 0);
  return out.sort();
}

/** Delegation roles with a cached file for `gun` (`targets/a`, `targets/a/b`), sorted. */
export function listCachedDelegations(trustDir: string, gun: string): string[] {
  if (gunProblem(gun) !== undefined) return [];
  const out: string[] = [];
  const walk = (dir: string, role: string, depth: number): void => {
    for (const e of entries(dir)) {
      if (e.isFile() && e.name.endsWith('.json')) out.push(`${role}/${e.name.slice(0, -5)}`);
      else if (e.isDirectory() && depth < 8) walk(join(dir, e.name), `${role}/${e.name}`, depth + 1);
    }
  };
  walk(join(trustDir, 'tuf', gun, 'metadata', 'targets'), 'targets', 0);
  return [...new Set(out)].sort();
}
