// Concurrency and crash safety through the whole CLI against the REAL notary-server
// (security.md §4, §7.3-§7.4): parallel writers lose no staged change (SEC-C1, C2), and a publish
// killed with SIGKILL at any moment leaves the cache and the changelist usable, so that the next
// publish converges: every staged change ends on the server exactly once (SEC-C3).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DTRUST_BIN, DtrustClient, NotaryClient, baseEnv, type RunResult } from '../rig/notary.js';
import { useNotaryServer } from '../rig/server.js';
import { startFaultProxy, type FaultProxy } from '../support/faultproxy.js';
import type { SimResponse } from '../support/simulator.js';

const T = { timeout: 90_000 };
const ENV = { DTRUST_KDF_ITERATIONS: '2048' };

let server: () => { url: string };
let proxy: FaultProxy;

function tufPath(gun: string): string {
  return `/v2/${gun}/_trust/tuf/`;
}

async function ok(c: DtrustClient, args: string[]): Promise<RunResult> {
  const r = await c.run(args, { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `dtrust ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Names in a `list` table (first column of the rows after the header). */
function listed(stdout: string): string[] {
  return stdout
    .split('\n')
    .slice(2)
    .map((l) => l.split(/\s+/)[0]!)
    .filter((n) => n !== '');
}

/** PATH column of `status` rows. */
function staged(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => /^\d+\s+\S+\s+\S+\s+\S+\s+\S/.test(l))
    .map((l) => l.trim().split(/\s+/)[4]!);
}

/** A repository initialised and published by dtrust through the proxy, with `first` on it. */
async function newRepo(gun: string): Promise<{ c: DtrustClient; payload: string }> {
  const c = await DtrustClient.create({ serverUrl: proxy.url, env: ENV });
  const payload = join(c.home, 'payload.bin');
  await writeFile(payload, 'some content\n');
  await ok(c, ['init', gun]);
  await ok(c, ['add', gun, 'first', payload]);
  await ok(c, ['publish', gun]);
  return { c, payload };
}

/** Starts `dtrust publish` as a child we can SIGKILL; resolves with its exit (code or signal). */
function spawnPublish(c: DtrustClient, gun: string): { pid: number; kill: () => void; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> } {
  const child = spawn(process.execPath, [DTRUST_BIN, '-s', c.serverUrl, '-d', c.trustDir, 'publish', gun], {
    cwd: c.home,
    env: { ...baseEnv(c.home), ...ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => chunks.push(b));
  child.stderr.on('data', (b: Buffer) => chunks.push(b));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, out: Buffer.concat(chunks).toString() })),
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  void exited.then(() => clearTimeout(timer));
  return { pid: child.pid!, kill: () => child.kill('SIGKILL'), exited };
}

/** Everything a later command needs still works: status parses every change, list verifies. */
async function assertUsable(c: DtrustClient, gun: string): Promise<void> {
  const st = await ok(c, ['status', gun]);
  assert.doesNotMatch(st.stdout + st.stderr, /CORRUPT|cannot be read/, st.stdout + st.stderr);
  await ok(c, ['list', gun]);
}

/** After a successful publish, temp files of killed writers have been swept from the GUN's dirs. */
async function assertNoTemps(c: DtrustClient, gun: string): Promise<void> {
  const dir = join(c.trustDir, 'tuf', gun);
  const temps = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.tmp'));
  assert.deepEqual(temps, [], 'no temp files left');
}

/** The real notary, with a fresh trust dir, sees each name exactly once. */
async function assertOnServerOnce(gun: string, names: string[]): Promise<void> {
  const notary = await NotaryClient.create({ serverUrl: server().url });
  const r = await notary.runOk(['list', gun]);
  const got = listed(r.stdout);
  for (const n of names) assert.equal(got.filter((x) => x === n).length, 1, `${n} once on the server:\n${r.stdout}`);
  assert.equal(new Set(got).size, got.length, 'no duplicates');
}

describe('concurrency and crashes against the real notary-server', () => {
  server = useNotaryServer();
  before(async () => {
    proxy = await startFaultProxy(server().url);
  });
  after(() => proxy.close());

  test('two writers staging 30 changes each at once lose nothing', T, async () => {
    const gun = 'example.com/concurrency/parallel';
    const { c, payload } = await newRepo(gun);
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < 30; i++) await ok(c, ['add', gun, `w${w}/t${String(i).padStart(2, '0')}`, payload]);
    };
    const t0 = performance.now();
    await Promise.all([worker(0), worker(1)]);
    const ms = performance.now() - t0;

    const st = await ok(c, ['status', gun]);
    const paths = staged(st.stdout);
    assert.equal(paths.length, 60, st.stdout);
    assert.equal(new Set(paths).size, 60);
    const changeFiles = (await readdir(join(c.trustDir, 'tuf', gun, 'changelist'))).filter((f) => f.endsWith('.change'));
    assert.equal(changeFiles.length, 60, changeFiles.join('\n'));

    await ok(c, ['publish', gun]);
    const names = listed((await ok(c, ['list', gun])).stdout);
    assert.equal(names.length, 61, names.join(' '));
    assert.match((await ok(c, ['status', gun])).stdout, /No unpublished changes/);
    await assertOnServerOnce(gun, paths);
    assert.ok(ms < 60_000, `staging took ${Math.round(ms)} ms`);
  });

  for (const outcome of ['never reaches the server', 'reaches the server after the client died'] as const) {
    test(`publish killed while its POST ${outcome}: the next publish converges`, T, async () => {
      const gun = `example.com/concurrency/kill-${outcome.startsWith('never') ? 'dropped' : 'applied'}`;
      const { c, payload } = await newRepo(gun);
      await ok(c, ['add', gun, 'k/a', payload]);
      await ok(c, ['add', gun, 'k/b', payload]);
      const cacheBefore = await readFile(join(c.trustDir, 'tuf', gun, 'metadata', 'targets.json'));

      let posted!: () => void;
      const postSeen = new Promise<void>((r) => (posted = r));
      let forwarded: Promise<unknown> = Promise.resolve();
      proxy.hook = async (req, forward): Promise<SimResponse> => {
        if (req.method !== 'POST' || req.path !== tufPath(gun)) return forward();
        posted();
        await req.clientGone; // hold the request until the client is dead
        if (outcome === 'never reaches the server') return { status: 502, headers: {}, body: Buffer.alloc(0) };
        const f = forward();
        forwarded = f;
        return f;
      };
      try {
        const p = spawnPublish(c, gun);
        await Promise.race([postSeen, p.exited.then((e) => assert.fail(`publish ended before its POST: ${e.out}`))]);
        p.kill();
        const e = await p.exited;
        assert.equal(e.signal, 'SIGKILL');
        await forwarded;
      } finally {
        proxy.hook = undefined;
      }

      // Nothing was lost: both changes are still staged; the cache still holds what it held.
      assert.deepEqual(staged((await ok(c, ['status', gun])).stdout).sort(), ['k/a', 'k/b']);
      const cacheAfter = await readFile(join(c.trustDir, 'tuf', gun, 'metadata', 'targets.json'));
      assert.ok(cacheAfter.equals(cacheBefore), 'the cached targets are untouched by the killed publish');
      await assertUsable(c, gun);

      const again = await ok(c, ['publish', gun]);
      assert.match(again.stdout, /Successfully published changes/);
      assert.match((await ok(c, ['status', gun])).stdout, /No unpublished changes/);
      const names = listed((await ok(c, ['list', gun])).stdout);
      assert.deepEqual(names.sort(), ['first', 'k/a', 'k/b']);
      await assertOnServerOnce(gun, ['first', 'k/a', 'k/b']);
      await assertNoTemps(c, gun);
    });
  }

  test('publish SIGKILLed at many moments: cache and changelist stay usable, publishing converges', T, async () => {
    const gun = 'example.com/concurrency/kill-points';
    const tuf = tufPath(gun);
    const { c, payload } = await newRepo(gun);
    const all = ['first'];
    // Kill points tied to what the server sees (start-up, update, upload, and the moments after
    // the upload was accepted: changelist clean-up and cache writes), then two at random times.
    type Point = { on: (method: string, path: string) => boolean; afterResponseMs?: number } | { randomMs: number };
    const get = (file: string) => (m: string, p: string) => m === 'GET' && p === (file === '/v2/' ? file : tuf + file);
    const post = (m: string, p: string) => m === 'POST' && p === tuf;
    const points: [string, Point][] = [
      ['at the ping', { on: get('/v2/') }],
      ['at root.json', { on: get('root.json') }],
      ['at timestamp.json', { on: get('timestamp.json') }],
      ['as the POST arrives', { on: post }],
      ['right after the POST answer', { on: post, afterResponseMs: 0 }],
      ['5 ms after the POST answer', { on: post, afterResponseMs: 5 }],
      ['20 ms after the POST answer', { on: post, afterResponseMs: 20 }],
      ['at a random time', { randomMs: Math.floor(Math.random() * 400) }],
      ['at another random time', { randomMs: Math.floor(Math.random() * 400) }],
    ];
    const outcomes: string[] = [];
    for (const [i, [label, point]] of points.entries()) {
      const name = `p${i}/t`;
      await ok(c, ['add', gun, name, payload]);
      all.push(name);
      const p = spawnPublish(c, gun);
      let timer: NodeJS.Timeout | undefined;
      if ('randomMs' in point) timer = setTimeout(p.kill, point.randomMs);
      else {
        proxy.hook = async (req, forward) => {
          if (!point.on(req.method, req.path)) return forward();
          proxy.hook = undefined;
          if (point.afterResponseMs === undefined) {
            p.kill();
            return forward(); // the server still gets it: the client never learns the outcome
          }
          const res = await forward();
          timer = setTimeout(p.kill, point.afterResponseMs);
          return res;
        };
      }
      const e = await p.exited;
      proxy.hook = undefined;
      if (timer) clearTimeout(timer);
      assert.ok(e.signal === 'SIGKILL' || e.code === 0, `publish either finished or was killed: ${e.code} ${e.signal}\n${e.out}`);
      outcomes.push(`${label}${'randomMs' in point ? ` (${point.randomMs} ms)` : ''}: ${e.signal ?? `exit ${e.code}`}`);
      await assertUsable(c, gun);
    }
    if (process.env['DTRUST_SHOW_KILLS']) console.log(outcomes.join('\n'));
    await ok(c, ['publish', gun]);
    assert.match((await ok(c, ['status', gun])).stdout, /No unpublished changes/);
    assert.deepEqual(listed((await ok(c, ['list', gun])).stdout).sort(), [...all].sort());
    await assertOnServerOnce(gun, all);
    await assertNoTemps(c, gun);
  });
});
