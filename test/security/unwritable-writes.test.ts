// Security matrix KS-03 for the commands that WRITE (reads are in test/cli/cache-unwritable.test.ts):
// a read-only trust directory (a read-only bind mount), a full one (a small tmpfs filled up, then
// given back 0 to 8 pages so that the disk runs out at different steps of a command), and one
// this user may not write (the user nobody). Every command either succeeds or exits 1 naming the
// path and the errno; afterwards no temp file is left, every key decrypts, every change parses,
// nothing the failed command staged or uploaded is lost, and a re-run where there is space
// converges. Mounts live in a private mount namespace (unshare) and vanish with it; where the
// machine does not allow mounts the tests skip and say why.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { useNotaryServer } from '../rig/server.js';
import { DEFAULT_PASSPHRASE, DTRUST_BIN, DtrustClient, NotaryClient, baseEnv, runProcess, type RunResult } from '../rig/notary.js';
import { makeTempDir } from '../rig/tmp.js';
import { startFaultProxy, type FaultProxy } from '../support/faultproxy.js';
import { decodeKeyBlock } from '../../src/crypto/keyfile.js';
import { decodePemBlocks } from '../../src/crypto/pem.js';
import { ENV, treeOf } from './harness.js';

const T = { timeout: 240_000 };
const GUN = 'example.com/security/unwritable';

function inMountNamespace(script: string, env: Record<string, string>, args: string[] = []): Promise<RunResult> {
  return runProcess('unshare', ['-m', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', ...args], { env, timeoutMs: 90_000 });
}

async function cannotMount(dir: string): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'mounting needs root';
  const r = await inMountNamespace('mount -t tmpfs -o size=64k tmpfs "$1"', { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, [dir]);
  return r.code === 0 ? undefined : `cannot mount a tmpfs in a private mount namespace: ${r.stderr.trim()}`;
}

/** No temp file, every key decrypts, every change file is a JSON object: the state after any fault. */
async function assertConsistent(trustDir: string, what: string): Promise<void> {
  if (!existsSync(trustDir)) return;
  const all = readdirSync(trustDir, { recursive: true }) as string[];
  assert.deepEqual(all.filter((f) => f.endsWith('.tmp')), [], `${what}: no temp file left`);
  for (const f of all.filter((n) => n.startsWith('private/') && n.endsWith('.key'))) {
    const text = readFileSync(join(trustDir, f), 'utf8');
    const block = decodePemBlocks(text)[0];
    assert.ok(block, `${what}: ${f} is a complete PEM file`);
    assert.ok(await decodeKeyBlock(block, Buffer.from(DEFAULT_PASSPHRASE)), `${what}: ${f} decrypts`);
  }
  for (const f of all.filter((n) => n.endsWith('.change'))) JSON.parse(readFileSync(join(trustDir, f), 'utf8'));
  for (const f of all.filter((n) => /\/metadata\/.*\.json$/.test(n))) JSON.parse(readFileSync(join(trustDir, f), 'utf8'));
}

describe('writes to a trust directory that cannot be written', () => {
  const server = useNotaryServer();
  let home: string;
  let proxy: FaultProxy;
  let payload: string;
  let keyPem: string;
  let pubPem: string;
  /** A trust directory holding GUN, published, with one change (`staged/one`) staged. */
  let prepared: string;
  let skip: string | undefined;

  before(async () => {
    home = await makeTempDir('unwritable-writes-');
    skip = await cannotMount(home);
    proxy = await startFaultProxy(server().url);
    payload = join(home, 'payload.txt');
    writeFileSync(payload, 'payload\n');
    keyPem = join(home, 'import.pem');
    pubPem = join(home, 'delegate.pem');
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(keyPem, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    writeFileSync(pubPem, pair.publicKey.export({ format: 'pem', type: 'spki' }) as string);
    const dt = await DtrustClient.create({ serverUrl: proxy.url, home, trustDir: join(home, 'trust'), env: ENV });
    for (const args of [['init', '-p', GUN], ['add', '-p', GUN, 'one', payload], ['add', GUN, 'staged/one', payload]]) {
      const r = await dt.run(args, { timeoutMs: 60_000 });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    prepared = join(home, 'prepared');
    cpSync(dt.trustDir, prepared, { recursive: true });
  });

  after(() => proxy.close());

  const env = (): Record<string, string> => ({ ...baseEnv(home), ...ENV, NODE: process.execPath, DTRUST: DTRUST_BIN });
  const dtrustArgs = (trust: string, ...args: string[]): string[] => [process.execPath, DTRUST_BIN, '-s', proxy.url, '-d', trust, ...args];
  const posts = (): number => proxy.requests.filter((r) => r.method === 'POST').length;

  test('read-only: init, add, publish, delegation add, key generate, key import and key passwd exit 1 naming the path and EROFS; nothing is uploaded', T, async (t) => {
    if (skip) return t.skip(skip);
    const trust = join(home, 'ro-trust');
    cpSync(prepared, trust, { recursive: true });
    const before = await treeOf(trust);
    const readOnly = 'mount --bind "$TRUST" "$TRUST" && mount -o remount,bind,ro "$TRUST" && exec "$@"';
    const keyId = readdirSync(join(trust, 'private')).find((n) => n.endsWith('.key'))!.slice(0, -4);
    const cases: [string, string[]][] = [
      ['init', ['init', 'example.com/security/unwritable-new']],
      ['init -p', ['init', '-p', 'example.com/security/unwritable-new']],
      ['add', ['add', GUN, 'two', payload]],
      ['publish', ['publish', GUN]],
      ['delegation add', ['delegation', 'add', GUN, 'targets/releases', pubPem, '--all-paths']],
      ['key generate', ['key', 'generate', 'ecdsa', '--role', 'targets/x']],
      ['key import', ['key', 'import', keyPem, '-r', 'targets/x']],
      ['key passwd', ['key', 'passwd', keyId]],
    ];
    for (const [what, args] of cases) {
      const before = posts();
      const r = await inMountNamespace(readOnly, { ...env(), TRUST: trust, DTRUST_NEW_PASSPHRASE: 'another-passphrase' }, dtrustArgs(trust, ...args));
      assert.equal(r.code, 1, `${what}: ${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`\\* fatal: .*${trust.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\S*.*read-only file system`), `${what} names the path and the errno:\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /TypeError|    at /);
      assert.equal(posts(), before, `${what}: nothing uploaded`);
    }
    assert.deepEqual(await treeOf(trust), before, 'the trust directory is unchanged');
  });

  test('full: init -p and publish with 0 to 8 pages left: each succeeds or exits 1 naming ENOSPC, leaves a consistent directory, and converges once there is space', T, async (t) => {
    if (skip) return t.skip(skip);
    const mnt = join(home, 'full');
    mkdirSync(mnt);
    const script = [
      'mount -t tmpfs -o size=1m,mode=0700 tmpfs "$MNT" || exit 90',
      'mkdir -m 0700 "$MNT/trust" && cp -a "$SRC/." "$MNT/trust/" || exit 91',
      'dd if=/dev/zero of="$MNT/filler" bs=4096 2>/dev/null',
      '[ "$FREE" -gt 0 ] && truncate -s -$((FREE * 4096)) "$MNT/filler"',
      '"$@" > "$OUT/stdout" 2> "$OUT/stderr"; echo $? > "$OUT/code"',
      'cp -a "$MNT/trust" "$OUT/trust" || exit 92',
    ].join('\n');
    const empty = join(home, 'empty-trust');
    mkdirSync(empty, { mode: 0o700 });
    const outcomes: string[] = [];
    for (const free of [0, 1, 2, 3, 5, 8]) {
      for (const [what, src, args] of [
        ['init -p', empty, ['init', '-p', `example.com/security/full-${free}`]],
        ['publish', prepared, ['publish', GUN]],
      ] as const) {
        const out = join(home, `out-${free}-${what.replace(/\W/g, '')}`);
        rmSync(out, { recursive: true, force: true });
        mkdirSync(out);
        const uploads = posts();
        const r = await inMountNamespace(script, { ...env(), MNT: mnt, SRC: src, OUT: out, FREE: String(free) }, dtrustArgs(join(mnt, 'trust'), ...args));
        assert.equal(r.code, 0, `the namespace script failed (${r.code}): ${r.stderr}`);
        const code = Number(readFileSync(join(out, 'code'), 'utf8'));
        const stderr = readFileSync(join(out, 'stderr'), 'utf8');
        const copy = join(out, 'trust');
        const uploaded = posts() > uploads;
        outcomes.push(`${what}, ${free} pages: exit ${code}${uploaded ? ', uploaded' : ''}`);
        // Once the server took the upload, a cache the disk cannot take is only a warning.
        if (uploaded) assert.equal(code, 0, `${what} with ${free} pages uploaded, then failed:\n${stderr}`);
        if (code !== 0) {
          assert.equal(code, 1, `${what} with ${free} pages: ${stderr}`);
          assert.match(stderr, /\* fatal: .*no space left on device/, `${what} with ${free} pages names ENOSPC:\n${stderr}`);
          assert.doesNotMatch(stderr, /TypeError|    at /);
        }
        await assertConsistent(copy, `${what} with ${free} pages`);

        // Where there is space, the same trust directory converges.
        const c = await DtrustClient.create({ serverUrl: proxy.url, home: out, trustDir: copy, env: ENV });
        if (what === 'publish') {
          const again = await c.run(['publish', GUN], { timeoutMs: 60_000 });
          assert.equal(again.code, 0, `re-run after ${free} pages: ${again.stderr}`);
          const notary = await NotaryClient.create({ serverUrl: server().url });
          assert.match((await notary.runOk(['list', GUN])).stdout, /^staged\/one\s/m, 'the staged change was not lost');
        } else {
          const again = await c.run(['init', '-p', args[2]], { timeoutMs: 60_000 });
          if (again.code !== 0) assert.match(again.stderr, /already exists on/, again.stderr);
          const list = await c.run(['list', args[2]], { timeoutMs: 60_000 });
          assert.equal(list.code, 0, `list after init with ${free} pages: ${list.stderr}`);
          const roots = readdirSync(join(copy, 'private')).filter((n) => readFileSync(join(copy, 'private', n), 'utf8').includes('\nrole: root\n'));
          assert.equal(roots.length, 1, `one root key after init with ${free} pages: ${roots.join(' ')}`);
        }
        await assertConsistent(copy, `${what} re-run after ${free} pages`);
      }
    }
    if (process.env['DTRUST_SHOW_FULL']) console.log(outcomes.join('\n'));
    assert.ok(outcomes.some((o) => /exit 1/.test(o)), `some runs met a full disk:\n${outcomes.join('\n')}`);
  });

  test('not writable by this user (nobody): publish and key generate exit 1 naming the path and EACCES, nothing uploaded', T, async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to switch to the user nobody');
    const outer = await makeTempDir('unwritable-nobody-');
    const { chmodSync } = await import('node:fs');
    chmodSync(outer, 0o711);
    const trust = join(outer, 'trust');
    cpSync(prepared, trust, { recursive: true });
    // The trust directory belongs to root (0700 inside, so nobody cannot even read the keys): a
    // copy of dtrust every user can run, as the user nobody, gets EACCES.
    const chownTree = (p: string, uid: number): void => {
      chownSync(p, uid, uid);
      if (statSync(p).isDirectory()) for (const n of readdirSync(p)) chownTree(join(p, n), uid);
    };
    chownTree(trust, 0);
    const { dtrustForOtherUsers } = await import('../rig/notary.js');
    const bin = await dtrustForOtherUsers();
    const before = await treeOf(trust);
    const uploads = posts();
    for (const args of [['publish', GUN], ['key', 'generate', 'ecdsa', '--role', 'targets/x']]) {
      const r = await runProcess('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bin, '-s', proxy.url, '-d', trust, ...args], {
        env: { ...baseEnv(outer), ...ENV, HOME: outer },
        cwd: outer,
      });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /permission denied/, `${args.join(' ')}:\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(trust.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    }
    assert.equal(posts(), uploads, 'nothing uploaded');
    assert.deepEqual(await treeOf(trust), before);
  });
});
