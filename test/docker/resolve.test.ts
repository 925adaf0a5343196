// docker/resolve.ts over signed in-memory repositories: docker's pull order (targets/releases
// and its tree before targets), a digest reference only through the tag's own resolution, the
// signers and roles a policy requires, and the root of trust.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRootOfTrust } from '../../src/client/rootoftrust.js';
import { parseImageReference } from '../../src/docker/reference.js';
import { pullOrder, trustedDigest } from '../../src/docker/resolve.js';
import { sha256 } from '../../src/crypto/hash.js';
import { buildFrom, ecdsaKey, MemRepo } from '../support/memrepo.js';

const NOW = Date.UTC(2026, 11, 6);
const GUN = 'registry.example.com/team/app';
const hex = (s: string): string => sha256(Buffer.from(s)).toString('hex');

async function repo() {
  const r = await MemRepo.create(GUN, NOW);
  r.delegate('targets', 'targets/alice', [ecdsaKey()], ['']);
  r.delegate('targets', 'targets/releases', [ecdsaKey()], ['']);
  r.addTarget('v1', 'old build'); // targets: an older digest
  r.addTarget('v1', 'release build', 'targets/releases');
  r.addTarget('v1', 'release build', 'targets/alice');
  r.addTarget('v2', 'only admin');
  r.addTarget('v3', 'alice only', 'targets/alice');
  await r.sign();
  return { r, b: buildFrom(r, { now: NOW }) };
}

describe('trustedDigest', () => {
  test("docker's pull order: releases first, then targets and the rest of its tree", async () => {
    const { b } = await repo();
    assert.deepEqual(pullOrder(b), ['targets/releases', 'targets', 'targets/alice']);
    const t = trustedDigest(b, parseImageReference(`${GUN}:v1`));
    assert.equal(t.digest, `sha256:${hex('release build')}`);
    assert.equal(t.role, 'targets/releases');
    assert.deepEqual(t.signers, ['alice']);
    assert.equal(trustedDigest(b, parseImageReference(`${GUN}:v2`)).role, 'targets');
    const v3 = trustedDigest(b, parseImageReference(`${GUN}:v3`));
    assert.equal(v3.role, 'targets/alice');
  });

  test('a digest counts only as its tag resolves; requirements must sign the same digest', async () => {
    const { b } = await repo();
    const byDigest = trustedDigest(b, parseImageReference(`${GUN}@sha256:${hex('release build')}`));
    assert.equal(byDigest.tag, 'v1');
    // targets still lists the old digest for v1, but v1 resolves elsewhere: not trusted.
    assert.throws(() => trustedDigest(b, parseImageReference(`${GUN}@sha256:${hex('old build')}`)), { code: 'NOT_SIGNED' });
    assert.throws(() => trustedDigest(b, parseImageReference(`${GUN}:v1@sha256:${hex('old build')}`)), { code: 'NOT_SIGNED' });
    assert.throws(() => trustedDigest(b, parseImageReference(`${GUN}:nope`)), { code: 'NOT_SIGNED' });
    trustedDigest(b, parseImageReference(`${GUN}:v1`), { signers: ['alice'], roles: ['releases', 'targets/alice'] });
    assert.throws(() => trustedDigest(b, parseImageReference(`${GUN}:v1`), { signers: ['bob'] }), { code: 'REQUIREMENT' });
    assert.throws(() => trustedDigest(b, parseImageReference(`${GUN}:v1`), { roles: ['targets'] }), { code: 'REQUIREMENT' });
    assert.throws(() => trustedDigest(b, parseImageReference(`${GUN}:v2`), { signers: ['alice'] }), { code: 'REQUIREMENT' });
  });

  test('the root of trust: the right key ID (certificate or canonical) passes, another is refused, none is TOFU', async () => {
    const { r, b } = await repo();
    const key = r.keys.root[0]!.pub;
    assert.equal((await checkRootOfTrust(b, { kind: 'keys', ids: [key.id] })).trust, 'pinned');
    assert.equal((await checkRootOfTrust(b, { kind: 'keys', ids: [key.canonicalId] })).trust, 'pinned');
    await assert.rejects(checkRootOfTrust(b, { kind: 'keys', ids: ['e'.repeat(64)] }), { code: 'TRUST_PINNING' });
    await assert.rejects(checkRootOfTrust(b, { kind: 'config', pinning: { certs: { [GUN]: ['e'.repeat(64)] } } }), { code: 'TRUST_PINNING' });
    await assert.rejects(checkRootOfTrust(b, { kind: 'cert', file: 'other.pem', pem: (await MemRepo.create(GUN, NOW)).keys.root[0]!.pub.pub }), { code: 'TRUST_PINNING' });
    assert.equal((await checkRootOfTrust(b, { kind: 'cert', file: 'root.pem', pem: key.pub })).trust, 'pinned');
    assert.equal((await checkRootOfTrust(b, { kind: 'config', pinning: {} })).trust, 'tofu');
  });
});
