// The read path (formats.md §7, cli.md §7.7): refresh a GUN's trusted metadata from the server
// through the builder, with the cache as rollback floors and as a fallback when the server is
// unreachable. Only verified files are written back to the cache, atomically.

import { sha256 } from '../crypto/hash.js';
import { RemoteError } from '../remote/errors.js';
import type { NotaryRemote } from '../remote/notary.js';
import type { MetadataCache } from '../storage/cache.js';
import { DEFAULT_LIMITS, TrustedCollectionBuilder, type Limits } from '../tuf/builder.js';
import { signedVersion } from '../tuf/envelope.js';
import { TrustError, isTrustError } from '../tuf/errors.js';
import type { FileMeta } from '../tuf/metadata.js';
import type { TrustPinning } from '../tuf/rootcerts.js';

export interface UpdateOptions {
  gun: string;
  now: number;
  cache: MetadataCache;
  /** null when the server could not be reached: read from the verified cache only. */
  remote: NotaryRemote | null;
  offlineCause?: Error;
  pinning?: TrustPinning;
  limits?: Partial<Limits>;
  warn: (msg: string) => void;
  /** Parallel delegation downloads. */
  concurrency?: number;
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
  readonly fromCache = new Set<string>();
  constructor(readonly opts: UpdateOptions) {}

  cached(role: string, max: number): Promise<Buffer | undefined> {
    let p = this.reads.get(role);
    if (!p) {
      p = this.opts.cache.read(role, MAX_CACHED);
      this.reads.set(role, p);
    }
    return p.then((b) => (b && b.length <= max ? b : undefined));
  }
}

const MAX_CACHED = 100 * 1024 * 1024;

export async function update(opts: UpdateOptions): Promise<Updated> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  if (!opts.remote) return { builder: await fromCacheOnly(opts, limits), offline: true };
  const remote = opts.remote;
  let run = new Run(opts);
  const cachedRoot = await run.cached('root', limits.rootMax);
  let trustedRoot = cachedRoot;
  let fetchedRoot = false;
  if (!trustedRoot) {
    trustedRoot = await fetchOrNotFound(remote, 'root', limits.rootMax, opts.gun);
    fetchedRoot = true;
  }
  try {
    const b = await attempt(run, limits, trustedRoot, fetchedRoot ? 'remote' : 'cache', undefined);
    await persist(run, b, fetchedRoot);
    return { builder: b, offline: false };
  } catch (e) {
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
  b.loadRoot(root, 'cache');
  b.checkRootFresh();
  b.updateTimestamp(await opts.remote.getMeta('timestamp', limits.timestampMax));
  b.updateSnapshot(await cachedOrFetch(run, b, 'snapshot', b.expectedSnapshot()));
  const files = new Map<string, Uint8Array>([['snapshot', b.snapshot!.bytes], ['timestamp', b.timestamp!.bytes]]);
  for (const role of run.fromCache) files.delete(role);
  if (files.size > 0) await opts.cache.writeMany(files);
}

async function attempt(
  run: Run,
  limits: Limits,
  rootBytes: Buffer,
  source: 'cache' | 'remote',
  newRoot: Buffer | undefined,
): Promise<TrustedCollectionBuilder> {
  const opts = run.opts;
  const remote = opts.remote!;
  const b = await newBuilder(run, limits);
  b.loadRoot(rootBytes, source);
  if (newRoot && !newRoot.equals(rootBytes)) await rotateRoot(b, remote, newRoot, limits);
  b.checkRootFresh();

  let tsBytes: Buffer;
  try {
    tsBytes = await remote.getMeta('timestamp', limits.timestampMax);
  } catch (e) {
    // As notary: only "not there", server faults and network trouble fall back to the cache; an
    // oversized, truncated or rejected answer is an error (SEC-V10, formats.md §7.2).
    const cached = e instanceof RemoteError && TIMESTAMP_FALLBACK.has(e.code) ? await run.cached('timestamp', limits.timestampMax) : undefined;
    if (!cached) throw e;
    opts.warn('Error while downloading remote metadata, using cached timestamp - this might not be the latest version available remotely');
    tsBytes = cached;
  }
  b.updateTimestamp(tsBytes);
  b.updateSnapshot(await cachedOrFetch(run, b, 'snapshot', b.expectedSnapshot()));
  b.updateTargets(await cachedOrFetch(run, b, 'targets', b.expectedMeta('targets')!));
  await loadDelegations(run, b);
  return b;
}

async function newBuilder(run: Run, limits: Limits): Promise<TrustedCollectionBuilder> {
  const opts = run.opts;
  const floors = new Map<string, number>();
  const cachedTs = await run.cached('timestamp', limits.timestampMax);
  for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
    const bytes = role === 'timestamp' ? cachedTs : await run.cached(role, MAX_CACHED);
    if (bytes) floors.set(role, signedVersion(bytes, role));
  }
  const cachedRoot = await run.cached('root', limits.rootMax);
  if (cachedRoot) floors.set('root', signedVersion(cachedRoot, 'root'));
  return new TrustedCollectionBuilder({
    gun: opts.gun,
    now: opts.now,
    floors,
    cachedTimestamp: cachedTs,
    pinning: opts.pinning,
    limits,
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
  const cached = await run.cached(role, MAX_CACHED);
  const want = expected.hashes.get('sha256');
  if (cached && cached.length <= expected.length && want && sha256(cached).equals(want)) {
    run.fromCache.add(role);
    return cached;
  }
  if (cached && !BASE.has(role)) b.setFloor(role, signedVersion(cached, role));
  if (!want) throw new TrustError('MISSING_HASH', `${role}: no sha256 hash to fetch it by`, { role });
  return run.opts.remote!.getMeta(`${role}.${want.toString('hex')}`, expected.length);
}

/**
 * Every delegation the snapshot names is fetched in parallel (bounded), then verified
 * parents first in notary's order; a role only counts when its parent delegates to it.
 */
async function loadDelegations(run: Run, b: TrustedCollectionBuilder): Promise<void> {
  const opts = run.opts;
  const snap = b.snapshot!.meta;
  const roles = [...snap.meta.keys()].filter((r) => !BASE.has(r) && r.startsWith('targets/'));
  const files = new Map<string, Promise<Buffer>>();
  const limit = opts.concurrency ?? 64;
  let running = 0;
  const waiters: (() => void)[] = [];
  const slot = async (): Promise<void> => {
    if (running < limit) {
      running++;
      return;
    }
    await new Promise<void>((r) => waiters.push(r));
    running++;
  };
  const release = (): void => {
    running--;
    waiters.shift()?.();
  };
  for (const role of roles) {
    const p = (async () => {
      await slot();
      try {
        return await cachedOrFetch(run, b, role, snap.meta.get(role)!);
      } finally {
        release();
      }
    })();
    p.catch(() => undefined); // awaited below; avoid unhandled rejections for roles never reached
    files.set(role, p);
  }
  const queue = ['targets'];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const child of b.childrenOf(parent)) {
      const p = files.get(child.name);
      if (!p) continue;
      if (b.updateDelegation(child.name, await p)) queue.push(child.name);
    }
  }
  for (const w of b.warnings.splice(0)) opts.warn(w);
}

/** Offline: the verified cache only, and only when a timestamp was cached (as notary). */
async function fromCacheOnly(opts: UpdateOptions, limits: Limits): Promise<TrustedCollectionBuilder> {
  const offline = opts.offlineCause ?? new RemoteError('OFFLINE', 'client is offline', { url: '' });
  const root = await opts.cache.read('root', limits.rootMax);
  const ts = await opts.cache.read('timestamp', limits.timestampMax);
  if (!root || !ts) throw offline;
  opts.warn('Error while downloading remote metadata, using cached timestamp - this might not be the latest version available remotely');
  const b = new TrustedCollectionBuilder({ gun: opts.gun, now: opts.now, limits });
  b.loadRoot(root, 'cache');
  b.checkRootFresh();
  b.updateTimestamp(ts);
  const need = async (role: string, meta: FileMeta | undefined): Promise<Buffer> => {
    const bytes = meta ? await opts.cache.read(role, meta.length) : undefined;
    if (!bytes) throw offline;
    return bytes;
  };
  b.updateSnapshot(await need('snapshot', b.expectedSnapshot()));
  b.updateTargets(await need('targets', b.expectedMeta('targets')));
  const queue = ['targets'];
  while (queue.length > 0) {
    for (const child of b.childrenOf(queue.shift()!)) {
      const meta = b.expectedMeta(child.name);
      const bytes = meta ? await opts.cache.read(child.name, meta.length) : undefined;
      if (bytes && b.updateDelegation(child.name, bytes)) queue.push(child.name);
    }
  }
  for (const w of b.warnings.splice(0)) opts.warn(w);
  return b;
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
  if (b.targets) files.set('targets', b.targets.bytes);
  for (const [role, f] of b.delegations) files.set(role, f.bytes);
  for (const role of run.fromCache) files.delete(role);
  const ts = files.get('timestamp');
  const cachedTs = await run.cached('timestamp', Infinity);
  if (ts && cachedTs && Buffer.from(ts).equals(cachedTs)) files.delete('timestamp');
  if (files.size > 0) await run.opts.cache.writeMany(files);
}
