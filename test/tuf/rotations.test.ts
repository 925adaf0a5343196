// Root key rotations, table-driven in the style of python-tuf's
// tests/test_updater_key_rotations.py, against the builder: each row is a chain of root
// versions (which keys the root role lists, its threshold, and which keys signed the file). The
// client trusts version 1 (loadRoot from the cache) and then walks the chain as `update` does
// (updateRoot of N.root.json for every version, intermediate ones allowed to be expired). Each
// row ends accepted at the last version, or refused at one version with one error code
// (formats.md §7.3, security.md SEC-V1, SEC-V5, SEC-V7).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TrustedCollectionBuilder } from '../../src/tuf/builder.js';
import { isTrustError, type TrustErrorCode } from '../../src/tuf/errors.js';
import { expiresAfter } from '../../src/tuf/expires.js';
import { PublicKey } from '../../src/tuf/keys.js';
import type { Root } from '../../src/tuf/metadata.js';
import { keyObjectSigner, signMetadata } from '../../src/tuf/sign.js';
import { goPemCertificates } from '../../src/crypto/x509.js';
import { MemRepo, rootCertKey, type MemKey } from '../support/memrepo.js';

const GUN = 'example.com/rotations';
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const DAY = 86_400_000;

/** One root version of a row: keys and signers are indices into the key pool (1-based). */
interface RootVersion {
  keys: number[];
  threshold: number;
  signers: number[];
  /** The file expired a day ago. */
  expired?: boolean;
  /** The version written into the file (default: its position in the chain). */
  version?: number;
}

type Outcome = { accepted: true } | { code: TrustErrorCode; at: number };

interface Row {
  name: string;
  versions: RootVersion[];
  outcome: Outcome;
  /** Feed the last file as `root.json` (no expected version) instead of as `N.root.json`. */
  lastAsLatest?: boolean;
}

const v = (keys: number[], threshold: number, signers: number[], extra: Partial<RootVersion> = {}): RootVersion => ({ keys, threshold, signers, ...extra });
const OK: Outcome = { accepted: true };
const fail = (code: TrustErrorCode, at: number): Outcome => ({ code, at });

// Key 8 is a second certificate for key 1's key pair: another key ID, the same key.
const rows: Row[] = [
  // --- 1-of-1 (python-tuf) ---
  { name: '1-of-1 key rotation', versions: [v([1], 1, [1]), v([2], 1, [2, 1]), v([2], 1, [2])], outcome: OK },
  { name: '1-of-1 key rotation, unused signatures', versions: [v([1], 1, [3, 1, 4]), v([2], 1, [3, 2, 1, 4]), v([2], 1, [3, 2, 4])], outcome: OK },
  { name: '1-of-1 key rotation fail: not signed with old key', versions: [v([1], 1, [1]), v([2], 1, [2, 3, 4])], outcome: fail('ROOT_CHAIN_BROKEN', 2) },
  { name: '1-of-1 key rotation fail: not signed with new key', versions: [v([1], 1, [1]), v([2], 1, [1, 3, 4])], outcome: fail('THRESHOLD_NOT_MET', 2) },
  // --- 3-of-5 (python-tuf) ---
  { name: '3-of-5, sign with different key combinations', versions: [v([1, 2, 3, 4, 5], 3, [1, 3, 5]), v([1, 2, 3, 4, 5], 3, [1, 4, 3]), v([1, 2, 3, 4, 5], 3, [5, 2, 1])], outcome: OK },
  { name: '3-of-5, one key rotated', versions: [v([1, 2, 3, 4, 5], 3, [1, 2, 3]), v([1, 2, 3, 4, 6], 3, [6, 1, 2, 4])], outcome: OK },
  { name: '3-of-5, one key rotated fail: not signed by 3 new keys', versions: [v([1, 2, 3, 4, 5], 3, [1, 2, 3]), v([1, 2, 3, 4, 6], 3, [1, 2, 5])], outcome: fail('THRESHOLD_NOT_MET', 2) },
  { name: '3-of-5, one key rotated fail: not signed by 3 old keys', versions: [v([1, 2, 3, 4, 5], 3, [1, 2, 3]), v([1, 2, 3, 4, 6], 3, [1, 2, 6])], outcome: fail('ROOT_CHAIN_BROKEN', 2) },
  { name: '3-of-5, one key rotated, one removed (threshold 3 of 4)', versions: [v([1, 2, 3, 4, 5], 3, [1, 2, 3]), v([1, 2, 3, 6], 3, [1, 2, 3, 6])], outcome: OK },
  // --- threshold changes ---
  { name: 'threshold 1 -> 2', versions: [v([1], 1, [1]), v([1, 2], 2, [1, 2])], outcome: OK },
  { name: 'threshold 1 -> 2 fail: one new signature', versions: [v([1], 1, [1]), v([1, 2], 2, [1])], outcome: fail('THRESHOLD_NOT_MET', 2) },
  { name: 'threshold 1 -> 2 with new keys fail: old key did not sign', versions: [v([1], 1, [1]), v([2, 3], 2, [2, 3])], outcome: fail('ROOT_CHAIN_BROKEN', 2) },
  { name: 'threshold 2 -> 1', versions: [v([1, 2], 2, [1, 2]), v([3], 1, [1, 2, 3])], outcome: OK },
  { name: 'threshold 2 -> 1 fail: one old signature', versions: [v([1, 2], 2, [1, 2]), v([3], 1, [1, 3])], outcome: fail('ROOT_CHAIN_BROKEN', 2) },
  { name: 'threshold 2 -> 1, then the remaining key alone', versions: [v([1, 2], 2, [1, 2]), v([1], 1, [1, 2]), v([1], 1, [1])], outcome: OK },
  { name: 'threshold 2 -> 3', versions: [v([1, 2], 2, [1, 2]), v([1, 2, 3], 3, [1, 2, 3])], outcome: OK },
  { name: 'threshold 2 -> 3 fail: two new signatures', versions: [v([1, 2], 2, [1, 2]), v([1, 2, 3], 3, [1, 2])], outcome: fail('THRESHOLD_NOT_MET', 2) },
  { name: 'threshold 2 -> 3 with new keys fail: one old signature', versions: [v([1, 2], 2, [1, 2]), v([3, 4, 5], 3, [1, 3, 4, 5])], outcome: fail('ROOT_CHAIN_BROKEN', 2) },
  { name: 'threshold 2 -> 3 with new keys', versions: [v([1, 2], 2, [1, 2]), v([3, 4, 5], 3, [2, 1, 5, 4, 3])], outcome: OK },
  { name: 'threshold above the number of keys', versions: [v([1], 1, [1]), v([2], 2, [1, 2])], outcome: fail('INVALID_THRESHOLD', 2) },
  // --- missing signatures along a chain ---
  { name: 'chain: each version signed by its predecessor', versions: [v([1], 1, [1]), v([2], 1, [1, 2]), v([3], 1, [2, 3]), v([4], 1, [3, 4])], outcome: OK },
  { name: 'chain fail: version 3 misses the signature of version 2', versions: [v([1], 1, [1]), v([2], 1, [1, 2]), v([3], 1, [3]), v([4], 1, [3, 4])], outcome: fail('ROOT_CHAIN_BROKEN', 3) },
  { name: 'chain fail: version 3 misses its own signature', versions: [v([1], 1, [1]), v([2], 1, [1, 2]), v([3], 1, [2]), v([4], 1, [3, 4])], outcome: fail('THRESHOLD_NOT_MET', 3) },
  // --- rotated-away keys ---
  { name: 'rotated-away key signing the next version does not count', versions: [v([1], 1, [1]), v([2], 1, [1, 2]), v([3], 1, [1, 3])], outcome: fail('ROOT_CHAIN_BROKEN', 3) },
  { name: 'rotated-away key alone, keys unchanged', versions: [v([1], 1, [1]), v([2], 1, [1, 2]), v([2], 1, [1])], outcome: fail('ROOT_CHAIN_BROKEN', 3) },
  { name: 'rotated-away key among a 2-of-3', versions: [v([1, 2, 3], 2, [1, 2]), v([2, 3, 4], 2, [1, 2, 3, 4]), v([2, 3, 4], 2, [1, 2])], outcome: fail('ROOT_CHAIN_BROKEN', 3) },
  // --- keys reused across versions ---
  { name: 'a key comes back after being rotated away', versions: [v([1], 1, [1]), v([2], 1, [1, 2]), v([1], 1, [2, 1])], outcome: OK },
  { name: 'a key comes back in a 2-of-2', versions: [v([1, 2], 2, [1, 2]), v([2, 3], 2, [1, 2, 3]), v([1, 3], 2, [2, 3, 1])], outcome: OK },
  { name: 'one key kept across every version', versions: [v([1, 2], 1, [1, 2]), v([1, 3], 1, [1]), v([1, 4], 1, [1]), v([1, 5], 1, [1])], outcome: OK },
  // --- counting: distinct keys, not signature entries or key IDs (SEC-V1) ---
  { name: 'duplicate signature entries of one key count once', versions: [v([1, 2], 2, [1, 2]), v([1, 2], 2, [1, 1])], outcome: fail('ROOT_CHAIN_BROKEN', 2) },
  { name: 'two certificates of one key pair count once', versions: [v([1, 2], 2, [1, 2]), v([1, 8], 2, [1, 2, 8])], outcome: fail('THRESHOLD_NOT_MET', 2) },
  { name: 'two certificates of one key pair count once for the old threshold', versions: [v([1, 8], 1, [1]), v([3], 1, [3, 8])], outcome: OK },
  // --- versions and expiry ---
  { name: 'expired intermediate root is fine', versions: [v([1], 1, [1]), v([2], 1, [1, 2], { expired: true }), v([3], 1, [2, 3])], outcome: OK },
  { name: 'expired final root', versions: [v([1], 1, [1]), v([2], 1, [1, 2]), v([3], 1, [2, 3], { expired: true })], outcome: fail('EXPIRED', 3) },
  { name: 'N.root.json holding another version', versions: [v([1], 1, [1]), v([2], 1, [1, 2], { version: 3 })], outcome: fail('ROOT_CHAIN_BROKEN', 2) },
  { name: 'rollback to an older version', versions: [v([1], 1, [1], { version: 2 }), v([1], 1, [1], { version: 1 })], lastAsLatest: true, outcome: fail('ROLLBACK', 2) },
];

let pool: MemKey[] = [];
let template: Root;

before(async () => {
  const repo = await MemRepo.create(GUN, NOW);
  template = repo.root;
  pool = [undefined as unknown as MemKey];
  for (let i = 1; i <= 7; i++) pool.push(await rootCertKey(GUN, NOW - DAY));
  // 8: key 1's key pair in another certificate
  const { createRootCertificate } = await import('../../src/crypto/certgen.js');
  const k1 = pool[1]!;
  const der = await createRootCertificate({
    privateKey: k1.priv,
    publicKey: k1.pub.keyObject(),
    commonName: GUN,
    notBefore: new Date(NOW - 2 * DAY),
    notAfter: new Date(NOW + 3650 * DAY),
  });
  const pub = new PublicKey('ecdsa-x509', Buffer.from(goPemCertificates([der]), 'latin1'));
  pool.push({ priv: k1.priv, pub, signer: keyObjectSigner(k1.priv, pub) });
  assert.notEqual(pool[8]!.pub.id, pool[1]!.pub.id);
  assert.equal(pool[8]!.pub.canonicalId, pool[1]!.pub.canonicalId);
});

async function rootFile(rv: RootVersion, position: number): Promise<Buffer> {
  const keys = new Map(template.keys);
  for (const id of template.roles.get('root')!.keyids!) keys.delete(id);
  for (const k of rv.keys) keys.set(pool[k]!.pub.id, pool[k]!.pub);
  const roles = new Map(template.roles);
  roles.set('root', { keyids: rv.keys.map((k) => pool[k]!.pub.id), threshold: rv.threshold });
  const root: Root = {
    ...template,
    keys,
    roles,
    version: rv.version ?? position,
    expires: rv.expired ? expiresAfter(NOW, -1) : expiresAfter(NOW, 3650),
  };
  return (await signMetadata(root, rv.signers.map((k) => pool[k]!.signer))).bytes;
}

/** Trust version 1 from the cache, then walk the rest as `update` does; the outcome. */
async function walk(row: Row): Promise<{ outcome: Outcome; builder: TrustedCollectionBuilder; error?: unknown }> {
  const files: Buffer[] = [];
  for (let i = 0; i < row.versions.length; i++) files.push(await rootFile(row.versions[i]!, i + 1));
  const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  let at = 1;
  try {
    b.loadRoot(files[0]!, 'cache');
    for (at = 2; at <= files.length; at++) {
      const last = at === files.length;
      const opts = last && row.lastAsLatest ? {} : { expectedVersion: at, intermediate: !last };
      b.updateRoot(files[at - 1]!, opts);
    }
    at = files.length;
    b.finishRoot();
    return { outcome: OK, builder: b };
  } catch (e) {
    if (!isTrustError(e)) throw e;
    return { outcome: { code: e.code, at }, builder: b, error: e };
  }
}

describe('root rotations (python-tuf key rotation rows)', () => {
  for (const row of rows) {
    test(row.name, async () => {
      const { outcome, builder, error } = await walk(row);
      assert.deepEqual(outcome, row.outcome, `${row.name}: ${error instanceof Error ? error.message : 'accepted'}`);
      if ('accepted' in row.outcome) {
        const last = row.versions[row.versions.length - 1]!;
        assert.equal(builder.root!.meta.version, last.version ?? row.versions.length);
        assert.deepEqual(builder.root!.meta.roles.get('root')!.keyids, last.keys.map((k) => pool[k]!.pub.id));
      } else {
        // A refused version is never trusted: the builder still holds the one before it.
        const trusted = builder.root?.meta.version;
        if (row.outcome.at > 1) assert.equal(trusted, row.versions[row.outcome.at - 2]!.version ?? row.outcome.at - 1);
        // Errors name the role (SEC-V1: "the error MUST name the role").
        assert.match((error as Error).message, /root/);
      }
    });
  }
});

test('every refusal code above is exercised, and accepted rows end on their last version', () => {
  const codes = new Set(rows.flatMap((r) => ('code' in r.outcome ? [r.outcome.code] : [])));
  assert.deepEqual([...codes].sort(), ['EXPIRED', 'INVALID_THRESHOLD', 'ROLLBACK', 'ROOT_CHAIN_BROKEN', 'THRESHOLD_NOT_MET']);
  assert.ok(rows.filter((r) => 'accepted' in r.outcome).length >= 15);
});
