// Security matrix MV-01, MV-02, MV-04 (signatures that do not count, in every role), MV-06
// (signature method/key confusion), MV-07 (a key listed under an ID that is not its content ID)
// and MV-08 (invalid thresholds in every role), through the CLI against the simulator. The
// client first trusts the repository with one online `list`; then the server serves exactly one
// hostile file (with every file above it re-signed by the owner, so that the confusion is the
// only fault). Base roles: refused with the exact message, nothing cached, nothing uploaded by a
// publish, the staged change kept. Delegations: skipped with a warning naming the role, none of
// its targets shown (SEC-V1, SEC-V2, SEC-V9).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, sign as nodeSign } from 'node:crypto';
import { Simulator } from '../support/simulator.js';
import { ecdsaKey, ed25519Key, rsaKey, type MemKey, type MemRepo } from '../support/memrepo.js';
import { envelopeAround } from '../../src/tuf/envelope.js';
import { PublicKey } from '../../src/tuf/keys.js';
import { keyObjectSigner, signMetadata, type Signer } from '../../src/tuf/sign.js';
import {
  assertRefusedEverywhere,
  assertRefusedOnFirstContact,
  listOk,
  lyingSigner,
  newCase,
  release,
  replaceOnce,
  run,
  signOnly,
  signText,
  signedText,
  type Case,
} from './harness.js';

const T = { timeout: 120_000 };
const THRESHOLD_TARGETS = /\* fatal: valid signatures did not meet threshold for targets: 0 of 1 required/;

let sim: Simulator;
before(async () => {
  sim = await Simulator.start();
});
after(() => sim.close());

/** A trusted case: the client listed version 1. */
async function trusted(prefix: string): Promise<Case> {
  const c = await newCase(sim, prefix);
  await listOk(c, 'app/v1', 'rel/r1');
  return c;
}

/** Targets gets `evil` and a new version signed by `signers` only; snapshot and timestamp follow. */
async function hostileTargets(repo: MemRepo, signers: Signer[]): Promise<void> {
  repo.addTarget('evil', 'x');
  repo.targets.version++;
  repo.files.set('targets', (await signMetadata(repo.targets, signers)).bytes);
  repo.snapshot.version++;
  repo.timestamp.version++;
  await signOnly(repo, ['snapshot', 'timestamp']);
}

/** Root version + 1 lists `key` as the (only) targets key; the root key signs it honestly. */
function targetsKeyInRoot(repo: MemRepo, key: PublicKey, id = key.id): void {
  for (const old of repo.root.roles.get('targets')!.keyids!) repo.root.keys.delete(old);
  repo.root.keys.set(id, key);
  repo.root.roles.set('targets', { keyids: [id], threshold: 1 });
  repo.root.version++;
}

/** An ECDSA signature in DER (ASN.1) instead of notary's raw r||s. */
function derSigner(k: MemKey): Signer {
  return lyingSigner(k.priv, k.pub, { method: 'ecdsa', raw: (data) => nodeSign('sha256', data, { key: k.priv, dsaEncoding: 'der' }) });
}

/** Flips one base64 character of the last signature in a file. */
function breakSignature(bytes: Buffer): Buffer {
  const s = bytes.toString('utf8');
  const at = s.lastIndexOf('"sig":"') + 12;
  return Buffer.from(s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1), 'utf8');
}

describe('MV-01, MV-02, MV-04 signatures that do not count, in every role', () => {
  const intruder = (): Signer => ecdsaKey().signer;
  const rows: { name: string; attack: (c: Case) => Promise<void>; refused: RegExp }[] = [
    {
      name: 'MV-01 timestamp signed by a key the root does not list',
      attack: async ({ repo }) => {
        await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
        repo.files.set('timestamp', (await signMetadata(repo.timestamp, [intruder()])).bytes);
      },
      refused: /\* fatal: valid signatures did not meet threshold for timestamp: 0 of 1 required/,
    },
    {
      name: 'MV-01 snapshot signed by a key the root does not list',
      attack: async ({ repo }) => {
        await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
        repo.files.set('snapshot', (await signMetadata(repo.snapshot, [intruder()])).bytes);
        await signOnly(repo, ['timestamp']);
      },
      refused: /\* fatal: valid signatures did not meet threshold for snapshot: 0 of 1 required/,
    },
    {
      name: 'MV-01 a new root signed by a key the trusted root does not list (and by nobody else)',
      attack: async ({ repo }) => {
        repo.rootSigners = [intruder()];
        await release(repo, ['root', 'targets'], () => repo.addTarget('evil', 'x'));
      },
      refused: /\* fatal: could not rotate trust to a new trusted root: root version 2 is not signed by a threshold of the keys of trusted root version 1/,
    },
    {
      name: 'MV-02 targets whose signature bytes are corrupted (right key ID)',
      attack: async ({ repo }) => {
        await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
        repo.files.set('targets', breakSignature(repo.files.get('targets')!));
        await signOnly(repo, ['snapshot', 'timestamp']);
      },
      refused: THRESHOLD_TARGETS,
    },
    {
      name: 'MV-02 a new root whose signature bytes are corrupted (right key ID)',
      attack: async ({ repo }) => {
        repo.root.version++;
        repo.addTarget('evil', 'x');
        repo.targets.version++;
        await signOnly(repo, ['root', 'targets']);
        repo.files.set('root', breakSignature(repo.files.get('root')!));
        repo.snapshot.version++;
        repo.timestamp.version++;
        await signOnly(repo, ['snapshot', 'timestamp']);
      },
      refused: /\* fatal: could not rotate trust to a new trusted root: root version 2 is not signed by a threshold of the keys of trusted root version 1/,
    },
    {
      name: 'MV-04 threshold 2: one valid signature listed twice under the same key ID',
      attack: async ({ repo }) => {
        const k = repo.keys.targets[0]!;
        const second = ecdsaKey();
        repo.root.keys.set(second.pub.id, second.pub);
        repo.root.roles.set('targets', { keyids: [k.pub.id, second.pub.id], threshold: 2 });
        repo.root.version++;
        repo.addTarget('evil', 'x');
        repo.targets.version++;
        await signOnly(repo, ['root']);
        const once = (await signMetadata(repo.targets, [k.signer])).signatures[0]!;
        repo.files.set('targets', envelopeAround(Buffer.from(signedText((await signMetadata(repo.targets, [k.signer])).bytes)), [once, once]));
        repo.snapshot.version++;
        repo.timestamp.version++;
        await signOnly(repo, ['snapshot', 'timestamp']);
      },
      refused: /\* fatal: valid signatures did not meet threshold for targets: 1 of 2 required/,
    },
  ];
  for (const row of rows) {
    test(`${row.name}: refused, nothing cached or uploaded`, T, async () => {
      const c = await trusted('mv01');
      await row.attack(c);
      await assertRefusedEverywhere(sim, c, row.refused);
    });
  }

  test('MV-01 a delegation signed by a key its parent does not list: skipped with a warning, its targets hidden', T, async () => {
    const c = await trusted('mv01');
    const { repo } = c;
    const d = repo.delegations.get('targets/releases')!;
    d.keys = [{ ...ecdsaKey() }];
    await release(repo, ['targets/releases'], () => repo.addTarget('rel/evil', 'x', 'targets/releases'));
    const r = await run(c, ['list', c.gun]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^app\/v1\s/m);
    assert.doesNotMatch(r.stdout, /rel\//, 'nothing from the skipped role');
    assert.match(r.stderr, /skipping delegation targets\/releases: valid signatures did not meet threshold for targets\/releases: 0 of 1 required/);
  });
});

describe('MV-06 signature method and key confusion', () => {
  const targetRows: { name: string; attack: (c: Case) => Promise<void> }[] = [
    {
      name: 'method "eddsa" on a valid ECDSA signature',
      attack: async ({ repo }) => {
        const k = repo.keys.targets[0]!;
        await hostileTargets(repo, [lyingSigner(k.priv, k.pub, { method: 'eddsa' })]);
      },
    },
    {
      name: 'method "rsapss" on a valid ECDSA signature',
      attack: async ({ repo }) => {
        const k = repo.keys.targets[0]!;
        await hostileTargets(repo, [lyingSigner(k.priv, k.pub, { method: 'rsapss' })]);
      },
    },
    {
      name: 'a DER-encoded ECDSA signature instead of r||s',
      attack: async ({ repo }) => hostileTargets(repo, [derSigner(repo.keys.targets[0]!)]),
    },
    {
      name: 'an r||s signature one byte short (63 bytes)',
      attack: async ({ repo }) => {
        const k = repo.keys.targets[0]!;
        await hostileTargets(repo, [lyingSigner(k.priv, k.pub, { sig: (s) => s.subarray(1) })]);
      },
    },
    {
      name: 'an r||s signature one byte long (65 bytes)',
      attack: async ({ repo }) => {
        const k = repo.keys.targets[0]!;
        await hostileTargets(repo, [lyingSigner(k.priv, k.pub, { sig: (s) => Buffer.concat([Buffer.alloc(1), s]) })]);
      },
    },
    {
      name: 'an RSA key of 1024 bits with a valid RSA-PSS signature',
      attack: async ({ repo }) => {
        const weak = rsaKey(1024);
        targetsKeyInRoot(repo, weak.pub);
        repo.keys.targets = [weak];
        await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
      },
    },
    {
      name: 'an ed25519 key with a valid signature under method "rsapss"',
      attack: async ({ repo }) => {
        const ed = ed25519Key();
        targetsKeyInRoot(repo, ed.pub);
        repo.keys.targets = [{ ...ed, signer: lyingSigner(ed.priv, ed.pub, { method: 'rsapss' }) }];
        await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
      },
    },
    {
      name: 'an "ed25519" key whose bytes are an RSA public key, with a valid RSA-PSS signature',
      attack: async ({ repo }) => {
        const rsa = rsaKey(2048);
        const fake = new PublicKey('ed25519', rsa.pub.pub);
        targetsKeyInRoot(repo, fake);
        repo.keys.targets = [{ priv: rsa.priv, pub: fake, signer: keyObjectSigner(rsa.priv, fake) }];
        await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
      },
    },
    {
      name: 'an "ecdsa" key whose bytes are an ed25519 public key, with a valid signature under method "eddsa"',
      attack: async ({ repo }) => {
        const ed = ed25519Key();
        const spki = Buffer.from(createPublicKey(ed.priv).export({ format: 'der', type: 'spki' }));
        const fake = new PublicKey('ecdsa', spki);
        targetsKeyInRoot(repo, fake);
        repo.keys.targets = [{ priv: ed.priv, pub: fake, signer: keyObjectSigner(ed.priv, fake) }];
        await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
      },
    },
  ];

  for (const row of targetRows) {
    test(`targets: ${row.name}: refused, nothing cached or uploaded`, T, async () => {
      const c = await trusted('mv06');
      await row.attack(c);
      await assertRefusedEverywhere(sim, c, THRESHOLD_TARGETS);
    });
  }

  test('timestamp: a DER-encoded ECDSA signature is refused', T, async () => {
    const c = await trusted('mv06');
    const { repo } = c;
    await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
    repo.files.set('timestamp', (await signMetadata(repo.timestamp, [derSigner(repo.keys.timestamp[0]!)])).bytes);
    await assertRefusedEverywhere(sim, c, /\* fatal: valid signatures did not meet threshold for timestamp: 0 of 1 required/);
  });

  test('snapshot: method "eddsa" on a valid ECDSA signature is refused', T, async () => {
    const c = await trusted('mv06');
    const { repo } = c;
    await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
    const k = repo.keys.snapshot[0]!;
    repo.files.set('snapshot', (await signMetadata(repo.snapshot, [lyingSigner(k.priv, k.pub, { method: 'eddsa' })])).bytes);
    await signOnly(repo, ['timestamp']);
    await assertRefusedEverywhere(sim, c, /\* fatal: valid signatures did not meet threshold for snapshot: 0 of 1 required/);
  });

  test('root: a new root whose old-key signature says "eddsa" does not rotate trust', T, async () => {
    const c = await trusted('mv06');
    const { repo } = c;
    const k = repo.keys.root[0]!;
    const intruder = ecdsaKey();
    targetsKeyInRoot(repo, intruder.pub);
    repo.keys.targets = [intruder];
    repo.rootSigners = [lyingSigner(k.priv, k.pub, { method: 'eddsa' })];
    await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
    await assertRefusedEverywhere(sim, c, /\* fatal: could not rotate trust to a new trusted root: root version 2 is not signed by a threshold of the keys of trusted root version 1/);
  });

  test('delegation: a DER-encoded signature skips targets/releases with a warning; its targets are hidden', T, async () => {
    const c = await trusted('mv06');
    const { repo } = c;
    const d = repo.delegations.get('targets/releases')!;
    d.keys = [{ ...d.keys[0]!, signer: derSigner(d.keys[0]!) }];
    await release(repo, ['targets/releases'], () => repo.addTarget('rel/evil', 'x', 'targets/releases'));
    const r = await run(c, ['list', c.gun]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^app\/v1\s/m);
    assert.doesNotMatch(r.stdout, /rel\//, 'nothing from the skipped role');
    assert.match(r.stderr, /skipping delegation targets\/releases: valid signatures did not meet threshold for targets\/releases: 0 of 1 required/);
  });
});

describe('MV-07 a key whose content does not match its key ID', () => {
  /** An ID that is not the key's: the sha256 of other bytes. */
  const wrongId = (): string => createHash('sha256').update(`not the key ${Math.random()}`).digest('hex');

  test('root lists the targets key under another ID, and targets is signed under that ID: refused', T, async () => {
    const c = await trusted('mv07');
    const { repo } = c;
    const k = repo.keys.targets[0]!;
    const id = wrongId();
    targetsKeyInRoot(repo, k.pub, id);
    repo.keys.targets = [{ ...k, signer: lyingSigner(k.priv, k.pub, { keyid: id }) }];
    await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
    await assertRefusedEverywhere(sim, c, THRESHOLD_TARGETS);
    await assertRefusedOnFirstContact(c, THRESHOLD_TARGETS);
  });

  test('a delegation key listed under another ID: the delegation is skipped with a warning', T, async () => {
    const c = await trusted('mv07');
    const { repo } = c;
    const t = repo.targets;
    const role = t.delegations.roles[0]!;
    const k = repo.delegations.get('targets/releases')!.keys[0]!;
    const id = wrongId();
    t.delegations.keys.delete(k.pub.id);
    t.delegations.keys.set(id, k.pub);
    role.keyids = [id];
    repo.delegations.get('targets/releases')!.keys = [{ ...k, signer: lyingSigner(k.priv, k.pub, { keyid: id }) }];
    await release(repo, ['targets', 'targets/releases'], () => repo.addTarget('rel/evil', 'x', 'targets/releases'));
    const r = await run(c, ['list', c.gun]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^app\/v1\s/m);
    assert.doesNotMatch(r.stdout, /rel\//);
    assert.match(r.stderr, /skipping delegation targets\/releases: valid signatures did not meet threshold for targets\/releases: 0 of 1 required/);
  });
});

// ---------------------------------------------------------------------------------------------
// MV-08: thresholds. Every value the model cannot express (a non-integer, a string) is written
// into the canonical text by hand and signed by the right key: the file's only fault is its
// threshold.

type Bad = { name: string; text?: string; value?: number; extraKeyId?: true };
const BAD: Bad[] = [
  { name: '0', value: 0 },
  { name: '-1', value: -1 },
  { name: '1.5', text: '1.5' },
  { name: 'the string "1"', text: '"1"' },
  { name: '2 with one key', value: 2 },
  { name: '1 with a key ID that has no key', extraKeyId: true },
];
const SENTINEL = 777;
const NO_KEY_ID = 'f'.repeat(64);

/** What the CLI says for a bad threshold of `role`, declared in `file`. */
function expected(bad: Bad, role: string, file: string): RegExp {
  const where = file === 'root' ? `root roles\\.${role}\\.threshold` : `targets delegations\\.roles\\.0\\.threshold`;
  if (bad.value === 0 || bad.value === -1) return new RegExp(`\\* fatal: ${where}: must be at least 1, found ${bad.value}`);
  // notary's canonical encoder has no non-integers: the file is refused before its fields are read.
  if (bad.text === '1.5') return new RegExp(`\\* fatal: ${file}: json: unsupported value: 1\\.5 \\(notary's canonical JSON has integers only\\)`);
  if (bad.text === '"1"') return new RegExp(`\\* fatal: ${where}: expected an integer, found string "1"`);
  if (bad.extraKeyId) return file === 'root' ? new RegExp(`\\* fatal: root: key ${NO_KEY_ID} of role ${role} is not in keys`) : new RegExp(`\\* fatal: targets: key ${NO_KEY_ID} of ${role} is not in delegations\\.keys`);
  return new RegExp(`\\* fatal: ${role}: threshold 2 is invalid for 1 listed key`);
}

/** Root version 2 with `bad` as the threshold of `role`, signed by the (unchanged) root key. */
async function badRootThreshold(repo: MemRepo, role: string, bad: Bad): Promise<void> {
  const r = repo.root.roles.get(role)!;
  if (bad.extraKeyId) r.keyids = [...r.keyids!, NO_KEY_ID];
  else r.threshold = bad.value ?? SENTINEL;
  repo.root.version++;
  repo.addTarget('evil', 'x');
  repo.targets.version++;
  await signOnly(repo, ['root', 'targets']);
  if (bad.text) repo.files.set('root', await signText(replaceOnce(signedText(repo.files.get('root')!), `"threshold":${SENTINEL}`, `"threshold":${bad.text}`), repo.rootSigners));
  repo.snapshot.version++;
  repo.timestamp.version++;
  await signOnly(repo, ['snapshot', 'timestamp']);
}

/** Targets version 2 declaring targets/releases with `bad` as its threshold, signed by the targets key. */
async function badDelegationThreshold(repo: MemRepo, bad: Bad): Promise<void> {
  const d = repo.targets.delegations.roles[0]!;
  if (bad.extraKeyId) d.keyids = [...d.keyids!, NO_KEY_ID];
  else d.threshold = bad.value ?? SENTINEL;
  repo.addTarget('rel/evil', 'x', 'targets/releases');
  await release(repo, ['targets', 'targets/releases']);
  if (bad.text) {
    const text = replaceOnce(signedText(repo.files.get('targets')!), `"threshold":${SENTINEL}`, `"threshold":${bad.text}`);
    repo.files.set('targets', await signText(text, repo.keys.targets.map((k) => k.signer)));
    await signOnly(repo, ['snapshot', 'timestamp']);
  }
}

describe('MV-08 invalid thresholds in every role', { concurrency: 3 }, () => {
  for (const role of ['root', 'targets', 'snapshot', 'timestamp']) {
    for (const bad of BAD) {
      // The publish path and first contact for one value per role (each costs three more runs).
      const everywhere = bad.value === 0;
      test(`root v2 gives ${role} the threshold ${bad.name}: refused${everywhere ? ' (read, publish and first contact)' : ''}, nothing cached`, T, async () => {
        const c = await trusted('mv08');
        await badRootThreshold(c.repo, role, bad);
        const msg = expected(bad, role, 'root');
        await assertRefusedEverywhere(sim, c, msg, { publish: everywhere });
        if (everywhere) await assertRefusedOnFirstContact(c, msg);
      });
    }
  }

  for (const bad of BAD) {
    const skipped = bad.value === 2;
    test(`targets gives targets/releases the threshold ${bad.name}: ${skipped ? 'the delegation is skipped with a warning' : 'targets is refused'}`, T, async () => {
      const c = await trusted('mv08');
      await badDelegationThreshold(c.repo, bad);
      if (!skipped) {
        await assertRefusedEverywhere(sim, c, expected(bad, 'targets/releases', 'targets'), { publish: bad.value === 0 });
        return;
      }
      // A role whose threshold its keys cannot meet is unusable, not an invalid parent (as notary).
      const r = await run(c, ['list', c.gun]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^app\/v1\s/m);
      assert.doesNotMatch(r.stdout, /rel\//, 'nothing from the skipped role');
      assert.match(r.stderr, /skipping delegation targets\/releases: targets\/releases: threshold 2 is invalid for 1 listed key/);
    });
  }
});
