// The read path's overlapped downloads (client/update.ts) against the simulator: what goes out
// with the ping, snapshot.json by name only when it is the pinned one, targets and every
// delegation at once and bounded, and that nothing unverified is trusted or cached.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { update, type UpdateOptions } from '../../src/client/update.js';
import { hostTag, markWriting } from '../../src/fs/atomic.js';
import { isRemoteError, type RemoteError } from '../../src/remote/errors.js';
import { NotaryRemote } from '../../src/remote/notary.js';
import { MetadataCache } from '../../src/storage/cache.js';
import { StorageError } from '../../src/storage/errors.js';
import type { TrustedCollectionBuilder } from '../../src/tuf/builder.js';
import { isTrustError } from '../../src/tuf/errors.js';
import { expiresAfter } from '../../src/tuf/expires.js';
import { makeTempDir } from '../rig/tmp.js';
import { MemRepo, ecdsaKey } from '../support/memrepo.js';
import { Simulator, type SimRequest } from '../support/simulator.js';

const T = { timeout: 30_000 };
const later = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};
/** The trusted delegations: every trusted targets role but targets itself. */
const delegations = (b: TrustedCollectionBuilder): string[] => [...b.targetsRoles.keys()].filter((r) => r !== 'targets');

let sim: Simulator;
before(async () => {
  sim = await Simulator.start();
});
after(() => sim.close());

let counter = 0;

/** A repository with `n` delegations targets/d1 … (paths d<i>/), one target each. */
async function newRepo(n: number): Promise<MemRepo> {
  const repo = await MemRepo.create(`example.com/update/r${++counter}`, Date.now());
  repo.addTarget('top', 'top');
  for (let i = 1; i <= n; i++) {
    repo.delegate('targets', `targets/d${i}`, [ecdsaKey()], [`d${i}/`]);
    repo.addTarget(`d${i}/file`, `content ${i}`, `targets/d${i}`);
  }
  await repo.sign();
  sim.add(repo);
  return repo;
}

async function newCache(gun: string): Promise<MetadataCache> {
  return new MetadataCache(await makeTempDir('dtrust-update-'), gun);
}

interface Read {
  opts: UpdateOptions;
  warnings: string[];
}

async function read(repo: MemRepo, cache: MetadataCache, extra: Partial<UpdateOptions> = {}): Promise<Read & { result: Awaited<ReturnType<typeof update>> }> {
  const remote = await NotaryRemote.open({ baseUrl: sim.url, gun: repo.gun, env: {}, scope: 'pull', retry: { attempts: 1 } });
  const warnings: string[] = [];
  const opts: UpdateOptions = { gun: repo.gun, now: Date.now(), cache, remote, warn: (w) => warnings.push(w), ...extra };
  try {
    return { opts, warnings, result: await update(opts) };
  } finally {
    remote.close();
  }
}

async function readFails(repo: MemRepo, cache: MetadataCache, extra: Partial<UpdateOptions> = {}): Promise<unknown> {
  return read(repo, cache, extra).then(
    () => assert.fail('expected the read to fail'),
    (e: unknown) => e,
  );
}

/** Files in the cache (relative paths), sorted. */
async function cached(cache: MetadataCache): Promise<string[]> {
  try {
    return (await readdir(cache.metadataDir, { recursive: true })).filter((f) => f.endsWith('.json')).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

function gunRequests(repo: MemRepo): SimRequest[] {
  return sim.requests.filter((r) => r.gun === repo.gun || r.kind === 'ping');
}

function flip(b: Buffer): Buffer {
  const c = Buffer.from(b);
  const i = c.indexOf('"version"');
  c[i + 1] = c[i + 1] === 0x76 ? 0x56 : 0x76; // same length, other bytes
  return c;
}

describe('update: overlapped downloads', () => {
  test('cold: root, timestamp and snapshot.json go out with the ping; targets with every delegation', T, async () => {
    const repo = await newRepo(5);
    const cache = await newCache(repo.gun);
    sim.resetCounts();
    const arrived = new Map<string, number>();
    sim.hook = async (req, res) => {
      arrived.set(req.file ?? req.kind, performance.now());
      if (req.kind === 'ping') return { ...res, delayMs: 300 };
      if (req.role === 'targets' && req.kind === 'checksum') return { ...res, delayMs: 200 };
      return undefined;
    };
    try {
      const { result } = await read(repo, cache);
      assert.equal(result.offline, false);
      assert.deepEqual(delegations(result.builder).sort(), ['targets/d1', 'targets/d2', 'targets/d3', 'targets/d4', 'targets/d5']);
    } finally {
      sim.hook = undefined;
    }
    const ping = arrived.get('ping')!;
    for (const f of ['root.json', 'timestamp.json', 'snapshot.json']) {
      assert.ok(arrived.get(f)! < ping + 300, `${f} waited for the ping's answer`);
    }
    const targets = [...arrived].find(([k]) => k.startsWith('targets.'))![1];
    for (const [k, at] of arrived) if (k.startsWith('targets/')) assert.ok(at < targets + 200, `${k} waited for targets`);
    // Each file once; the snapshot by name was the pinned one, so never fetched by checksum.
    const kinds = gunRequests(repo).map((r) => `${r.kind} ${r.role ?? ''}`.trim()).sort();
    assert.deepEqual(kinds, [
      'checksum targets',
      ...[1, 2, 3, 4, 5].map((i) => `checksum targets/d${i}`),
      'current root',
      'current snapshot',
      'current timestamp',
      'ping',
    ]);
    assert.deepEqual(await cached(cache), ['root.json', 'snapshot.json', 'targets.json', ...[1, 2, 3, 4, 5].map((i) => `targets/d${i}.json`), 'timestamp.json']);
    for (const role of ['root', 'timestamp', 'snapshot', 'targets', 'targets/d3']) {
      assert.deepEqual(await cache.read(role, 1 << 20), repo.files.get(role), role);
    }
  });

  test('warm: only the timestamp goes out with the ping, no snapshot by name', T, async () => {
    const repo = await newRepo(2);
    const cache = await newCache(repo.gun);
    await read(repo, cache);
    sim.resetCounts();
    await read(repo, cache);
    assert.deepEqual(gunRequests(repo).map((r) => `${r.kind} ${r.file ?? ''}`.trim()).sort(), ['current timestamp.json', 'ping']);
  });

  test('a snapshot.json other than the pinned one is not used: the pinned one is fetched by checksum', T, async () => {
    for (const bad of ['tampered', 'endless'] as const) {
      const repo = await newRepo(2);
      const cache = await newCache(repo.gun);
      sim.resetCounts();
      sim.hook = (req, res) => {
        if (req.kind !== 'current' || req.role !== 'snapshot') return undefined;
        return bad === 'tampered' ? { ...res, body: flip(res.body) } : { ...res, endless: true };
      };
      try {
        const { result } = await read(repo, cache);
        assert.equal(delegations(result.builder).length, 2, bad);
      } finally {
        sim.hook = undefined;
      }
      assert.equal(sim.countMatching(/\/snapshot\.[0-9a-f]{64}\.json$/), 1, bad);
      assert.deepEqual(await cache.read('snapshot', 1 << 20), repo.files.get('snapshot'), bad);
    }
  });

  test('cold: a delegation whose bytes do not match the snapshot is refused and nothing is cached', T, async () => {
    const repo = await newRepo(4);
    const cache = await newCache(repo.gun);
    sim.hook = (req, res) => (req.kind === 'checksum' && req.role === 'targets/d3' ? { ...res, body: flip(res.body) } : undefined);
    try {
      const e = await readFails(repo, cache);
      assert.ok(isTrustError(e, 'HASH_MISMATCH'), String(e));
      assert.match((e as Error).message, /targets\/d3/);
    } finally {
      sim.hook = undefined;
    }
    assert.deepEqual(await cached(cache), []);
  });

  test('warm: a delegation that does not match is refused and the cache keeps what it had', T, async () => {
    const repo = await newRepo(3);
    const cache = await newCache(repo.gun);
    await read(repo, cache);
    const before = await Promise.all((await cached(cache)).map(async (f) => [f, await cache.read(f.replace(/\.json$/, ''), 1 << 20)] as const));
    repo.addTarget('d2/new', 'new', 'targets/d2');
    repo.delegations.get('targets/d2')!.meta.version++;
    repo.snapshot.version++;
    repo.timestamp.version++;
    await repo.sign();
    sim.hook = (req, res) => (req.kind === 'checksum' && req.role === 'targets/d2' ? { ...res, body: flip(res.body) } : undefined);
    try {
      assert.ok(isTrustError(await readFails(repo, cache), 'HASH_MISMATCH'));
    } finally {
      sim.hook = undefined;
    }
    const now = await Promise.all((await cached(cache)).map(async (f) => [f, await cache.read(f.replace(/\.json$/, ''), 1 << 20)] as const));
    assert.deepEqual(now, before);
  });

  test('a role the snapshot names but no parent delegates to is neither trusted nor cached, whatever its bytes', T, async () => {
    const repo = await newRepo(2);
    repo.delegate('targets', 'targets/orphan', [ecdsaKey()], ['o/']);
    repo.addTarget('o/evil', 'evil', 'targets/orphan');
    repo.targets.delegations.roles = repo.targets.delegations.roles.filter((r) => r.name !== 'targets/orphan');
    await repo.sign();
    sim.index(repo.gun);
    assert.ok(repo.snapshot.meta.has('targets/orphan'));
    const cache = await newCache(repo.gun);
    sim.hook = (req, res) => (req.role === 'targets/orphan' ? { ...res, body: flip(res.body) } : undefined);
    try {
      const { result } = await read(repo, cache);
      assert.deepEqual(delegations(result.builder).sort(), ['targets/d1', 'targets/d2']);
      assert.ok(!result.builder.listTargets().some((t) => t.name === 'o/evil'));
    } finally {
      sim.hook = undefined;
    }
    assert.ok(!(await cached(cache)).includes('targets/orphan.json'));
  });

  test('downloads in flight never exceed the concurrency; a failed attempt starts no more', T, async () => {
    const repo = await newRepo(12);
    let inFlight = 0;
    let most = 0;
    sim.hook = async (req) => {
      if (req.kind !== 'checksum') return undefined;
      most = Math.max(most, ++inFlight);
      await later(20);
      inFlight--;
      return undefined;
    };
    try {
      const { result } = await read(repo, await newCache(repo.gun), { concurrency: 3 });
      assert.equal(delegations(result.builder).length, 12);
      assert.equal(most, 3);

      // targets does not match: the delegations waiting for a slot are never fetched.
      sim.resetCounts();
      const inner = sim.hook;
      sim.hook = async (req, res) => (await inner(req, res)) ?? (req.kind === 'checksum' && req.role === 'targets' ? { ...res, body: flip(res.body) } : undefined);
      assert.ok(isTrustError(await readFails(repo, await newCache(repo.gun), { concurrency: 1 }), 'HASH_MISMATCH'));
      await later(200);
      assert.ok(sim.countMatching(/\/targets\/d\d+\.[0-9a-f]{64}\.json$/) <= 1, `${sim.countMatching(/\/targets\/d\d+\./)} delegations fetched`);
    } finally {
      sim.hook = undefined;
    }
  });

  test('the ping decides first: a server that is not a notary server means offline, its answers unused', T, async () => {
    const repo = await newRepo(1);
    const cache = await newCache(repo.gun);
    await read(repo, cache);
    const cachedTs = await cache.read('timestamp', 1 << 20);
    repo.addTarget('newer', 'newer');
    repo.targets.version++;
    repo.snapshot.version++;
    repo.timestamp.version++;
    await repo.sign();
    sim.hook = (req, res) => (req.kind === 'ping' ? { ...res, status: 404, body: Buffer.from('404 page not found\n') } : undefined);
    try {
      const seen: RemoteError[] = [];
      const offlineCause = new Error('offline cause');
      const { result } = await read(repo, cache, { unreachable: (e) => (seen.push(e), offlineCause) });
      assert.equal(result.offline, true);
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.code, 'OFFLINE');
      assert.ok(!result.builder.listTargets().some((t) => t.name === 'newer'));
      assert.deepEqual(await cache.read('timestamp', 1 << 20), cachedTs);
      // With nothing cached, the read fails with the caller's error.
      assert.equal(await readFails(repo, await newCache(repo.gun), { unreachable: () => offlineCause }), offlineCause);
      // Without `unreachable`, the ping's error.
      const e = await readFails(repo, cache);
      assert.ok(isRemoteError(e, 'OFFLINE'), String(e));
    } finally {
      sim.hook = undefined;
    }
  });
});

describe('update: an expired root', () => {
  test('an expired cached root fails the attempt before the timestamp is awaited: the newer root is fetched though the timestamp request failed, and no cached timestamp is used', T, async () => {
    const t0 = Date.now();
    const repo = await MemRepo.create(`example.com/update/r${++counter}`, t0);
    repo.root.expires = expiresAfter(t0, 1);
    await repo.sign();
    sim.add(repo);
    const cache = await newCache(repo.gun);
    await read(repo, cache, { now: t0 });
    repo.root.version = 2;
    repo.root.expires = expiresAfter(t0, 3650);
    repo.snapshot.version = 2;
    repo.timestamp.version = 2;
    await repo.sign();
    let timestamps = 0;
    sim.hook = (req, res) => (req.role === 'timestamp' && timestamps++ === 0 ? { ...res, status: 503, body: Buffer.from('unavailable') } : undefined);
    try {
      const { result, warnings } = await read(repo, cache, { now: t0 + 2 * 86_400_000 });
      assert.equal(result.builder.root?.meta.version, 2);
      assert.equal(result.builder.timestamp?.meta.version, 2);
      assert.deepEqual(warnings, []);
    } finally {
      sim.hook = undefined;
    }
  });
});

describe('update: an offline read while another process replaces the cache (CC-03)', () => {
  /** The verified files of a release of a repository and of the next one (which adds the target `newer`). */
  async function twoReleases(): Promise<{ gun: string; older: Map<string, Buffer>; newer: Map<string, Buffer> }> {
    const repo = await newRepo(0);
    const files = async (): Promise<Map<string, Buffer>> => {
      const c = await newCache(repo.gun);
      await read(repo, c);
      return new Map(await Promise.all(['root', 'targets', 'snapshot', 'timestamp'].map(async (r) => [r, (await c.read(r, 1 << 20))!] as const)));
    };
    const older = await files();
    repo.addTarget('newer', 'newer');
    repo.targets.version++;
    repo.snapshot.version++;
    repo.timestamp.version++;
    await repo.sign();
    return { gun: repo.gun, older, newer: await files() };
  }
  /** A cache holding the older release, then the newer root and targets: a writer's first renames. */
  async function halfReplaced(): Promise<{ cache: MetadataCache; newer: Map<string, Buffer> }> {
    const { gun, older, newer } = await twoReleases();
    const cache = await newCache(gun);
    await cache.writeMany(older);
    for (const role of ['root', 'targets']) await cache.write(role, newer.get(role)!);
    return { cache, newer };
  }
  const offline = (cache: MetadataCache): Promise<Awaited<ReturnType<typeof update>>> =>
    update({ gun: cache.gun, now: Date.now(), cache, remote: null, warn: () => undefined });

  test('a read that meets the files half replaced waits for the writer, then reads what it wrote', T, async () => {
    const { cache, newer } = await halfReplaced();
    // The writer is between its renames: new root, targets and snapshot, the old timestamp.
    const writer = markWriting(cache.dir, 'cache-commit');
    await cache.write('snapshot', newer.get('snapshot')!);
    let settled = false;
    const reading = offline(cache).finally(() => (settled = true));
    await later(300);
    assert.equal(settled, false, 'the reader waits while the writer is at work');
    await cache.write('timestamp', newer.get('timestamp')!);
    await writer.remove();
    const { builder } = await reading;
    assert.ok(builder.listTargets().some((t) => t.name === 'newer'));
  });

  // About 9 s on an idle 2-core machine and 26 s under two busy loops (each read verifies four signed files).
  test('1,000 offline reads, two at a time racing the renames of a write of the other release: the old or the new state, never an error', { timeout: 120_000 }, async () => {
    const { gun, older, newer } = await twoReleases();
    const states = [older, newer];
    const cache = await newCache(gun);
    await cache.writeMany(older);
    const seen = { before: 0, after: 0 };
    for (let i = 1; i <= 500; i++) {
      const to = i % 2;
      const staged = await cache.stage(states[to]!);
      // A read of small cached files runs without yielding: each starts a different number of
      // event-loop turns into the commit, so that some meet the files half replaced.
      const [, ...reads] = await Promise.all([staged.commit(), turns(i % 9).then(() => offline(cache)), turns((i * 5) % 9).then(() => offline(cache))]);
      for (const r of reads) seen[r.builder.listTargets().some((t) => t.name === 'newer') === (to === 1) ? 'after' : 'before']++;
    }
    assert.ok(seen.before > 0 && seen.after > 0, `reads saw the state before a write and the state after one: ${JSON.stringify(seen)}`);
  });

  test('without a writer at work (none, or one that died) the mismatch is final: an error at once', T, async () => {
    const { cache, newer } = await halfReplaced();
    await cache.write('snapshot', newer.get('snapshot')!);
    const corrupt = (e: unknown): boolean => e instanceof StorageError && e.code === 'CORRUPT';
    await assert.rejects(offline(cache), corrupt);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(join(cache.dir, `.cache-commit.${dead}-${hostTag()}-000000000000.tmp`), '');
    const started = performance.now();
    await assert.rejects(offline(cache), corrupt);
    assert.ok(performance.now() - started < 5_000, 'no wait for a dead writer');
    await cache.write('snapshot', newer.get('snapshot')!);
    assert.deepEqual((await readdir(cache.dir)).sort(), ['metadata'], "the next write swept the dead writer's marker");
  });
});
