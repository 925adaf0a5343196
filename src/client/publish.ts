// The write path (cli.md §8): apply the staged changes to the verified repository with pure
// edits, sign what changed, upload everything in one multipart POST, and only then remove the
// change files that were applied (SEC-C2, SEC-C3).

import type { NotaryRemote } from '../remote/notary.js';
import type { MetadataCache } from '../storage/cache.js';
import type { Changelist, StagedChange } from '../storage/changelist.js';
import { isUnwritable } from '../storage/errors.js';
import { parseEnvelope } from '../tuf/envelope.js';
import { TrustError, isTrustError } from '../tuf/errors.js';
import { expiresAfter } from '../tuf/expires.js';
import type { PublicKey } from '../tuf/keys.js';
import { CACHED_MAX, ROOT_MAX } from '../tuf/limits.js';
import { fileMeta, parseRoot, parseSnapshot, parseTargets, type Snapshot, type Targets } from '../tuf/metadata.js';
import { TrustedCollectionBuilder } from '../tuf/builder.js';
import { EditableRepo, bump, type EditableState } from '../tuf/repo.js';
import { isDelegationName, parentOf } from '../tuf/roles.js';
import type { TrustPinning } from '../tuf/rootcerts.js';
import { signMetadata, type Signer } from '../tuf/sign.js';
import { verifyThreshold } from '../tuf/verify.js';
import { decodeDelegationData, decodeRootData, decodeTargetData } from './changes.js';
import type { KeyAccess } from './keys.js';
import { createRepository, type InitResult } from './init.js';
import { rootPin } from './pinning.js';
import { update } from './update.js';
import { shellQuote } from '../shellwords.js';

/** What every write workflow of one GUN is given: the repository, its server and where to warn. */
export type RepoContext = Pick<PublishOptions, 'gun' | 'now' | 'cache' | 'changelist' | 'remote' | 'pinning' | 'warn'>;

export interface PublishOptions {
  gun: string;
  now: number;
  cache: MetadataCache;
  changelist: Changelist;
  remote: NotaryRemote;
  keys: KeyAccess;
  pinning?: TrustPinning;
  warn: (msg: string) => void;
  /** The command line hints start with, keeping the user's -s/-d/-c and TLS flags (`dtrust -d DIR`). */
  command?: string;
  /** Changes applied in memory only (key rotation), after the staged ones when `staged` is true. */
  extraChanges?: StagedChange[];
  /** Apply the staged changelist (false for key rotation, which publishes only its own change). */
  staged?: boolean;
  /** Also sign a re-signed root with the root keys of this many earlier versions (-1: all). */
  legacyRootVersions?: number;
  /**
   * Delegation files signed elsewhere (co-signing): uploaded as they are, after their
   * signatures met the role's threshold.
   */
  prepared?: ReadonlyMap<string, Buffer>;
  /**
   * Keeps a role signed by fewer keys than its threshold, so that other signers can add
   * theirs (`delegation cosign`); returns where it was saved.
   */
  savePartial?: (role: string, bytes: Buffer) => Promise<string>;
  /**
   * Given, a GUN that exists neither on the server nor here is created first, as `init` would
   * (cli.md §8 step 3), and this is told its root key; without it, that is an error.
   */
  onCreated?: (created: InitResult) => void;
  /** `renew` (renew.ts): what this publish re-signs beyond the staged changes. */
  renew?: Renewal;
}

export interface Renewal {
  /**
   * Expired base roles this publish re-signs, loaded despite their age (a read still refuses
   * them); the publish fails unless each one is re-signed.
   */
  allowExpired: ReadonlySet<string>;
  /** Re-sign the root whatever its expiry (its keys must be here). */
  root: boolean;
  /** Re-sign the snapshot even when nothing else changed (its key must be here). */
  snapshot: boolean;
  /** New lifetimes (ms) of renewed roles; others get notary's defaults. */
  lifetimes?: ReadonlyMap<string, number>;
}

export interface PublishResult {
  /** Roles uploaded. */
  uploaded: string[];
  /** Change files applied and removed. */
  applied: string[];
  /**
   * True when nothing needed signing: nothing was staged, or every staged change is already in
   * effect on the server (say, co-signed and published from another machine; `applied` names
   * them, cleared).
   */
  nothingToDo: boolean;
}

export async function publish(opts: PublishOptions): Promise<PublishResult> {
  const changes = opts.staged === false ? [] : await stagedChanges(opts);
  const all = [...changes, ...(opts.extraChanges ?? [])];
  if (all.length > 0) await prepareSigners(opts, all);
  const { state, firstPublish, expiredAllowed } = await loadState(opts);
  const prepared = opts.prepared ?? new Map<string, Buffer>();
  const renewing = opts.renew !== undefined && (opts.renew.root || opts.renew.snapshot);
  if (all.length === 0 && !firstPublish && prepared.size === 0 && !renewing) return { uploaded: [], applied: [], nothingToDo: true };

  const repo = new EditableRepo(state, (ids) => ids.some((id) => opts.keys.has(id)));
  applyChanges(repo, all, { gun: shellQuote(opts.gun), cmd: opts.command ?? 'dtrust', heldFor: (role) => opts.keys.heldFor?.(role) ?? [] });
  for (const w of repo.warnings) opts.warn(w);
  // The files to upload, in the order the multipart body lists them.
  const files = new Map<string, Buffer>();
  acceptCosigned(repo, prepared, files);
  if (firstPublish) {
    repo.dirty.add('targets');
    files.set('root', Buffer.from(state.files.get('root')!));
  }
  await signTargetsRoles(opts, repo, files);
  if (repo.rootNeedsSigning(opts.now) || opts.renew?.root) files.set('root', await signRoot(opts, repo));
  const applied = changes.map((c) => c.file);
  if (files.size === 0 && !repo.canSign('snapshot')) {
    if (applied.length > 0) await opts.changelist.remove(applied);
    return { uploaded: [], applied, nothingToDo: true };
  }
  if (repo.canSign('snapshot')) files.set('snapshot', await signSnapshot(opts, repo));
  requireRenewed(opts.gun, expiredAllowed, files);
  await upload(opts, files, applied);
  return { uploaded: [...files.keys()], applied, nothingToDo: false };
}

/** An expired role was loaded only to be re-signed: a publish that does not re-sign it is refused. */
function requireRenewed(gun: string, expiredAllowed: ReadonlySet<string>, files: ReadonlyMap<string, Buffer>): void {
  for (const role of expiredAllowed) {
    if (files.has(role)) continue;
    throw new TrustError('EXPIRED', `${role} of ${gun} has expired and this machine cannot re-sign it`, {
      role,
      gun,
      hint: role === 'snapshot' ? `the holder of the snapshot key runs: dtrust renew ${gun} -p` : `the holder of the ${role} key runs: dtrust renew ${gun} -p`,
    });
  }
}

/** The staged changes, in changelist order; one that cannot be read stops the publish. */
async function stagedChanges(opts: PublishOptions): Promise<StagedChange[]> {
  const { changes, corrupt } = await opts.changelist.list();
  if (corrupt.length > 0) {
    const c = corrupt[0]!;
    throw new TrustError('METADATA_INVALID', `staged change #${c.index} (${c.file}) cannot be read: ${c.reason}`, {
      hint: `inspect it with: dtrust status ${opts.gun}; remove it with: dtrust reset ${opts.gun} -n ${c.index}`,
    });
  }
  return changes;
}

/**
 * Delegation files signed elsewhere (co-signing) replace the roles they are, as they are: each
 * must meet its role's threshold and be newer than the published version.
 */
function acceptCosigned(repo: EditableRepo, prepared: ReadonlyMap<string, Buffer>, files: Map<string, Buffer>): void {
  const state = repo.state;
  for (const [role, bytes] of prepared) {
    const meta = parseTargets(parseEnvelope(bytes, role).signed, role);
    const rk = repo.roleKeys(role);
    if (!rk) throw new TrustError('ROLE_NOT_FOUND', `tuf: invalid role ${role}. this role is not known`, { role });
    verifyThreshold(parseEnvelope(bytes, role), role, rk.keys, rk);
    const current = state.targets.get(role) ?? state.invalid?.get(role);
    if (current && meta.version <= current.version) {
      throw new TrustError('ROLLBACK', `${role}: the co-signed version ${meta.version} is not newer than the published version ${current.version}`, {
        role,
        hint: 'the role was published since this file was signed; sign the new changes again',
      });
    }
    state.targets.set(role, meta);
    state.files.set(role, bytes);
    files.set(role, bytes);
  }
}

/**
 * Re-signs every edited targets role (children before parents is not needed: the snapshot hashes
 * them all). A role this machine cannot sign to its threshold stops the publish (and is kept for
 * co-signers when the caller can keep it).
 */
async function signTargetsRoles(opts: PublishOptions, repo: EditableRepo, files: Map<string, Buffer>): Promise<void> {
  for (const role of repo.dirtyTargetsRoles()) {
    const meta = repo.state.targets.get(role)!;
    bump(meta, 'targets', opts.now, opts.renew?.lifetimes?.get(role));
    const signers = await signersFor(opts, repo, role);
    const bytes = (await signMetadata(meta, signers)).bytes;
    const needed = repo.roleKeys(role)!.threshold;
    if (distinctKeys(signers) < needed) throw await partial(opts, role, bytes, distinctKeys(signers), needed);
    files.set(role, bytes);
    repo.state.files.set(role, bytes);
  }
}

/** The root, re-signed: by its keys, by the keys it had before a rotation, and by earlier versions' keys when asked (-l). */
async function signRoot(opts: PublishOptions, repo: EditableRepo): Promise<Buffer> {
  const root = repo.state.root;
  bump(root, 'root', opts.now, opts.renew?.lifetimes?.get('root'));
  const signers = await signersFor(opts, repo, 'root');
  if (repo.rootRoleChanged()) signers.push(...(await previousRootSigners(opts, repo, signers)));
  if (opts.legacyRootVersions) signers.push(...(await legacyRootSigners(opts, root.version - 1, signers)));
  const bytes = (await signMetadata(root, signers)).bytes;
  repo.state.files.set('root', bytes);
  return bytes;
}

/** The snapshot over every role's current file, deleted roles left out. */
async function signSnapshot(opts: PublishOptions, repo: EditableRepo): Promise<Buffer> {
  const state = repo.state;
  const snap = state.snapshot ?? emptySnapshot();
  // As notary: entries of roles not loaded here (invalid delegations, their children) stay.
  const gone = (role: string): boolean => [...repo.deleted].some((d) => role === d || role.startsWith(d + '/'));
  snap.meta = new Map([...snap.meta].filter(([role]) => !gone(role)));
  for (const role of ['root', 'targets', ...[...state.targets.keys()].filter((r) => r !== 'targets').sort()]) {
    const bytes = state.files.get(role);
    if (bytes && !repo.deleted.has(role)) snap.meta.set(role, fileMeta(bytes));
  }
  bump(snap, 'snapshot', opts.now, opts.renew?.lifetimes?.get('snapshot'));
  return (await signMetadata(snap, await signersFor(opts, repo, 'snapshot'))).bytes;
}

/**
 * One multipart POST of every file; only once the server took them are the applied change files
 * removed. Published files are trusted by construction; caching them lets offline reads see them
 * (cli.md §12 #20). They are written while the server checks them, and put in place once it took
 * them and the changes are cleared.
 */
async function upload(opts: PublishOptions, files: Map<string, Buffer>, applied: readonly string[]): Promise<void> {
  const staged = opts.cache.stage(files);
  staged.catch(() => undefined); // a failure to write is reported after the upload's outcome
  try {
    await opts.remote.publish(files);
  } catch (e) {
    await staged.then((s) => s.discard(), () => undefined);
    throw e;
  }
  try {
    if (applied.length > 0) await opts.changelist.remove(applied);
  } catch (e) {
    await staged.then((s) => s.discard(), () => undefined);
    throw e;
  }
  try {
    await (await staged).commit();
  } catch (e) {
    // Published and cleared: a cache the disk cannot take is a warning, as for reads (KS-03).
    if (!isUnwritable(e)) throw e;
    opts.warn(`the cache of ${opts.gun} could not be updated (${e.message}); the changes were published, and the next read fetches them`);
  }
}

/**
 * Starts unlocking the keys this publish is about to sign with, as far as the cached root tells
 * (targets' when a change edits that role, snapshot's always), so that their key derivation
 * runs while the repository is refreshed. Only keys that need no one to type anything are
 * unlocked (KeyAccess.prepare); one that turns out not to be needed costs only that time.
 */
async function prepareSigners(opts: PublishOptions, changes: readonly StagedChange[]): Promise<void> {
  const keys = opts.keys;
  if (!keys.prepare) return;
  const bytes = await opts.cache.read('root', ROOT_MAX);
  if (!bytes) return;
  let root;
  try {
    root = parseRoot(parseEnvelope(bytes, 'root').signed);
  } catch {
    return; // the refresh reports it
  }
  const editsTargets = changes.some((c) => c.scope === 'targets' || (c.type === 'delegation' && isDelegationName(c.scope) && parentOf(c.scope) === 'targets'));
  for (const role of editsTargets ? ['targets', 'snapshot'] : ['snapshot']) {
    for (const id of root.roles.get(role)?.keyids ?? []) {
      const key = root.keys.get(id);
      let canonical: string;
      try {
        canonical = key?.canonicalId ?? '';
      } catch {
        continue;
      }
      if (canonical !== '' && keys.has(canonical)) keys.prepare(canonical, role);
    }
  }
}

async function loadState(opts: PublishOptions): Promise<{ state: EditableState; firstPublish: boolean; expiredAllowed: ReadonlySet<string> }> {
  if (!(await opts.remote.exists())) {
    let files = await localFiles(opts.cache);
    if (!files.has('root') && !files.has('targets') && opts.onCreated) {
      const { gun, now, cache, remote, keys, pinning } = opts;
      opts.onCreated(await createRepository({ gun, now, cache, remote, keys, pinning }));
      files = await localFiles(opts.cache);
    } else if (files.has('root')) {
      // As notary before its first upload: the root made here must satisfy the GUN's pin.
      new TrustedCollectionBuilder({ gun: opts.gun, now: opts.now, pin: await rootPin(opts.gun, opts.pinning) }).loadRoot(files.get('root')!, 'local');
    }
    if (!files.has('root') || !files.has('targets')) {
      throw new TrustError('ROLE_NOT_FOUND', `repository ${opts.gun} does not exist on the server and has not been initialized here`, {
        gun: opts.gun,
        hint: `create it first with: dtrust init ${opts.gun}`,
      });
    }
    const targets = new Map<string, Targets>([['targets', parseTargets(parseEnvelope(files.get('targets')!, 'targets').signed)]]);
    const snapBytes = files.get('snapshot');
    return {
      state: {
        root: parseRoot(parseEnvelope(files.get('root')!, 'root').signed),
        targets,
        snapshot: snapBytes ? parseSnapshot(parseEnvelope(snapBytes, 'snapshot').signed) : undefined,
        files,
      },
      firstPublish: true,
      expiredAllowed: new Set(),
    };
  }
  const { builder } = await update({
    gun: opts.gun,
    now: opts.now,
    cache: opts.cache,
    remote: opts.remote,
    pinning: opts.pinning,
    warn: opts.warn,
    allowExpired: opts.renew?.allowExpired,
  });
  const files = new Map<string, Uint8Array>();
  const targets = new Map<string, Targets>();
  files.set('root', builder.root!.bytes);
  for (const [role, f] of builder.targetsRoles) {
    files.set(role, f.bytes);
    targets.set(role, f.meta);
  }
  const invalid = new Map([...builder.invalidFiles].map(([role, f]) => [role, f.meta]));
  return {
    state: { root: builder.root!.meta, targets, snapshot: builder.snapshot!.meta, files, invalid },
    firstPublish: false,
    expiredAllowed: builder.expiredAllowed,
  };
}

/** The metadata of a repository initialized here and not yet published. */
async function localFiles(cache: MetadataCache): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const role of ['root', 'targets', 'snapshot']) {
    const b = await cache.read(role, CACHED_MAX);
    if (b) files.set(role, b);
  }
  return files;
}

/** What the hints of a failed change need: the shell-quoted GUN, the command with the user's global flags, the keys held per role. */
interface HintContext {
  gun: string;
  cmd: string;
  heldFor: (role: string) => string[];
}

/**
 * Applies the changes in changelist order, except that a target change failing only because no
 * key of its role is at hand waits until the rest is applied: a later change may add this
 * signer's own key to the role (what the NO_SIGNING_KEY hint tells the user to do). Later
 * changes of the same target wait behind it, so their order holds. If it still fails, that is
 * the publish error.
 */
function applyChanges(repo: EditableRepo, all: readonly StagedChange[], at: HintContext): void {
  const waiting: StagedChange[] = [];
  const sameTarget = (a: StagedChange, b: StagedChange): boolean => b.type === 'target' && a.scope === b.scope && a.path === b.path;
  for (const c of all) {
    if (waiting.some((w) => sameTarget(w, c))) {
      waiting.push(c);
      continue;
    }
    try {
      applyChange(repo, c, at);
    } catch (e) {
      if (c.type !== 'target' || !isTrustError(e, 'NO_SIGNING_KEY')) throw e;
      waiting.push(c);
    }
  }
  for (const c of waiting) applyChange(repo, c, at);
}

function applyChange(repo: EditableRepo, c: StagedChange, at: HintContext): void {
  const what = `change #${c.index} (${c.action} ${c.type} ${c.scope}${c.path ? ' ' + c.path : ''})`;
  try {
    if (c.scope === 'root') {
      if (c.type !== 'role') throw new TrustError('ROLE_NOT_FOUND', `type of root change not yet supported: ${c.type}`, { role: 'root' });
      const d = decodeRootData(c.data, what);
      repo.replaceBaseKeys(d.role, d.keys);
      return;
    }
    if (c.scope !== 'targets' && !c.scope.startsWith('targets/')) {
      throw new TrustError('ROLE_NOT_FOUND', `scope not supported: ${c.scope}`, { role: c.scope });
    }
    switch (c.type) {
      case 'target':
        if (c.action === 'create') repo.addTarget(c.scope, c.path, decodeTargetData(c.data, what));
        else if (c.action === 'delete') repo.removeTarget(c.scope, c.path);
        else throw new TrustError('METADATA_INVALID', `action not yet supported: ${c.action}`);
        return;
      case 'delegation': {
        if (c.action === 'delete') return repo.deleteDelegation(c.scope);
        const d = decodeDelegationData(c.data, what);
        if (c.action === 'update' && c.scope.endsWith('/*')) return repo.purgeDelegationKeys(c.scope, d.removeKeys ?? []);
        return repo.updateDelegation(c.scope, {
          addKeys: d.addKeys,
          removeKeyIds: c.action === 'update' ? d.removeKeys : undefined,
          addPaths: d.addPaths,
          removePaths: c.action === 'update' ? d.removePaths : undefined,
          clearPaths: c.action === 'update' ? d.clearPaths : undefined,
          newThreshold: c.action === 'create' ? d.threshold || undefined : undefined,
          setThreshold: c.action === 'update' ? d.threshold || undefined : undefined,
        });
      }
      case 'witness':
        return repo.witness(c.scope);
      default:
        throw new TrustError('METADATA_INVALID', 'only target meta and delegations changes supported');
    }
  } catch (e) {
    if (e instanceof TrustError) {
      throw new TrustError(e.code, `${e.message}`, { ...e.fields, hint: e.fields.hint ?? noKeyHint(repo, e, c, at) ?? unknownRoleHint(e, c, at) }, e);
    }
    throw e;
  }
}

/** A staged change for a role that does not exist blocks every publish until it is reset. */
function unknownRoleHint(e: TrustError, c: StagedChange, { gun, cmd }: HintContext): string | undefined {
  if (e.code !== 'ROLE_NOT_FOUND') return undefined;
  return `staged change #${c.index} (${c.action} ${c.type} ${c.scope}${c.path ? ' ' + c.path : ''}) cannot be published; drop it with: ${cmd} reset ${gun} -n ${c.index}`;
}

function noKeyHint(repo: EditableRepo, e: TrustError, c: StagedChange, { gun, cmd, heldFor }: HintContext): string | undefined {
  if (e.code !== 'NO_SIGNING_KEY') return undefined;
  const role = e.fields.role ?? c.scope;
  if (role === 'targets') return `this machine does not hold the targets key of ${gun}: import it (${cmd} key import <file> -r targets -g ${gun}) or publish from the machine that holds it`;
  const parent = parentOf(role);
  const imp = `${role} accepts only those keys; import one of them (${cmd} key import <key.pem> -r ${role})`;
  if (!repo.canSign(parent)) return `${imp}, or ask the holder of the ${parent} key to add yours to ${role}`;
  const file = `./${role.replace(/\//g, '-')}`;
  const held = heldFor(role)[0];
  if (held !== undefined) {
    return (
      `${imp}, or add the ${role} key held here (${held}) to the role (its public key is written to ${file}.pem): ` +
      `${cmd} key export --key ${held} --public -o ${file}.pem && ${cmd} delegation add ${gun} ${role} ${file}.pem --publish`
    );
  }
  // The key pair is written to the working directory under the role's name, then its private
  // half goes into the key store the command uses and its public half into the role.
  return (
    `${imp}, or add a key of your own to the role (the files ${file}-key.pem and ${file}.pem are written here): ` +
    `${cmd} key generate ecdsa -r ${role} -o ${file} && ${cmd} key import ${file}-key.pem && ` +
    `${cmd} delegation add ${gun} ${role} ${file}.pem --publish`
  );
}

/** Signers for every key of `role` held here; none at all is NO_SIGNING_KEY. */
async function signersFor(opts: PublishOptions, repo: EditableRepo, role: string): Promise<Signer[]> {
  const rk = repo.roleKeys(role)!;
  const signers: Signer[] = [];
  for (const [, key] of rk.keys) {
    const canonical = key.canonicalId;
    if (opts.keys.has(canonical)) signers.push(await opts.keys.signer(canonical, key, role));
  }
  if (signers.length === 0) repo.requireCanSign(role);
  return signers;
}

async function previousRootSigners(opts: PublishOptions, repo: EditableRepo, already: Signer[]): Promise<Signer[]> {
  const out: Signer[] = [];
  for (const id of repo.previousRootRole.keyids) {
    const key: PublicKey | undefined = repo.root.keys.get(id);
    if (!key || already.some((s) => s.publicKey.id === id)) continue;
    if (opts.keys.has(key.canonicalId)) out.push(await opts.keys.signer(key.canonicalId, key, 'root'));
  }
  return out;
}

/** Signers for root keys of earlier root versions (`key rotate -l`), fetched as N.root.json. */
async function legacyRootSigners(opts: PublishOptions, previous: number, already: Signer[]): Promise<Signer[]> {
  const n = opts.legacyRootVersions!;
  const first = n < 0 ? 1 : Math.max(1, previous - n);
  const out: Signer[] = [];
  for (let v = first; v < previous; v++) {
    const old = parseRoot(parseEnvelope(await opts.remote.getMeta(`${v}.root`, ROOT_MAX), 'root').signed);
    for (const id of old.roles.get('root')?.keyids ?? []) {
      const key = old.keys.get(id);
      if (!key || [...already, ...out].some((s) => s.publicKey.id === id)) continue;
      if (opts.keys.has(key.canonicalId)) out.push(await opts.keys.signer(key.canonicalId, key, 'root'));
    }
  }
  return out;
}

function distinctKeys(signers: readonly Signer[]): number {
  return new Set(signers.map((s) => s.publicKey.canonicalId)).size;
}

/** A role signed by fewer keys than its threshold cannot be published; keep it for co-signers. */
async function partial(opts: PublishOptions, role: string, bytes: Buffer, have: number, needed: number): Promise<TrustError> {
  const fields = { role, found: have, needed };
  if (!opts.savePartial) {
    return new TrustError('THRESHOLD_NOT_MET', `${role} needs ${needed} signatures and this machine holds ${have} of its keys`, fields);
  }
  const path = await opts.savePartial(role, bytes);
  return new TrustError('THRESHOLD_NOT_MET', `${role} needs ${needed} signatures and this machine holds ${have} of its keys; nothing was published`, {
    ...fields,
    hint: `the role, signed with ${have}, was saved to ${path}; give it to another signer of ${role}, who runs: dtrust delegation cosign ${opts.gun} ${role} <file> --publish; your changes stay staged here until then, and your next publish after it clears them`,
  });
}

function emptySnapshot(): Snapshot {
  return { _type: 'Snapshot', expires: expiresAfter(0, 0), version: 0, meta: new Map() };
}
