// Table-driven trust transitions: each tampering fails with its own error code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrustedCollectionBuilder, type BuilderOptions } from '../../src/tuf/builder.js';
import { isTrustError, type TrustErrorCode } from '../../src/tuf/errors.js';
import { expiresAfter } from '../../src/tuf/expires.js';
import { PublicKey } from '../../src/tuf/keys.js';
import { keyObjectSigner, signMetadata } from '../../src/tuf/sign.js';
import { goPemCertificates } from '../../src/crypto/x509.js';
import { MemRepo, buildFrom, ecdsaKey, rootCertKey, fileMeta, type MemKey } from '../support/memrepo.js';

const GUN = 'example.com/app';
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const DAY = 86_400_000;

async function freshRepo(): Promise<MemRepo> {
  const repo = await MemRepo.create(GUN, NOW);
  repo.addTarget('v1', 'hello');
  const rel = ecdsaKey();
  repo.delegate('targets', 'targets/releases', [rel], ['rel/']);
  repo.addTarget('rel/a', 'a', 'targets/releases');
  repo.addTarget('other/b', 'b', 'targets/releases'); // outside its paths
  await repo.sign();
  return repo;
}

type Opts = Partial<BuilderOptions> & { rootFromCache?: Buffer };

function build(repo: MemRepo, opts: Opts = {}): TrustedCollectionBuilder {
  return buildFrom(repo, { gun: GUN, now: NOW, ...opts });
}

function tamperJson(bytes: Buffer, from: string, to: string): Buffer {
  const s = bytes.toString('utf8');
  assert.ok(s.includes(from), `fixture contains ${from}`);
  return Buffer.from(s.replace(from, to), 'utf8');
}

async function resignAbove(repo: MemRepo, role: string): Promise<void> {
  repo.frozen.add(role);
  if (role !== 'root' && role !== 'targets' && !role.startsWith('targets/')) return;
  await repo.sign();
}

test('a repository built by the engine verifies, in breadth-first order, inside delegated paths', async () => {
  const repo = await freshRepo();
  const b = build(repo);
  assert.deepEqual(
    b.listTargets().map((t) => [t.name, t.role]),
    [
      ['v1', 'targets'],
      ['rel/a', 'targets/releases'],
    ],
  );
  assert.equal(b.lookup('other/b'), undefined, 'a target outside the role paths is never returned');
  assert.equal(b.lookup('rel/a')?.role, 'targets/releases');
});

interface Row {
  name: string;
  code: TrustErrorCode;
  role?: string;
  mutate: (repo: MemRepo) => Promise<Opts | void>;
}

const rows: Row[] = [
  {
    name: 'tampered signature on targets',
    code: 'THRESHOLD_NOT_MET',
    role: 'targets',
    mutate: async (repo) => {
      const f = repo.files.get('targets')!;
      const s = f.toString();
      const at = s.lastIndexOf('"sig":"') + 10;
      repo.files.set('targets', Buffer.from(s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1)));
      await resignAbove(repo, 'targets');
    },
  },
  {
    name: 'tampered content under a valid signature',
    code: 'THRESHOLD_NOT_MET',
    role: 'targets',
    mutate: async (repo) => {
      repo.files.set('targets', tamperJson(repo.files.get('targets')!, '"length":5', '"length":6'));
      await resignAbove(repo, 'targets');
    },
  },
  {
    name: 'targets signed by a key the root does not list',
    code: 'THRESHOLD_NOT_MET',
    role: 'targets',
    mutate: async (repo) => {
      const other = ecdsaKey();
      const signed = await signMetadata(repo.targets, [keyObjectSigner(other.priv, repo.keys.targets[0]!.pub)]);
      repo.files.set('targets', signed.bytes);
      await resignAbove(repo, 'targets');
    },
  },
  {
    name: 'threshold 2 met only by one key listed under two IDs',
    code: 'THRESHOLD_NOT_MET',
    role: 'targets',
    mutate: async (repo) => {
      const k = repo.keys.targets[0]!;
      const { createRootCertificate } = await import('../../src/crypto/certgen.js');
      const der = await createRootCertificate({
        privateKey: k.priv,
        publicKey: k.pub.keyObject(),
        commonName: GUN,
        notBefore: new Date(NOW),
        notAfter: new Date(NOW + 365 * DAY),
      });
      const certKey = new PublicKey('ecdsa-x509', Buffer.from(goPemCertificates([der]), 'latin1'));
      repo.root.keys.set(certKey.id, certKey);
      repo.root.roles.set('targets', { keyids: [k.pub.id, certKey.id], threshold: 2 });
      repo.keys.targets = [k, { priv: k.priv, pub: certKey, signer: keyObjectSigner(k.priv, certKey) }];
      await repo.sign();
    },
  },
  {
    name: 'root threshold larger than its keys',
    code: 'INVALID_THRESHOLD',
    mutate: async (repo) => {
      repo.root.roles.get('snapshot')!.threshold = 2;
      await repo.sign();
    },
  },
  { name: 'rollback of root', code: 'ROLLBACK', role: 'root', mutate: async () => ({ floors: new Map([['root', 2]]) }) },
  { name: 'rollback of timestamp', code: 'ROLLBACK', role: 'timestamp', mutate: async () => ({ floors: new Map([['timestamp', 2]]) }) },
  { name: 'rollback of snapshot', code: 'ROLLBACK', role: 'snapshot', mutate: async () => ({ floors: new Map([['snapshot', 2]]) }) },
  { name: 'rollback of targets', code: 'ROLLBACK', role: 'targets', mutate: async () => ({ floors: new Map([['targets', 2]]) }) },
  {
    name: 'rollback of a delegation',
    code: 'ROLLBACK',
    role: 'targets/releases',
    mutate: async () => ({ floors: new Map([['targets/releases', 3]]) }),
  },
  { name: 'expired timestamp', code: 'EXPIRED', role: 'timestamp', mutate: async () => ({ now: NOW + 15 * DAY }) },
  {
    name: 'expired snapshot',
    code: 'EXPIRED',
    role: 'snapshot',
    mutate: async (repo) => {
      repo.snapshot.expires = expiresAfter(NOW, -1);
      await repo.sign();
    },
  },
  {
    name: 'expired targets',
    code: 'EXPIRED',
    role: 'targets',
    mutate: async (repo) => {
      repo.targets.expires = expiresAfter(NOW, -1);
      await repo.sign();
    },
  },
  {
    name: 'expired root',
    code: 'EXPIRED',
    role: 'root',
    mutate: async (repo) => {
      repo.root.expires = expiresAfter(NOW, -1);
      await repo.sign();
    },
  },
  {
    name: 'targets hash differs from the snapshot',
    code: 'HASH_MISMATCH',
    role: 'targets',
    mutate: async (repo) => {
      await repo.sign();
      repo.files.set('targets', tamperJson(repo.files.get('targets')!, '"v1"', '"v2"'));
    },
  },
  {
    name: 'snapshot shorter than the timestamp says',
    code: 'LENGTH_MISMATCH',
    role: 'snapshot',
    mutate: async (repo) => {
      repo.frozen.add('timestamp');
      const snap = repo.files.get('snapshot')!;
      const fm = fileMeta(snap);
      fm.length += 10;
      repo.timestamp.meta = new Map([['snapshot', fm]]);
      repo.files.set('timestamp', (await signMetadata(repo.timestamp, repo.keys.timestamp.map((k) => k.signer))).bytes);
    },
  },
  {
    name: 'snapshot larger than the timestamp allows',
    code: 'TOO_LARGE',
    role: 'snapshot',
    mutate: async (repo) => {
      repo.files.set('snapshot', Buffer.concat([repo.files.get('snapshot')!, Buffer.from(' '.repeat(100))]));
    },
  },
  {
    name: 'oversized timestamp',
    code: 'TOO_LARGE',
    role: 'timestamp',
    mutate: async (repo) => {
      repo.files.set('timestamp', Buffer.concat([repo.files.get('timestamp')!, Buffer.alloc(1024 * 1024, 0x20)]));
    },
  },
  {
    name: 'oversized root',
    code: 'TOO_LARGE',
    role: 'root',
    mutate: async () => ({ limits: { rootMax: 100 } }),
  },
  {
    name: 'root certificate for another GUN',
    code: 'ROOT_CERT_INVALID',
    mutate: async (repo) => {
      const other = await rootCertKey('example.com/other', NOW);
      repo.root.keys.set(other.pub.id, other.pub);
      repo.root.roles.set('root', { keyids: [other.pub.id], threshold: 1 });
      repo.rootSigners = [other.signer];
      await repo.sign();
    },
  },
  {
    name: 'expired root certificate',
    code: 'ROOT_CERT_INVALID',
    mutate: async (repo) => {
      const old = await rootCertKey(GUN, NOW, { notBefore: NOW - 20 * DAY, days: 10 });
      repo.root.keys.set(old.pub.id, old.pub);
      repo.root.roles.set('root', { keyids: [old.pub.id], threshold: 1 });
      repo.rootSigners = [old.signer];
      await repo.sign();
    },
  },
  {
    name: 'snapshot pins another root',
    code: 'HASH_MISMATCH',
    role: 'root',
    mutate: async (repo) => {
      await repo.sign();
      const newer = { ...repo.root, version: 2 };
      repo.files.set('root', (await signMetadata(newer, repo.rootSigners)).bytes);
    },
  },
  {
    name: 'snapshot without a targets entry',
    code: 'MISSING_META',
    role: 'snapshot',
    mutate: async (repo) => {
      await repo.sign();
      repo.snapshot.meta.delete('targets');
      repo.files.set('snapshot', (await signMetadata(repo.snapshot, repo.keys.snapshot.map((k) => k.signer))).bytes);
      repo.frozen.add('snapshot');
      await repo.sign();
    },
  },
  {
    name: 'wrong _type in the timestamp slot',
    code: 'WRONG_TYPE',
    role: 'timestamp',
    mutate: async (repo) => {
      repo.files.set('timestamp', repo.files.get('snapshot')!);
    },
  },
  {
    name: 'duplicate key in root',
    code: 'JSON_DUPLICATE_KEY',
    mutate: async (repo) => {
      repo.files.set('root', tamperJson(repo.files.get('root')!, '"version":1', '"version":1,"version":1'));
    },
  },
  {
    name: 'case variant of a known field',
    code: 'METADATA_INVALID',
    mutate: async (repo) => {
      repo.files.set('root', tamperJson(repo.files.get('root')!, '"version":1', '"version":1,"Version":7'));
    },
  },
];

for (const row of rows) {
  test(`refused: ${row.name}`, async () => {
    const repo = await freshRepo();
    const opts = (await row.mutate(repo)) ?? {};
    assert.throws(
      () => build(repo, opts),
      (e: unknown) => {
        assert.ok(isTrustError(e), `a TrustError, got ${String(e)}`);
        assert.equal(e.code, row.code, e.message);
        if (row.role) assert.equal(e.role, row.role, e.message);
        return true;
      },
    );
  });
}

test('an expired delegation is skipped with a warning, its targets hidden', async () => {
  const repo = await freshRepo();
  repo.delegations.get('targets/releases')!.meta.expires = expiresAfter(NOW, -1);
  await repo.sign();
  const b = build(repo);
  assert.equal(b.invalid.get('targets/releases')?.code, 'EXPIRED');
  assert.equal(b.lookup('rel/a'), undefined);
  const w = b.warnings.find((x) => x.startsWith('skipping delegation targets/releases: '));
  assert.ok(w?.endsWith(`; the holder of its key renews it with: dtrust renew ${GUN} --role targets/releases -p`), w);
});

test('a delegation below its threshold is skipped, at threshold it counts', async () => {
  const repo = await freshRepo();
  const a = ecdsaKey();
  const c = ecdsaKey();
  repo.delegate('targets', 'targets/qa', [a, c], [''], 2);
  repo.addTarget('qa-build', 'x', 'targets/qa');
  repo.delegations.get('targets/qa')!.keys = [a];
  await repo.sign();
  const below = build(repo);
  assert.equal(below.invalid.get('targets/qa')?.code, 'THRESHOLD_NOT_MET');
  const w = below.warnings.find((x) => x.startsWith('skipping delegation targets/qa: '));
  assert.ok(w !== undefined && !w.includes('renew'), w);
  repo.delegations.get('targets/qa')!.keys = [a, c];
  await repo.sign();
  assert.equal(build(repo).lookup('qa-build')?.role, 'targets/qa');
});

async function rotatedRoot(repo: MemRepo, signers: MemKey[], version: number): Promise<{ key: MemKey; bytes: Buffer }> {
  const key = await rootCertKey(GUN, NOW);
  repo.root.keys.set(key.pub.id, key.pub);
  repo.root.roles.set('root', { keyids: [key.pub.id], threshold: 1 });
  repo.root.version = version;
  const bytes = (await signMetadata(repo.root, [...signers.map((s) => s.signer), key.signer])).bytes;
  return { key, bytes };
}

test('root rotation: signed by old and new keys is accepted, by the new key only is refused', async () => {
  const repo = await freshRepo();
  const v1 = repo.files.get('root')!;
  const oldKey = repo.keys.root[0]!;
  const good = await rotatedRoot(repo, [oldKey], 2);
  const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  b.loadRoot(v1, 'cache');
  assert.equal(b.updateRoot(good.bytes, { expectedVersion: 2 }).version, 2);

  const repo2 = await freshRepo();
  const bad = await rotatedRoot(repo2, [], 2);
  const b2 = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  b2.loadRoot(repo2.files.get('root')!, 'cache');
  assert.throws(() => b2.updateRoot(bad.bytes), (e: unknown) => isTrustError(e, 'ROOT_CHAIN_BROKEN'));
  assert.throws(() => b.updateRoot(good.bytes, { expectedVersion: 3 }), (e: unknown) => isTrustError(e, 'ROOT_CHAIN_BROKEN'));
});

test('fast-forward recovery: a new timestamp key resets the timestamp floor', async () => {
  const repo = await freshRepo();
  const v1 = repo.files.get('root')!;
  const ts = ecdsaKey();
  repo.root.keys.set(ts.pub.id, ts.pub);
  repo.root.roles.set('timestamp', { keyids: [ts.pub.id], threshold: 1 });
  repo.keys.timestamp = [ts];
  repo.root.version = 2;
  repo.rootSigners = repo.keys.root.map((k) => k.signer);
  await repo.sign();
  const b = build(repo, { rootFromCache: v1, floors: new Map([['timestamp', 99]]) });
  assert.equal(b.timestamp?.meta.version, 1);
});

test('a same-version timestamp with other bytes does not replace the trusted one', async () => {
  const repo = await freshRepo();
  const trusted = repo.files.get('timestamp')!;
  repo.timestamp.expires = expiresAfter(NOW, 13);
  await repo.sign();
  repo.files.set('timestamp', repo.files.get('timestamp')!); // same version 1, other bytes
  const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW, floors: new Map([['timestamp', 1]]), cachedTimestamp: trusted });
  b.loadRoot(repo.files.get('root')!, 'remote');
  b.updateTimestamp(repo.files.get('timestamp')!);
  assert.ok(Buffer.from(b.timestamp!.bytes).equals(trusted));
  assert.ok(b.warnings.some((w) => w.includes('keeping the trusted copy')));
});

test('trust pinning by certificate ID: a pin that matches nothing is refused', async () => {
  const repo = await freshRepo();
  assert.throws(
    () => build(repo, { pin: { kind: 'certs', entry: GUN, ids: ['00'.repeat(32)] } }),
    (e: unknown) => isTrustError(e, 'TRUST_PINNING'),
  );
  const id = repo.keys.root[0]!.pub.id;
  assert.ok(build(repo, { pin: { kind: 'certs', entry: 'example.com/*', ids: [id] } }).targets);
  assert.throws(() => build(repo, { pin: { kind: 'refuse' } }), (e: unknown) => isTrustError(e, 'TRUST_PINNING'));
});

// The load order (python-tuf's TrustedMetadataSet): a call out of it is an error, and a refused
// file leaves the builder where it was.

const outOfOrder = (call: string) => (e: unknown): boolean => e instanceof Error && !isTrustError(e) && e.message.startsWith(`${call} out of order`);

test('order: nothing before the root, and only one first root', async () => {
  const repo = await freshRepo();
  const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  assert.throws(() => b.updateTimestamp(repo.files.get('timestamp')!), outOfOrder('updateTimestamp'));
  assert.throws(() => b.updateRoot(repo.files.get('root')!), outOfOrder('updateRoot'));
  assert.throws(() => b.finishRoot(), outOfOrder('finishRoot'));
  b.loadRoot(repo.files.get('root')!, 'remote');
  assert.throws(() => b.loadRoot(repo.files.get('root')!, 'remote'), outOfOrder('loadRoot'));
});

test('order: snapshot after the timestamp, targets after the snapshot, delegations after targets', async () => {
  const repo = await freshRepo();
  const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  b.loadRoot(repo.files.get('root')!, 'remote');
  assert.throws(() => b.updateSnapshot(repo.files.get('snapshot')!), outOfOrder('updateSnapshot'));
  assert.throws(() => b.updateTargets(repo.files.get('targets')!), outOfOrder('updateTargets'));
  b.updateTimestamp(repo.files.get('timestamp')!);
  assert.throws(() => b.updateTargets(repo.files.get('targets')!), outOfOrder('updateTargets'));
  assert.throws(() => b.updateDelegation('targets/releases', repo.files.get('targets/releases')!), outOfOrder('updateDelegation'));
  b.updateSnapshot(repo.files.get('snapshot')!);
  assert.throws(() => b.updateDelegation('targets/releases', repo.files.get('targets/releases')!), outOfOrder('updateDelegation'));
  b.updateTargets(repo.files.get('targets')!);
  assert.equal(b.updateDelegation('targets/releases', repo.files.get('targets/releases')!), true);
});

test('order: nothing goes back (no root after the timestamp, no timestamp after the snapshot)', async () => {
  const repo = await freshRepo();
  const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  b.loadRoot(repo.files.get('root')!, 'cache');
  b.updateTimestamp(repo.files.get('timestamp')!);
  assert.throws(() => b.updateRoot(repo.files.get('root')!), outOfOrder('updateRoot'));
  assert.throws(() => b.finishRoot(), outOfOrder('finishRoot'));
  assert.throws(() => b.updateTimestamp(repo.files.get('timestamp')!), outOfOrder('updateTimestamp'));
  b.updateSnapshot(repo.files.get('snapshot')!);
  assert.throws(() => b.updateTimestamp(repo.files.get('timestamp')!), outOfOrder('updateTimestamp'));
  assert.throws(() => b.updateSnapshot(repo.files.get('snapshot')!), outOfOrder('updateSnapshot'));
  b.updateTargets(repo.files.get('targets')!);
  assert.throws(() => b.updateTargets(repo.files.get('targets')!), outOfOrder('updateTargets'));
  assert.throws(() => b.updateSnapshot(repo.files.get('snapshot')!), outOfOrder('updateSnapshot'));
});

test('order: no root update once finishRoot ran', async () => {
  const repo = await freshRepo();
  const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  b.loadRoot(repo.files.get('root')!, 'cache');
  b.finishRoot();
  b.finishRoot(); // the root stays final
  assert.throws(() => b.updateRoot(repo.files.get('root')!), outOfOrder('updateRoot'));
  b.updateTimestamp(repo.files.get('timestamp')!);
});

test('the final root is checked for expiry when the timestamp is loaded (client workflow 5.3.10)', async () => {
  const repo = await freshRepo();
  repo.root.expires = expiresAfter(NOW, -1);
  await repo.sign();
  const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  b.loadRoot(repo.files.get('root')!, 'cache'); // the cached trust anchor: its expiry waits for the root phase to end
  assert.throws(
    () => b.updateTimestamp(repo.files.get('timestamp')!),
    (e: unknown) => isTrustError(e, 'EXPIRED') && e.role === 'root',
  );
  assert.equal(b.timestamp, undefined);
  assert.throws(() => b.updateSnapshot(repo.files.get('snapshot')!), outOfOrder('updateSnapshot'));
});

test('a refused file leaves the order where it was: the next good one is taken', async () => {
  const repo = await freshRepo();
  const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  b.loadRoot(repo.files.get('root')!, 'remote');
  b.updateTimestamp(repo.files.get('timestamp')!);
  assert.throws(() => b.updateSnapshot(Buffer.concat([repo.files.get('snapshot')!, Buffer.from(' ')])), (e: unknown) => isTrustError(e, 'TOO_LARGE'));
  assert.equal(b.updateSnapshot(repo.files.get('snapshot')!).version, 1);
});

test('allowExpired lets through only the roles it names and records them; every other expired role still fails, with a hint', async () => {
  const repo = await freshRepo();
  repo.targets.expires = expiresAfter(NOW, -1);
  repo.snapshot.expires = expiresAfter(NOW, -1);
  await repo.sign();
  // Named: targets only. The expired snapshot is still refused.
  assert.throws(
    () => build(repo, { allowExpired: new Set(['targets']) }),
    (e: unknown) => isTrustError(e, 'EXPIRED') && e.role === 'snapshot' && /dtrust renew example\.com\/app -p/.test(e.hint ?? ''),
  );
  const b = build(repo, { allowExpired: new Set(['targets', 'snapshot']) });
  assert.deepEqual([...b.expiredAllowed].sort(), ['snapshot', 'targets']);
  assert.ok(b.lookup('v1'));
  // Without it (every read): refused, the hint naming the clock and renew.
  assert.throws(
    () => build(repo),
    (e: unknown) => isTrustError(e, 'EXPIRED') && /check this machine's clock first/.test(e.hint ?? ''),
  );
  // 'all' (expiry): an expired delegation is trusted for display, not skipped.
  repo.delegations.get('targets/releases')!.meta.expires = expiresAfter(NOW, -1);
  await repo.sign();
  const all = build(repo, { allowExpired: 'all' });
  assert.equal(all.invalid.size, 0);
  assert.ok(all.expiredAllowed.has('targets/releases'));
});
