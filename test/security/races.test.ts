// Security matrix CC-05 (init killed with SIGKILL at many moments), CC-06 (key rotate killed
// between key creation and publish), CC-01 (adds racing a
// publish), CC-02 (two publishes from one trust directory), two trust directories publishing at
// once, and NF-10 / CC-04 (a 500 and a cut connection after the POST reached the server), through
// the CLI against the REAL notary-server behind a fault proxy. After every fault: each key file
// decrypts to its ID, at most one root key, no temp file once a command has run again, and a
// re-run converges so that the server holds every change exactly once (SEC-C1..C4).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_PASSPHRASE, DTRUST_BIN, DtrustClient, NotaryClient, baseEnv, killAfter, type RunResult } from '../rig/notary.js';
import { useNotaryServer } from '../rig/server.js';
import { startFaultProxy, type FaultProxy } from '../support/faultproxy.js';
import type { SimResponse } from '../support/simulator.js';
import { decodeKeyBlock, tufPublicKey } from '../../src/crypto/keyfile.js';
import { decodePemBlocks } from '../../src/crypto/pem.js';
import { PublicKey } from '../../src/tuf/keys.js';
import { ENV } from './harness.js';

const T = { timeout: 240_000 };

let server: () => { url: string };
let proxy: FaultProxy;

const tufPath = (gun: string): string => `/v2/${gun}/_trust/tuf/`;

async function ok(c: DtrustClient, args: string[]): Promise<RunResult> {
  const r = await c.run(args, { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `dtrust ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** First column of a `list` / `key list` table. */
function column(stdout: string, i = 0): string[] {
  return stdout
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/)[i] ?? '')
    .filter((n) => n !== '');
}

/** PATH column of `status` rows. */
function staged(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => /^\d+\s+\S+\s+\S+\s+\S+\s+\S/.test(l))
    .map((l) => l.trim().split(/\s+/)[4]!);
}

interface Running {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>;
}

/** `dtrust <args>` as a child that can be killed; killed at the end of the test at the latest. */
function start(c: DtrustClient, args: string[]): Running {
  const child = spawn(process.execPath, [DTRUST_BIN, '-s', c.serverUrl, '-d', c.trustDir, ...args], {
    cwd: c.home,
    env: { ...baseEnv(c.home), ...ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killAfter(child);
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => chunks.push(b));
  child.stderr!.on('data', (b: Buffer) => chunks.push(b));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, out: Buffer.concat(chunks).toString() })),
  );
  return { child, exited };
}

/** Every key file decrypts (rig passphrase) to the ID its name says; returns root key IDs. */
async function checkKeys(trustDir: string): Promise<string[]> {
  const dir = join(trustDir, 'private');
  if (!existsSync(dir)) return [];
  const roots: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.key')) continue;
    const blocks = decodePemBlocks(readFileSync(join(dir, name), 'utf8'));
    assert.equal(blocks.length, 1, `${name}: one PEM block`);
    const key = await decodeKeyBlock(blocks[0]!, Buffer.from(DEFAULT_PASSPHRASE));
    assert.ok(key, `${name} decrypts`);
    const { keytype, pub } = tufPublicKey(key);
    assert.equal(`${new PublicKey(keytype, pub).id}.key`, name, `${name} holds the key it is named after`);
    if (blocks[0]!.headers.get('role') === 'root') roots.push(name.slice(0, -4));
  }
  return roots;
}

/** Temp files (".<name>.<pid>-<host>-<random>.tmp") anywhere in the trust directory. */
function temps(trustDir: string): string[] {
  if (!existsSync(trustDir)) return [];
  return (readdirSync(trustDir, { recursive: true }) as string[]).filter((f) => /\.tmp$/.test(f));
}

/** The real notary, with a fresh trust dir, lists each name exactly once (and nothing twice). */
async function assertOnServerOnce(gun: string, names: string[]): Promise<void> {
  const notary = await NotaryClient.create({ serverUrl: server().url });
  const r = await notary.runOk(['list', gun]);
  const got = column(r.stdout);
  for (const n of names) assert.equal(got.filter((x) => x === n).length, 1, `${n} once on the server:\n${r.stdout}`);
  assert.equal(new Set(got).size, got.length, 'no duplicates');
}

async function newRepo(gun: string): Promise<{ c: DtrustClient; file: string }> {
  const c = await DtrustClient.create({ serverUrl: proxy.url, env: ENV });
  const file = join(c.home, 'payload');
  await writeFile(file, 'payload\n');
  await ok(c, ['init', '-p', gun]);
  return { c, file };
}

describe('crashes and races against the real notary-server', () => {
  server = useNotaryServer();
  before(async () => {
    proxy = await startFaultProxy(server().url);
  });
  after(() => proxy.close());

  test('CC-05: init -p killed at many moments: keys intact, one root key, a re-run converges on it', T, async () => {
    // A full run, to spread the timed kills over its length (relative, not absolute, timing).
    const probe = await DtrustClient.create({ serverUrl: proxy.url, env: ENV });
    const t0 = performance.now();
    await ok(probe, ['init', '-p', 'example.com/security/init-probe']);
    const full = performance.now() - t0;

    type Point = { label: string; on?: (m: string, path: string, gun: string) => boolean; forward?: boolean; afterAnswer?: boolean; firstKey?: true; ms?: number };
    const points: Point[] = [
      { label: 'at the ping', on: (m, p) => m === 'GET' && p === '/v2/' },
      { label: 'at the root.json check', on: (m, p, g) => m === 'GET' && p === `${tufPath(g)}root.json` },
      { label: 'as the first key file appears', firstKey: true },
      { label: 'at timestamp.key (keys made, nothing cached)', on: (m, p, g) => m === 'GET' && p === `${tufPath(g)}timestamp.key` },
      { label: 'as the POST arrives (never reaches the server)', on: (m, p, g) => m === 'POST' && p === tufPath(g), forward: false },
      { label: 'as the POST arrives (reaches the server after the client died)', on: (m, p, g) => m === 'POST' && p === tufPath(g), forward: true },
      { label: 'right after the POST answer', on: (m, p, g) => m === 'POST' && p === tufPath(g), afterAnswer: true },
      { label: 'at 15% of a full run', ms: full * 0.15 },
      { label: 'at 40% of a full run', ms: full * 0.4 },
      { label: 'at 70% of a full run', ms: full * 0.7 },
    ];
    const seen: string[] = [];
    for (const [i, point] of points.entries()) {
      const gun = `example.com/security/init-kill-${i}`;
      const c = await DtrustClient.create({ serverUrl: proxy.url, env: ENV });
      const run = start(c, ['init', '-p', gun]);
      let timer: NodeJS.Timeout | undefined;
      let watcher: NodeJS.Timeout | undefined;
      const kill = (): boolean => run.child.kill('SIGKILL');
      if (point.ms !== undefined) timer = setTimeout(kill, point.ms);
      if (point.firstKey) {
        const dir = join(c.trustDir, 'private');
        watcher = setInterval(() => {
          if (existsSync(dir) && readdirSync(dir).some((n) => n.endsWith('.key'))) kill();
        }, 2);
      }
      if (point.on) {
        const on = point.on;
        proxy.hook = async (req, forward): Promise<SimResponse> => {
          if (!on(req.method, req.path, gun)) return forward();
          proxy.hook = undefined;
          if (point.afterAnswer) {
            const res = await forward();
            setImmediate(kill);
            return res;
          }
          kill();
          await req.clientGone;
          if (point.forward === false) return { status: 502, headers: {}, body: Buffer.alloc(0) };
          return forward();
        };
      }
      const e = await run.exited;
      proxy.hook = undefined;
      if (timer) clearTimeout(timer);
      if (watcher) clearInterval(watcher);
      seen.push(`${point.label}: ${e.signal ?? `exit ${e.code}`}`);
      assert.ok(e.signal === 'SIGKILL' || e.code === 0, `${point.label}: killed or finished\n${e.out}`);

      // Invariants right after the crash.
      const roots = await checkKeys(c.trustDir);
      assert.ok(roots.length <= 1, `${point.label}: at most one root key, found ${roots.join(' ')}`);

      // A re-run converges: init again (refused only when the killed run's upload took effect).
      const again = await c.run(['init', '-p', gun], { timeoutMs: 60_000 });
      if (again.code !== 0) {
        assert.match(again.stderr, new RegExp(`repository ${gun.replace(/\./g, '\\.')} already exists on`), `${point.label}: ${again.stderr}`);
        await ok(c, ['publish', gun]);
      }
      const after = await checkKeys(c.trustDir);
      assert.equal(after.length, 1, `${point.label}: exactly one root key after the re-run: ${after.join(' ')}`);
      if (roots.length === 1) assert.deepEqual(after, roots, `${point.label}: the root key of the killed run was reused`);
      assert.deepEqual(temps(c.trustDir), [], `${point.label}: no temp files after the re-run`);
      await ok(c, ['list', gun]);
      // The server holds a valid repository a fresh reader trusts.
      const notary = await NotaryClient.create({ serverUrl: server().url });
      await notary.runOk(['list', gun]);
    }
    if (process.env['DTRUST_SHOW_KILLS']) console.log(seen.join('\n'));
  });

  test('CC-06: key rotate killed between key creation and publish: the repository stays publishable, a re-run rotates, no key of the server\'s root is lost', T, async () => {
    type Point = { label: string; role: string; args: string[]; newKey?: true; afterAnswer?: true };
    const points: Point[] = [
      { label: 'targets: as the new key file appears', role: 'targets', args: [], newKey: true },
      { label: 'root: as the new key file appears', role: 'root', args: ['-y'], newKey: true },
      { label: 'root: right after the POST answer', role: 'root', args: ['-y'], afterAnswer: true },
      { label: 'snapshot -r: right after the first POST answer', role: 'snapshot', args: ['-r'], afterAnswer: true },
    ];
    const seen: string[] = [];
    for (const [i, point] of points.entries()) {
      const gun = `example.com/security/rotate-kill-${i}`;
      const { c, file } = await newRepo(gun);
      const keyDir = join(c.trustDir, 'private');
      const keysBefore = new Set(readdirSync(keyDir));
      const run = start(c, ['key', 'rotate', gun, point.role, ...point.args]);
      const kill = (): boolean => run.child.kill('SIGKILL');
      let watcher: NodeJS.Timeout | undefined;
      if (point.newKey) {
        watcher = setInterval(() => {
          if (readdirSync(keyDir).some((n) => !keysBefore.has(n))) kill();
        }, 2);
      }
      if (point.afterAnswer) {
        proxy.hook = async (req, forward): Promise<SimResponse> => {
          if (req.method !== 'POST') return forward();
          proxy.hook = undefined;
          const res = await forward();
          setImmediate(kill);
          return res;
        };
      }
      const e = await run.exited;
      proxy.hook = undefined;
      if (watcher) clearInterval(watcher);
      assert.ok(e.signal === 'SIGKILL' || e.code === 0, `${point.label}: killed or finished\n${e.out}`);
      seen.push(`${point.label}: ${e.signal ?? `exit ${e.code}`}`);
      await checkKeys(c.trustDir);

      // Whatever the server took, this trust directory still holds the keys to publish with.
      await ok(c, ['add', gun, 'after-crash', file, '-p']);
      await ok(c, ['key', 'rotate', gun, point.role, ...point.args]);
      await ok(c, ['add', gun, 'after-rotation', file, '-p']);
      await checkKeys(c.trustDir);
      assert.deepEqual(temps(c.trustDir), [], `${point.label}: no temp files after the re-run`);
      await assertOnServerOnce(gun, ['after-crash', 'after-rotation']);
    }
    if (process.env['DTRUST_SHOW_KILLS']) console.log(seen.join('\n'));
  });

  test('CC-01: adds racing a publish over 8 rounds: every change is published or still staged, none lost', T, async () => {
    const gun = 'example.com/security/add-race';
    const { c, file } = await newRepo(gun);
    const all: string[] = [];
    for (let round = 0; round < 8; round++) {
      const a = `r${round}/before`;
      const b = `r${round}/during`;
      await ok(c, ['add', gun, a, file]);
      all.push(a, b);
      // The POST is held a random while; the add starts at a random moment of the publish.
      const hold = Math.floor(Math.random() * 300);
      proxy.hook = async (req, forward) => {
        if (req.method === 'POST') await sleep(hold);
        return forward();
      };
      const p = start(c, ['publish', gun]);
      await sleep(Math.floor(Math.random() * 400));
      const add = await c.run(['add', gun, b, file], { timeoutMs: 60_000 });
      const pe = await p.exited;
      proxy.hook = undefined;
      assert.equal(pe.code, 0, `round ${round} publish:\n${pe.out}`);
      assert.equal(add.code, 0, `round ${round} add:\n${add.stdout}\n${add.stderr}`);
      const published = column((await ok(c, ['list', gun])).stdout);
      const pending = staged((await ok(c, ['status', gun])).stdout);
      assert.ok(published.includes(a), `round ${round}: ${a} published`);
      assert.ok(published.includes(b) !== pending.includes(b), `round ${round}: ${b} is either published or staged (published ${published.includes(b)}, staged ${pending.includes(b)})`);
    }
    await ok(c, ['publish', gun]);
    assert.match((await ok(c, ['status', gun])).stdout, /No unpublished changes/);
    await assertOnServerOnce(gun, all);
  });

  test('CC-02: two publishes from one trust directory: the second waits for the lock, then has nothing to do; held too long, it fails naming the holder', T, async () => {
    const gun = 'example.com/security/two-publishes';
    const { c, file } = await newRepo(gun);
    await ok(c, ['add', gun, 'one', file]);
    let release!: () => void;
    let arrived!: () => void;
    const postArrived = new Promise<void>((r) => (arrived = r));
    proxy.hook = async (req, forward) => {
      if (req.method === 'POST') {
        arrived();
        await new Promise<void>((r) => (release = r));
      }
      return forward();
    };
    const first = start(c, ['publish', gun]);
    await postArrived;
    const second = start(c, ['publish', gun]);
    await sleep(1_000);
    release();
    const [e1, e2] = await Promise.all([first.exited, second.exited]);
    proxy.hook = undefined;
    assert.equal(e1.code, 0, e1.out);
    assert.equal(e2.code, 0, e2.out);
    assert.match(e2.out, /No unpublished changes/);
    assert.equal(proxy.requests.filter((r) => r.method === 'POST' && r.path === tufPath(gun)).length, 2, 'one POST for init -p, one for the publish');

    // A holder that keeps the lock past the waiting limit (10 s): the second fails at the limit,
    // naming the holder's PID, and its change stays staged.
    await ok(c, ['add', gun, 'two', file]);
    const held = new Promise<void>((r) => (arrived = r));
    proxy.hook = async (req, forward) => {
      if (req.method === 'POST') {
        arrived();
        await new Promise<void>((r) => (release = r));
      }
      return forward();
    };
    const holder = start(c, ['publish', gun]);
    await held;
    const waiter = await c.run(['publish', gun], { timeoutMs: 60_000 });
    release();
    proxy.hook = undefined;
    assert.equal((await holder.exited).code, 0);
    assert.equal(waiter.code, 1, waiter.stdout + waiter.stderr);
    assert.match(waiter.stderr, new RegExp(`${gun.replace(/\./g, '\\.')} is locked by another dtrust command \\(PID ${holder.child.pid}, since [^)]*\\); gave up after 10 s`));
    await assertOnServerOnce(gun, ['one', 'two']);
  });

  test('two trust directories publish at once: the loser keeps its change, says to publish again, and converges', T, async () => {
    const gun = 'example.com/security/two-dirs';
    const { c: a, file } = await newRepo(gun);
    const b = await DtrustClient.create({ serverUrl: proxy.url, env: ENV });
    cpSync(join(a.trustDir, 'private'), join(b.trustDir, 'private'), { recursive: true });
    await ok(b, ['list', gun]);
    await ok(a, ['add', gun, 'from-a', file]);
    await ok(b, ['add', gun, 'from-b', file]);
    // Both POSTs are held until both arrived; then a's goes first.
    const posts: { who: string; go: () => void }[] = [];
    let both!: () => void;
    const bothArrived = new Promise<void>((r) => (both = r));
    proxy.hook = async (req, forward) => {
      if (req.method !== 'POST') return forward();
      const who = req.headers['user-agent'] ?? '';
      await new Promise<void>((go) => {
        posts.push({ who, go });
        if (posts.length === 2) both();
      });
      return forward();
    };
    const pa = start(a, ['publish', gun]);
    const pb = start(b, ['publish', gun]);
    await bothArrived;
    // Which request is whose is not visible to the proxy: release one, let it finish, then the other.
    posts[0]!.go();
    const firstDone = await Promise.race([pa.exited.then((e) => ({ who: 'a', e })), pb.exited.then((e) => ({ who: 'b', e }))]);
    posts[1]!.go();
    const [ea, eb] = await Promise.all([pa.exited, pb.exited]);
    proxy.hook = undefined;
    assert.equal(firstDone.e.code, 0, firstDone.e.out);
    const [loser, loserOut] = firstDone.who === 'a' ? [b, eb] : [a, ea];
    assert.equal(loserOut.code, 1, loserOut.out);
    assert.match(loserOut.out, /\* fatal: the server has newer metadata than this publish was based on\n/);
    assert.match(loserOut.out, new RegExp(`hint: run: dtrust publish ${gun.replace(/\./g, '\\.')} again \\(your staged changes are kept\\)`));
    assert.doesNotMatch(loserOut.out, /TypeError|    at /);
    const loserChange = loser === a ? 'from-a' : 'from-b';
    assert.deepEqual(staged((await ok(loser, ['status', gun])).stdout), [loserChange], 'the loser keeps its change');
    await ok(loser, ['publish', gun]);
    assert.match((await ok(loser, ['status', gun])).stdout, /No unpublished changes/);
    await assertOnServerOnce(gun, ['from-a', 'from-b']);
  });

  for (const fault of ['a 500', 'a cut connection'] as const) {
    test(`NF-10: ${fault} after the POST reached the server: exit 1 saying what to do, the change kept; the next publish converges, exactly once`, T, async () => {
      const gun = `example.com/security/after-post-${fault === 'a 500' ? '500' : 'cut'}`;
      const { c, file } = await newRepo(gun);
      await ok(c, ['add', gun, 'x/one', file]);
      await ok(c, ['add', gun, 'x/two', file]);
      let applied = false;
      proxy.hook = async (req, forward) => {
        if (req.method !== 'POST' || req.path !== tufPath(gun)) return forward();
        proxy.hook = undefined;
        const res = await forward();
        applied = res.status === 200;
        return fault === 'a 500' ? { status: 500, headers: { 'content-type': 'text/plain' }, body: Buffer.from('internal error') } : { ...res, hangUp: true };
      };
      const r = await c.run(['publish', gun], { timeoutMs: 60_000 });
      proxy.hook = undefined;
      assert.ok(applied, 'the server took the upload');
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, fault === 'a 500' ? /\* fatal: unable to reach trust server at this time: 500\.\n  hint: the upload may or may not have been published: / : /\* fatal: the connection dropped after the upload was sent; it may or may not have been published\n  hint: /);
      assert.match(r.stderr, new RegExp(`run: dtrust publish ${gun.replace(/\./g, '\\.')} again \\(your staged changes are kept\\)`), 'says what to do');
      assert.deepEqual(staged((await ok(c, ['status', gun])).stdout).sort(), ['x/one', 'x/two'], 'the changes are kept');
      const again = await ok(c, ['publish', gun]);
      assert.doesNotMatch(again.stderr, /error|fatal/i);
      assert.match((await ok(c, ['status', gun])).stdout, /No unpublished changes/);
      await assertOnServerOnce(gun, ['x/one', 'x/two']);
    });
  }
});
