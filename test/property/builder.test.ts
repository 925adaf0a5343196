// The trusted-collection builder on mutated real notary repositories: the files go through
// envelope parsing and the builder in notary's order, as the client feeds them. Only TrustErrors;
// whatever the builder trusts is what notary signed (never a mutated `signed` that verifies);
// Object.prototype untouched. Re-signed: the same content under test keys, one file's signed
// text mutated and signed again (and pinned by a re-signed snapshot and timestamp), so that
// mutations reach the checks behind the signatures; 50 ms at most for a 1 MiB targets file.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TrustedCollectionBuilder } from '../../src/tuf/builder.js';
import { canonicalBytes, canonicalString, fileFormString } from '../../src/tuf/canonical.js';
import { envelopeAround, parseEnvelope, type Signature } from '../../src/tuf/envelope.js';
import { TrustError } from '../../src/tuf/errors.js';
import { parseJson, type Json } from '../../src/tuf/json.js';
import { parseTargets, type Targets } from '../../src/tuf/metadata.js';
import { pathAllowed } from '../../src/tuf/roles.js';
import { MemRepo, ecdsaKey, type MemKey } from '../support/memrepo.js';
import { property } from './budget.js';
import { assertPrototypesUntouched, outcome, typedAs } from './checks.js';
import { notaryMetadata } from './corpus.js';
import { applyMutations, fileArb, mutationsArb, type Mutation } from './mutate.js';
import { assertFast } from './timing.js';

const typed = typedAs(TrustError);

/** One repository's files by role, and the canonical bytes notary signed for each. */
interface RealRepo {
  id: string;
  gun: string;
  files: Map<string, Buffer>;
  canonical: Map<string, Buffer>;
  /** A time at which nothing in it has expired. */
  now: number;
}

type Files = ReadonlyMap<string, Uint8Array>;

/**
 * Feeds `files` to a new builder as the client does (formats.md §7): the root (from the cache,
 * or a cached `rootFromCache` and then `root` as an update), finishRoot, timestamp, snapshot,
 * targets, then each delegation the builder asks for that is there. Stops at the first error.
 */
function feed(gun: string, now: number, files: Files, rootFromCache?: Uint8Array): { builder: TrustedCollectionBuilder; error?: TrustError } {
  const b = new TrustedCollectionBuilder({ gun, now });
  const r = outcome(() => {
    if (rootFromCache) {
      b.loadRoot(rootFromCache, 'cache');
      b.updateRoot(files.get('root')!);
    } else b.loadRoot(files.get('root')!, 'cache');
    b.updateTimestamp(files.get('timestamp')!);
    b.updateSnapshot(files.get('snapshot')!);
    b.updateTargets(files.get('targets')!);
    for (const role of b.delegationsToLoad()) {
      const bytes = files.get(role);
      if (bytes) b.updateDelegation(role, bytes);
    }
  }, typed);
  return r.ok ? { builder: b } : { builder: b, error: r.error as TrustError };
}

/** Every file the builder trusts, by role. */
function trustedFiles(b: TrustedCollectionBuilder): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  if (b.root) out.set('root', b.root.bytes);
  if (b.timestamp) out.set('timestamp', b.timestamp.bytes);
  if (b.snapshot) out.set('snapshot', b.snapshot.bytes);
  for (const [role, f] of b.targetsRoles) out.set(role, f.bytes);
  return out;
}

/** What a client reads from a builder: each listed target inside its role's paths, and found by lookup. */
function assertReadable(b: TrustedCollectionBuilder): void {
  if (!b.targets) return;
  const listed = b.listTargets();
  for (const t of listed) {
    assert.ok(b.targetsRoles.has(t.role), `${t.name} listed from ${t.role}, which is not trusted`);
    assert.ok(pathAllowed(t.name, b.pathsOf(t.role) ?? []), `${t.name} listed from ${t.role} outside its paths`);
    assert.equal(b.lookup(t.name)?.role, t.role, `lookup(${t.name}) disagrees with listTargets`);
  }
  assert.equal([...b.listTargetSummaries()].length, listed.length, 'listTargetSummaries and listTargets list as many targets');
}

// ---------------------------------------------------------------------------------------------
// The real repositories, unmutated: each verifies completely at its `now`.

function expiresMs(bytes: Buffer, role: string): number {
  const v = parseEnvelope(bytes, role).signed['expires'];
  return Date.parse(String(v));
}

const REAL: RealRepo[] = [];
for (const f of notaryMetadata()) {
  let r = REAL.find((x) => x.id === f.repo);
  if (!r) REAL.push((r = { id: f.repo, gun: f.gun, files: new Map(), canonical: new Map(), now: Infinity }));
  r.files.set(f.role, f.bytes);
  r.canonical.set(f.role, parseEnvelope(f.bytes, f.role).canonical);
  r.now = Math.min(r.now, expiresMs(f.bytes, f.role) - 3_600_000);
}
for (const r of REAL) {
  const { builder, error } = feed(r.gun, r.now, r.files);
  assert.equal(error, undefined, `${r.id} verifies unmutated: ${error?.message}`);
  assert.deepEqual([...trustedFiles(builder).keys()].sort(), [...r.files.keys()].sort(), `${r.id}: every file is trusted unmutated`);
}

const editArb = (roles: readonly string[]): fc.Arbitrary<{ role: string; mutations: Mutation[] }> =>
  fc.record({ role: fc.constantFrom(...roles), mutations: mutationsArb(3) });

const realInput = fc
  .record({ repo: fileArb(REAL), roleIndexes: fc.array(fc.nat(), { minLength: 1, maxLength: 2 }), mutations: fc.array(mutationsArb(3), { minLength: 2, maxLength: 2 }), rootAsUpdate: fc.boolean() })
  .map(({ repo, roleIndexes, mutations, rootAsUpdate }) => {
    const roles = [...repo.files.keys()].sort();
    return { repo, edits: roleIndexes.map((i, k) => ({ role: roles[i % roles.length]!, mutations: mutations[k]! })), rootAsUpdate };
  });

property(
  'builder/mutated-notary-repositories',
  fc.property(realInput, ({ repo, edits, rootAsUpdate }) => {
    const files = new Map(repo.files);
    for (const e of edits) files.set(e.role, applyMutations(files.get(e.role)!, e.mutations));
    const { builder } = feed(repo.gun, repo.now, files, rootAsUpdate ? repo.files.get('root') : undefined);
    for (const [role, bytes] of trustedFiles(builder)) {
      // A trusted file parses (the builder parsed it): its signed bytes are notary's.
      assert.deepEqual(parseEnvelope(bytes, role).canonical, repo.canonical.get(role), `a mutated ${role} was trusted with other signed bytes`);
    }
    for (const role of builder.invalidFiles.keys()) assert.ok(!builder.targetsRoles.has(role), `${role} both skipped and trusted`);
    assertReadable(builder);
    assertPrototypesUntouched();
  }),
);

// ---------------------------------------------------------------------------------------------
// Re-signed: notary-made's content (targets with odd names and custom data, three delegations
// with paths) under test keys, so that a mutated file can be signed again.

const MADE = REAL.find((r) => r.id === 'notary-made')!;
const GUN = MADE.gun;
const NOW = MADE.now;

function realTargets(role: string): Targets {
  return parseTargets(parseEnvelope(MADE.files.get(role)!, role).signed, role);
}

interface Signed {
  repo: MemRepo;
  /** The signers of each role. */
  signers: Map<string, MemKey[]>;
}

async function resignedRepo(): Promise<Signed> {
  const repo = await MemRepo.create(GUN, NOW);
  const signers = new Map<string, MemKey[]>([
    ['root', repo.keys.root],
    ['targets', repo.keys.targets],
    ['snapshot', repo.keys.snapshot],
    ['timestamp', repo.keys.timestamp],
  ]);
  repo.targets.targets = realTargets('targets').targets;
  const queue = ['targets'];
  for (let i = 0; i < queue.length; i++) {
    const parent = queue[i]!;
    for (const d of realTargets(parent).delegations.roles) {
      const key = ecdsaKey();
      repo.delegate(parent, d.name, [key], d.paths, 1);
      repo.delegations.get(d.name)!.meta.targets = realTargets(d.name).targets;
      signers.set(d.name, [key]);
      queue.push(d.name);
    }
  }
  await repo.sign();
  return { repo, signers };
}

/**
 * Made once, when the first property that needs it runs: a test file registers its tests before
 * any top-level await (node:test would otherwise run its after() hooks while tests remain).
 */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= make());
}

const base = once(async () => {
  const s = await resignedRepo();
  const { builder, error } = feed(GUN, NOW, s.repo.files);
  assert.equal(error, undefined, `the re-signed repository verifies: ${error?.message}`);
  assert.equal(builder.targetsRoles.size, 4);
  return s;
});

/** The file form of a file's signed text, mutated, in an envelope signed by `signers` when it parses. */
async function resign(bytes: Buffer, role: string, mutations: readonly Mutation[], signers: readonly MemKey[]): Promise<Buffer> {
  const env = parseEnvelope(bytes, role);
  const text = applyMutations(Buffer.from(fileFormString(canonicalString(env.signed, 'verify')), 'utf8'), mutations);
  const signatures: Signature[] = [];
  const value = outcome(() => canonicalBytes(parseJson(text, { rejectDuplicates: false }) as Json, 'verify'), (e) => e instanceof TrustError);
  if (value.ok) {
    for (const s of signers) {
      const { method, sig } = await s.signer.sign(value.value);
      signatures.push({ keyid: s.pub.id, method, sig });
    }
  }
  return envelopeAround(text, signatures);
}

/** The roles of notary-made (the re-signed repository has the same). */
const ROLES = [...MADE.files.keys()].sort();

property(
  'builder/resigned-mutated-repositories',
  fc.asyncProperty(editArb(ROLES), fc.boolean(), async ({ role, mutations }, rootAsUpdate) => {
    const { repo, signers } = await base();
    const files = new Map(repo.files);
    files.set(role, await resign(files.get(role)!, role, mutations, signers.get(role)!));
    // The files above it pin the new bytes: snapshot and timestamp signed again.
    const saved = new Map(repo.files);
    for (const [r, b] of files) repo.files.set(r, b);
    for (const r of files.keys()) if (r !== 'snapshot' && r !== 'timestamp') repo.frozen.add(r);
    if (role === 'snapshot') repo.frozen.add('snapshot');
    if (role === 'timestamp') repo.frozen.add('timestamp');
    try {
      await repo.sign();
      const mutated = new Map(repo.files);
      const { builder } = feed(GUN, NOW, mutated, rootAsUpdate ? saved.get('root') : undefined);
      for (const [r, bytes] of trustedFiles(builder)) {
        // The cached root stays trusted when the update to the mutated one is refused.
        const fed = r === 'root' && rootAsUpdate && builder.root!.bytes === saved.get('root') ? saved.get('root') : mutated.get(r);
        assert.deepEqual(bytes, fed, `${r}: the trusted bytes are the ones fed`);
      }
      assertReadable(builder);
    } finally {
      repo.frozen.clear();
      for (const [r, b] of saved) repo.files.set(r, b);
    }
    assertPrototypesUntouched();
  }),
);

// ---------------------------------------------------------------------------------------------
// 1 MiB: a targets file of notary-made's form grown to 1 MiB, mutated, signed and pinned; the
// whole builder run (root to delegations, listing included) at most 50 ms.

const MiB = 1 << 20;

async function bigRepo(): Promise<Signed> {
  const s = await resignedRepo();
  const t = s.repo.targets;
  const real = [...t.targets.values()];
  for (let i = 0; ; i++) {
    t.targets.set(`grown/${String(i).padStart(7, '0')}`, real[i % real.length]!);
    if (i % 1000 === 999) {
      await s.repo.sign();
      if (s.repo.files.get('targets')!.length >= MiB - 4096) break;
    }
  }
  return s;
}
const big = once(async () => {
  const s = await bigRepo();
  const text = s.repo.files.get('targets')!.toString('latin1');
  /** V8's JSON.parse of the same 1 MiB, about 3.4 ms on the development machine (envelope.test.ts). */
  const reference = { run: (): void => void JSON.parse(text), ms: 3.4 };
  return { ...s, reference };
});

property(
  'builder/one-mebibyte-bounded-time',
  fc.asyncProperty(mutationsArb(3), async (mutations) => {
    const { repo, signers, reference } = await big();
    const saved = new Map(repo.files);
    try {
      repo.files.set('targets', await resign(saved.get('targets')!, 'targets', mutations, signers.get('targets')!));
      repo.frozen.add('targets');
      for (const r of signers.keys()) if (r.startsWith('targets/')) repo.frozen.add(r);
      await repo.sign();
      const files = new Map(repo.files);
      assertFast(
        `the builder on a ${files.get('targets')!.length}-byte targets file`,
        () => {
          const { builder } = feed(GUN, NOW, files);
          if (builder.targets) builder.listTargets();
        },
        50,
        reference,
      );
    } finally {
      repo.frozen.clear();
      for (const [r, b] of saved) repo.files.set(r, b);
    }
    assertPrototypesUntouched();
  }),
);
