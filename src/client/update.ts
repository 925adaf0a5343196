// The read path (formats.md §7, cli.md §7.7): refresh a GUN's trusted metadata from the server
// through the builder, with the cache as rollback floors and as a fallback when the server is
// unreachable. Only verified files are written back to the cache, atomically.
//
// Downloads overlap, verification does not: the first files go out with the server's ping still
// under way, and targets goes out with every delegation the snapshot names; the builder then takes
// them in notary's order, and each must match the hashes and length its parent pinned.

import { sha256 } from '../crypto/hash.js';
import { RemoteError } from '../remote/errors.js';
import type { NotaryRemote } from '../remote/notary.js';
import type { MetadataCache } from '../storage/cache.js';
import { StorageError, isUnwritable } from '../storage/errors.js';
import { TrustedCollectionBuilder } from '../tuf/builder.js';
import { signedVersion } from '../tuf/envelope.js';
import { TrustError, isTrustError } from '../tuf/errors.js';
import { CACHED_MAX, DEFAULT_LIMITS, MiB, type Limits } from '../tuf/limits.js';
import type { FileMeta } from '../tuf/metadata.js';
import type { RootPin, TrustPinning } from '../tuf/rootcerts.js';
import { rootPin } from './pinning.js';
import { ClientError } from './errors.js';
import { shellQuote } from '../shellwords.js';

export interface UpdateOptions {
  gun: string;
  now: number;
  cache: MetadataCache;
  /** null when the server could not be reached: read from the verified cache only. */
  remote: NotaryRemote | null;
  offlineCause?: Error;
  /**
   * When the remote's ping says the server cannot be reached (OFFLINE or TIMEOUT): called with
   * that error, returns the error for a read the cache cannot serve, and the read goes on from the
   * cache. Without it, the ping's error is thrown.
   */
  unreachable?: (e: RemoteError) => Error;
  pinning?: TrustPinning;
  limits?: Partial<Limits>;
  warn: (msg: string) => void;
  /** Downloads in flight at once (default: what the remote runs at once). */
  concurrency?: number;
  /** The caller asked for the cache alone (`expiry --offline`): no warning that the server was not used. */
  offlineByChoice?: boolean;
  /** Roles whose expiry is tolerated (BuilderOptions.allowExpired): `renew` and `expiry` only. */
  allowExpired?: ReadonlySet<string> | 'all';
}

export interface Updated {
  builder: TrustedCollectionBuilder;
  /** True when the data came from the cache because the server was unreachable. */
  offline: boolean;
}

const BASE = new Set(['root', 'targets', 'snapshot', 'timestamp']);
/** Failures to fetch the timestamp after which the cached timestamp is used. */
const TIMESTAMP_FALLBACK = new Set(['OFFLINE', 'NOT_FOUND', 'SERVER_ERROR', 'TIMEOUT']);

/** One refresh: cache reads are memoised, and roles served from the cache are not rewritten. */
class Run {
  private readonly reads = new Map<string, Promise<Buffer | undefined>>();
  /** Cached files that do not parse as metadata: no floor, not used, fetched again and replaced. */
  private readonly damaged = new Set<string>();
  readonly fromCache = new Set<string>();
  /** The pin a first root from the server is checked against. */
  pin: RootPin | undefined;
  constructor(readonly opts: UpdateOptions) {}

  cached(role: string, max: number): Promise<Buffer | undefined> {
    let p = this.reads.get(role);
    if (!p) {
      p = this.opts.cache.read(role, CACHED_MAX);
      this.reads.set(role, p);
    }
    return p.then((b) => (b && b.length <= max && !this.damaged.has(role) ? b : undefined));
  }

  /**
   * The rollback floor a cached file gives: the version it names. A file that names none (empty,
   * truncated, garbage) gives no floor and is treated as absent, with a warning; the floors of
   * the other files still bound it (docs/commands/list.md, "The cache"). A damaged root is an
   * error: the trust anchor is never replaced behind the user's back.
   */
  async floor(role: string, max = CACHED_MAX): Promise<number | undefined> {
    const bytes = await this.cached(role, max);
    if (!bytes) return undefined;
    try {
      return signedVersion(bytes, role);
    } catch (e) {
      if (!isTrustError(e)) throw e;
      if (role === 'root') throw damagedRoot(this.opts, e);
      this.damaged.add(role);
      this.opts.warn(`the cached ${this.opts.cache.path(role)} is damaged (${e.message}); fetching it again`);
      return undefined;
    }
  }
}

/**
 * Cap of `snapshot.json` fetched before its length is known (no cached snapshot): beyond it the
 * snapshot is fetched again by checksum, with the signed length as cap.
 */
const EARLY_SNAPSHOT_MAX = 16 * MiB;

/** Downloads started before the ping's verdict and before the root is trusted. */
interface Early {
  timestamp: Promise<Buffer>;
  /** The current snapshot by name, used only when it matches what the timestamp pins. */
  snapshot?: Promise<Buffer>;
}

export async function update(opts: UpdateOptions): Promise<Updated> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  if (!opts.remote) return { builder: await fromCacheOnly(opts, limits), offline: true };
  const remote = opts.remote;
  let run = new Run(opts);
  const cachedRoot = await run.cached('root', limits.rootMax);
  const rootFetch = cachedRoot ? undefined : background(fetchOrNotFound(remote, 'root', limits.rootMax, opts.gun));
  const early: Early = { timestamp: background(remote.getMeta('timestamp', limits.timestampMax)) };
  if (!(await run.cached('snapshot', CACHED_MAX))) early.snapshot = background(remote.getMeta('snapshot', EARLY_SNAPSHOT_MAX));
  try {
    await remote.reachable();
  } catch (e) {
    if (!(opts.unreachable && e instanceof RemoteError && (e.code === 'OFFLINE' || e.code === 'TIMEOUT'))) throw e;
    const offlineCause = opts.unreachable(e);
    return { builder: await fromCacheOnly({ ...opts, offlineCause }, limits), offline: true };
  }
  const trustedRoot = cachedRoot ?? (await rootFetch!);
  const fetchedRoot = !cachedRoot;
  if (fetchedRoot) run.pin = await rootPin(opts.gun, opts.pinning);
  try {
    const b = await attempt(run, limits, trustedRoot, fetchedRoot ? 'remote' : 'cache', undefined, early);
    await persist(run, b, fetchedRoot);
    return { builder: b, offline: false };
  } catch (e) {
    if (cachedRoot && e instanceof RemoteError && e.code === 'NOT_FOUND' && !(await opts.cache.read('timestamp', CACHED_MAX))) {
      throw new ClientError('NOT_PUBLISHED', `${opts.gun} is initialized here but not yet published to ${remote.host}`, {
        hint: `publish it (with any staged changes) with: dtrust publish ${shellQuote(opts.gun)}`,
      }, e);
    }
    if (!isTrustError(e) || fetchedRoot) throw e;
    // Any verification failure: fetch the newest root, rotate trust through the chain, retry once.
    const newRoot = await remote.getMeta('root', limits.rootMax);
    run = new Run(opts);
    const b = await attempt(run, limits, trustedRoot, 'cache', newRoot);
    await persist(run, b, true);
    return { builder: b, offline: false };
  }
}

/**
 * After a publish: the server's new timestamp and snapshot, verified against the cached root,
 * go into the cache so that reads work offline at once. Targets and delegations are the files
 * just uploaded (already cached); the next read verifies them as always.
 */
export async function refreshTimestamp(opts: UpdateOptions): Promise<void> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const run = new Run(opts);
  const root = await run.cached('root', limits.rootMax);
  if (!root || !opts.remote) return;
  const b = await newBuilder(run, limits);
  fromCache(opts, 'root', () => b.loadRoot(root, 'cache'));
  b.updateTimestamp(await opts.remote.getMeta('timestamp', limits.timestampMax));
  b.updateSnapshot(await cachedOrFetch(run, b, 'snapshot', b.expectedSnapshot()));
  const files = new Map<string, Uint8Array>([['snapshot', b.snapshot!.bytes], ['timestamp', b.timestamp!.bytes]]);
  for (const role of run.fromCache) files.delete(role);
  await writeCache(opts, files);
}

/** A download whose failure is reported where it is awaited, or never when it is not needed. */
function background<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

async function attempt(
  run: Run,
  limits: Limits,
  rootBytes: Buffer,
  source: 'cache' | 'remote',
  newRoot: Buffer | undefined,
  early?: Early,
): Promise<TrustedCollectionBuilder> {
  const opts = run.opts;
  const remote = opts.remote!;
  const b = await newBuilder(run, limits);
  if (source === 'cache') fromCache(opts, 'root', () => b.loadRoot(rootBytes, source));
  else b.loadRoot(rootBytes, source);
  if (newRoot && !newRoot.equals(rootBytes)) await rotateRoot(b, remote, newRoot, limits);
  // Here, not in updateTimestamp: an expired root must fail this attempt (update() then fetches a
  // newer root) before the timestamp is awaited, even when it cannot be had, and without the
  // cached-timestamp warning.
  b.finishRoot();

  try {
    b.updateTimestamp(await (early?.timestamp ?? remote.getMeta('timestamp', limits.timestampMax)));
  } catch (e) {
    // As notary: only "not there", server faults and network trouble fall back to the cache; an
    // oversized, truncated or rejected answer is an error (SEC-V10, formats.md §7.2).
    const cached = e instanceof RemoteError && TIMESTAMP_FALLBACK.has(e.code) ? await run.cached('timestamp', limits.timestampMax) : undefined;
    if (!cached) throw e;
    opts.warn('Error while downloading remote metadata, using cached timestamp - this might not be the latest version available remotely');
    fromCache(opts, 'timestamp', () => b.updateTimestamp(cached));
  }
  const expected = b.expectedSnapshot();
  const guess = early?.snapshot ? await early.snapshot.catch(() => undefined) : undefined;
  b.updateSnapshot(guess && matches(guess, expected) ? guess : await cachedOrFetch(run, b, 'snapshot', expected));
  const files = new Downloads(run, b);
  try {
    b.updateTargets(await files.get('targets')!);
    await loadDelegations(run, b, files);
  } finally {
    files.stop();
  }
  return b;
}

/** Length and sha256 as pinned: a file fetched by name is the pinned one (the builder checks every hash). */
function matches(bytes: Buffer, expected: FileMeta): boolean {
  const want = expected.hashes.get('sha256');
  return bytes.length === expected.length && want !== undefined && sha256(bytes).equals(want);
}

async function newBuilder(run: Run, limits: Limits): Promise<TrustedCollectionBuilder> {
  const opts = run.opts;
  const floors = new Map<string, number>();
  for (const [role, max] of [['root', limits.rootMax], ['timestamp', limits.timestampMax], ['snapshot', CACHED_MAX], ['targets', CACHED_MAX]] as const) {
    const v = await run.floor(role, max);
    if (v !== undefined) floors.set(role, v);
  }
  return new TrustedCollectionBuilder({
    gun: opts.gun,
    now: opts.now,
    floors,
    cachedTimestamp: await run.cached('timestamp', limits.timestampMax),
    pin: run.pin,
    limits,
    allowExpired: opts.allowExpired,
  });
}

/** Root rotation: the new root directly, or through N.root.json for every version in between. */
async function rotateRoot(b: TrustedCollectionBuilder, remote: NotaryRemote, newRoot: Buffer, limits: Limits): Promise<void> {
  try {
    b.updateRoot(newRoot);
    return;
  } catch (e) {
    if (!isTrustError(e, 'ROOT_CHAIN_BROKEN')) throw e;
  }
  const from = b.root!.meta.version;
  const target = signedVersion(newRoot, 'root'); // only a hint until the chain verifies
  if (target - from > limits.maxRootWalk) {
    throw new TrustError('ROOT_CHAIN_BROKEN', `root: refusing to walk ${target - from} root versions (limit ${limits.maxRootWalk})`, { role: 'root' });
  }
  for (let v = from + 1; v < target; v++) {
    b.updateRoot(await remote.getMeta(`${v}.root`, limits.rootMax), { expectedVersion: v, intermediate: true });
  }
  b.updateRoot(newRoot, { expectedVersion: target });
}

async function cachedOrFetch(run: Run, b: TrustedCollectionBuilder, role: string, expected: FileMeta): Promise<Buffer> {
  // Read whatever size is cached: a cached delegation larger than the new entry is still the floor.
  const cached = await run.cached(role, CACHED_MAX);
  const want = expected.hashes.get('sha256');
  if (cached && cached.length <= expected.length && want && sha256(cached).equals(want)) {
    run.fromCache.add(role);
    return cached;
  }
  if (cached && !BASE.has(role)) {
    const floor = await run.floor(role);
    if (floor !== undefined) b.setFloor(role, floor);
  }
  if (!want) throw new TrustError('MISSING_HASH', `${role}: no sha256 hash to fetch it by`, { role });
  return run.opts.remote!.getMeta(`${role}.${want.toString('hex')}`, expected.length);
}

/**
 * Targets and every delegation the trusted snapshot names, each from the cache when it holds the
 * pinned file, else fetched; all at once, at most `concurrency` at a time, targets first.
 */
class Downloads {
  private readonly files = new Map<string, Promise<Buffer>>();
  private readonly limit: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly run: Run,
    private readonly b: TrustedCollectionBuilder,
  ) {
    this.limit = run.opts.concurrency ?? run.opts.remote!.parallelism;
    const pinned = b.snapshot!.meta.meta;
    const roles = [...pinned.keys()].filter((r) => r.startsWith('targets/'));
    for (const role of ['targets', ...roles]) this.files.set(role, background(this.download(role, pinned.get(role)!)));
  }

  get(role: string): Promise<Buffer> | undefined {
    return this.files.get(role);
  }

  /** Downloads not yet started are dropped (the attempt failed). */
  stop(): void {
    this.stopped = true;
    for (const w of this.waiting.splice(0)) w();
  }

  private async download(role: string, meta: FileMeta): Promise<Buffer> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    if (this.stopped) throw new Error(`${role}: not fetched`);
    this.running++;
    try {
      return await cachedOrFetch(this.run, this.b, role, meta);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

/** Delegations verified parents first in notary's order; a role only counts when its parent delegates to it. */
async function loadDelegations(run: Run, b: TrustedCollectionBuilder, files: Downloads): Promise<void> {
  for (const role of b.delegationsToLoad()) {
    const p = files.get(role);
    if (p) b.updateDelegation(role, await p);
  }
  for (const w of b.warnings.splice(0)) run.opts.warn(w);
}

/** How often an offline read starts over when another process replaced cached files under it. */
const CACHE_READ_ATTEMPTS = 5;

/**
 * Offline: the verified cache only, and only when a timestamp was cached (as notary). Another
 * dtrust may be updating this cache at the same moment: each file is replaced atomically, but a
 * read that spans the update can pair a new snapshot with an old targets file, and while the
 * update is between its first and last rename the files on disk do not match each other (CC-03).
 * A failure is therefore final only when the files read are still the files on disk and no other
 * process is replacing them; otherwise the read starts over (after that process finished).
 */
async function fromCacheOnly(opts: UpdateOptions, limits: Limits): Promise<TrustedCollectionBuilder> {
  const offline = opts.offlineCause ?? new RemoteError('OFFLINE', 'client is offline', { url: '' });
  if (!(await opts.cache.read('root', limits.rootMax)) || !(await opts.cache.read('timestamp', limits.timestampMax))) throw offline;
  if (!opts.offlineByChoice) opts.warn('Error while downloading remote metadata, using cached timestamp - this might not be the latest version available remotely');
  for (let attempt = 1; ; attempt++) {
    const read = new Map<string, { max: number; bytes: Buffer | undefined }>();
    const cached = async (role: string, max: number): Promise<Buffer | undefined> => {
      const bytes = await opts.cache.read(role, max);
      read.set(role, { max, bytes });
      return bytes;
    };
    try {
      return await loadCached(opts, limits, offline, cached);
    } catch (e) {
      if (attempt >= CACHE_READ_ATTEMPTS) throw e;
      if (!(await changedOnDisk(opts, read)) && !(await opts.cache.waitForCommits())) throw e;
    }
  }
}

async function loadCached(
  opts: UpdateOptions,
  limits: Limits,
  offline: Error,
  cached: (role: string, max: number) => Promise<Buffer | undefined>,
): Promise<TrustedCollectionBuilder> {
  const root = await cached('root', limits.rootMax);
  const ts = await cached('timestamp', limits.timestampMax);
  if (!root || !ts) throw offline;
  const b = new TrustedCollectionBuilder({ gun: opts.gun, now: opts.now, limits, allowExpired: opts.allowExpired });
  fromCache(opts, 'root', () => b.loadRoot(root, 'cache'));
  fromCache(opts, 'timestamp', () => b.updateTimestamp(ts));
  const need = async (role: string, meta: FileMeta | undefined): Promise<Buffer> => {
    const bytes = meta ? await cached(role, meta.length) : undefined;
    if (!bytes) throw offline;
    return bytes;
  };
  const snapshot = await need('snapshot', b.expectedSnapshot());
  fromCache(opts, 'snapshot', () => b.updateSnapshot(snapshot));
  const targets = await need('targets', b.expectedMeta('targets'));
  fromCache(opts, 'targets', () => b.updateTargets(targets));
  for (const role of b.delegationsToLoad()) {
    const meta = b.expectedMeta(role);
    const bytes = meta ? await cached(role, meta.length) : undefined;
    if (bytes) fromCache(opts, role, () => b.updateDelegation(role, bytes));
  }
  for (const w of b.warnings.splice(0)) opts.warn(w);
  return b;
}

/** Whether any file read is no longer what is on disk (another process replaced it). */
async function changedOnDisk(opts: UpdateOptions, read: ReadonlyMap<string, { max: number; bytes: Buffer | undefined }>): Promise<boolean> {
  for (const [role, { max, bytes }] of read) {
    const now = await opts.cache.read(role, max);
    if (bytes === undefined ? now !== undefined : now === undefined || !now.equals(bytes)) return true;
  }
  return false;
}

/**
 * Runs `load` on a cached file. A file the engine cannot use for a reason other than its age is
 * reported with its path: a damaged root as the trust anchor it is, any other file as one the
 * server's copy will replace.
 */
function fromCache<T>(opts: UpdateOptions, role: string, load: () => T): T {
  try {
    return load();
  } catch (e) {
    if (!isTrustError(e) || e.code === 'EXPIRED') throw e;
    if (role === 'root') throw damagedRoot(opts, e);
    const path = opts.cache.path(role);
    const hint = 'run the command again with the server reachable: dtrust then fetches a fresh copy, verifies it and replaces this file';
    throw new StorageError('CORRUPT', `the cached ${path} cannot be used: ${e.message}`, { path, gun: opts.gun, role, hint }, e);
  }
}

/** The cached root is the trust anchor: dtrust never replaces it with a new trust on first use. */
function damagedRoot(opts: UpdateOptions, e: TrustError): StorageError {
  const path = opts.cache.path('root');
  const hint = `it is what dtrust trusts for ${opts.gun}: restore it from a backup, or remove it to trust the root the server sends on the next run (check its root key ID out of band)`;
  return new StorageError('CORRUPT', `the cached root of ${opts.gun} in ${path} is damaged: ${e.message}`, { path, gun: opts.gun, role: 'root', hint }, e);
}

/**
 * Writes verified files to the cache. A trust directory that cannot take them (read-only, full,
 * not writable) does not fail the read: one warning, and the next run fetches them again. No
 * file is put in place before all of them are written and flushed (MetadataCache.stage), so a
 * trust directory that is full or read-only keeps the cache it had.
 */
async function writeCache(opts: UpdateOptions, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
  if (files.size === 0) return;
  try {
    await opts.cache.writeMany(files);
  } catch (e) {
    if (!isUnwritable(e)) throw e;
    opts.warn(`the cache of ${opts.gun} could not be updated (${e.message}); the data was verified, and the next run fetches it again`);
  }
}

async function fetchOrNotFound(remote: NotaryRemote, name: string, max: number, gun: string): Promise<Buffer> {
  try {
    return await remote.getMeta(name, max);
  } catch (e) {
    if (e instanceof RemoteError && e.code === 'NOT_FOUND') {
      throw new RemoteError('NOT_FOUND', `${remote.host} does not have trust data for ${gun}`, {
        url: e.url,
        hint: `check the repository name, or create it with: dtrust init ${gun}`,
      });
    }
    throw e;
  }
}

/** Writes every file the builder trusts and the cache does not already hold. */
async function persist(run: Run, b: TrustedCollectionBuilder, rootChanged: boolean): Promise<void> {
  const files = new Map<string, Uint8Array>();
  if (rootChanged && b.root) files.set('root', b.root.bytes);
  if (b.timestamp) files.set('timestamp', b.timestamp.bytes);
  if (b.snapshot) files.set('snapshot', b.snapshot.bytes);
  for (const [role, f] of b.targetsRoles) files.set(role, f.bytes);
  for (const role of run.fromCache) files.delete(role);
  const ts = files.get('timestamp');
  const cachedTs = await run.cached('timestamp', Infinity);
  if (ts && cachedTs && Buffer.from(ts).equals(cachedTs)) files.delete('timestamp');
  await writeCache(run.opts, files);
}
