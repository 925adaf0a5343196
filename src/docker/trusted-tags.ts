// Every signed tag of a verified repository with the digest `docker pull` would trust for it
// (notary's GetTargetByName(tag, targets/releases, targets): the targets/releases subtree first,
// then targets and the rest of its tree), the role that decides it and the delegations that sign
// the same digest. Migration uses this list; verify-image's resolve.ts (issue 16) answers the same
// question for one reference and replaces this walk once it is on main.

import type { TrustedCollectionBuilder } from '../tuf/builder.js';
import { pathAllowed } from '../tuf/roles.js';
import { targetsByName, trustedRoles } from '../tuf/walk.js';
import { RELEASES_ROLE, isReleasedRole, sha256Hex, signerName } from './trustdata.js';

export interface TrustedTag {
  tag: string;
  /** `sha256:<hex>`. */
  digest: string;
  size: number;
  /** The role whose entry docker pull uses. */
  role: string;
  /** Delegations (names without `targets/`) signing the same tag and digest, walk order. */
  signers: string[];
}

/** Roles in docker's pull order. */
function pullOrder(b: TrustedCollectionBuilder): string[] {
  const releases = trustedRoles(b, [RELEASES_ROLE]);
  const seen = new Set(releases);
  return [...releases, ...trustedRoles(b).filter((r) => !seen.has(r))];
}

/** Every tag of the repository resolved as docker pull resolves it, sorted by name. */
export function trustedTags(b: TrustedCollectionBuilder): TrustedTag[] {
  const order = pullOrder(b);
  const names = new Set<string>();
  for (const role of order) for (const name of b.targetsRoles.get(role)!.meta.targets.keys()) names.add(name);
  const out: TrustedTag[] = [];
  for (const tag of [...names].sort()) {
    const role = order.find((r) => b.targetsRoles.get(r)!.meta.targets.has(tag) && pathAllowed(tag, b.pathsOf(r) ?? []));
    if (role === undefined) continue;
    const meta = b.targetsRoles.get(role)!.meta.targets.get(tag)!;
    const hex = sha256Hex(meta);
    if (hex === '') continue;
    const signers = [
      ...new Set(
        targetsByName(b, tag)
          .filter((e) => sha256Hex(e.meta) === hex && !isReleasedRole(e.role))
          .map((e) => signerName(e.role)),
      ),
    ];
    out.push({ tag, digest: `sha256:${hex}`, size: meta.length, role, signers });
  }
  return out;
}

/** The root key IDs and the targets version the answers rest on. */
export function provenanceOf(b: TrustedCollectionBuilder): { rootKeyIds: string[]; targetsVersion: number } {
  return { rootKeyIds: [...(b.root?.meta.roles.get('root')?.keyids ?? [])], targetsVersion: b.targetsRoles.get('targets')?.meta.version ?? 0 };
}
