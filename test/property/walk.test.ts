// The delegation walk (tuf/walk.ts through the builder) against a small reference model: random
// delegation trees with paths, key counts, thresholds, signatures, expiries and missing files are
// signed by the engine and loaded as the client loads them; the model says which roles are
// trusted and which are skipped (and why), their effective paths, and which role signs each
// target. Both must agree on every name, from `targets` and from any role.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TrustError } from '../../src/tuf/errors.js';
import { expiresAfter } from '../../src/tuf/expires.js';
import { targetsByName } from '../../src/tuf/walk.js';
import { MemRepo, buildFrom, ecdsaKey, fileMeta, type MemKey } from '../support/memrepo.js';
import { property } from './budget.js';
import { outcome, typedAs } from './checks.js';

const GUN = 'example.com/walk';
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const PATHS = ['', 'a', 'a/', 'a/b', 'a/b/', 'b', 'b/c', 'c/'];
const NAMES = ['a', 'a/x', 'a/b', 'a/b/y', 'a/bz', 'b', 'b/c/z', 'bc', 'c/w', 'x'];
const LABELS = ['p', 'q', 'r'];

/** A delegation as generated: the role's declaration in its parent, its file and its children. */
interface Node {
  label: string;
  paths: string[];
  /** Keys listed for the role, and the threshold declared (0 is refused by the parser of the parent). */
  keyCount: number;
  threshold: number;
  /** How many of the listed keys sign its file, and whether a key not listed signs too. */
  signing: number;
  outsider: boolean;
  expired: boolean;
  /** No file for it (not published, or not fetched). */
  missing: boolean;
  targets: string[];
  children: Node[];
}

const nodeArb = fc.letrec<{ node: Node; children: Node[] }>((tie) => ({
  node: fc
    .record({
      paths: fc.subarray(PATHS),
      keyCount: fc.integer({ min: 1, max: 3 }),
      threshold: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constant(4) }, { weight: 1, arbitrary: fc.constant(0) }),
      signing: fc.integer({ min: 0, max: 3 }),
      outsider: fc.boolean(),
      expired: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      missing: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      targets: fc.subarray(NAMES),
      children: tie('children'),
    })
    .map((n) => ({ ...n, label: '', signing: Math.min(n.signing, n.keyCount) })),
  children: fc.oneof({ depthSize: 'small', maxDepth: 3 }, fc.constant([]), fc.array(tie('node'), { minLength: 1, maxLength: 3 })).map((cs) =>
    cs.slice(0, LABELS.length).map((c, i) => ({ ...c, label: LABELS[i]! })),
  ),
}));

const treeArb = fc.record({ targets: fc.subarray(NAMES), children: nodeArb.children, from: fc.constantFrom('targets', 'targets/p', 'targets/q', 'targets/p/q', 'targets/q/p/r') });

// ---------------------------------------------------------------------------------------------
// The model: notary's rules written the plain way.

interface Model {
  /** Trusted roles in breadth-first order. */
  trusted: string[];
  /** Skipped roles in the order they were reached, with the reason. */
  skipped: [string, string][];
  paths: Map<string, string[]>;
  targets: Map<string, string[]>;
  children: Map<string, string[]>;
  /** A role listing a child with threshold 0: its file does not parse, and the load stops there. */
  error?: string;
}

function model(tree: { targets: string[]; children: Node[] }): Model {
  const m: Model = { trusted: [], skipped: [], paths: new Map([['targets', ['']]]), targets: new Map([['targets', [...tree.targets].sort()]]), children: new Map() };
  // A file is parsed before its signatures are counted: a role listing a threshold of 0 stops the load even when it would be skipped.
  const unparsable = (children: Node[]): boolean => children.some((c) => c.threshold === 0);
  if (unparsable(tree.children)) return { ...m, error: 'targets' };
  const queue: [string, Node[]][] = [['targets', tree.children]];
  for (const [role, children] of queue) {
    m.trusted.push(role);
    m.children.set(role, children.map((c) => `${role}/${c.label}`));
    for (const c of children) {
      const name = `${role}/${c.label}`;
      if (c.missing) continue;
      if (unparsable(c.children)) return { ...m, error: name };
      if (c.threshold > c.keyCount) m.skipped.push([name, 'INVALID_THRESHOLD']);
      else if (c.signing < c.threshold) m.skipped.push([name, 'THRESHOLD_NOT_MET']);
      else if (c.expired) m.skipped.push([name, 'EXPIRED']);
      else {
        const parentPaths = m.paths.get(role)!;
        m.paths.set(name, c.paths.filter((p) => parentPaths.some((pp) => p.startsWith(pp))));
        m.targets.set(name, [...c.targets].sort());
        queue.push([name, c.children]);
      }
    }
  }
  return m;
}

/** Breadth-first over trusted roles from `from`; the first role holding `name` inside its paths. */
function modelWalk(m: Model, from: string): string[] {
  if (!m.trusted.includes(from)) return [];
  const order = [from];
  for (let i = 0; i < order.length; i++) for (const c of m.children.get(order[i]!) ?? []) if (m.trusted.includes(c)) order.push(c);
  return order;
}

const signs = (m: Model, role: string, name: string): boolean => m.targets.get(role)!.includes(name) && m.paths.get(role)!.some((p) => name.startsWith(p));

function modelLookup(m: Model, name: string, from: string): string | undefined {
  return modelWalk(m, from).find((r) => signs(m, r, name));
}

/** Each name once, from the first role in walk order that signs it, in each role's (canonical) order. */
function modelList(m: Model, from: string): [string, string][] {
  const out: [string, string][] = [];
  for (const role of modelWalk(m, from)) for (const name of m.targets.get(role)!) if (signs(m, role, name) && !out.some(([n]) => n === name)) out.push([name, role]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The same tree signed by the engine.

const POOL: MemKey[] = Array.from({ length: 4 }, () => ecdsaKey());
const OUTSIDER = ecdsaKey();
/** The base repository's keys and root, made once (a root certificate takes a while). */
let base: Promise<MemRepo> | undefined;

async function signTree(tree: { targets: string[]; children: Node[] }): Promise<MemRepo> {
  const b = await (base ??= MemRepo.create(GUN, NOW));
  // A copy of its state with new targets, delegations and files (the keys and root are shared).
  const repo = Object.create(b) as MemRepo;
  Object.assign(repo, { delegations: new Map(), files: new Map(), frozen: new Set(), targets: { ...b.targets, delegations: { keys: new Map(), roles: [] }, targets: new Map() } });
  repo.snapshot = { ...b.snapshot };
  repo.timestamp = { ...b.timestamp };
  for (const n of tree.targets) repo.addTarget(n, 'targets');
  const missing: string[] = [];
  const add = (parent: string, nodes: Node[], depth: number): void => {
    nodes.forEach((n, i) => {
      const name = `${parent}/${n.label}`;
      const keys = POOL.slice((i + depth) % 2, (i + depth) % 2 + n.keyCount);
      repo.delegate(parent, name, keys, n.paths, n.threshold);
      const d = repo.delegations.get(name)!;
      d.keys = [...keys.slice(0, n.signing), ...(n.outsider ? [OUTSIDER] : [])];
      if (n.expired) d.meta.expires = expiresAfter(NOW, -1);
      for (const t of n.targets) d.meta.targets.set(t, fileMeta(Buffer.from(name)));
      if (n.missing) missing.push(name);
      add(name, n.children, depth + 1);
    });
  };
  add('targets', tree.children, 0);
  await repo.sign();
  for (const name of missing) repo.files.delete(name);
  return repo;
}

property(
  'walk/delegation-trees-as-the-model',
  fc.asyncProperty(treeArb, async (tree) => {
    const m = model(tree);
    const repo = await signTree(tree);
    const r = outcome(() => buildFrom(repo, { gun: GUN, now: NOW }), typedAs(TrustError));
    if (m.error !== undefined) {
      assert.ok(!r.ok, `${m.error} lists a role with threshold 0: its file is refused`);
      assert.equal(r.error.code, 'METADATA_INVALID');
      assert.equal((r.error as TrustError).fields.role, m.error);
      return;
    }
    assert.ok(r.ok, r.ok ? '' : `${r.error.code}: ${r.error.message}`);
    const b = r.value;
    assert.deepEqual([...b.targetsRoles.keys()], m.trusted, 'trusted roles, in load order');
    assert.deepEqual([...b.invalid].map(([role, e]) => [role, e.code]), m.skipped, 'skipped roles and why');
    assert.deepEqual(
      b.warnings.map((w) => /^skipping delegation (\S+):/.exec(w)?.[1]),
      m.skipped.map(([role]) => role),
      'one skip warning per skipped role, in order',
    );
    for (const role of m.trusted) assert.deepEqual(b.pathsOf(role), m.paths.get(role), `effective paths of ${role}`);
    for (const from of ['targets', tree.from]) {
      const roles = from === 'targets' ? undefined : [from];
      for (const name of NAMES) assert.equal(b.lookup(name, roles)?.role, modelLookup(m, name, from), `lookup(${name}) from ${from}`);
      const expected = modelList(m, from);
      assert.deepEqual(b.listTargets(roles).map((t) => [t.name, t.role]), expected, `listTargets from ${from}`);
      assert.deepEqual(
        [...b.listTargetSummaries(roles)].map((t) => [t.name, t.role]),
        expected.sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0)),
        `listTargetSummaries from ${from}`,
      );
    }
    // Every role holding a name inside its paths, in walk order (docker's view).
    for (const name of NAMES) {
      const all = modelWalk(m, 'targets').filter((r) => signs(m, r, name));
      assert.deepEqual(targetsByName(b, name).map((t) => t.role), all, `targetsByName(${name})`);
    }
  }),
);
