// Attacks on the read path through the whole CLI (security.md §2, §7.1): a malicious-repository
// simulator serves a repository built by the engine, the client first trusts it with one online
// `dtrust list`, then the server turns hostile in exactly one way. One row per attack.
//
// For every refused attack: exit 1, one line on stderr naming the problem, nothing on stdout (so
// nothing tampered is shown), and the trust directory byte-identical to what it was before.
// Then the publish path meets the same attack: refused before any upload, the staged change kept.
// Accepted rows (a same-version timestamp, fast-forward recovery, rotation through N.root.json,
// names that look like prototype keys, …) check the output instead.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { DtrustClient, type RunResult } from '../rig/notary.js';
import { makeTempDir } from '../rig/tmp.js';
import { MemRepo, ecdsaKey, fileMeta, rootCertKey, type MemKey } from '../support/memrepo.js';
import { Simulator, type SimHook } from '../support/simulator.js';
import { expiresAfter, type Expires } from '../../src/tuf/expires.js';
import { PublicKey } from '../../src/tuf/keys.js';
import { keyObjectSigner, signMetadata } from '../../src/tuf/sign.js';
import { goPemCertificates } from '../../src/crypto/x509.js';
import { sha256Hex } from '../../src/crypto/hash.js';

const T = { timeout: 60_000 };
const ENV = { DTRUST_KDF_ITERATIONS: '2048' };
/** Every CLI run of a row must end well within this (the simulator answers at once). */
const RUN_BOUND_MS = 15_000;

let sim: Simulator;
before(async () => {
  sim = await Simulator.start();
});
after(() => sim.close());

// ---------------------------------------------------------------------------------------------
// helpers

interface Case {
  gun: string;
  repo: MemRepo;
  client: DtrustClient;
  /** The repository's files at version 1 (what the client trusts after its first list). */
  v1: Map<string, Buffer>;
}

let gunCounter = 0;

/** v1: targets `app/v1`; delegation targets/releases (paths rel/) with `rel/r1`. */
async function newCase(): Promise<Case> {
  const gun = `example.com/attack/r${++gunCounter}`;
  const repo = await MemRepo.create(gun, Date.now());
  repo.addTarget('app/v1', 'version one');
  repo.delegate('targets', 'targets/releases', [ecdsaKey()], ['rel/']);
  repo.addTarget('rel/r1', 'release one', 'targets/releases');
  await repo.sign();
  sim.add(repo);
  const client = await DtrustClient.create({ serverUrl: sim.url, env: ENV });
  return { gun, repo, client, v1: new Map(repo.files) };
}

async function run(c: Case, args: string[]): Promise<RunResult & { ms: number }> {
  const t0 = performance.now();
  const r = await c.client.run(args, { timeoutMs: 30_000 });
  return { ...r, ms: performance.now() - t0 };
}

async function listOk(c: Case, ...expected: string[]): Promise<RunResult> {
  const r = await run(c, ['list', c.gun]);
  assert.equal(r.code, 0, `list failed:\n${r.stdout}\n${r.stderr}`);
  for (const name of expected) assert.match(r.stdout, new RegExp(`^${escapeRe(name)}\\s`, 'm'), `${name} listed`);
  return r;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Every file under the client's HOME (the trust dir lives there): relative path → sha256. */
async function tree(c: Case): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name);
      const st = await lstat(p);
      const rel = relative(c.client.home, p);
      if (st.isDirectory()) {
        out.set(`${rel}/`, 'dir');
        await walk(p);
      } else out.set(rel, st.isFile() ? sha256Hex(await readFile(p)) : `special ${st.mode}`);
    }
  };
  await walk(c.client.home);
  return out;
}

function metadataFiles(t: Map<string, string>, gun: string): string[] {
  const prefix = `.notary/tuf/${gun}/metadata/`;
  return [...t.keys()].filter((k) => k.startsWith(prefix) && !k.endsWith('/')).map((k) => k.slice(prefix.length));
}

function targetsOf(repo: MemRepo, role: string) {
  return role === 'targets' ? repo.targets : repo.delegations.get(role)!.meta;
}

/** The owner publishes: `change`, then every listed role, the snapshot and the timestamp get version + 1. */
async function release(repo: MemRepo, roles: string[], change?: () => void | Promise<void>): Promise<void> {
  await change?.();
  for (const role of roles) {
    if (role === 'root') repo.root.version++;
    else targetsOf(repo, role).version++;
  }
  repo.snapshot.version++;
  repo.timestamp.version++;
  await repo.sign();
}

/** Flips one base64 character of the last signature in a file. */
function breakSignature(bytes: Buffer): Buffer {
  const s = bytes.toString('utf8');
  const at = s.lastIndexOf('"sig":"') + 12;
  return Buffer.from(s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1), 'utf8');
}

function replaceOnce(bytes: Buffer, from: string, to: string): Buffer {
  const s = bytes.toString('utf8');
  assert.ok(s.includes(from), `file contains ${from}`);
  return Buffer.from(s.replace(from, to), 'utf8');
}

/** Re-signs only the roles named (files of the others stay as they are). */
async function signOnly(repo: MemRepo, roles: string[]): Promise<void> {
  const all = ['root', 'targets', 'snapshot', 'timestamp', ...repo.delegations.keys()];
  const before = new Set(repo.frozen);
  for (const r of all) if (!roles.includes(r)) repo.frozen.add(r);
  try {
    await repo.sign();
  } finally {
    repo.frozen.clear();
    for (const r of before) repo.frozen.add(r);
  }
}

const past = (): Expires => expiresAfter(Date.now(), -1);

/** A new root version whose root role is `newKey`, signed by `signers`. */
function rotateRootKey(repo: MemRepo, newKey: MemKey, signers: MemKey[]): void {
  repo.root.keys.set(newKey.pub.id, newKey.pub);
  repo.root.roles.set('root', { keyids: [newKey.pub.id], threshold: 1 });
  repo.root.version++;
  repo.rootSigners = signers.map((k) => k.signer);
  repo.keys.root = [newKey];
}

function hookOn(match: (file: string | undefined, kind: string) => boolean, hook: SimHook): SimHook {
  return (req, res) => (match(req.file, req.kind) ? hook(req, res) : undefined);
}

// ---------------------------------------------------------------------------------------------
// the table

interface Row {
  name: string;
  /** Before the client's first list (e.g. extra roles). */
  setup?: (c: Case) => Promise<void>;
  /** After the first list: make the client trust a newer state first (then listed again). */
  advance?: (c: Case) => Promise<void>;
  /** The hostile change on the server. */
  attack: (c: Case) => Promise<void>;
  /** Skip the first list: the client has no cache. */
  noCache?: boolean;
  /** Refused: stderr must match. */
  refused?: RegExp;
  /** Accepted: checks on the result. */
  accepted?: (r: RunResult, c: Case) => void | Promise<void>;
  /** Never on stdout (default: `evil`). */
  hidden?: string[];
}

const rows: Row[] = [
  // SEC-V1 signatures and thresholds --------------------------------------------------------
  {
    name: 'tampered signature on the timestamp',
    attack: async ({ repo }) => {
      await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
      repo.files.set('timestamp', breakSignature(repo.files.get('timestamp')!));
    },
    refused: /valid signatures did not meet threshold for timestamp/,
  },
  {
    name: 'tampered signature on the snapshot',
    attack: async ({ repo }) => {
      await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
      repo.files.set('snapshot', breakSignature(repo.files.get('snapshot')!));
      await signOnly(repo, ['timestamp']);
    },
    refused: /valid signatures did not meet threshold for snapshot/,
  },
  {
    name: 'tampered content under a valid targets signature',
    attack: async ({ repo }) => {
      await release(repo, ['targets']);
      repo.files.set('targets', replaceOnce(repo.files.get('targets')!, '"app/v1"', '"evil/1"'));
      await signOnly(repo, ['snapshot', 'timestamp']);
    },
    refused: /valid signatures did not meet threshold for targets/,
  },
  {
    name: 'targets signed by a key the root does not list',
    attack: async ({ repo }) => {
      repo.addTarget('evil', 'x');
      repo.targets.version++;
      const intruder = ecdsaKey();
      repo.files.set('targets', (await signMetadata(repo.targets, [intruder.signer])).bytes);
      repo.snapshot.version++;
      repo.timestamp.version++;
      await signOnly(repo, ['snapshot', 'timestamp']);
    },
    refused: /valid signatures did not meet threshold for targets: 0 of 1/,
  },
  {
    name: 'targets signed by an unlisted key that claims a listed key ID',
    attack: async ({ repo }) => {
      repo.addTarget('evil', 'x');
      repo.targets.version++;
      const intruder = ecdsaKey();
      const liar = keyObjectSigner(intruder.priv, repo.keys.targets[0]!.pub);
      repo.files.set('targets', (await signMetadata(repo.targets, [liar])).bytes);
      repo.snapshot.version++;
      repo.timestamp.version++;
      await signOnly(repo, ['snapshot', 'timestamp']);
    },
    refused: /valid signatures did not meet threshold for targets: 0 of 1/,
  },
  {
    name: 'threshold 2 for targets met by only one of two keys',
    attack: async ({ repo }) => {
      const second = ecdsaKey();
      repo.root.keys.set(second.pub.id, second.pub);
      repo.root.roles.set('targets', { keyids: [repo.keys.targets[0]!.pub.id, second.pub.id], threshold: 2 });
      await release(repo, ['root', 'targets'], () => repo.addTarget('evil', 'x'));
    },
    refused: /valid signatures did not meet threshold for targets: 1 of 2/,
  },
  {
    name: 'a new root that needs two root signatures and carries one',
    attack: async ({ repo, gun }) => {
      const k2 = await rootCertKey(gun, Date.now() - 60_000);
      repo.root.keys.set(k2.pub.id, k2.pub);
      repo.root.roles.set('root', { keyids: [repo.keys.root[0]!.pub.id, k2.pub.id], threshold: 2 });
      await release(repo, ['root', 'targets'], () => repo.addTarget('evil', 'x'));
    },
    refused: /valid signatures did not meet threshold for root: 1 of 2/,
  },
  {
    name: 'threshold 2 met only by one key listed under two IDs (raw and x509)',
    attack: async ({ repo, gun }) => {
      const k = repo.keys.targets[0]!;
      const { createRootCertificate } = await import('../../src/crypto/certgen.js');
      const der = await createRootCertificate({
        privateKey: k.priv,
        publicKey: k.pub.keyObject(),
        commonName: gun,
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 365 * 86_400_000),
      });
      const certKey = new PublicKey('ecdsa-x509', Buffer.from(goPemCertificates([der]), 'latin1'));
      repo.root.keys.set(certKey.id, certKey);
      repo.root.roles.set('targets', { keyids: [k.pub.id, certKey.id], threshold: 2 });
      repo.keys.targets = [k, { priv: k.priv, pub: certKey, signer: keyObjectSigner(k.priv, certKey) }];
      await release(repo, ['root', 'targets'], () => repo.addTarget('evil', 'x'));
    },
    refused: /valid signatures did not meet threshold for targets: 1 of 2/,
  },
  {
    name: 'a delegation with a broken signature is skipped with a warning, its targets hidden',
    attack: async ({ repo }) => {
      await release(repo, ['targets/releases'], () => repo.addTarget('rel/evil', 'x', 'targets/releases'));
      repo.files.set('targets/releases', breakSignature(repo.files.get('targets/releases')!));
      await signOnly(repo, ['snapshot', 'timestamp']);
    },
    accepted: (r) => {
      assert.match(r.stdout, /^app\/v1\s/m);
      assert.doesNotMatch(r.stdout, /rel\//, 'nothing from the skipped role');
      assert.match(r.stderr, /targets\/releases/);
      assert.match(r.stderr, /threshold/);
    },
  },

  // SEC-V3 rollback ----------------------------------------------------------------------------
  {
    name: 'rollback of the timestamp',
    advance: async ({ repo }) => release(repo, ['targets'], () => repo.addTarget('app/v2', 'two')),
    attack: async ({ repo, v1 }) => {
      repo.files.set('timestamp', v1.get('timestamp')!);
    },
    refused: /timestamp: version 1 is older than the trusted version 2/,
  },
  {
    name: 'rollback of the snapshot (a new timestamp pins the old snapshot)',
    advance: async ({ repo }) => release(repo, ['targets'], () => repo.addTarget('app/v2', 'two')),
    attack: async ({ repo, v1 }) => {
      repo.files.set('snapshot', v1.get('snapshot')!);
      repo.timestamp.version++;
      await signOnly(repo, ['timestamp']);
    },
    refused: /snapshot: version 1 is older than the trusted version 2/,
  },
  {
    name: 'rollback of targets (a new snapshot pins the old targets)',
    advance: async ({ repo }) => release(repo, ['targets'], () => repo.addTarget('app/v2', 'two')),
    attack: async ({ repo, v1 }) => {
      repo.files.set('targets', v1.get('targets')!);
      repo.snapshot.version++;
      repo.timestamp.version++;
      await signOnly(repo, ['snapshot', 'timestamp']);
    },
    refused: /targets: version 1 is older than the trusted version 2/,
  },
  {
    name: 'rollback of a delegation',
    advance: async ({ repo }) => release(repo, ['targets/releases'], () => repo.addTarget('rel/r2', 'two', 'targets/releases')),
    attack: async ({ repo, v1 }) => {
      repo.files.set('targets/releases', v1.get('targets/releases')!);
      repo.snapshot.version++;
      repo.timestamp.version++;
      await signOnly(repo, ['snapshot', 'timestamp']);
    },
    refused: /targets\/releases: version 1 is older than the trusted version 2/,
  },
  {
    name: 'rollback of the root (newer timestamp and snapshot pin root version 1)',
    advance: async ({ repo }) => release(repo, ['root']),
    attack: async ({ repo, v1 }) => {
      repo.files.set('root', v1.get('root')!);
      repo.snapshot.version++;
      repo.timestamp.version++;
      await signOnly(repo, ['snapshot', 'timestamp']);
    },
    refused: /root: version 1 is older than the trusted version 2/,
  },
  {
    name: 'same-version timestamp with other bytes: the trusted one is kept, with a warning',
    attack: async ({ repo }) => {
      repo.addTarget('evil', 'x');
      repo.targets.version++;
      repo.snapshot.version++;
      await repo.sign(); // timestamp stays version 1, new bytes
    },
    accepted: async (r, c) => {
      assert.match(r.stdout, /^app\/v1\s/m);
      assert.match(r.stderr, /timestamp version 1 from the server differs from the trusted copy; keeping the trusted copy/);
      const ts = await readFile(join(c.client.trustDir, 'tuf', c.gun, 'metadata', 'timestamp.json'));
      assert.ok(ts.equals(c.v1.get('timestamp')!), 'the cached timestamp is still the trusted one');
    },
  },

  // SEC-V5 freeze ------------------------------------------------------------------------------
  {
    name: 'expired timestamp',
    attack: async ({ repo }) => {
      repo.timestamp.expires = past();
      await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
    },
    refused: /timestamp metadata expired at/,
  },
  {
    name: 'expired snapshot',
    attack: async ({ repo }) => {
      repo.snapshot.expires = past();
      await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
    },
    refused: /snapshot metadata expired at/,
  },
  {
    name: 'expired targets',
    attack: async ({ repo }) => {
      repo.targets.expires = past();
      await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
    },
    refused: /targets metadata expired at/,
  },
  {
    name: 'expired root',
    attack: async ({ repo }) => {
      repo.root.expires = past();
      await release(repo, ['root', 'targets'], () => repo.addTarget('evil', 'x'));
    },
    refused: /root metadata expired at/,
  },
  {
    name: 'server failing: the cached timestamp is used only while it is unexpired',
    setup: async ({ repo }) => {
      const ms = Date.now() + 5_000;
      repo.timestamp.expires = { ms, nanos: (ms % 1000) * 1e6, offsetMinutes: 0 };
      await repo.sign();
    },
    attack: async ({ repo }) => {
      const exp = repo.timestamp.expires.ms;
      await new Promise((r) => setTimeout(r, Math.max(0, exp - Date.now() + 200)));
      sim.hook = hookOn((f) => f === 'timestamp.json', () => ({ status: 503, body: Buffer.from('down'), headers: {} }));
    },
    refused: /timestamp metadata expired at/,
  },
  {
    name: 'an expired delegation is skipped with a warning, its targets hidden',
    attack: async ({ repo }) => {
      repo.delegations.get('targets/releases')!.meta.expires = past();
      await release(repo, ['targets/releases'], () => repo.addTarget('rel/evil', 'x', 'targets/releases'));
    },
    accepted: (r) => {
      assert.match(r.stdout, /^app\/v1\s/m);
      assert.doesNotMatch(r.stdout, /rel\//);
      assert.match(r.stderr, /targets\/releases metadata expired/);
    },
  },

  // SEC-V6 mix-and-match ----------------------------------------------------------------------
  {
    name: 'a snapshot from another version served under the new checksum',
    attack: async ({ repo, v1 }) => {
      await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
      sim.hook = hookOn((f) => f?.startsWith('snapshot.') ?? false, (_q, res) => ({ ...res, body: v1.get('snapshot')! }));
    },
    refused: /snapshot: sha256 checksum did not match/,
  },
  {
    name: 'targets whose bytes differ from the snapshot hash',
    attack: async ({ repo, v1 }) => {
      await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
      sim.hook = hookOn((f) => f?.startsWith('targets.') ?? false, (_q, res) => ({ ...res, body: v1.get('targets')! }));
    },
    refused: /targets: (sha256 checksum did not match|\d+ bytes, but \d+ were signed|\d+ bytes is more than the \d+ signed)/,
  },
  {
    name: 'snapshot length differs from what the timestamp pins',
    attack: async ({ repo }) => {
      await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
      const fm = fileMeta(repo.files.get('snapshot')!);
      fm.length += 10;
      repo.timestamp.meta = new Map([['snapshot', fm]]);
      repo.files.set('timestamp', (await signMetadata(repo.timestamp, repo.keys.timestamp.map((k) => k.signer))).bytes);
    },
    refused: /snapshot: \d+ bytes, but \d+ were signed/,
  },

  // SEC-V7 root rotation ------------------------------------------------------------------------
  {
    name: 'a new root signed only by its own new key',
    attack: async ({ repo, gun }) => {
      const k = await rootCertKey(gun, Date.now() - 60_000);
      rotateRootKey(repo, k, [k]);
      await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
    },
    refused: /could not rotate trust to a new trusted root/,
  },
  {
    name: 'N.root.json with another version inside',
    attack: async ({ repo, gun }) => {
      const k1 = repo.keys.root[0]!;
      const k2 = await rootCertKey(gun, Date.now() - 60_000);
      rotateRootKey(repo, k2, [k1, k2]);
      await repo.sign();
      sim.index(gun); // root v2 is now stored as 2.root.json…
      const k3 = await rootCertKey(gun, Date.now() - 60_000);
      rotateRootKey(repo, k3, [k2, k3]); // v3: not signed by v1's key
      await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
      sim.setVersion(gun, 'root', 2, repo.files.get('root')!); // …but 2.root.json holds version 3
    },
    refused: /2\.root\.json holds version 3/,
  },
  {
    name: 'rotation through N.root.json: v1 → v2 → v3, v3 not signed by v1 keys (accepted)',
    attack: async ({ repo, gun }) => {
      const k1 = repo.keys.root[0]!;
      const k2 = await rootCertKey(gun, Date.now() - 60_000);
      rotateRootKey(repo, k2, [k1, k2]);
      await repo.sign();
      sim.index(gun);
      const k3 = await rootCertKey(gun, Date.now() - 60_000);
      rotateRootKey(repo, k3, [k2, k3]);
      await release(repo, ['targets'], () => repo.addTarget('app/v3', 'three'));
    },
    accepted: async (r, c) => {
      assert.match(r.stdout, /^app\/v3\s/m);
      const root = await readFile(join(c.client.trustDir, 'tuf', c.gun, 'metadata', 'root.json'));
      assert.ok(root.equals(c.repo.files.get('root')!), 'root v3 cached');
      assert.equal(sim.count(`${sim.tufPath(c.gun)}2.root.json`), 1, '2.root.json fetched once');
    },
  },
  {
    name: 'fast-forward recovery: a rotated timestamp key resets an attacker-inflated timestamp version (SEC-V4)',
    advance: async ({ repo }) => {
      // The old timestamp key is compromised and pushes the version far up.
      repo.timestamp.version = 1000;
      await repo.sign();
    },
    attack: async ({ repo }) => {
      // The owner rotates the timestamp key; the server starts a fresh timestamp at version 1.
      const ts = ecdsaKey();
      repo.root.keys.set(ts.pub.id, ts.pub);
      repo.root.roles.set('timestamp', { keyids: [ts.pub.id], threshold: 1 });
      repo.keys.timestamp = [ts];
      repo.timestamp.version = 1;
      await release(repo, ['root', 'targets'], () => repo.addTarget('app/v2', 'two'));
      repo.timestamp.version = 1;
      await signOnly(repo, ['timestamp']);
    },
    accepted: (r) => {
      assert.match(r.stdout, /^app\/v2\s/m);
      assert.doesNotMatch(r.stderr, /older than the trusted/);
    },
  },

  {
    name: 'fast-forward recovery: a rotated snapshot key resets an attacker-inflated snapshot version (SEC-V4)',
    advance: async ({ repo }) => {
      // The old snapshot key is compromised and pushes the snapshot version far up.
      repo.snapshot.version = 1000;
      repo.timestamp.version++;
      await repo.sign();
    },
    attack: async ({ repo }) => {
      const snap = ecdsaKey();
      repo.root.keys.set(snap.pub.id, snap.pub);
      repo.root.roles.set('snapshot', { keyids: [snap.pub.id], threshold: 1 });
      repo.keys.snapshot = [snap];
      repo.snapshot.version = 1;
      await release(repo, ['root', 'targets'], () => repo.addTarget('app/v2', 'two')); // snapshot version 2
    },
    accepted: (r) => {
      assert.match(r.stdout, /^app\/v2\s/m);
      assert.doesNotMatch(r.stderr, /older than the trusted/);
    },
  },

  // SEC-V10 endless data ------------------------------------------------------------------------
  {
    name: 'endless snapshot body (longer than the signed length, no Content-Length)',
    attack: async ({ repo }) => {
      await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
      sim.hook = hookOn((f) => f?.startsWith('snapshot.') ?? false, (_q, res) => ({ ...res, endless: true }));
    },
    refused: /trust server returned a bad response/,
  },
  {
    name: 'snapshot with a Content-Length far above the signed length',
    attack: async ({ repo }) => {
      await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
      sim.hook = hookOn((f) => f?.startsWith('snapshot.') ?? false, (_q, res) => ({
        ...res,
        body: Buffer.concat([res.body, Buffer.alloc(1 << 20, 0x20)]),
      }));
    },
    refused: /trust server returned a bad response/,
  },
  {
    name: 'endless timestamp (beyond the 1 MiB cap) with a cached timestamp',
    attack: async ({ repo }) => {
      await release(repo, ['targets'], () => repo.addTarget('evil', 'x'));
      sim.hook = hookOn((f) => f === 'timestamp.json', (_q, res) => ({ ...res, endless: true }));
    },
    refused: /trust server returned a bad response/,
  },
  {
    name: 'endless root.json on first contact',
    noCache: true,
    attack: async () => {
      sim.hook = hookOn((f) => f === 'root.json', (_q, res) => ({ ...res, endless: true }));
    },
    refused: /trust server returned a bad response/,
  },

  // SEC-V9 delegations, SEC-V11 names as data ---------------------------------------------------
  {
    name: 'a delegation outside its parent paths: only the intersection counts (accepted, filtered)',
    attack: async ({ repo }) => {
      await release(repo, ['targets/releases'], () => {
        repo.delegate('targets/releases', 'targets/releases/sub', [ecdsaKey()], ['rel/sub/', 'evil/']);
        repo.addTarget('rel/sub/ok', 'ok', 'targets/releases/sub');
        repo.addTarget('evil/x', 'x', 'targets/releases/sub');
        repo.addTarget('evil/y', 'y', 'targets/releases');
      });
    },
    accepted: (r) => {
      assert.match(r.stdout, /^rel\/sub\/ok\s.*targets\/releases\/sub\s*$/m);
      assert.match(r.stdout, /^rel\/r1\s/m);
    },
  },
  {
    name: 'a delegation named targets/../x',
    attack: async ({ repo }) => {
      await release(repo, ['targets'], () => {
        repo.delegate('targets', 'targets/../x', [ecdsaKey()], ['']);
        repo.addTarget('evil', 'x', 'targets/../x');
      });
    },
    refused: /"targets\/\.\.\/x" is not a valid delegation role/,
  },
  {
    name: 'a delegation that is not a direct child (targets/a/b listed by targets)',
    attack: async ({ repo }) => {
      await release(repo, ['targets'], () => {
        repo.delegate('targets', 'targets/a/b', [ecdsaKey()], ['']);
        repo.addTarget('evil', 'x', 'targets/a/b');
      });
    },
    refused: /targets\/a\/b is not a direct child of targets/,
  },
  {
    name: 'targets/__proto__ and targets/constructor are ordinary delegation names (accepted)',
    attack: async ({ repo }) => {
      await release(repo, ['targets'], () => {
        repo.delegate('targets', 'targets/__proto__', [ecdsaKey()], ['proto/']);
        repo.addTarget('proto/a', 'a', 'targets/__proto__');
        repo.delegate('targets', 'targets/constructor', [ecdsaKey()], ['ctor/']);
        repo.addTarget('ctor/b', 'b', 'targets/constructor');
      });
    },
    accepted: async (r, c) => {
      assert.match(r.stdout, /^proto\/a\s.*targets\/__proto__\s*$/m);
      assert.match(r.stdout, /^ctor\/b\s.*targets\/constructor\s*$/m);
      const t = await tree(c);
      assert.ok(metadataFiles(t, c.gun).includes('targets/__proto__.json'), [...t.keys()].join('\n'));
    },
  },
  {
    name: 'a target named __proto__ (accepted)',
    attack: async ({ repo }) => {
      await release(repo, ['targets'], () => {
        repo.addTarget('__proto__', 'p');
        repo.addTarget('constructor', 'c');
        repo.addTarget('hasOwnProperty', 'h');
      });
    },
    accepted: (r) => {
      for (const n of ['__proto__', 'constructor', 'hasOwnProperty', 'app/v1']) assert.match(r.stdout, new RegExp(`^${n}\\s`, 'm'));
    },
  },
];

test('SEC-V3: a server holding the snapshot key cannot lower the targets rollback floor with bytes outside "signed"', T, async () => {
  const c = await newCase();
  await listOk(c, 'app/v1', 'rel/r1');
  await release(c.repo, ['targets'], () => c.repo.addTarget('app/v2', 'two'));
  await listOk(c, 'app/v1', 'app/v2');
  // Targets v2 as the owner signed it plus a member no signature covers, whose bytes read as
  // version 1 just before a "signatures" key (where rollback floors are read from cached files),
  // pinned by a new snapshot; then the owner's old targets v1, pinned by a newer snapshot.
  const v2 = c.repo.files.get('targets')!;
  c.repo.files.set('targets', Buffer.concat([v2.subarray(0, -1), Buffer.from(',"x":{"a":{"version":1},"signatures":[]}}')]));
  const pin = async (): Promise<void> => {
    c.repo.snapshot.version++;
    c.repo.timestamp.version++;
    await signOnly(c.repo, ['snapshot', 'timestamp']);
  };
  await pin();
  const padded = await run(c, ['list', c.gun]);
  c.repo.files.set('targets', c.v1.get('targets')!);
  await pin();
  const rolledBack = await run(c, ['list', c.gun]);
  assert.equal(rolledBack.code, 1, `the old targets were accepted:\n${rolledBack.stdout}`);
  assert.match(rolledBack.stderr, /targets: version 1 is older than the trusted version 2/);
  assert.equal(padded.code, 1, `the padded targets were accepted:\n${padded.stdout}`);
  assert.match(padded.stderr, /data outside "signed" reads as version 1/);
});

test('the simulator speaks the notary-server read protocol and counts requests', T, async () => {
  const c = await newCase();
  const base = `${sim.url}${sim.tufPath(c.gun)}`;
  const get = async (url: string): Promise<[number, Buffer]> => {
    const res = await fetch(url);
    return [res.status, Buffer.from(await res.arrayBuffer())];
  };
  assert.deepEqual(await get(`${sim.url}/v2/`), [200, Buffer.from('{}')]);
  assert.deepEqual(await get(`${base}root.json`), [200, c.repo.files.get('root')!]);
  assert.deepEqual(await get(`${base}1.root.json`), [200, c.repo.files.get('root')!]);
  assert.equal((await get(`${base}0.root.json`))[0], 404);
  assert.equal((await get(`${base}2.root.json`))[0], 404);
  const rel = c.repo.files.get('targets/releases')!;
  assert.deepEqual(await get(`${base}targets/releases.${sha256Hex(rel)}.json`), [200, rel]);
  assert.equal((await get(`${base}targets.${'0'.repeat(64)}.json`))[0], 404);
  const [status, key] = await get(`${base}timestamp.key`);
  assert.equal(status, 200);
  assert.equal(JSON.parse(key.toString()).keyval.public, c.repo.keys.timestamp[0]!.pub.pub.toString('base64'));
  assert.equal((await get(`${sim.url}/v2/example.com/nobody/_trust/tuf/root.json`))[0], 404);
  await get(`${base}root.json`);
  assert.equal(sim.count(`${sim.tufPath(c.gun)}root.json`), 2);
  sim.hook = (req, res) => (req.file === 'timestamp.json' ? { ...res, status: 503, body: Buffer.from('x') } : undefined);
  try {
    assert.equal((await get(`${base}timestamp.json`))[0], 503);
  } finally {
    sim.hook = undefined;
  }
  assert.deepEqual(await get(`${base}timestamp.json`), [200, c.repo.files.get('timestamp')!]);
});

describe('attacks through the simulator', () => {
  let payload: string;
  before(async () => {
    payload = join(await makeTempDir('dtrust-attack-payload-'), 'payload');
    await writeFile(payload, 'a staged change\n');
  });
  afterEach(() => {
    sim.hook = undefined;
  });

  for (const row of rows) {
    test(row.refused ? `refused: ${row.name}` : `accepted: ${row.name}`, T, async () => {
      sim.hook = undefined;
      const c = await newCase();
      await row.setup?.(c);
      if (!row.noCache) {
        await listOk(c, 'app/v1', 'rel/r1');
        if (row.advance) {
          await row.advance(c);
          await listOk(c, 'app/v1');
        }
      }
      const before = await tree(c);
      await row.attack(c);
      const r = await run(c, ['list', c.gun]);
      if (process.env['DTRUST_SHOW_ATTACKS']) console.log(`${row.name}: exit ${r.code}, ${Math.round(r.ms)} ms\n${r.stderr}`);
      assert.ok(r.ms < RUN_BOUND_MS, `took ${r.ms} ms`);
      for (const h of row.hidden ?? ['evil']) assert.ok(!r.stdout.includes(h), `${h} shown:\n${r.stdout}`);
      if (!row.refused) {
        assert.equal(r.code, 0, `expected success:\n${r.stdout}\n${r.stderr}`);
        await row.accepted!(r, c);
        return;
      }
      assert.equal(r.code, 1, `expected a refusal:\n${r.stdout}\n${r.stderr}`);
      assert.equal(r.stdout, '', 'nothing on stdout');
      assert.match(r.stderr, /\* fatal: /);
      assert.match(r.stderr, row.refused);
      assert.doesNotMatch(r.stderr, /TypeError|ReferenceError|    at /, 'no crash');
      assert.deepEqual(await tree(c), before, 'the trust directory is unchanged');

      // The publish path refreshes through the same checks: refused before anything is uploaded,
      // and the staged change stays.
      const staged = await run(c, ['add', c.gun, 'staged/one', payload]);
      assert.equal(staged.code, 0, staged.stderr);
      const beforePublish = await tree(c);
      const posts = sim.count(sim.tufPath(c.gun), 'POST');
      const p = await run(c, ['publish', c.gun]);
      assert.equal(p.code, 1, `expected the publish to be refused:\n${p.stdout}\n${p.stderr}`);
      assert.equal(p.stdout, `Pushing changes to ${c.gun}\n`);
      assert.match(p.stderr, row.refused);
      assert.equal(sim.count(sim.tufPath(c.gun), 'POST'), posts, 'nothing uploaded');
      assert.deepEqual(await tree(c), beforePublish, 'trust directory and staged change unchanged');
      assert.ok(p.ms < RUN_BOUND_MS, `publish took ${p.ms} ms`);
    });
  }
});
