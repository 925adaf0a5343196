// Security matrix rows on the shape of the metadata a server sends, through the CLI against the
// simulator: MV-16 (a timestamp without its snapshot entry, a snapshot without its root or targets
// entry, targets changed under the snapshot's pin), MV-21 (a same-version root with other keys,
// signed by the trusted root: refused, stricter than notary), MV-22 (the bound on the root walk:
// a root claiming version 2^40; a chain one longer than the bound; a chain at the bound), MV-30
// (unsigned fields added to the envelope: read, never re-uploaded) and the received-version half
// of MV-31 (a version above 2^53 - 1 is malformed).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Simulator, ok as okAnswer } from '../support/simulator.js';
import { ecdsaKey, rootCertKey, type MemKey, type MemRepo } from '../support/memrepo.js';
import { signMetadata } from '../../src/tuf/sign.js';
import {
  assertRefusedEverywhere,
  assertRefusedOnFirstContact,
  hookOn,
  importKey,
  listOk,
  multipartFiles,
  newCase,
  payload,
  release,
  replaceOnce,
  run,
  signOnly,
  signText,
  signedText,
  type Case,
} from './harness.js';

const T = { timeout: 180_000 };

let sim: Simulator;
before(async () => {
  sim = await Simulator.start();
});
after(() => sim.close());

async function trusted(prefix: string): Promise<Case> {
  const c = await newCase(sim, prefix);
  await listOk(c, 'app/v1', 'rel/r1');
  return c;
}

describe('MV-16 missing entries', () => {
  test('a timestamp without its snapshot entry: refused', T, async () => {
    const c = await trusted('mv16');
    const { repo } = c;
    await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
    const ts = { ...repo.timestamp, meta: new Map() };
    repo.files.set('timestamp', (await signMetadata(ts, repo.keys.timestamp.map((k) => k.signer))).bytes);
    await assertRefusedEverywhere(sim, c, /\* fatal: timestamp: no snapshot entry with a sha256 hash/);
    await assertRefusedOnFirstContact(c, /\* fatal: timestamp: no snapshot entry with a sha256 hash/);
  });

  for (const entry of ['root', 'targets'] as const) {
    test(`a snapshot without its ${entry} entry: refused`, T, async () => {
      const c = await trusted('mv16');
      const { repo } = c;
      await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
      repo.snapshot.meta.delete(entry);
      repo.files.set('snapshot', (await signMetadata(repo.snapshot, repo.keys.snapshot.map((k) => k.signer))).bytes);
      await signOnly(repo, ['timestamp']);
      await assertRefusedEverywhere(sim, c, new RegExp(`\\* fatal: snapshot: no ${entry} entry with a sha256 hash`));
      await assertRefusedOnFirstContact(c, new RegExp(`snapshot: no ${entry} entry with a sha256 hash`));
    });
  }

  test('targets that drop a delegation, served under the hash the snapshot pinned for the old targets: refused', T, async () => {
    const c = await trusted('mv16');
    const { repo } = c;
    await release(repo, ['targets'], () => repo.addTarget('app/v2', 'two'));
    // The server swaps in targets without the delegation (validly signed by the targets key) but
    // keeps the snapshot, which pins the other bytes.
    repo.targets.delegations = { keys: new Map(), roles: [] };
    repo.addTarget('evil', 'x');
    const dropped = (await signMetadata(repo.targets, repo.keys.targets.map((k) => k.signer))).bytes;
    sim.hook = hookOn((f) => f?.startsWith('targets.') === true && !f.startsWith('targets/'), (_q, res) => ({ ...res, body: dropped }));
    try {
      await assertRefusedEverywhere(sim, c, /\* fatal: targets: (sha256 checksum did not match|\d+ bytes, but \d+ were signed|\d+ bytes is more than the \d+ signed)/);
    } finally {
      sim.hook = undefined;
    }
  });
});

describe('MV-21 a same-version root', () => {
  test('root version 1 again, with another targets key, signed by the trusted root key: refused (notary 0.7 accepts it)', T, async () => {
    const c = await trusted('mv21');
    const { repo } = c;
    const intruder = ecdsaKey();
    const old = repo.root.roles.get('targets')!.keyids![0]!;
    repo.root.keys.delete(old);
    repo.root.keys.set(intruder.pub.id, intruder.pub);
    repo.root.roles.set('targets', { keyids: [intruder.pub.id], threshold: 1 });
    repo.keys.targets = [intruder];
    // root stays at version 1; everything else moves on
    await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
    assert.equal(repo.root.version, 1);
    const refused = /\* fatal: could not rotate trust to a new trusted root: root version 1 differs from the trusted root version 1; a new root must have a higher version/;
    await assertRefusedEverywhere(sim, c, refused);
    const r = await run(c, ['list', c.gun]);
    assert.match(r.stderr, new RegExp(`hint: if ${c.gun} was deleted and created again on the server, check its new root key out of band`));
    // The cached root is still version 1 as first trusted.
    const cached = await readFile(join(c.client.trustDir, 'tuf', c.gun, 'metadata', 'root.json'));
    assert.ok(cached.equals(c.v1.get('root')!), 'the trusted root is kept');
  });

  test('the same root re-signed (same signed bytes, another signature): accepted', T, async () => {
    const c = await trusted('mv21');
    const { repo } = c;
    // A fresh ECDSA signature over the same root; the snapshot pins the new bytes.
    await release(repo, ['targets'], () => repo.addTarget('app/v2', 'two'));
    assert.equal(repo.root.version, 1);
    assert.ok(!repo.files.get('root')!.equals(c.v1.get('root')!), 'other bytes');
    const r = await listOk(c, 'app/v1', 'app/v2');
    assert.doesNotMatch(r.stderr, /rotate/);
  });
});

describe('MV-22 the bound on the root walk', () => {
  /** The owner rotates the root key `n` times (each version signed by the previous key and its own). */
  async function rotateRootTimes(c: Case, n: number): Promise<void> {
    const { repo, gun } = c;
    let prev: MemKey = repo.keys.root[0]!;
    for (let i = 0; i < n; i++) {
      const next = await rootCertKey(gun, Date.now() - 60_000);
      repo.root.keys.delete(prev.pub.id);
      repo.root.keys.set(next.pub.id, next.pub);
      repo.root.roles.set('root', { keyids: [next.pub.id], threshold: 1 });
      repo.root.version++;
      repo.rootSigners = [prev.signer, next.signer];
      repo.keys.root = [next];
      await signOnly(repo, ['root']);
      sim.setVersion(gun, 'root', repo.root.version, repo.files.get('root')!);
      prev = next;
    }
    await release(repo, ['targets'], () => repo.addTarget(`app/after-${n}`, 'x'));
  }

  const versioned = (c: Case): number => sim.requests.filter((r) => r.gun === c.gun && r.kind === 'version' && r.role === 'root').length;

  test('an unsigned root.json claiming version 2^40: refused without walking, no N.root.json fetched', T, async () => {
    const c = await trusted('mv22');
    const { repo } = c;
    // The server breaks the timestamp (so that the client looks for a new root) and serves a
    // root.json nobody signed that claims version 2^40.
    // (dtrust's signer refuses to author such a version: the text is edited and signed by hand.)
    const claimed = (await signMetadata({ ...repo.root, version: 777 }, [])).bytes;
    repo.files.set('root', await signText(replaceOnce(signedText(claimed), '"version":777', `"version":${2 ** 40}`), [ecdsaKey().signer]));
    repo.timestamp.version++;
    const intruder = ecdsaKey();
    repo.files.set('timestamp', (await signMetadata(repo.timestamp, [intruder.signer])).bytes);
    sim.resetCounts();
    await assertRefusedEverywhere(sim, c, /\* fatal: root: refusing to walk 1099511627775 root versions \(limit 256\)/);
    assert.equal(versioned(c), 0, 'no N.root.json requested');
  });

  test('a valid chain of 257 root versions (one over the bound): refused, no N.root.json fetched', T, async () => {
    const c = await trusted('mv22');
    await rotateRootTimes(c, 257);
    sim.resetCounts();
    await assertRefusedEverywhere(sim, c, /\* fatal: root: refusing to walk 257 root versions \(limit 256\)/, { hidden: ['app/after'] });
    assert.equal(versioned(c), 0, 'no N.root.json requested');
  });

  test('a valid chain of 256 root versions (at the bound): walked once, 255 N.root.json fetched, cached at the last', T, async () => {
    const c = await trusted('mv22');
    await rotateRootTimes(c, 256);
    sim.resetCounts();
    const r = await listOk(c, 'app/v1', 'app/after-256');
    assert.equal(versioned(c), 255, r.stderr);
    const cached = await readFile(join(c.client.trustDir, 'tuf', c.gun, 'metadata', 'root.json'));
    assert.ok(cached.equals(c.repo.files.get('root')!), 'root version 257 cached');
  });
});

/** `{"signed":…,"signatures":[…],"abc":"xyz"}`: an unsigned member after the signatures. */
function withExtra(bytes: Buffer): Buffer {
  const s = bytes.toString('utf8');
  assert.ok(s.endsWith(']}'));
  return Buffer.from(`${s.slice(0, -1)},"abc":"xyz","signed_by":"nobody"}`, 'utf8');
}

/** Every file served with unsigned members added; the owner's snapshot and timestamp pin the new bytes. */
async function addExtras(repo: MemRepo): Promise<void> {
  for (const role of ['root', 'targets', ...repo.delegations.keys()]) repo.files.set(role, withExtra(repo.files.get(role)!));
  await signOnly(repo, ['snapshot']);
  repo.files.set('snapshot', withExtra(repo.files.get('snapshot')!));
  await signOnly(repo, ['timestamp']);
  repo.files.set('timestamp', withExtra(repo.files.get('timestamp')!));
}

describe('MV-30 unsigned fields in the envelope', () => {
  test('read by a fresh and by a trusting client; a publish uploads only {signed, signatures}', T, async () => {
    const c = await newCase(sim, 'mv30', async (repo) => {
      await repo.sign();
      await addExtras(repo);
      repo.frozen.add('root').add('targets').add('snapshot').add('timestamp').add('targets/releases');
    });
    c.repo.frozen.clear();
    await listOk(c, 'app/v1', 'rel/r1');
    // The client now trusts files carrying the extra members; a second read uses the cache.
    await listOk(c, 'app/v1', 'rel/r1');

    await importKey(c, c.repo.keys.targets[0]!, 'targets');
    await importKey(c, c.repo.keys.snapshot[0]!, 'snapshot');
    assert.equal((await run(c, ['add', c.gun, 'app/v2', await payload()])).code, 0);
    let uploaded: Map<string, Buffer> | undefined;
    sim.hook = async (req, res) => {
      if (req.kind !== 'publish' || req.gun !== c.gun) return res;
      uploaded = multipartFiles(req.body, req.headers['content-type']);
      // The server takes the upload and signs a new timestamp, as notary-server does.
      for (const [role, bytes] of uploaded) c.repo.files.set(role, bytes);
      c.repo.timestamp.version++;
      await signOnly(c.repo, ['timestamp']);
      return okAnswer('{}', { 'content-type': 'application/json' });
    };
    try {
      const p = await run(c, ['publish', c.gun]);
      assert.equal(p.code, 0, p.stdout + p.stderr);
    } finally {
      sim.hook = undefined;
    }
    assert.ok(uploaded, 'a POST was made');
    assert.deepEqual([...uploaded.keys()].sort(), ['snapshot', 'targets']);
    for (const [role, bytes] of uploaded) {
      const text = bytes.toString('utf8');
      assert.ok(!text.includes('abc') && !text.includes('signed_by'), `${role}: no unsigned member re-uploaded`);
      const parsed = JSON.parse(text) as Record<string, unknown>;
      assert.deepEqual(Object.keys(parsed), ['signed', 'signatures'], `${role}: only signed and signatures`);
    }
  });
});

describe('MV-31 received versions beyond 2^53 - 1', () => {
  test('targets claiming version 2^53 + 1: malformed, refused', T, async () => {
    const c = await trusted('mv31');
    const { repo } = c;
    repo.targets.version = 777;
    repo.addTarget('evil', 'x');
    await signOnly(repo, ['targets']);
    const text = replaceOnce(signedText(repo.files.get('targets')!), '"version":777', '"version":9007199254740993');
    repo.files.set('targets', await signText(text, repo.keys.targets.map((k) => k.signer)));
    repo.snapshot.version++;
    repo.timestamp.version++;
    await signOnly(repo, ['snapshot', 'timestamp']);
    await assertRefusedEverywhere(sim, c, /\* fatal: targets( version)?: .*(integer|9007199254740992|beyond 2\^53)/);
  });
});
