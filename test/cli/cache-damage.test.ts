// Damaged cached metadata (docs/commands/list.md "A damaged cache"): an empty, truncated or
// garbage non-root file is ignored, fetched again, verified and replaced with one warning; a
// damaged root is an error naming the file and the fix, never a new trust on first use; offline,
// a damaged file is reported with its path. With the real notary-server and the real notary
// client reading what dtrust put back. Then, through the simulator: the floors that survive a
// damaged file still refuse rollbacks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getFreePort, useNotaryServer } from '../rig/server.js';
import { DtrustClient, NotaryClient, type RunResult } from '../rig/notary.js';
import { makeTempDir } from '../rig/tmp.js';
import { treeHash } from '../keystore/helpers.js';
import { MemRepo, ecdsaKey } from '../support/memrepo.js';
import { Simulator } from '../support/simulator.js';
import { FAST_KDF, ok, tableRows } from './repo-helpers.js';

const T = { timeout: 180_000 };

const DAMAGE: Record<string, (b: Buffer) => Buffer> = {
  empty: () => Buffer.alloc(0),
  truncated: (b) => b.subarray(0, Math.floor(b.length / 2)),
  garbage: () => Buffer.from('\u0000\u00ffnot json at all\n', 'latin1'),
};

/** Flips one base64 character of the last signature: the file still parses and names its version. */
function breakSignature(bytes: Buffer): Buffer {
  const s = bytes.toString('utf8');
  const at = s.lastIndexOf('"sig":"') + 12;
  return Buffer.from(s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1), 'utf8');
}

const names = (r: RunResult): string[] => tableRows(r.stdout).map((row) => row[0]!);
const warnings = (r: RunResult): string[] => r.stderr.split('\n').filter((l) => /level=warning|^warning/.test(l));

describe('a damaged cache with the real notary-server', () => {
  const server = useNotaryServer();
  let dt: DtrustClient;
  let meta: string;
  let good: string;
  const gun = 'example.com/cache/damage';
  const path = (role: string): string => join(meta, `${role}.json`);
  const restore = (): void => cpSync(good, meta, { recursive: true });

  before(async () => {
    const home = await makeTempDir('cache-damage-');
    dt = await DtrustClient.create({ serverUrl: server().url, home, trustDir: join(home, 'trust'), env: FAST_KDF });
    const f = join(home, 'payload.txt');
    writeFileSync(f, 'payload\n');
    for (const args of [
      ['init', gun, '-p'],
      ['key', 'generate', 'ecdsa', '--role', 'targets/releases', '-o', join(home, 'rel')],
      ['key', 'import', join(home, 'rel-key.pem'), '--role', 'targets/releases'],
      ['delegation', 'add', gun, 'targets/releases', join(home, 'rel.pem'), '--all-paths', '-p'],
      ['add', '-p', gun, 'top', f],
      ['add', '-p', gun, 'rel/one', f, '--roles', 'targets/releases'],
      ['list', gun],
    ]) {
      ok('dtrust', args, await dt.run(args));
    }
    meta = join(dt.trustDir, 'tuf', gun, 'metadata');
    good = join(home, 'good-metadata');
    cpSync(meta, good, { recursive: true });
  });

  for (const role of ['timestamp', 'snapshot', 'targets', 'targets/releases']) {
    test(`a damaged cached ${role}.json is fetched again, verified and replaced, with one warning`, T, async () => {
      const original = readFileSync(path(role));
      for (const [how, damage] of Object.entries(DAMAGE)) {
        restore();
        writeFileSync(path(role), damage(original));
        const r = ok('dtrust', ['list', gun], await dt.run(['list', gun]));
        assert.deepEqual(names(r), ['rel/one', 'top'], how);
        assert.deepEqual(warnings(r).length, 1, `${how}: one warning\n${r.stderr}`);
        assert.match(warnings(r)[0]!, new RegExp(`the cached ${path(role)} is damaged \\(${role}: invalid JSON at byte \\d+: .*\\); fetching it again`), how);
        assert.ok(readFileSync(path(role)).equals(original), `${how}: replaced with the server's copy`);
      }
      // The real notary reads the trust directory dtrust repaired.
      const nt = await NotaryClient.create({ serverUrl: server().url, home: dt.home, trustDir: dt.trustDir });
      assert.deepEqual(names(await nt.runOk(['list', gun])), ['rel/one', 'top']);
    });
  }

  test('a cached timestamp whose signature no longer verifies is replaced by the server copy of the same version', T, async () => {
    restore();
    const original = readFileSync(path('timestamp'));
    writeFileSync(path('timestamp'), breakSignature(original));
    const r = ok('dtrust', ['list', gun], await dt.run(['list', gun]));
    assert.deepEqual(names(r), ['rel/one', 'top']);
    assert.match(r.stderr, /the cached timestamp version \d+ does not verify \(valid signatures did not meet threshold for timestamp: 0 of 1 required\); using the server's copy/);
    assert.ok(readFileSync(path('timestamp')).equals(original));
  });

  test('a damaged cached root is an error naming the file and the fix; nothing is replaced', T, async () => {
    for (const [how, damage] of [...Object.entries(DAMAGE), ['with a broken signature', breakSignature] as const]) {
      restore();
      writeFileSync(path('root'), damage(readFileSync(join(good, 'root.json'))));
      const before = treeHash(dt.trustDir);
      const r = await dt.run(['list', gun]);
      assert.equal(r.code, 1, `${how}\n${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`\\* fatal: the cached root of ${gun} in ${path('root')} is damaged: .+\\n  hint: it is what dtrust trusts for ${gun}: restore it from a backup, or remove it to trust the root the server sends on the next run`), how);
      assert.equal(treeHash(dt.trustDir), before, `${how}: no new trust on first use`);
    }
    // The fix: removing it is the user's explicit choice to trust the server's root again.
    unlinkSync(path('root'));
    assert.deepEqual(names(ok('dtrust', ['list', gun], await dt.run(['list', gun]))), ['rel/one', 'top']);
    assert.ok(readFileSync(path('root')).equals(readFileSync(join(good, 'root.json'))));
  });

  test('offline, a damaged cached file is an error naming it; nothing changes', T, async () => {
    const offline = `http://127.0.0.1:${await getFreePort()}`;
    for (const role of ['timestamp', 'snapshot', 'targets', 'targets/releases', 'root']) {
      restore();
      writeFileSync(path(role), DAMAGE['truncated']!(readFileSync(join(good, `${role}.json`))));
      const before = treeHash(dt.trustDir);
      const r = await dt.run(['-s', offline, '-d', dt.trustDir, 'list', gun], { noGlobalFlags: true });
      assert.equal(r.code, 1, `${role}\n${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      const named = role === 'root' ? `the cached root of ${gun} in ${path(role)} is damaged: ` : `the cached ${path(role)} cannot be used: ${role}: `;
      assert.ok(r.stderr.includes(`* fatal: ${named}`), `${role}\n${r.stderr}`);
      if (role !== 'root') assert.match(r.stderr, /hint: run the command again with the server reachable: dtrust then fetches a fresh copy, verifies it and replaces this file/);
      assert.equal(treeHash(dt.trustDir), before, role);
    }
    restore();
  });
});

// ---------------------------------------------------------------------------------------------
// Rollbacks with a damaged cache: the simulator serves a repository the client trusts at version
// 2; one cached file is damaged (no floor from it); the server then rolls something back that
// another file's floor still covers.

describe('rollbacks are still refused where a floor survives a damaged cache', () => {
  let sim: Simulator;
  before(async () => {
    sim = await Simulator.start();
  });
  after(() => sim.close());
  let n = 0;

  interface Row {
    damaged: string;
    /** What the server does, given the files of version 1. */
    attack: (repo: MemRepo, v1: Map<string, Buffer>) => Promise<void>;
    refused: RegExp;
  }

  /** Re-signs only the roles named (the files of the others stay as they are). */
  async function signOnly(repo: MemRepo, roles: string[]): Promise<void> {
    for (const r of ['root', 'targets', 'snapshot', 'timestamp', ...repo.delegations.keys()]) if (!roles.includes(r)) repo.frozen.add(r);
    try {
      await repo.sign();
    } finally {
      repo.frozen.clear();
    }
  }

  /** A new timestamp that pins the snapshot of version 1. */
  const oldSnapshot = async (repo: MemRepo, v1: Map<string, Buffer>): Promise<void> => {
    repo.files.set('snapshot', v1.get('snapshot')!);
    repo.timestamp.version++;
    await signOnly(repo, ['timestamp']);
  };
  /** A new snapshot (and timestamp) that pins the targets of version 1. */
  const oldTargets = async (repo: MemRepo, v1: Map<string, Buffer>): Promise<void> => {
    repo.files.set('targets', v1.get('targets')!);
    repo.snapshot.version++;
    repo.timestamp.version++;
    await signOnly(repo, ['snapshot', 'timestamp']);
  };
  /** The timestamp of version 1 again. */
  const oldTimestamp = async (repo: MemRepo, v1: Map<string, Buffer>): Promise<void> => {
    repo.files.set('timestamp', v1.get('timestamp')!);
  };

  const rows: Row[] = [
    // The timestamp's floor is lost; the snapshot's still bounds what an older timestamp can pin.
    { damaged: 'timestamp', attack: oldTimestamp, refused: /snapshot: version 1 is older than the trusted version 2/ },
    { damaged: 'timestamp', attack: oldSnapshot, refused: /snapshot: version 1 is older than the trusted version 2/ },
    // The snapshot's floor is lost; the timestamp's and targets' remain.
    { damaged: 'snapshot', attack: oldTimestamp, refused: /timestamp: version 1 is older than the trusted version 2/ },
    { damaged: 'snapshot', attack: oldTargets, refused: /targets: version 1 is older than the trusted version 2/ },
    // The targets floor is lost; the snapshot's bounds the snapshot that pins it.
    { damaged: 'targets', attack: oldSnapshot, refused: /snapshot: version 1 is older than the trusted version 2/ },
    // A delegation's floor is lost; the snapshot's and targets' remain.
    { damaged: 'targets/releases', attack: oldSnapshot, refused: /snapshot: version 1 is older than the trusted version 2/ },
    { damaged: 'targets/releases', attack: oldTargets, refused: /targets: version 1 is older than the trusted version 2/ },
  ];

  for (const row of rows) {
    test(`damaged ${row.damaged}.json, ${row.attack.name}: refused`, T, async () => {
      const gun = `example.com/cache/rollback${++n}`;
      const repo = await MemRepo.create(gun, Date.now());
      repo.addTarget('app/v1', 'one');
      repo.delegate('targets', 'targets/releases', [ecdsaKey()], ['rel/']);
      repo.addTarget('rel/r1', 'release one', 'targets/releases');
      await repo.sign();
      const v1 = new Map(repo.files);
      sim.add(repo);
      const client = await DtrustClient.create({ serverUrl: sim.url, env: FAST_KDF });
      ok('dtrust', ['list', gun], await client.run(['list', gun]));
      // Version 2 of everything, trusted by the client.
      repo.addTarget('app/v2', 'two');
      repo.addTarget('rel/r2', 'release two', 'targets/releases');
      repo.targets.version++;
      repo.delegations.get('targets/releases')!.meta.version++;
      repo.snapshot.version++;
      repo.timestamp.version++;
      await repo.sign();
      assert.deepEqual(names(ok('dtrust', ['list', gun], await client.run(['list', gun]))), ['app/v1', 'app/v2', 'rel/r1', 'rel/r2']);

      writeFileSync(join(client.trustDir, 'tuf', gun, 'metadata', `${row.damaged}.json`), '');
      await row.attack(repo, v1);
      const before = treeHash(client.trustDir);
      const r = await client.run(['list', gun]);
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, row.refused);
      assert.equal(treeHash(client.trustDir), before, 'nothing cached from the refused repository');
    });
  }
});
