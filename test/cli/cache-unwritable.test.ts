// Reads from a trust directory that cannot be written (docs/commands/list.md "The cache"): the
// verified data is shown with one warning that the cache could not be updated; a write fails
// cleanly; nothing in the trust directory changes. The directory is made read-only with a bind
// mount, or full with a small tmpfs, inside a private mount namespace (unshare), so no mount
// outlives its command; or it is not writable by the user running dtrust (nobody, as root
// ignores modes). Real notary-server; the real notary client reads the same read-only dir.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useNotaryServer } from '../rig/server.js';
import { DTRUST_BIN, DtrustClient, NOTARY_BIN, baseEnv, dtrustForOtherUsers, runProcess, type RunResult } from '../rig/notary.js';
import { makeTempDir } from '../rig/tmp.js';
import { treeHash } from '../keystore/helpers.js';
import { FAST_KDF, ok, tableRows } from './repo-helpers.js';

const T = { timeout: 120_000 };
const gun = 'example.com/cache/unwritable';

const names = (r: RunResult): string[] => tableRows(r.stdout).map((row) => row[0]!);
const warnings = (r: RunResult): string[] => r.stderr.split('\n').filter((l) => /level=warning|^warning/.test(l));

/** Runs `script` (sh) as root in a private mount namespace; its mounts vanish when it ends. */
function inMountNamespace(script: string, env: Record<string, string>, args: string[] = []): Promise<RunResult> {
  return runProcess('unshare', ['-m', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', ...args], { env, timeoutMs: 60_000 });
}

/** Why mounts cannot be made here, or undefined when they can. */
async function cannotMount(dir: string): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'mounting needs root';
  const r = await inMountNamespace('mount -t tmpfs -o size=64k tmpfs "$1"', { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, [dir]);
  return r.code === 0 ? undefined : `cannot mount a tmpfs in a private mount namespace: ${r.stderr.trim()}`;
}

describe('a trust directory that cannot be written', () => {
  const server = useNotaryServer();
  let home: string;
  let dt: DtrustClient;
  /** A copy of the trust directory whose cache is one publish behind the server. */
  let stale: string;
  let payload: string;
  let skip: string | undefined;

  before(async () => {
    home = await makeTempDir('cache-unwritable-');
    skip = await cannotMount(home);
    dt = await DtrustClient.create({ serverUrl: server().url, home, trustDir: join(home, 'trust'), env: FAST_KDF });
    payload = join(home, 'payload.txt');
    writeFileSync(payload, 'payload\n');
    ok('dtrust', ['init'], await dt.run(['init', gun, '-p']));
    ok('dtrust', ['add'], await dt.run(['add', '-p', gun, 'one', payload]));
    const meta = join(dt.trustDir, 'tuf', gun, 'metadata');
    const behind = join(home, 'behind');
    cpSync(meta, behind, { recursive: true });
    ok('dtrust', ['add'], await dt.run(['add', '-p', gun, 'two', payload]));
    rmSync(meta, { recursive: true });
    cpSync(behind, meta, { recursive: true });
    stale = join(home, 'stale-trust');
    cpSync(dt.trustDir, stale, { recursive: true });
  });

  const env = (): Record<string, string> => ({ ...baseEnv(home), ...FAST_KDF, NODE: process.execPath, DTRUST: DTRUST_BIN, NOTARY: NOTARY_BIN, URL: server().url, GUN: gun });

  test('read-only: list shows the verified data with one warning; add -p fails; notary reads it too; nothing changes', T, async (t) => {
    if (skip) return t.skip(skip);
    const trust = dt.trustDir;
    const readOnly = 'mount --bind "$TRUST" "$TRUST" && mount -o remount,bind,ro "$TRUST" && exec "$@"';
    const run = (...argv: string[]): Promise<RunResult> => inMountNamespace(readOnly, { ...env(), TRUST: trust }, argv);
    const before = treeHash(trust);

    const list = await run(process.execPath, DTRUST_BIN, '-s', server().url, '-d', trust, 'list', gun);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(names(list), ['one', 'two'], 'the data published after the cache was written');
    assert.equal(warnings(list).length, 1, list.stderr);
    assert.match(
      warnings(list)[0]!,
      new RegExp(`the cache of ${gun} could not be updated \\(cannot write ${trust}/tuf/${gun}/metadata/\\S+\\.json: read-only file system\\); the data was verified, and the next run fetches it again`),
    );

    const add = await run(process.execPath, DTRUST_BIN, '-s', server().url, '-d', trust, 'add', '-p', gun, 'three', payload);
    assert.equal(add.code, 1, add.stdout + add.stderr);
    assert.match(add.stderr, /read-only file system/);
    assert.doesNotMatch(add.stdout, /Successfully/);

    const notary = await run(NOTARY_BIN, '-s', server().url, '-d', trust, 'list', gun);
    assert.equal(notary.code, 0, notary.stdout + notary.stderr);
    assert.deepEqual(names(notary), ['one', 'two']);
    assert.equal(treeHash(trust), before, 'the read-only trust directory is untouched');

    // Writable again: the same read updates the cache, without the warning.
    const again = ok('dtrust', ['list'], await dt.run(['list', gun]));
    assert.deepEqual(names(again), ['one', 'two']);
    assert.deepEqual(warnings(again), []);
    assert.notEqual(treeHash(trust), before);
  });

  test('full: list shows the verified data with one warning; add -p fails; nothing partial is left', T, async (t) => {
    if (skip) return t.skip(skip);
    const mnt = join(home, 'full');
    const out = join(home, 'full-out');
    mkdirSync(mnt);
    // A 512 KiB tmpfs holding the stale trust dir, then filled up; the tree is recorded before
    // and after the command (the tmpfs goes away with the namespace).
    const script = [
      'mount -t tmpfs -o size=512k,mode=0700 tmpfs "$MNT" || exit 90',
      'cp -a "$SRC/." "$MNT/trust/" || exit 91',
      'dd if=/dev/zero of="$MNT/filler" bs=4096 2>/dev/null',
      'tree() { (cd "$MNT/trust" && find . | sort && find . -type f -exec sha256sum {} + | sort); }',
      'tree > "$OUT/before"',
      '"$@" > "$OUT/stdout" 2> "$OUT/stderr"; echo $? > "$OUT/code"',
      'tree > "$OUT/after"',
    ].join('\n');
    const run = async (...args: string[]): Promise<RunResult> => {
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out);
      const r = await inMountNamespace(script, { ...env(), MNT: mnt, SRC: stale, OUT: out }, [process.execPath, DTRUST_BIN, '-s', server().url, '-d', join(mnt, 'trust'), ...args]);
      assert.equal(r.code, 0, `the namespace script failed (${r.code}): ${r.stderr}`);
      const read = (name: string): string => readFileSync(join(out, name), 'utf8');
      assert.equal(read('after'), read('before'), `${args.join(' ')}: the full trust directory is unchanged, no temporary file is left`);
      assert.match(read('before'), /metadata\/timestamp\.json/);
      return { code: Number(read('code')), stdout: read('stdout'), stderr: read('stderr') };
    };

    const list = await run('list', gun);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(names(list), ['one', 'two']);
    assert.equal(warnings(list).length, 1, list.stderr);
    assert.match(warnings(list)[0]!, new RegExp(`the cache of ${gun} could not be updated \\(cannot write \\S+\\.json: no space left on device\\); the data was verified`));

    const add = await run('add', '-p', gun, 'three', payload);
    assert.equal(add.code, 1, add.stdout + add.stderr);
    assert.match(add.stderr, /no space left on device/);
    assert.doesNotMatch(add.stdout, /Successfully/);
  });

  test('not writable by this user: list shows the verified data with one warning (as the user nobody)', T, async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to switch to the user nobody');
    // A directory nobody can traverse, holding a trust dir that belongs to nobody.
    const outer = await makeTempDir('cache-nobody-');
    chmodSync(outer, 0o711);
    const trust = join(outer, 'trust');
    cpSync(stale, trust, { recursive: true });
    const chownTree = (p: string): void => {
      chownSync(p, 65534, 65534);
      if (statSync(p).isDirectory()) for (const n of readdirSync(p)) chownTree(join(p, n));
    };
    chownTree(trust);
    const meta = join(trust, 'tuf', gun, 'metadata');
    chmodSync(meta, 0o500);
    const before = treeHash(trust);
    // A copy of dtrust nobody can reach: the checkout may live under a private directory.
    const bin = await dtrustForOtherUsers();
    const r = await runProcess('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bin, '-s', server().url, '-d', trust, 'list', gun], {
      env: { ...baseEnv(outer), HOME: outer },
      cwd: outer,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(names(r), ['one', 'two']);
    assert.equal(warnings(r).length, 1, r.stderr);
    assert.match(warnings(r)[0]!, new RegExp(`the cache of ${gun} could not be updated \\(cannot write ${meta}/\\S+\\.json: permission denied\\)`));
    assert.equal(treeHash(trust), before);
  });
});
