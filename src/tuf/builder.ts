// The trusted-collection builder (formats.md §7, security.md §2): bytes in, verdict out.
// Files are fed in notary's order (root, timestamp, snapshot, targets, delegations parents
// first), and the builder holds its callers to it: a call out of order is an error (as python-tuf's
// TrustedMetadataSet). Each file is checked for size, hashes, signatures, structure, rollback and
// expiry before it becomes trusted. `now` is a parameter; nothing here touches the disk, the
// network or the clock.

import { sha256, sha512 } from '../crypto/hash.js';
import { parseEnvelope, type Envelope } from './envelope.js';
import { TrustError, isTrustError } from './errors.js';
import { isExpired, type Expires } from './expires.js';
import type { PublicKey } from './keys.js';
import {
  BASE_ROLES,
  parseRoot,
  parseSnapshot,
  parseTimestamp,
  type FileMeta,
  type Root,
  type Snapshot,
  type Targets,
  type Timestamp,
} from './metadata.js';
import { isDelegationName, isDirectChild, parentOf, restrictPaths } from './roles.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import { applyPin, validRootKeys, type RootPin } from './rootcerts.js';
import { parseTargetsFile, type TargetSummary } from './targetfiles.js';
import { checkThreshold, verifyThreshold } from './verify.js';
import { breadthFirst, listTargetSummaries, listTargets, lookup, type TargetEntry } from './walk.js';

/** notary's words for a root that does not chain to the trusted one (cli.md §7.7). */
const ROTATE = 'could not rotate trust to a new trusted root';

export interface BuilderOptions {
  gun: string;
  /** The reference time, fixed once per command (SEC-V5). */
  now: number;
  /** Versions of the cached trusted files: nothing older is accepted (SEC-V3). */
  floors?: ReadonlyMap<string, number>;
  /** Bytes of the cached trusted timestamp, to refuse a same-version replacement. */
  cachedTimestamp?: Uint8Array;
  /** The trust pinning rule for the GUN's first root (pinRule, with a CA bundle read); none: TOFU. */
  pin?: RootPin;
  limits?: Partial<Limits>;
}

export interface TrustedFile<T> {
  meta: T;
  bytes: Uint8Array;
}

/**
 * How far the builder got: each load needs the step before it, and nothing goes back (a newer root
 * once the timestamp is trusted would leave files verified by the old one).
 */
type Step = 'nothing' | 'root' | 'final root' | 'timestamp' | 'snapshot' | 'targets';

export class TrustedCollectionBuilder {
  readonly gun: string;
  readonly now: number;
  readonly limits: Limits;
  readonly warnings: string[] = [];
  private readonly floors: Map<string, number>;
  private cachedTimestamp: Uint8Array | undefined;
  private readonly pin: RootPin | undefined;
  private step: Step = 'nothing';

  root: TrustedFile<Root> | undefined;
  private rootKeys = new Map<string, PublicKey>();
  timestamp: TrustedFile<Timestamp> | undefined;
  snapshot: TrustedFile<Snapshot> | undefined;
  /** Every trusted targets role, `targets` included, in the order they were verified. */
  private readonly trustedTargets = new Map<string, TrustedFile<Targets>>();
  /** Delegations skipped because they expired or lack signatures, with the reason. */
  readonly invalid = new Map<string, TrustError>();
  /**
   * The parsed (NOT trusted) content of those skipped delegations: publishing needs their
   * version to write a newer one, and `witness` may re-sign them (notary's invalidRoles).
   */
  readonly invalidFiles = new Map<string, TrustedFile<Targets>>();
  private readonly effectivePaths = new Map<string, string[]>([['targets', ['']]]);

  constructor(opts: BuilderOptions) {
    this.gun = opts.gun;
    this.now = opts.now;
    this.floors = new Map(opts.floors ?? []);
    this.cachedTimestamp = opts.cachedTimestamp;
    this.pin = opts.pin;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
  }

  /** The trusted targets roles by name: `targets` and every delegation verified so far. */
  get targetsRoles(): ReadonlyMap<string, TrustedFile<Targets>> {
    return this.trustedTargets;
  }

  get targets(): TrustedFile<Targets> | undefined {
    return this.trustedTargets.get('targets');
  }

  /** A rollback floor learnt after construction (e.g. from a cached delegation file). */
  setFloor(role: string, version: number): void {
    this.floors.set(role, version);
  }

  // -------------------------------------------------------------------------------------------
  // root

  /**
   * The first root of this run. From the cache it is the trust anchor: it must verify against
   * itself, but neither pinning nor expiry applies (formats.md §7.1). From the server (first
   * contact) it is checked against the pin and must not be expired. `local` is a root made here
   * and not yet published: checked against the pin as on first contact (notary does so before
   * its first upload), its expiry aside.
   */
  loadRoot(bytes: Uint8Array, source: 'cache' | 'remote' | 'local'): Root {
    this.inOrder('loadRoot', 'nothing');
    capSize('root', bytes, this.limits.rootMax);
    const env = parseEnvelope(bytes, 'root');
    const root = parseRoot(env.signed);
    checkRootStructure(root);
    const firstContact = source !== 'cache';
    let keys = validRootKeys(root, { gun: this.gun, nowMs: this.now, checkExpiry: firstContact, warnings: this.warnings });
    if (keys.size === 0) throw noValidCerts(this.gun);
    if (firstContact) keys = applyPin(keys, this.gun, this.pin, this.now);
    verifyRootSignatures(env, keys, root.roles.get('root')!.threshold);
    this.checkFloor('root', root.version);
    if (source === 'remote') this.checkExpiry('root', root.expires);
    this.root = { meta: root, bytes };
    this.rootKeys = validRootKeys(root, { gun: this.gun, nowMs: this.now, checkExpiry: false });
    this.step = 'root';
    return root;
  }

  /**
   * A newer root: it must carry a threshold of signatures from the trusted root's keys (expired
   * certificates allowed) and its own threshold. `expectedVersion` is set when the file was
   * fetched as `N.root.json`; intermediate roots of a chain walk may be expired.
   */
  updateRoot(bytes: Uint8Array, opts: { expectedVersion?: number; intermediate?: boolean } = {}): Root {
    this.inOrder('updateRoot', 'root');
    const trusted = this.requireRoot();
    capSize('root', bytes, this.limits.rootMax);
    const env = parseEnvelope(bytes, 'root');
    const root = parseRoot(env.signed);
    checkRootStructure(root);
    if (opts.expectedVersion !== undefined && root.version !== opts.expectedVersion) {
      throw new TrustError(
        'ROOT_CHAIN_BROKEN',
        `${ROTATE}: ${opts.expectedVersion}.root.json holds version ${root.version}`,
        { role: 'root', found: root.version, needed: opts.expectedVersion },
      );
    }
    if (root.version < trusted.meta.version) {
      throw rollback('root', root.version, trusted.meta.version);
    }
    try {
      verifyRootSignatures(env, this.rootKeys, trusted.meta.roles.get('root')!.threshold);
    } catch (e) {
      if (isTrustError(e, 'THRESHOLD_NOT_MET')) {
        throw new TrustError(
          'ROOT_CHAIN_BROKEN',
          `${ROTATE}: root version ${root.version} is not signed by a threshold of the keys of trusted root version ${trusted.meta.version}`,
          { role: 'root', found: root.version, needed: trusted.meta.version },
          e,
        );
      }
      throw e;
    }
    const own = validRootKeys(root, {
      gun: this.gun,
      nowMs: this.now,
      checkExpiry: !opts.intermediate,
      warnings: opts.intermediate ? undefined : this.warnings,
    });
    if (own.size === 0) throw noValidCerts(this.gun);
    verifyRootSignatures(env, own, root.roles.get('root')!.threshold);
    if (!opts.intermediate) this.checkExpiry('root', root.expires);
    this.fastForwardRecovery(trusted.meta, root);
    this.root = { meta: root, bytes };
    this.rootKeys = validRootKeys(root, { gun: this.gun, nowMs: this.now, checkExpiry: false });
    return root;
  }

  /**
   * Ends the root phase: the trusted root is final (no updateRoot after this) and must not be
   * expired (TUF client workflow 5.3.10). updateTimestamp does it first; a caller calls it
   * itself only to have an expired root reported before it waits for the timestamp.
   */
  finishRoot(): void {
    this.inOrder('finishRoot', 'root', 'final root');
    this.checkExpiry('root', this.requireRoot().meta.expires);
    this.step = 'final root';
  }

  /** SEC-V4: a root that replaces the timestamp or snapshot keys resets their rollback floors. */
  private fastForwardRecovery(before: Root, after: Root): void {
    const changed = (role: string): boolean =>
      !sameKeys(before.roles.get(role)?.keyids ?? [], after.roles.get(role)?.keyids ?? []);
    if (changed('snapshot')) {
      this.floors.delete('snapshot');
      this.floors.delete('timestamp');
      this.cachedTimestamp = undefined;
    }
    if (changed('timestamp')) {
      this.floors.delete('timestamp');
      this.cachedTimestamp = undefined;
    }
  }

  // -------------------------------------------------------------------------------------------
  // timestamp, snapshot, targets

  updateTimestamp(bytes: Uint8Array): Timestamp {
    this.inOrder('updateTimestamp', 'root', 'final root');
    this.finishRoot();
    const root = this.requireRoot().meta;
    capSize('timestamp', bytes, this.limits.timestampMax);
    let ts = this.verifyRole(readPlain(bytes, 'timestamp', parseTimestamp), 'timestamp', root.keys, root.roles.get('timestamp')!);
    const floor = this.floors.get('timestamp');
    if (floor !== undefined && ts.version === floor && this.cachedTimestamp && !Buffer.from(bytes).equals(Buffer.from(this.cachedTimestamp))) {
      // SEC-V3: a same-version timestamp with other content does not replace the trusted one,
      // unless the cached copy no longer verifies (damaged on disk): then the server's, which does.
      const cached = this.cachedTimestamp;
      let kept: Timestamp | undefined;
      try {
        kept = this.verifyRole(readPlain(cached, 'timestamp', parseTimestamp), 'timestamp', root.keys, root.roles.get('timestamp')!);
      } catch (e) {
        if (!isTrustError(e)) throw e;
        this.warnings.push(`the cached timestamp version ${ts.version} does not verify (${e.message}); using the server's copy`);
      }
      if (kept) {
        this.warnings.push(`timestamp version ${ts.version} from the server differs from the trusted copy; keeping the trusted copy`);
        bytes = cached;
        ts = kept;
      }
    }
    const snap = ts.meta.get('snapshot');
    if (!snap || !snap.hashes.has('sha256')) throw missingMeta('timestamp', 'snapshot');
    checkDigestLengths('timestamp', snap);
    this.checkFloor('timestamp', ts.version);
    this.checkExpiry('timestamp', ts.expires);
    this.timestamp = { meta: ts, bytes };
    this.step = 'timestamp';
    return ts;
  }

  /** What the trusted timestamp says the snapshot must be (size cap and hashes). */
  expectedSnapshot(): FileMeta {
    const ts = this.timestamp;
    if (!ts) throw new Error('the timestamp must be trusted before the snapshot');
    return ts.meta.meta.get('snapshot')!;
  }

  updateSnapshot(bytes: Uint8Array): Snapshot {
    this.inOrder('updateSnapshot', 'timestamp');
    const root = this.requireRoot();
    checkAgainst('snapshot', bytes, this.expectedSnapshot());
    const snap = this.verifyRole(readPlain(bytes, 'snapshot', parseSnapshot), 'snapshot', root.meta.keys, root.meta.roles.get('snapshot')!);
    for (const required of ['root', 'targets']) {
      const m = snap.meta.get(required);
      if (!m || !m.hashes.has('sha256')) throw missingMeta('snapshot', required);
    }
    for (const m of snap.meta.values()) checkDigestLengths('snapshot', m);
    this.checkFloor('snapshot', snap.version);
    this.checkExpiry('snapshot', snap.expires);
    // The snapshot pins the root: the trusted root must be the one it names.
    checkAgainst('root', root.bytes, snap.meta.get('root')!);
    this.snapshot = { meta: snap, bytes };
    this.step = 'snapshot';
    return snap;
  }

  /** The snapshot entry for a role, or undefined when the snapshot does not list it. */
  expectedMeta(role: string): FileMeta | undefined {
    const snap = this.snapshot;
    if (!snap) throw new Error('the snapshot must be trusted before targets and delegations');
    return snap.meta.meta.get(role);
  }

  updateTargets(bytes: Uint8Array): Targets {
    this.inOrder('updateTargets', 'snapshot');
    const root = this.requireRoot().meta;
    const expected = this.expectedMeta('targets')!;
    checkAgainst('targets', bytes, expected);
    const t = this.verifyRole(parseTargetsFile(bytes, 'targets'), 'targets', root.keys, root.roles.get('targets')!);
    checkDelegationsStructure('targets', t);
    this.checkFloor('targets', t.version);
    this.checkExpiry('targets', t.expires);
    this.trustedTargets.set('targets', { meta: t, bytes });
    this.step = 'targets';
    return t;
  }

  // -------------------------------------------------------------------------------------------
  // delegations

  /**
   * The delegations to load, in notary's order: every role a trusted role declares, handed out
   * once its parent is trusted, parents first; what lies under a role that was not loaded
   * (not in the snapshot, skipped, refused) is never reached. The caller loads each one it
   * has with updateDelegation before it asks for the next.
   */
  *delegationsToLoad(): Generator<string> {
    this.inOrder('delegationsToLoad', 'targets');
    const declared = (role: string): string[] => (this.trustedTargets.get(role)?.meta.delegations.roles ?? []).map((d) => d.name);
    for (const role of breadthFirst(['targets'], declared)) if (role !== 'targets') yield role;
  }

  /**
   * Verifies a delegation file against its parent. Returns false when the role was skipped
   * because it is expired or lacks a threshold of signatures (as notary: warn and ignore its
   * subtree); every other failure throws.
   */
  updateDelegation(role: string, bytes: Uint8Array): boolean {
    this.inOrder('updateDelegation', 'targets');
    if (!isDelegationName(role)) {
      throw new TrustError('INVALID_ROLE_NAME', `${JSON.stringify(role)} is not a valid delegation role`, { role });
    }
    const parentName = parentOf(role);
    const parent = this.trustedTargets.get(parentName);
    if (!parent) {
      throw new TrustError('METADATA_INVALID', `${role}: its parent ${parentName} is not trusted`, { role });
    }
    const decl = parent.meta.delegations.roles.find((r) => r.name === role);
    if (!decl) {
      throw new TrustError('METADATA_INVALID', `${role}: not delegated by ${parentName}`, { role });
    }
    const expected = this.expectedMeta(role);
    if (!expected) throw missingMeta('snapshot', role);
    checkAgainst(role, bytes, expected);
    const file = parseTargetsFile(bytes, role);
    let t: Targets;
    try {
      checkThreshold(role, decl.threshold, (decl.keyids ?? []).length);
      t = this.verifyRole(file, role, parent.meta.delegations.keys, decl);
      this.checkExpiry(role, t.expires);
    } catch (e) {
      if (isTrustError(e, 'THRESHOLD_NOT_MET') || isTrustError(e, 'EXPIRED') || isTrustError(e, 'INVALID_THRESHOLD')) {
        this.invalid.set(role, e);
        this.invalidFiles.set(role, { meta: file.meta, bytes });
        this.warnings.push(`skipping delegation ${role}: ${e.message}`);
        return false;
      }
      throw e;
    }
    checkDelegationsStructure(role, t);
    this.checkFloor(role, t.version);
    this.trustedTargets.set(role, { meta: t, bytes });
    this.effectivePaths.set(role, restrictPaths(decl.paths, this.effectivePaths.get(parentName) ?? []));
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // reading the result (tuf/walk.ts)

  /** Targets in notary's walk order (walk.ts listTargets). */
  listTargets(roles?: readonly string[]): TargetEntry[] {
    return listTargets(this, roles);
  }

  /** The entries of listTargets as summaries, in notary's list order (walk.ts listTargetSummaries). */
  listTargetSummaries(roles?: readonly string[]): Iterable<TargetSummary> {
    return listTargetSummaries(this, roles);
  }

  /** The role that signs `name` and its entry (walk.ts lookup). */
  lookup(name: string, roles?: readonly string[]): TargetEntry | undefined {
    return lookup(this, name, roles);
  }

  /** Effective (parent-restricted) paths of a trusted role. */
  pathsOf(role: string): string[] | undefined {
    return this.effectivePaths.get(role);
  }

  // -------------------------------------------------------------------------------------------

  /** A load out of order is a bug in the caller, not a property of the data: a plain Error. */
  private inOrder(call: string, ...allowed: Step[]): void {
    if (allowed.includes(this.step)) return;
    const held = this.step === 'nothing' ? 'nothing yet' : `up to the ${this.step}`;
    throw new Error(
      `${call} out of order: the builder has trusted ${held}; the order is loadRoot, updateRoot (any number), finishRoot, updateTimestamp, updateSnapshot, updateTargets, updateDelegation (parents first)`,
    );
  }

  private requireRoot(): TrustedFile<Root> {
    if (!this.root) throw new Error('no trusted root loaded');
    return this.root;
  }

  /** The file is parsed (and refused when invalid) before its signatures are checked. */
  private verifyRole<T>(
    file: { env: Envelope; meta: T },
    role: string,
    keys: ReadonlyMap<string, PublicKey>,
    roleKeys: { keyids: string[] | null; threshold: number },
  ): T {
    verifyThreshold(file.env, role, keys, roleKeys);
    return file.meta;
  }

  private checkFloor(role: string, version: number): void {
    const floor = this.floors.get(role);
    if (floor !== undefined && version < floor) throw rollback(role, version, floor);
  }

  private checkExpiry(role: string, expires: Expires): void {
    if (isExpired(expires, this.now)) {
      throw new TrustError('EXPIRED', `${role} metadata expired at ${new Date(expires.ms).toISOString()}`, { role });
    }
  }
}

// ---------------------------------------------------------------------------------------------

function readPlain<T>(bytes: Uint8Array, role: string, parse: (v: Envelope['signed'], role: string) => T): { env: Envelope; meta: T } {
  const env = parseEnvelope(bytes, role);
  return { env, meta: parse(env.signed, role) };
}

function verifyRootSignatures(env: Envelope, keys: Map<string, PublicKey>, threshold: number): void {
  verifyThreshold(env, 'root', keys, { keyids: [...keys.keys()], threshold });
}

function checkRootStructure(root: Root): void {
  for (const role of BASE_ROLES) {
    const r = root.roles.get(role);
    if (!r) throw new TrustError('METADATA_INVALID', `root: the ${role} role is missing`, { role: 'root', field: `roles.${role}` });
    const ids = r.keyids ?? [];
    checkThreshold(role, r.threshold, ids.length);
    for (const id of ids) {
      if (!root.keys.has(id)) {
        throw new TrustError('METADATA_INVALID', `root: key ${id} of role ${role} is not in keys`, { role: 'root', keyIds: [id] });
      }
    }
  }
}

function checkDelegationsStructure(role: string, t: Targets): void {
  const names = new Set<string>();
  for (const d of t.delegations.roles) {
    if (!isDelegationName(d.name)) {
      throw new TrustError('INVALID_ROLE_NAME', `${role}: ${JSON.stringify(d.name)} is not a valid delegation role name`, { role });
    }
    if (!isDirectChild(role, d.name)) {
      throw new TrustError('NOT_DIRECT_CHILD', `${role}: delegation ${d.name} is not a direct child of ${role}`, { role });
    }
    if (names.has(d.name)) throw new TrustError('METADATA_INVALID', `${role}: delegation ${d.name} is listed twice`, { role });
    names.add(d.name);
    // A role whose threshold its keys cannot meet (e.g. after `delegation purge`) is unusable,
    // not an invalid parent: notary skips it, and so does updateDelegation.
    const ids = d.keyids ?? [];
    for (const id of ids) {
      if (!t.delegations.keys.has(id)) {
        throw new TrustError('METADATA_INVALID', `${role}: key ${id} of ${d.name} is not in delegations.keys`, { role, keyIds: [id] });
      }
    }
  }
}

function capSize(role: string, bytes: Uint8Array, max: number): void {
  if (bytes.length > max) {
    throw new TrustError('TOO_LARGE', `${role}: ${bytes.length} bytes is more than the ${max} allowed`, {
      role,
      found: bytes.length,
      needed: max,
    });
  }
}

const HASHES: Record<string, { fn: (b: Uint8Array) => Buffer; len: number }> = {
  sha256: { fn: sha256, len: 32 },
  sha512: { fn: sha512, len: 64 },
};

/** Size and every known hash of `bytes` against the meta that pins it (SEC-V6, SEC-V10). */
export function checkAgainst(role: string, bytes: Uint8Array, expected: FileMeta): void {
  if (bytes.length > expected.length) {
    throw new TrustError('TOO_LARGE', `${role}: ${bytes.length} bytes is more than the ${expected.length} signed`, {
      role,
      found: bytes.length,
      needed: expected.length,
    });
  }
  let known = 0;
  for (const [alg, digest] of expected.hashes) {
    const h = HASHES[alg];
    if (!h) continue;
    known++;
    if (!h.fn(bytes).equals(digest)) {
      throw new TrustError('HASH_MISMATCH', `${role}: ${alg} checksum did not match`, { role, field: alg });
    }
  }
  if (known === 0) throw new TrustError('MISSING_HASH', `${role}: no sha256 or sha512 hash to check it against`, { role });
  if (bytes.length !== expected.length) {
    throw new TrustError('LENGTH_MISMATCH', `${role}: ${bytes.length} bytes, but ${expected.length} were signed`, {
      role,
      found: bytes.length,
      needed: expected.length,
    });
  }
}

function checkDigestLengths(role: string, m: FileMeta): void {
  for (const [alg, digest] of m.hashes) {
    const h = HASHES[alg];
    if (h && digest.length !== h.len) {
      throw new TrustError('METADATA_INVALID', `${role}: ${alg} digest has ${digest.length} bytes, not ${h.len}`, { role });
    }
  }
}

function missingMeta(role: string, entry: string): TrustError {
  return new TrustError('MISSING_META', `${role}: no ${entry} entry with a sha256 hash`, { role, field: entry });
}

function rollback(role: string, found: number, floor: number): TrustError {
  return new TrustError('ROLLBACK', `${role}: version ${found} is older than the trusted version ${floor}`, {
    role,
    found,
    needed: floor,
  });
}

function noValidCerts(gun: string): TrustError {
  return new TrustError(
    'ROOT_CERT_INVALID',
    'could not validate the path to a trusted root: unable to retrieve valid leaf certificates',
    { role: 'root', gun },
  );
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k) => b.includes(k));
}
