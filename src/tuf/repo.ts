// A repository being edited for publishing: pure edits over the verified model, with notary's
// semantics (client/helpers.go, tuf/tuf.go), and the plan of what must be re-signed.

import { TrustError } from './errors.js';
import { expiresAfter, isExpired, type Expires } from './expires.js';
import type { PublicKey } from './keys.js';
import { BASE_ROLES, type DelegationRole, type FileMeta, type Root, type Snapshot, type Targets } from './metadata.js';
import { isDelegationName, parentOf, pathAllowed, restrictPaths } from './roles.js';
import { breadthFirst } from './walk.js';

export const EXPIRY_DAYS = { root: 3650, targets: 1095, snapshot: 1095, timestamp: 14 } as const;
const SIX_MONTHS_MS = 182 * 86_400_000;

/** Which key IDs (TUF or canonical) the signer holds, decided by the caller's key stores. */
export type HasKey = (keyIds: readonly string[]) => boolean;

export interface EditableState {
  root: Root;
  targets: Map<string, Targets>;
  snapshot?: Snapshot;
  /** Current file bytes of every role, for snapshot hashes of roles that are not re-signed. */
  files: Map<string, Uint8Array>;
  /** Delegations on the server that failed verification (below threshold, expired): NOT trusted. */
  invalid?: Map<string, Targets>;
}

export class EditableRepo {
  readonly dirty = new Set<string>();
  readonly warnings: string[] = [];
  /** Roles removed from the repository (their snapshot entries go too). */
  readonly deleted = new Set<string>();
  private readonly originalRootKeys: { keyids: string[]; threshold: number };

  constructor(
    readonly state: EditableState,
    private readonly hasKey: HasKey,
  ) {
    const r = state.root.roles.get('root')!;
    this.originalRootKeys = { keyids: [...(r.keyids ?? [])], threshold: r.threshold };
  }

  get root(): Root {
    return this.state.root;
  }

  /** The root role as it was before any edit (to co-sign a rotation). */
  get previousRootRole(): { keyids: string[]; threshold: number } {
    return this.originalRootKeys;
  }

  rootRoleChanged(): boolean {
    const now = this.root.roles.get('root')!;
    const ids = now.keyids ?? [];
    return (
      now.threshold !== this.originalRootKeys.threshold ||
      ids.length !== this.originalRootKeys.keyids.length ||
      ids.some((id) => !this.originalRootKeys.keyids.includes(id))
    );
  }

  // ---------------------------------------------------------------------------------------------
  // roles and keys

  /** Keys and threshold of a base role or a delegation, or undefined when it does not exist. */
  roleKeys(role: string): { keys: Map<string, PublicKey>; keyids: string[]; threshold: number } | undefined {
    if ((BASE_ROLES as readonly string[]).includes(role)) {
      const r = this.root.roles.get(role);
      if (!r) return undefined;
      const keys = new Map<string, PublicKey>();
      for (const id of r.keyids ?? []) {
        const k = this.root.keys.get(id);
        if (k) keys.set(id, k);
      }
      return { keys, keyids: r.keyids ?? [], threshold: r.threshold };
    }
    const decl = this.findDelegation(role);
    if (!decl) return undefined;
    const parent = this.state.targets.get(parentOf(role))!;
    const keys = new Map<string, PublicKey>();
    for (const id of decl.keyids ?? []) {
      const k = parent.delegations.keys.get(id);
      if (k) keys.set(id, k);
    }
    return { keys, keyids: decl.keyids ?? [], threshold: decl.threshold };
  }

  /** Canonical IDs of a role's keys (what key files are named by). */
  canonicalIds(role: string): string[] {
    const rk = this.roleKeys(role);
    if (!rk) return [];
    return [...rk.keys.values()].map((k) => safeCanonicalId(k));
  }

  canSign(role: string): boolean {
    const rk = this.roleKeys(role);
    if (!rk) return false;
    for (const [id, k] of rk.keys) if (this.hasKey([id, safeCanonicalId(k)])) return true;
    return false;
  }

  /** Throws NO_SIGNING_KEY naming the role and the key IDs it accepts. */
  requireCanSign(role: string): void {
    const rk = this.roleKeys(role);
    if (!rk) throw new TrustError('ROLE_NOT_FOUND', `tuf: invalid role ${role}. this role is not known`, { role });
    if (!this.canSign(role)) {
      const ids = this.canonicalIds(role);
      throw new TrustError(
        'NO_SIGNING_KEY',
        `could not find necessary signing keys, at least one of these keys must be available: ${ids.join(', ')}`,
        { role, keyIds: ids },
      );
    }
  }

  findDelegation(role: string): DelegationRole | undefined {
    if (!isDelegationName(role)) return undefined;
    return this.state.targets.get(parentOf(role))?.delegations.roles.find((r) => r.name === role);
  }

  /** Effective paths of a role: its own, cut down to its ancestors' (targets: all paths). */
  effectivePaths(role: string): string[] {
    if (role === 'targets') return [''];
    const decl = this.findDelegation(role);
    if (!decl) return [];
    return restrictPaths(decl.paths, this.effectivePaths(parentOf(role)));
  }

  private targetsOf(role: string): Targets {
    let t = this.state.targets.get(role);
    if (!t) {
      t = emptyTargets();
      const invalid = this.state.invalid?.get(role);
      if (invalid) {
        // Its content is not trusted, so it is not carried over; its version is, so that the
        // new file replaces it on the server.
        t.version = invalid.version;
        this.warnings.push(
          `${role} on the server is not valid (too few signatures or expired), so its ${invalid.targets.size} target(s) are not carried over; to keep them, re-sign it first: witness ${role}`,
        );
      }
      this.state.targets.set(role, t);
    }
    return t;
  }

  // ---------------------------------------------------------------------------------------------
  // targets

  addTarget(role: string, name: string, meta: FileMeta): void {
    if (role !== 'targets' && !this.findDelegation(role)) {
      throw new TrustError('ROLE_NOT_FOUND', `tuf: invalid role ${role}. this role is not known`, { role });
    }
    if (!pathAllowed(name, this.effectivePaths(role))) {
      throw new TrustError('PATH_NOT_DELEGATED', `Could not add all targets: ${JSON.stringify(name)} is outside the paths delegated to ${role}`, {
        role,
        hint: `the role may sign only names starting with: ${this.effectivePaths(role).map((p) => JSON.stringify(p)).join(', ') || '(no paths)'}`,
      });
    }
    const t = this.targetsOf(role);
    const existing = t.targets.get(name);
    if (existing && sameFileMeta(existing, meta)) return;
    this.requireCanSign(role);
    t.targets.set(name, meta);
    this.dirty.add(role);
  }

  removeTarget(role: string, name: string): void {
    if (role !== 'targets' && !this.findDelegation(role)) {
      throw new TrustError('ROLE_NOT_FOUND', `tuf: invalid role ${role}. this role is not known`, { role });
    }
    const t = this.state.targets.get(role);
    if (!t || !t.targets.has(name)) return;
    this.requireCanSign(role);
    t.targets.delete(name);
    this.dirty.add(role);
  }

  // ---------------------------------------------------------------------------------------------
  // delegations

  /**
   * Creates or amends a delegation in its parent (notary's UpdateDelegationKeys and
   * UpdateDelegationPaths). `newThreshold` is the threshold of a role created here (notary
   * ignores it for existing roles); `setThreshold` changes an existing role's (beyond notary).
   */
  updateDelegation(
    role: string,
    change: {
      addKeys?: PublicKey[];
      removeKeyIds?: string[];
      addPaths?: string[];
      removePaths?: string[];
      clearPaths?: boolean;
      newThreshold?: number;
      setThreshold?: number;
    },
  ): void {
    if (!isDelegationName(role)) {
      throw new TrustError('INVALID_ROLE_NAME', `tuf: invalid role ${role}. invalid delegation role name`, { role });
    }
    const parentName = parentOf(role);
    if (parentName !== 'targets' && !this.findDelegation(parentName)) {
      throw new TrustError('ROLE_NOT_FOUND', `tuf: invalid role ${parentName}. this role is not known`, { role: parentName });
    }
    this.requireCanSign(parentName);
    const parent = this.targetsOf(parentName);
    const addPaths = change.addPaths ?? [];
    const parentPaths = this.effectivePaths(parentName);
    if (restrictPaths(addPaths, parentPaths).length !== addPaths.length) {
      throw new TrustError('PATH_NOT_DELEGATED', `tuf: invalid role ${role}. invalid paths to add to role`, {
        role,
        hint: `${parentName} may delegate only paths starting with: ${parentPaths.map((p) => JSON.stringify(p)).join(', ')}`,
      });
    }
    const idx = parent.delegations.roles.findIndex((r) => r.name === role);
    let next: DelegationRole;
    if (idx >= 0) {
      const cur = parent.delegations.roles[idx]!;
      let paths = cur.paths.filter((p) => !(change.removePaths ?? []).includes(p));
      if (change.clearPaths) paths = [];
      paths = merge(paths, addPaths);
      const removeTuf = this.tufIdsFor(parent, change.removeKeyIds ?? []);
      next = {
        name: role,
        keyids: (cur.keyids ?? []).filter((id) => !removeTuf.includes(id)),
        threshold: change.setThreshold ?? cur.threshold,
        paths,
      };
    } else {
      const threshold = change.setThreshold ?? change.newThreshold ?? 1;
      if (threshold < 1) throw new TrustError('INVALID_THRESHOLD', `tuf: invalid role ${role}: threshold must be at least 1`, { role });
      next = { name: role, keyids: [], threshold, paths: [...addPaths] };
    }
    for (const k of change.addKeys ?? []) {
      if (!next.keyids!.includes(k.id)) next.keyids!.push(k.id);
    }
    for (const k of change.addKeys ?? []) parent.delegations.keys.set(k.id, k);
    // Signatures count per distinct key (SEC-V1): a certificate and a public key of one key pair are one.
    const distinct = new Set(
      next.keyids!.map((id) => {
        const k = parent.delegations.keys.get(id);
        return k ? safeCanonicalId(k) : id;
      }),
    ).size;
    if (distinct < next.threshold) {
      this.warnings.push(`role ${role} has fewer keys than its threshold of ${next.threshold}; it will not be usable until keys are added to it`);
    }
    if (idx >= 0) parent.delegations.roles[idx] = next;
    else parent.delegations.roles.push(next);
    removeUnusedKeys(parent);
    this.dirty.add(parentName);
  }

  /** Canonical or TUF IDs → the TUF IDs under which the parent lists those keys. */
  private tufIdsFor(parent: Targets, ids: readonly string[]): string[] {
    const out: string[] = [];
    for (const [tufId, k] of parent.delegations.keys) {
      if (ids.includes(tufId) || ids.includes(safeCanonicalId(k))) out.push(tufId);
    }
    return out;
  }

  deleteDelegation(role: string): void {
    if (!isDelegationName(role)) {
      throw new TrustError('INVALID_ROLE_NAME', `tuf: invalid role ${role}. invalid delegation role name`, { role });
    }
    const parentName = parentOf(role);
    this.requireCanSign(parentName);
    this.deleted.add(role);
    for (const name of [...this.state.targets.keys()]) {
      if (name === role || name.startsWith(role + '/')) {
        this.state.targets.delete(name);
        this.deleted.add(name);
        this.dirty.delete(name);
      }
    }
    const parent = this.state.targets.get(parentName);
    if (!parent) return;
    const idx = parent.delegations.roles.findIndex((r) => r.name === role);
    if (idx >= 0) {
      parent.delegations.roles.splice(idx, 1);
      removeUnusedKeys(parent);
      this.dirty.add(parentName);
    }
  }

  /** Removes keys (canonical IDs) from every delegation under `scope` (`targets/*`). */
  purgeDelegationKeys(scope: string, canonicalIds: readonly string[]): void {
    if (!scope.endsWith('/*')) {
      throw new TrustError('INVALID_ROLE_NAME', `tuf: invalid role ${scope}. only wildcard roles can be used in a purge`, { role: scope });
    }
    const declared = (role: string): string[] => (this.state.targets.get(role)?.delegations.roles ?? []).map((r) => r.name);
    for (const role of breadthFirst([scope.slice(0, -2)], declared)) {
      const t = this.state.targets.get(role);
      if (!t) continue;
      const candidates = [...t.delegations.keys].filter(([, k]) => canonicalIds.includes(safeCanonicalId(k))).map(([id]) => id);
      if (candidates.length > 0) {
        if (!this.canSign(role)) {
          this.warnings.push(
            `role ${role} contains keys being purged but you do not have the necessary keys present to sign it; keys will not be purged from ${role} or its immediate children`,
          );
        } else {
          for (const id of candidates) t.delegations.keys.delete(id);
          for (const r of t.delegations.roles) {
            r.keyids = (r.keyids ?? []).filter((id) => !candidates.includes(id));
            if (r.keyids.length < r.threshold) {
              this.warnings.push(`role ${r.name} has fewer keys than its threshold of ${r.threshold}; it will not be usable until keys are added to it`);
            }
          }
          this.dirty.add(role);
        }
      }
    }
  }

  /** Marks a loaded targets role for re-signing (notary witness). */
  witness(role: string): void {
    if (role === 'root') throw new TrustError('ROLE_NOT_FOUND', 'type of root change not yet supported: witness', { role });
    if (role === 'snapshot' || role === 'timestamp') throw new TrustError('ROLE_NOT_FOUND', `scope not supported: ${role}`, { role });
    const invalid = this.state.targets.has(role) ? undefined : this.state.invalid?.get(role);
    if ((!this.state.targets.has(role) && !invalid) || (role !== 'targets' && !this.findDelegation(role))) {
      throw new TrustError('ROLE_NOT_FOUND', `tuf: invalid role ${role}. this role is not known`, { role });
    }
    const rk = this.roleKeys(role)!;
    if (rk.keyids.length < rk.threshold) {
      throw new TrustError('INVALID_THRESHOLD', `tuf: invalid role ${role}. role does not specify enough valid signing keys to meet its required threshold`, { role });
    }
    // notary: a known but invalid delegation is revived with its content by witnessing it.
    if (invalid) this.state.targets.set(role, invalid);
    this.requireCanSign(role);
    this.dirty.add(role);
  }

  /** Replaces every key of a base role (key rotation). Keys of replaced non-root roles leave `keys`. */
  replaceBaseKeys(role: string, keys: PublicKey[]): void {
    const r = this.root.roles.get(role);
    if (!r) throw new TrustError('ROLE_NOT_FOUND', `tuf: invalid role ${role}. this role is not known`, { role });
    const old = r.keyids ?? [];
    r.keyids = keys.map((k) => k.id);
    for (const k of keys) this.root.keys.set(k.id, k);
    if (role !== 'root') {
      for (const id of old) {
        const used = [...this.root.roles.entries()].some(([name, rr]) => name !== role && (rr.keyids ?? []).includes(id));
        if (!used && !r.keyids.includes(id)) this.root.keys.delete(id);
      }
    }
    this.dirty.add('root');
    if (role === 'targets') this.dirty.add('targets');
    if (role === 'snapshot') this.dirty.add('snapshot');
  }

  // ---------------------------------------------------------------------------------------------
  // what to sign

  /** Root must be re-signed when edited or within six months of expiry. */
  rootNeedsSigning(now: number): boolean {
    return this.dirty.has('root') || isExpired(this.root.expires, now + SIX_MONTHS_MS);
  }

  /** Targets roles to re-sign, parents before children is not required (hashes come later). */
  dirtyTargetsRoles(): string[] {
    return [...this.dirty].filter((r) => r === 'targets' || isDelegationName(r)).sort();
  }
}

/**
 * A role about to be re-signed: one version up, expiring its role's term after `now`
 * (signMetadata refuses a version notary-server cannot store).
 */
export function bump(meta: { version: number; expires: Expires }, role: keyof typeof EXPIRY_DAYS, now: number): void {
  meta.version += 1;
  meta.expires = expiresAfter(now, EXPIRY_DAYS[role]);
}

export function emptyTargets(): Targets {
  return {
    _type: 'Targets',
    expires: { ms: 0, nanos: 0, offsetMinutes: 0 },
    version: 0,
    delegations: { keys: new Map(), roles: [] },
    targets: new Map(),
  };
}

function removeUnusedKeys(t: Targets): void {
  const used = new Set(t.delegations.roles.flatMap((r) => r.keyids ?? []));
  for (const id of [...t.delegations.keys.keys()]) if (!used.has(id)) t.delegations.keys.delete(id);
}

function merge(a: string[], b: string[]): string[] {
  const out = [...a];
  for (const x of b) if (!out.includes(x)) out.push(x);
  return out;
}

export function sameFileMeta(a: FileMeta, b: FileMeta): boolean {
  if (a.length !== b.length || a.hashes.size !== b.hashes.size) return false;
  for (const [alg, h] of a.hashes) if (!b.hashes.get(alg)?.equals(h)) return false;
  return JSON.stringify(a.custom ?? null) === JSON.stringify(b.custom ?? null);
}

function safeCanonicalId(k: PublicKey): string {
  try {
    return k.canonicalId;
  } catch {
    return k.id;
  }
}
