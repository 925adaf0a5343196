// The builder's checks at their boundaries (the mutants of `npm run mutate` that the table in
// builder.test.ts left alive): size caps and rollback floors at equality, same-version root
// updates, which key changes reset which floors, digest lengths, the timestamp's snapshot entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrustedCollectionBuilder } from '../../src/tuf/builder.js';
import { isTrustError } from '../../src/tuf/errors.js';
import { expiresAfter } from '../../src/tuf/expires.js';
import { signMetadata } from '../../src/tuf/sign.js';
import { MemRepo, buildFrom, ecdsaKey, fileMeta, rootCertKey, type MemKey } from '../support/memrepo.js';

const GUN = 'example.com/edges';
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const DAY = 86_400_000;

async function freshRepo(): Promise<MemRepo> {
  const repo = await MemRepo.create(GUN, NOW);
  repo.addTarget('v1', 'hello');
  repo.delegate('targets', 'targets/releases', [ecdsaKey()], ['']);
  repo.addTarget('rel/a', 'a', 'targets/releases');
  await repo.sign();
  return repo;
}

const fails = (code: string, role?: string) => (e: unknown): boolean => isTrustError(e) && e.code === code && (role === undefined || e.role === role);

test('size caps: a file of exactly the cap is read, one byte more is refused', async () => {
  const repo = await freshRepo();
  const ts = repo.files.get('timestamp')!.length;
  const root = repo.files.get('root')!.length;
  assert.ok(buildFrom(repo, { gun: GUN, now: NOW, limits: { timestampMax: ts, rootMax: root } }).targets);
  assert.throws(() => buildFrom(repo, { gun: GUN, now: NOW, limits: { timestampMax: ts - 1 } }), fails('TOO_LARGE', 'timestamp'));
  assert.throws(() => buildFrom(repo, { gun: GUN, now: NOW, limits: { rootMax: root - 1 } }), fails('TOO_LARGE', 'root'));
});

test('rollback floors: the trusted version itself is accepted, for every role', async () => {
  const repo = await freshRepo();
  const floors = new Map([['root', 1], ['timestamp', 1], ['snapshot', 1], ['targets', 1], ['targets/releases', 1]]);
  const b = buildFrom(repo, { gun: GUN, now: NOW, floors });
  assert.equal(b.lookup('rel/a')?.role, 'targets/releases');
  for (const role of floors.keys()) {
    assert.throws(() => buildFrom(repo, { gun: GUN, now: NOW, floors: new Map([[role, 2]]) }), fails('ROLLBACK', role), role);
  }
});

test('a root update to the same version, and to the version its file name says, is accepted', async () => {
  const repo = await freshRepo();
  const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  b.loadRoot(repo.files.get('root')!, 'cache');
  assert.equal(b.updateRoot(repo.files.get('root')!, { expectedVersion: 1 }).version, 1);
  assert.throws(() => b.updateRoot(repo.files.get('root')!, { expectedVersion: 2 }), fails('ROOT_CHAIN_BROKEN', 'root'));
  const older = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  const v1 = repo.files.get('root')!;
  repo.root.version = 2;
  await repo.sign();
  older.loadRoot(repo.files.get('root')!, 'cache');
  assert.throws(() => older.updateRoot(v1), fails('ROLLBACK', 'root'));
});

test('a root of the same version with other content is refused, even signed by the trusted root key', async () => {
  const repo = await freshRepo();
  const v1 = repo.files.get('root')!;
  const k = ecdsaKey();
  repo.root.keys.set(k.pub.id, k.pub);
  repo.root.roles.get('targets')!.keyids!.push(k.pub.id);
  await repo.sign();
  const other = repo.files.get('root')!;
  assert.notDeepEqual(other, v1);
  const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  b.loadRoot(v1, 'cache');
  assert.throws(
    () => b.updateRoot(other),
    (e: unknown) => isTrustError(e, 'ROOT_CHAIN_BROKEN') && /root version 1 differs from the trusted root version 1; a new root must have a higher version/.test(e.message),
  );
});

test('a root without one of the base roles is METADATA_INVALID naming the role', async () => {
  for (const role of ['root', 'targets', 'snapshot', 'timestamp']) {
    const repo = await freshRepo();
    repo.root.roles.delete(role);
    await repo.sign();
    const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
    assert.throws(
      () => b.loadRoot(repo.files.get('root')!, 'remote'),
      (e: unknown) => isTrustError(e, 'METADATA_INVALID') && e.message === `root: the ${role} role is missing`,
      role,
    );
  }
});

/** A root version 2 with `change` applied to its roles; the repository re-signed over it. */
async function rotate(repo: MemRepo, change: (r: MemRepo) => void): Promise<Buffer> {
  const v1 = repo.files.get('root')!;
  change(repo);
  repo.root.version = 2;
  await repo.sign();
  return v1;
}

const FLOORS = (): Map<string, number> => new Map([['timestamp', 99], ['snapshot', 99]]);

test('fast-forward recovery: a new snapshot key resets the snapshot and timestamp floors', async () => {
  const repo = await freshRepo();
  const v1 = await rotate(repo, (r) => {
    const k = ecdsaKey();
    r.root.keys.set(k.pub.id, k.pub);
    r.root.roles.set('snapshot', { keyids: [k.pub.id], threshold: 1 });
    r.keys.snapshot = [k];
  });
  const b = buildFrom(repo, { gun: GUN, now: NOW, rootFromCache: v1, floors: FLOORS() });
  assert.equal(b.snapshot?.meta.version, 1);
});

test('fast-forward recovery: a new timestamp key resets the timestamp floor only', async () => {
  const repo = await freshRepo();
  const v1 = await rotate(repo, (r) => {
    const k = ecdsaKey();
    r.root.keys.set(k.pub.id, k.pub);
    r.root.roles.set('timestamp', { keyids: [k.pub.id], threshold: 1 });
    r.keys.timestamp = [k];
  });
  assert.throws(() => buildFrom(repo, { gun: GUN, now: NOW, rootFromCache: v1, floors: FLOORS() }), fails('ROLLBACK', 'snapshot'));
  assert.equal(buildFrom(repo, { gun: GUN, now: NOW, rootFromCache: v1, floors: new Map([['timestamp', 99]]) }).timestamp?.meta.version, 1);
});

test('fast-forward recovery: the same keys reset nothing; an added key does', async () => {
  const repo = await freshRepo();
  const extra = ecdsaKey();
  const v1 = await rotate(repo, (r) => {
    r.root.keys.set(extra.pub.id, extra.pub);
    const ts = r.root.roles.get('timestamp')!;
    r.root.roles.set('timestamp', { keyids: [...ts.keyids!], threshold: 1 });
  });
  assert.throws(() => buildFrom(repo, { gun: GUN, now: NOW, rootFromCache: v1, floors: new Map([['timestamp', 99]]) }), fails('ROLLBACK', 'timestamp'));

  const repo2 = await freshRepo();
  const v1b = await rotate(repo2, (r) => {
    r.root.keys.set(extra.pub.id, extra.pub);
    const ts = r.root.roles.get('timestamp')!;
    r.root.roles.set('timestamp', { keyids: [extra.pub.id, ...ts.keyids!], threshold: 1 });
  });
  assert.equal(buildFrom(repo2, { gun: GUN, now: NOW, rootFromCache: v1b, floors: new Map([['timestamp', 99]]) }).timestamp?.meta.version, 1);
});

/** The timestamp signed again after `edit` changed its snapshot entry. */
async function editTimestamp(repo: MemRepo, edit: (hashes: Map<string, Buffer>) => void): Promise<void> {
  edit(repo.timestamp.meta.get('snapshot')!.hashes);
  repo.files.set('timestamp', (await signMetadata(repo.timestamp, repo.keys.timestamp.map((k) => k.signer))).bytes);
}

test("the timestamp's snapshot entry: a sha256 hash of 32 bytes is required", async () => {
  const short = await freshRepo();
  await editTimestamp(short, (h) => h.set('sha256', h.get('sha256')!.subarray(0, 31)));
  assert.throws(() => buildFrom(short, { gun: GUN, now: NOW }), fails('METADATA_INVALID', 'timestamp'));
  const long = await freshRepo();
  await editTimestamp(long, (h) => h.set('sha512', Buffer.concat([h.get('sha512')!, Buffer.alloc(1)])));
  assert.throws(() => buildFrom(long, { gun: GUN, now: NOW }), fails('METADATA_INVALID', 'timestamp'));
  const none = await freshRepo();
  await editTimestamp(none, (h) => h.delete('sha256'));
  assert.throws(() => buildFrom(none, { gun: GUN, now: NOW }), fails('MISSING_META', 'timestamp'));
});

test('a same-version timestamp: the cached copy is kept only when it verifies', async () => {
  const repo = await freshRepo();
  const cached = Buffer.from(repo.files.get('timestamp')!);
  const at = cached.length - 10;
  cached[at] = cached[at]! ^ 1; // its signature no longer verifies
  const b = buildFrom(repo, { gun: GUN, now: NOW, floors: new Map([['timestamp', 1]]), cachedTimestamp: cached });
  assert.deepEqual(b.timestamp?.bytes, repo.files.get('timestamp'));
  assert.ok(b.warnings.some((w) => w.includes('does not verify')));
  // The same bytes: nothing to choose, no warning.
  const same = buildFrom(repo, { gun: GUN, now: NOW, floors: new Map([['timestamp', 1]]), cachedTimestamp: repo.files.get('timestamp') });
  assert.deepEqual(same.warnings, []);
});

test('a cached root is the trust anchor: no pin applies to it; a root from the server is pinned and checked for expiry at once', async () => {
  const repo = await freshRepo();
  const refuse = { kind: 'refuse' } as const;
  const cached = new TrustedCollectionBuilder({ gun: GUN, now: NOW, pin: refuse });
  assert.equal(cached.loadRoot(repo.files.get('root')!, 'cache').version, 1);
  assert.throws(() => new TrustedCollectionBuilder({ gun: GUN, now: NOW, pin: refuse }).loadRoot(repo.files.get('root')!, 'remote'), fails('TRUST_PINNING'));

  repo.root.expires = expiresAfter(NOW, -1);
  await repo.sign();
  assert.throws(() => new TrustedCollectionBuilder({ gun: GUN, now: NOW }).loadRoot(repo.files.get('root')!, 'remote'), fails('EXPIRED', 'root'));
  // A root made here and not yet published: its expiry is not loadRoot's to check.
  assert.equal(new TrustedCollectionBuilder({ gun: GUN, now: NOW }).loadRoot(repo.files.get('root')!, 'local').version, 1);
});

test('root rotation away from an expired root certificate: the old key still signs the new root', async () => {
  const repo = await MemRepo.create(GUN, NOW);
  const old = await rootCertKey(GUN, NOW - 400 * DAY, { days: 365 }); // expired 35 days ago
  repo.root.keys.set(old.pub.id, old.pub);
  repo.root.roles.set('root', { keyids: [old.pub.id], threshold: 1 });
  repo.rootSigners = [old.signer];
  await repo.sign();
  const v1 = repo.files.get('root')!;
  const fresh = await rootCertKey(GUN, NOW);
  repo.root.keys.set(fresh.pub.id, fresh.pub);
  repo.root.roles.set('root', { keyids: [fresh.pub.id], threshold: 1 });
  repo.root.version = 2;
  repo.rootSigners = [old.signer, fresh.signer];
  await repo.sign();
  const b = buildFrom(repo, { gun: GUN, now: NOW, rootFromCache: v1 });
  assert.equal(b.root?.meta.version, 2);
});

/** A cached root version 1 and root version 2 whose root key is `next`, signed by both keys. */
async function rotateTo(next: MemKey): Promise<{ v1: Buffer; v2: Buffer }> {
  const repo = await MemRepo.create(GUN, NOW);
  await repo.sign();
  const v1 = repo.files.get('root')!;
  repo.root.keys.set(next.pub.id, next.pub);
  repo.root.roles.set('root', { keyids: [next.pub.id], threshold: 1 });
  repo.root.version = 2;
  repo.rootSigners = [...repo.rootSigners, next.signer];
  await repo.sign();
  return { v1, v2: repo.files.get('root')! };
}

function updated(v1: Buffer, v2: Buffer, intermediate: boolean): TrustedCollectionBuilder {
  const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  b.loadRoot(v1, 'cache');
  b.updateRoot(v2, { intermediate });
  return b;
}

test("a new root's own certificates: expired ones count on the way (intermediate), not in the final root", async () => {
  const { v1, v2 } = await rotateTo(await rootCertKey(GUN, NOW - 400 * DAY, { days: 365 }));
  assert.equal(updated(v1, v2, true).root?.meta.version, 2);
  assert.throws(() => updated(v1, v2, false), fails('ROOT_CERT_INVALID', 'root'));
});

test("a new root's certificate for another GUN is refused as such, not as a missing signature", async () => {
  const { v1, v2 } = await rotateTo(await rootCertKey(GUN, NOW, { cn: 'example.com/other' }));
  assert.throws(() => updated(v1, v2, true), fails('ROOT_CERT_INVALID', 'root'));
});

test('a final root whose certificate expires within six months warns; an intermediate one does not', async () => {
  const { v1, v2 } = await rotateTo(await rootCertKey(GUN, NOW, { days: 30 }));
  assert.ok(updated(v1, v2, false).warnings.some((w) => w.includes('expires soon')));
  assert.deepEqual(updated(v1, v2, true).warnings, []);
});

test('a chain walk through a root whose certificate expired: that root still signs the next one', async () => {
  const mid = await rootCertKey(GUN, NOW - 400 * DAY, { days: 365 });
  const repo = await MemRepo.create(GUN, NOW);
  await repo.sign();
  const v1 = repo.files.get('root')!;
  repo.root.keys.set(mid.pub.id, mid.pub);
  repo.root.roles.set('root', { keyids: [mid.pub.id], threshold: 1 });
  repo.root.version = 2;
  repo.rootSigners = [...repo.rootSigners, mid.signer];
  await repo.sign();
  const v2 = repo.files.get('root')!;
  const last = await rootCertKey(GUN, NOW);
  repo.root.keys.set(last.pub.id, last.pub);
  repo.root.roles.set('root', { keyids: [last.pub.id], threshold: 1 });
  repo.root.version = 3;
  repo.rootSigners = [mid.signer, last.signer];
  await repo.sign();
  const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  b.loadRoot(v1, 'cache');
  b.updateRoot(v2, { expectedVersion: 2, intermediate: true });
  assert.equal(b.updateRoot(repo.files.get('root')!, { expectedVersion: 3 }).version, 3);
});

test('updateDelegation: an invalid name, an untrusted parent and an undeclared role are refused as such', async () => {
  const repo = await freshRepo();
  const b = buildFrom(repo, { gun: GUN, now: NOW });
  const bytes = repo.files.get('targets/releases')!;
  assert.throws(() => b.updateDelegation('targets/../releases', bytes), fails('INVALID_ROLE_NAME'));
  assert.throws(() => b.updateDelegation('targets/qa/nightly', bytes), (e: unknown) => fails('METADATA_INVALID')(e) && /parent targets\/qa is not trusted/.test((e as Error).message));
  assert.throws(() => b.updateDelegation('targets/qa', bytes), (e: unknown) => fails('METADATA_INVALID')(e) && /not delegated by targets/.test((e as Error).message));
});

test('updateDelegation: a declared role the snapshot does not list is refused (MISSING_META)', async () => {
  const repo = await freshRepo();
  repo.delegate('targets', 'targets/qa', [ecdsaKey()], ['qa/']);
  await repo.sign();
  const qa = repo.files.get('targets/qa')!;
  repo.snapshot.meta.delete('targets/qa');
  const snapshot = (await signMetadata(repo.snapshot, repo.keys.snapshot.map((k) => k.signer))).bytes;
  repo.files.set('snapshot', snapshot);
  repo.timestamp.meta = new Map([['snapshot', fileMeta(snapshot)]]);
  repo.files.set('timestamp', (await signMetadata(repo.timestamp, repo.keys.timestamp.map((k) => k.signer))).bytes);
  const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  b.loadRoot(repo.files.get('root')!, 'cache');
  b.updateTimestamp(repo.files.get('timestamp')!);
  b.updateSnapshot(repo.files.get('snapshot')!);
  b.updateTargets(repo.files.get('targets')!);
  assert.throws(() => b.updateDelegation('targets/qa', qa), fails('MISSING_META', 'snapshot'));
});

test('updateDelegation returns whether the role was trusted: false when skipped', async () => {
  const repo = await freshRepo();
  repo.delegations.get('targets/releases')!.meta.expires = expiresAfter(NOW, -1);
  await repo.sign();
  const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  b.loadRoot(repo.files.get('root')!, 'cache');
  b.updateTimestamp(repo.files.get('timestamp')!);
  b.updateSnapshot(repo.files.get('snapshot')!);
  b.updateTargets(repo.files.get('targets')!);
  assert.equal(b.updateDelegation('targets/releases', repo.files.get('targets/releases')!), false);
});

test('a root role listing a key ID that is not in keys is refused, though the threshold is met', async () => {
  const repo = await freshRepo();
  const t = repo.root.roles.get('targets')!;
  repo.root.roles.set('targets', { keyids: [...t.keyids!, 'ab'.repeat(32)], threshold: 1 });
  await repo.sign();
  assert.throws(() => buildFrom(repo, { gun: GUN, now: NOW }), fails('METADATA_INVALID', 'root'));
});

test("a targets role's delegations: bad names, grandchildren, repeats and unknown key IDs are refused", async () => {
  const cases: [string, (roles: { name: string; keyids: string[] | null; threshold: number; paths: string[] }[]) => void, string][] = [
    ['a bad name', (roles) => roles.push({ ...roles[0]!, name: 'targets/Bad' }), 'INVALID_ROLE_NAME'],
    ['a grandchild', (roles) => roles.push({ ...roles[0]!, name: 'targets/releases/x' }), 'NOT_DIRECT_CHILD'],
    ['a role listed twice', (roles) => roles.push({ ...roles[0]! }), 'METADATA_INVALID'],
    ['a key ID missing from delegations.keys', (roles) => roles.push({ ...roles[0]!, name: 'targets/qa', keyids: ['cd'.repeat(32)] }), 'METADATA_INVALID'],
  ];
  for (const [what, edit, code] of cases) {
    const repo = await freshRepo();
    edit(repo.targets.delegations.roles);
    await repo.sign();
    assert.throws(() => buildFrom(repo, { gun: GUN, now: NOW }), fails(code, 'targets'), what);
  }
});

test('fast-forward recovery: one of two timestamp keys replaced resets the timestamp floor', async () => {
  const [a, b, c] = [ecdsaKey(), ecdsaKey(), ecdsaKey()];
  const repo = await freshRepo();
  for (const k of [a, b, c]) repo.root.keys.set(k.pub.id, k.pub);
  repo.root.roles.set('timestamp', { keyids: [a.pub.id, b.pub.id], threshold: 1 });
  repo.keys.timestamp = [a];
  await repo.sign();
  const v1 = await rotate(repo, (r) => r.root.roles.set('timestamp', { keyids: [a.pub.id, c.pub.id], threshold: 1 }));
  assert.equal(buildFrom(repo, { gun: GUN, now: NOW, rootFromCache: v1, floors: new Map([['timestamp', 99]]) }).timestamp?.meta.version, 1);
});
