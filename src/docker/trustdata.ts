// What docker's trust verbs read from a verified repository (cli.md §11.2-§11.8), as pure
// functions of the trusted-collection builder: the delegation roles with canonical key IDs
// (notary's GetDelegationRoles), the roles a signer may sign into (docker's GetSignableRoles),
// the "released" signed tags and their signers (matchReleasedSignatures), and the administrative
// keys. The walk, and the targets of a name in every role (GetAllTargetMetadataByName), are
// tuf/walk.ts's.

import { parseEnvelope } from '../tuf/envelope.js';
import type { TrustedCollectionBuilder } from '../tuf/builder.js';
import type { PublicKey } from '../tuf/keys.js';
import type { FileMeta } from '../tuf/metadata.js';
import { isDirectChild, parentOf, pathAllowed } from '../tuf/roles.js';
import { trustedRoles, type TargetEntry } from '../tuf/walk.js';
import { DockerError } from './errors.js';

export const RELEASES_ROLE = 'targets/releases';
/** How docker names a tag signed into targets or targets/releases with no other signer. */
export const REPO_ADMIN = 'Repo Admin';

export interface DelegationInfo {
  name: string;
  /** Canonical key IDs (what key files are named by), in the order the parent lists them. */
  keyIds: string[];
  threshold: number;
  paths: string[];
}

export { targetsByName } from '../tuf/walk.js';
export type TargetInRole = TargetEntry;

/** `targets/alice` → `alice` (docker's notaryRoleToSigner). */
export function signerName(role: string): string {
  return role.startsWith('targets/') ? role.slice('targets/'.length) : role;
}

function canonical(key: PublicKey | undefined, id: string): string {
  if (!key) return id;
  try {
    return key.canonicalId;
  } catch {
    return id;
  }
}

/** Every delegation declared by a trusted role (notary's GetDelegationRoles), with canonical key IDs. */
export function delegationRoles(b: TrustedCollectionBuilder): DelegationInfo[] {
  const out: DelegationInfo[] = [];
  for (const parent of trustedRoles(b)) {
    const file = b.targetsRoles.get(parent)!;
    for (const r of file.meta.delegations.roles) {
      out.push({
        name: r.name,
        keyIds: (r.keyids ?? []).map((id) => canonical(file.meta.delegations.keys.get(id), id)),
        threshold: r.threshold,
        paths: [...r.paths],
      });
    }
  }
  return out;
}

export function isReleasedRole(role: string): boolean {
  return role === 'targets' || role === RELEASES_ROLE;
}

export function sha256Hex(meta: FileMeta): string {
  return meta.hashes.get('sha256')?.toString('hex') ?? '';
}

export interface SignedTagRow {
  tag: string;
  /** sha256 hex. */
  digest: string;
  /** Other delegations (names without `targets/`) holding the same tag and digest, walk order. */
  signers: string[];
}

/** docker's matchReleasedSignatures: tags in targets or targets/releases, sorted naturally. */
export function releasedSignatures(entries: readonly TargetInRole[]): SignedTagRow[] {
  const rows = new Map<string, SignedTagRow>();
  const key = (e: TargetInRole): string => `${e.name}\0${sha256Hex(e.meta)}`;
  for (const e of entries) {
    if (isReleasedRole(e.role) && !rows.has(key(e))) rows.set(key(e), { tag: e.name, digest: sha256Hex(e.meta), signers: [] });
  }
  for (const e of entries) {
    const row = rows.get(key(e));
    if (row && !isReleasedRole(e.role)) row.signers.push(signerName(e.role));
  }
  return [...rows.values()].sort((a, b) => (naturalLess(a.tag, b.tag) ? -1 : naturalLess(b.tag, a.tag) ? 1 : a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}

/** Signers (every delegation but targets/releases) → canonical key IDs, as docker's inspect shows them. */
export function signerKeys(delegations: readonly DelegationInfo[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of delegations) {
    if (d.name === RELEASES_ROLE) continue;
    out.set(signerName(d.name), d.keyIds);
  }
  return out;
}

/** Key IDs of root and targets as root.json lists them (root: the certificate IDs). */
export function adminKeys(b: TrustedCollectionBuilder): { root: string[]; targets: string[] } {
  const roles = b.root?.meta.roles;
  return { root: [...(roles?.get('root')?.keyids ?? [])], targets: [...(roles?.get('targets')?.keyids ?? [])] };
}

// ---------------------------------------------------------------------------------------------
// Signable roles

export interface SignableRoles {
  roles: string[];
  delegations: DelegationInfo[];
}

/**
 * docker's GetSignableRoles: `targets` when the repository has no delegation at all; otherwise
 * every direct child of targets whose paths allow the tag and that lists a key held here.
 * `targets` is never chosen once a delegation exists. Nothing chosen → NO_SIGNABLE_ROLE, with
 * what is missing and how to fix it (cli.md §12 #2) instead of docker's bare message.
 */
export function signableRoles(
  b: TrustedCollectionBuilder,
  tag: string,
  holds: (canonicalId: string) => boolean,
  how: { gun: string; image: string; verb: 'sign' | 'revoke' },
): SignableRoles {
  const delegations = delegationRoles(b);
  if (delegations.length === 0) return { roles: ['targets'], delegations };
  const roles: string[] = [];
  for (const d of delegations) {
    if (!isDirectChild('targets', d.name) || !pathAllowed(tag, d.paths)) continue;
    if (d.keyIds.some(holds)) roles.push(d.name);
  }
  if (roles.length > 0) return { roles, delegations };
  throw noSignableRole(b, tag, holds, delegations, how);
}

function noSignableRole(
  b: TrustedCollectionBuilder,
  tag: string,
  holds: (canonicalId: string) => boolean,
  delegations: readonly DelegationInfo[],
  how: { gun: string; image: string; verb: 'sign' | 'revoke' },
): DockerError {
  const candidates = delegations.filter((d) => isDirectChild('targets', d.name) && pathAllowed(tag, d.paths));
  const listed = candidates.length > 0 ? candidates : delegations.filter((d) => isDirectChild('targets', d.name));
  const describe = listed
    .map((d) => `${d.name} (${d.keyIds.length === 0 ? 'no keys' : `keys ${d.keyIds.map((id) => id.slice(0, 12)).join(', ')}`})`)
    .join('; ');
  const owner = holdsTargetsKey(b, holds);
  const repo = imageRepo(how.image);
  // docker says only "no valid signing keys for delegation roles" (cli.md §12 #2): say which keys.
  let message =
    listed.length > 0
      ? `this machine holds no key of the signer roles that may ${how.verb} ${tag} in ${how.gun}: ${describe}`
      : `${how.gun} has signers, but none of them may ${how.verb} ${tag} (no direct delegation of targets allows that name)`;
  if (owner) message += '; the repository key (targets) held here is not used once a repository has signers';
  let hint: string;
  if (owner) {
    hint =
      `you hold the repository (targets) key of ${how.gun}, but once a repository has signers, docker's rules sign only into targets/releases and the signers' roles. ` +
      `Make yourself a signer, then ${how.verb} again: dtrust trust key generate <yourname> && dtrust signer add --key <yourname>.pub <yourname> ${repo}` +
      ` (or load an existing signer key: dtrust key load <key.pem> --name <signer>)`;
  } else {
    hint =
      `load the private key of one of these signers (dtrust key load <key.pem> --name <signer>), ` +
      `or create your own key (dtrust trust key generate <yourname>) and ask the repository owner, who holds the targets key, to run: dtrust signer add --key <yourname>.pub <yourname> ${repo}`;
  }
  return new DockerError('NO_SIGNABLE_ROLE', message, { hint });
}

/** True when one of the repository (targets) keys is held here. */
export function holdsTargetsKey(b: TrustedCollectionBuilder, holds: (canonicalId: string) => boolean): boolean {
  return (b.root?.meta.roles.get('targets')?.keyids ?? []).some((id) => holds(canonical(b.root?.meta.keys.get(id), id)));
}

/** True when the trusted file of `role` lists `name`. */
export function roleHasTarget(b: TrustedCollectionBuilder, role: string, name: string): boolean {
  return b.targetsRoles.get(role)?.meta.targets.has(name) ?? false;
}

function imageRepo(image: string): string {
  const at = image.indexOf('@');
  const base = at >= 0 ? image.slice(0, at) : image;
  const slash = base.lastIndexOf('/');
  const colon = base.lastIndexOf(':');
  return colon > slash ? base.slice(0, colon) : base;
}

/** Signatures on a trusted role file by keys of `keyIds` (canonical), and in total. */
export function roleSignatures(b: TrustedCollectionBuilder, role: string): { keyid: string; canonicalId: string }[] {
  const file = b.targetsRoles.get(role);
  if (!file) return [];
  const pfile = b.targetsRoles.get(parentOf(role));
  const keys = pfile?.meta.delegations.keys;
  return parseEnvelope(file.bytes, role).signatures.map((s) => ({ keyid: s.keyid, canonicalId: canonical(keys?.get(s.keyid), s.keyid) }));
}

// ---------------------------------------------------------------------------------------------

/** fvbommel/sortorder NaturalLess: digit runs compare as numbers, other bytes bytewise. */
export function naturalLess(a: string, b: string): boolean {
  const s1 = Buffer.from(a, 'utf8');
  const s2 = Buffer.from(b, 'utf8');
  const digit = (c: number): boolean => c >= 0x30 && c <= 0x39;
  let i1 = 0;
  let i2 = 0;
  while (i1 < s1.length && i2 < s2.length) {
    const c1 = s1[i1]!;
    const c2 = s2[i2]!;
    const d1 = digit(c1);
    const d2 = digit(c2);
    if (d1 !== d2) return d1;
    if (!d1) {
      if (c1 !== c2) return c1 < c2;
      i1++;
      i2++;
      continue;
    }
    while (i1 < s1.length && s1[i1] === 0x30) i1++;
    while (i2 < s2.length && s2[i2] === 0x30) i2++;
    const nz1 = i1;
    const nz2 = i2;
    while (i1 < s1.length && digit(s1[i1]!)) i1++;
    while (i2 < s2.length && digit(s2[i2]!)) i2++;
    const len1 = i1 - nz1;
    const len2 = i2 - nz2;
    if (len1 !== len2) return len1 < len2;
    const n1 = s1.subarray(nz1, i1).toString('latin1');
    const n2 = s2.subarray(nz2, i2).toString('latin1');
    if (n1 !== n2) return n1 < n2;
    if (nz1 !== nz2) return nz1 < nz2;
  }
  return s1.length < s2.length;
}

export function naturalCompare(a: string, b: string): number {
  return naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0;
}
