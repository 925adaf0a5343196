// Security matrix rows on the shape of the metadata a server sends, through the CLI against the
// simulator: MV-15 (one known hash wrong, one byte more than pinned), MV-16 (a timestamp without
// its snapshot entry, a snapshot without its root or targets entry, targets changed under the
// snapshot's pin), MV-18, MV-19, MV-20 (root chains), MV-21 (a same-version root with other keys,
// signed by the trusted root: refused, stricter than notary), MV-22 (the bound on the root walk:
// a root claiming version 2^40; a chain one longer than the bound; a chain at the bound), MV-24
// (delegation names a parent may not declare), MV-26 (the breadth-first winner), MV-28
// (malformed files), MV-30 (unsigned fields added to the envelope: read, never re-uploaded) and
// the received-version half of MV-31 (a version above 2^53 - 1 is malformed).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Simulator, ok as okAnswer } from '../support/simulator.js';
import { ecdsaKey, rootCertKey, type MemKey, type MemRepo } from '../support/memrepo.js';
import { sha256Hex } from '../../src/crypto/hash.js';
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
      // The members themselves, not the letters: a random payload's hex digest contains "abc" now and then.
      assert.ok(!text.includes('"abc":"xyz"') && !text.includes('"signed_by"'), `${role}: no unsigned member re-uploaded`);
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

describe('MV-15 mix and match: every known hash and the length', () => {
  const variants: { name: string; tamper: (fm: { length: number; hashes: Map<string, Buffer> }) => void; body?: (b: Buffer) => Buffer; refused: RegExp }[] = [
    {
      name: 'sha512 right, sha256 wrong',
      tamper: (fm) => fm.hashes.get('sha256')!.writeUInt8(fm.hashes.get('sha256')![0]! ^ 1, 0),
      refused: /\* fatal: targets: sha256 checksum did not match/,
    },
    {
      name: 'sha256 right, sha512 wrong',
      tamper: (fm) => fm.hashes.get('sha512')!.writeUInt8(fm.hashes.get('sha512')![0]! ^ 1, 0),
      refused: /\* fatal: targets: sha512 checksum did not match/,
    },
    {
      name: 'one extra byte after the pinned file (AddExtraSpace)',
      tamper: () => undefined,
      body: (b) => Buffer.concat([b, Buffer.from(' ')]),
      refused: /the server sent more than dtrust accepts for targets\.[0-9a-f]{64} \(Content-Length \d+ is above the limit of \d+ bytes\)/,
    },
  ];
  for (const v of variants) {
    test(`targets with ${v.name}: refused`, T, async () => {
      const c = await trusted('mv15');
      const { repo } = c;
      await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
      v.tamper(repo.snapshot.meta.get('targets')!);
      repo.files.set('snapshot', (await signMetadata(repo.snapshot, repo.keys.snapshot.map((k) => k.signer))).bytes);
      await signOnly(repo, ['timestamp']);
      const targets = repo.files.get('targets')!;
      // The server answers any checksum name with these bytes.
      sim.hook = hookOn((f, kind) => kind === 'checksum' && f!.startsWith('targets.'), (_q, res) => ({ ...res, status: 200, body: v.body ? v.body(targets) : targets }));
      try {
        await assertRefusedEverywhere(sim, c, v.refused);
      } finally {
        sim.hook = undefined;
      }
    });
  }
});

describe('MV-18, MV-19, MV-20 root rotation through the CLI', () => {
  test('MV-18 root v2 with a new root key, signed only by the old key (its own threshold unmet): refused', T, async () => {
    const c = await trusted('mv18');
    const { repo, gun } = c;
    const old = repo.keys.root[0]!;
    const next = await rootCertKey(gun, Date.now() - 60_000);
    repo.root.keys.set(next.pub.id, next.pub);
    repo.root.roles.set('root', { keyids: [next.pub.id], threshold: 1 });
    repo.rootSigners = [old.signer];
    await release(repo, ['root', 'targets'], () => repo.addTarget('evil', 'x'));
    await assertRefusedEverywhere(sim, c, /\* fatal: valid signatures did not meet threshold for root: 0 of 1 required/);
  });

  test('MV-19 2.root.json not signed by root v1, 3.root.json signed by its keys and served as the latest: refused, v2 never trusted or cached', T, async () => {
    const c = await trusted('mv19');
    const { repo, gun } = c;
    const v1Root = repo.files.get('root')!;
    const intruder = await rootCertKey(gun, Date.now() - 60_000);
    // Version 2: the intruder's key, signed only by it (root v1's key did not sign).
    repo.root.keys.delete(repo.keys.root[0]!.pub.id);
    repo.root.keys.set(intruder.pub.id, intruder.pub);
    repo.root.roles.set('root', { keyids: [intruder.pub.id], threshold: 1 });
    repo.root.version = 2;
    repo.rootSigners = [intruder.signer];
    await signOnly(repo, ['root']);
    sim.setVersion(gun, 'root', 2, repo.files.get('root')!);
    // Version 3: signed by version 2's key, served as root.json.
    await release(repo, ['root', 'targets'], () => repo.addTarget('evil', 'x'));
    sim.setVersion(gun, 'root', 3, repo.files.get('root')!);
    await assertRefusedEverywhere(sim, c, /\* fatal: could not rotate trust to a new trusted root: root version 2 is not signed by a threshold of the keys of trusted root version 1/);
    const cached = await readFile(join(c.client.trustDir, 'tuf', gun, 'metadata', 'root.json'));
    assert.ok(cached.equals(v1Root), 'root version 1 still cached');
  });

  test('MV-20 an expired intermediate root (2.root.json) on the way to a valid version 3: accepted, version 3 cached', T, async () => {
    const c = await trusted('mv20');
    const { repo, gun } = c;
    const expires = repo.root.expires;
    let prev = repo.keys.root[0]!;
    for (const expired of [true, false]) {
      const next = await rootCertKey(gun, Date.now() - 60_000);
      repo.root.keys.delete(prev.pub.id);
      repo.root.keys.set(next.pub.id, next.pub);
      repo.root.roles.set('root', { keyids: [next.pub.id], threshold: 1 });
      repo.root.version++;
      repo.root.expires = expired ? { ms: Date.now() - 86_400_000, nanos: 0, offsetMinutes: 0 } : expires;
      repo.rootSigners = [prev.signer, next.signer];
      repo.keys.root = [next];
      await signOnly(repo, ['root']);
      sim.setVersion(gun, 'root', repo.root.version, repo.files.get('root')!);
      prev = next;
    }
    await release(repo, ['targets'], () => repo.addTarget('app/v3', 'three'));
    await listOk(c, 'app/v1', 'app/v3');
    const cached = await readFile(join(c.client.trustDir, 'tuf', c.gun, 'metadata', 'root.json'));
    assert.ok(cached.equals(repo.files.get('root')!), 'root version 3 cached');
  });
});

describe('MV-24 delegation role names a parent may not declare', () => {
  const names: [string, string][] = [
    ['root', 'root'],
    ['an upper-case name', 'targets/A'],
    ['an unclean name (trailing slash)', 'targets/a/'],
    ['a name of 256 characters', `targets/${'a'.repeat(248)}`],
    ['an empty segment', 'targets//a'],
  ];
  for (const [what, name] of names) {
    test(`targets delegating to ${what}: targets is refused`, T, async () => {
      const c = await trusted('mv24');
      const { repo } = c;
      const k = ecdsaKey();
      await release(repo, ['targets'], () => {
        repo.targets.delegations.keys.set(k.pub.id, k.pub);
        repo.targets.delegations.roles.push({ name, keyids: [k.pub.id], threshold: 1, paths: [''] });
      });
      await assertRefusedEverywhere(sim, c, new RegExp(`\\* fatal: targets: ${JSON.stringify(name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a valid delegation role name`));
    });
  }
});

describe('MV-26 one name in several roles: notary breadth-first order, deterministic', () => {
  for (const order of [['targets/a', 'targets/b'], ['targets/b', 'targets/a']]) {
    test(`targets delegates ${order.join(', ')}; the name is in targets/b, targets/a and targets/a/c: ${order[0]} wins, every time; -r follows its own order`, T, async () => {
      const c = await newCase(sim, 'mv26', (repo) => {
        for (const role of order) repo.delegate('targets', role, [ecdsaKey()], ['']);
        repo.delegate('targets/a', 'targets/a/c', [ecdsaKey()], ['']);
        for (const role of ['targets/a/c', 'targets/b', 'targets/a']) repo.addTarget('same', `content of ${role}`, role);
      });
      const digestOf = (role: string): string => sha256Hex(Buffer.from(`content of ${role}`));
      for (let i = 0; i < 3; i++) {
        const r = await listOk(c, 'same');
        assert.match(r.stdout, new RegExp(`^same\\s+${digestOf(order[0]!)}\\s+\\d+\\s+${order[0]}\\s*$`, 'm'), r.stdout);
        const l = await run(c, ['lookup', c.gun, 'same']);
        assert.equal(l.stdout, `same sha256:${digestOf(order[0]!)} ${Buffer.byteLength(`content of ${order[0]}`)}\n`);
      }
      const restricted = await run(c, ['list', c.gun, '-r', 'targets/a/c,targets/b']);
      assert.match(restricted.stdout, new RegExp(`^same\\s+${digestOf('targets/a/c')}\\s+\\d+\\s+targets/a/c\\s*$`, 'm'), restricted.stdout);
    });
  }
});

describe('MV-28 malformed files through the CLI: a typed error naming the role, never a crash', () => {
  /** The timestamp (or snapshot) of the next release with its canonical text edited, signed by its key. */
  const rows: { name: string; role?: 'timestamp' | 'snapshot'; edit?: (text: string) => string; file?: (text: string) => string; refused: RegExp }[] = [
    { name: 'invalid JSON', file: (t) => `{"signed":${t.slice(0, 40)}`, refused: /\* fatal: timestamp: invalid JSON at byte \d+/ },
    { name: '"signed" is not an object', file: () => '{"signed":[],"signatures":[]}', refused: /\* fatal: timestamp signed: expected an object, found an array/ },
    { name: '"signatures" is an object', file: (t) => `{"signed":${t},"signatures":{}}`, refused: /\* fatal: timestamp signatures: expected an array, found an object/ },
    { name: '_type Targets in the snapshot slot', role: 'snapshot', edit: (t) => replaceOnce(t, '"_type":"Snapshot"', '"_type":"Targets"'), refused: /\* fatal: snapshot: expected _type Snapshot, found "Targets"/ },
    { name: 'no expires', edit: (t) => t.replace(/"expires":"[^"]*",/, ''), refused: /\* fatal: timestamp expires: expected a string, found nothing/ },
    { name: 'version 0', edit: (t) => t.replace(/"version":\d+}$/, '"version":0}'), refused: /\* fatal: timestamp version: must be at least 1, found 0/ },
    { name: 'version -1', edit: (t) => t.replace(/"version":\d+}$/, '"version":-1}'), refused: /\* fatal: timestamp version: must be at least 1, found -1/ },
    { name: 'version 1.5', edit: (t) => t.replace(/"version":\d+}$/, '"version":1.5}'), refused: /\* fatal: timestamp: json: unsupported value: 1\.5/ },
    { name: 'version "2" (a string)', edit: (t) => t.replace(/"version":\d+}$/, '"version":"2"}'), refused: /\* fatal: timestamp version: expected an integer, found string "2"/ },
    { name: 'version 2^53 + 1', edit: (t) => t.replace(/"version":\d+}$/, '"version":9007199254740993}'), refused: /\* fatal: timestamp( version)?: .*(integer|2\^53)/ },
    { name: 'a duplicate key', edit: (t) => t.replace(/("version":\d+)}$/, '$1,"version":2}'), refused: /\* fatal: timestamp: .*duplicate/i },
    { name: 'a case variant "Version"', edit: (t) => t.replace(/("version":\d+)}$/, '"Version":9,$1}'), refused: /\* fatal: timestamp Version: field name differs from "version" only in case/ },
  ];
  for (const row of rows) {
    test(`${row.role ?? 'timestamp'} with ${row.name}: refused`, T, async () => {
      const c = await trusted('mv28');
      const { repo } = c;
      await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
      const role = row.role ?? 'timestamp';
      const text = signedText(repo.files.get(role)!);
      const keys = (role === 'timestamp' ? repo.keys.timestamp : repo.keys.snapshot).map((k) => k.signer);
      repo.files.set(role, row.file ? Buffer.from(row.file(text)) : await signText(row.edit!(text), keys));
      if (role === 'snapshot') await signOnly(repo, ['timestamp']);
      await assertRefusedEverywhere(sim, c, row.refused, { publish: row.name === 'invalid JSON' });
    });
  }
});
