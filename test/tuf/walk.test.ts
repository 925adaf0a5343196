// The one delegation walk (tuf/walk.ts): notary's breadth-first order, each role once, children
// asked for only after the caller handled their parent; and the loads and reads built on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrustedCollectionBuilder } from '../../src/tuf/builder.js';
import { parentOf } from '../../src/tuf/roles.js';
import { breadthFirst, targetsByName, trustedRoles } from '../../src/tuf/walk.js';
import { MemRepo, buildFrom, ecdsaKey } from '../support/memrepo.js';

const GUN = 'example.com/walk';
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

const TREE: Record<string, string[]> = {
  targets: ['targets/b', 'targets/a'],
  'targets/b': ['targets/b/y', 'targets/b/x'],
  'targets/a': ['targets/a/z'],
};

test('breadthFirst: level by level, children in the order listed, each role once', () => {
  assert.deepEqual([...breadthFirst(['targets'], (r) => TREE[r] ?? [])], ['targets', 'targets/b', 'targets/a', 'targets/b/y', 'targets/b/x', 'targets/a/z']);
  assert.deepEqual([...breadthFirst(['targets/a', 'targets', 'targets/a'], (r) => TREE[r] ?? [])], ['targets/a', 'targets', 'targets/a/z', 'targets/b', 'targets/b/y', 'targets/b/x']);
});

test('breadthFirst asks for a role\'s children only after the caller handled the role', () => {
  const handled = new Set<string>();
  const asked: string[] = [];
  for (const role of breadthFirst(['targets'], (r) => {
    assert.ok(handled.has(r), `children of ${r} asked for before it was handled`);
    asked.push(r);
    return r === 'targets/a' ? [] : (TREE[r] ?? []); // targets/a "failed to load": its subtree is never reached
  })) {
    handled.add(role);
  }
  assert.deepEqual([...handled], ['targets', 'targets/b', 'targets/a', 'targets/b/y', 'targets/b/x']);
  assert.deepEqual(asked, [...handled]);
});

test('parentOf: targets is delegated by root, a delegation by the name up to its last slash', () => {
  assert.equal(parentOf('targets'), 'root');
  assert.equal(parentOf('targets/a'), 'targets');
  assert.equal(parentOf('targets/a/b'), 'targets/a');
});

async function tree(): Promise<MemRepo> {
  const repo = await MemRepo.create(GUN, NOW);
  for (const [parent, children] of Object.entries(TREE)) {
    for (const child of children) repo.delegate(parent, child, [ecdsaKey()], ['']);
  }
  repo.addTarget('same', 'from b/x', 'targets/b/x');
  repo.addTarget('same', 'from a', 'targets/a');
  repo.addTarget('same', 'from a/z', 'targets/a/z');
  await repo.sign();
  return repo;
}

test('the builder loads delegations in walk order, parents first, and hands out no role under one not loaded', async () => {
  const repo = await tree();
  const b = new TrustedCollectionBuilder({ gun: GUN, now: NOW });
  b.loadRoot(repo.files.get('root')!, 'remote');
  b.updateTimestamp(repo.files.get('timestamp')!);
  b.updateSnapshot(repo.files.get('snapshot')!);
  b.updateTargets(repo.files.get('targets')!);
  const offered: string[] = [];
  for (const role of b.delegationsToLoad()) {
    offered.push(role);
    if (role !== 'targets/b') b.updateDelegation(role, repo.files.get(role)!);
  }
  assert.deepEqual(offered, ['targets/b', 'targets/a', 'targets/a/z']);
  assert.deepEqual(trustedRoles(b), ['targets', 'targets/a', 'targets/a/z']);
});

test('reads follow the walk: the first role in walk order signs a name, every role is listed in that order', async () => {
  const b = buildFrom(await tree(), { now: NOW });
  assert.deepEqual(trustedRoles(b), ['targets', 'targets/b', 'targets/a', 'targets/b/y', 'targets/b/x', 'targets/a/z']);
  assert.deepEqual(trustedRoles(b, ['targets/a', 'targets/nope']), ['targets/a', 'targets/a/z']);
  assert.equal(b.lookup('same')?.role, 'targets/a', 'targets/a is a level above targets/b/x');
  assert.equal(b.lookup('same', ['targets/b'])?.role, 'targets/b/x');
  assert.deepEqual(targetsByName(b, 'same').map((e) => e.role), ['targets/a', 'targets/b/x', 'targets/a/z']);
});

test('MV-26 at scale: 2,000 sibling roles in shuffled orders, 1,000 lookups each: always the first of targets/a and targets/b as listed; -r order honoured', async () => {
  let seed = 26;
  const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const siblings = Array.from({ length: 2000 }, (_, i) => `targets/s${String(i).padStart(4, '0')}`);
  const key = ecdsaKey();
  const winners = new Set<string>();
  for (let round = 0; round < 3; round++) {
    const order = [...siblings, 'targets/a', 'targets/b'];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const repo = await MemRepo.create(GUN, NOW);
    for (const role of order) repo.delegate('targets', role, [key], ['']);
    repo.delegate('targets/a', 'targets/a/c', [key], ['']);
    repo.addTarget('same', 'from b', 'targets/b');
    repo.addTarget('same', 'from a', 'targets/a');
    repo.addTarget('same', 'from a/c', 'targets/a/c');
    await repo.sign();
    const b = buildFrom(repo, { now: NOW });
    const winner = order.indexOf('targets/a') < order.indexOf('targets/b') ? 'targets/a' : 'targets/b';
    winners.add(winner);
    for (let i = 0; i < 1000; i++) assert.equal(b.lookup('same')?.role, winner);
    assert.equal(b.lookup('same', ['targets/b', 'targets/a'])?.role, 'targets/b');
    assert.equal(b.lookup('same', ['targets/a/c', 'targets/b'])?.role, 'targets/a/c');
    assert.deepEqual(targetsByName(b, 'same').map((e) => e.role), [winner, winner === 'targets/a' ? 'targets/b' : 'targets/a', 'targets/a/c']);
  }
  assert.equal(winners.size, 2, 'the shuffles put each of targets/a and targets/b first at least once');
});
