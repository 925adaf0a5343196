// `key rotate` against the real notary-server, cross-checked with the real notary 0.7 client
// (cli.md §9.15, §12 #16; formats.md §7.3; security.md SEC-V4, SEC-V7):
//  - targets, snapshot (client and -r), timestamp -r and root rotations, each followed by readers
//    of both implementations that cached the repository BEFORE the rotation;
//  - root rotated twice while a reader was away (chain walk through N.root.json); -l legacy;
//  - notary's refusals (delegation roles, -r on root/targets, timestamp without -r);
//  - a failed rotation (rejected, or the server gone at the upload) keeps the old key and removes
//    the generated one; old non-root keys are removed only after success.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useNotaryServer, httpGet } from '../rig/server.js';
import { DtrustClient, NotaryClient } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';
import { parseEnvelope } from '../../src/tuf/envelope.js';
import { parseRoot, type Root } from '../../src/tuf/metadata.js';
import type { Signature } from '../../src/tuf/envelope.js';
import { FAST_KDF, fails, fatalOf, file, hintOf, listed, ok, party, privateKeyIds, type Party } from './delegation-helpers.js';

const server = useNotaryServer();
const T = { timeout: 120_000 };

let gunCounter = 0;
const newGun = (what: string): string => `example.com/rotate/${what}-${++gunCounter}`;

interface Repo {
  gun: string;
  o: Party;
  /** Readers that listed the repository once (their caches hold the state before rotations). */
  readers: { nt: NotaryClient; dt: DtrustClient };
  expected: string[];
  n: number;
}

/** Owner `init -p` + one target with dtrust; two readers list it once and keep their caches. */
async function repo(what: string, url = server().url): Promise<Repo> {
  const gun = newGun(what);
  const o = await party(url, 'owner');
  await ok(o.dt, ['init', gun, '-p']);
  const r: Repo = { gun, o, readers: await readers(), expected: [], n: 0 };
  await publishTarget(r);
  await readersAgree(r);
  return r;
}

async function readers(): Promise<{ nt: NotaryClient; dt: DtrustClient }> {
  const home = await tempDir('rotate-reader-');
  return {
    nt: await NotaryClient.create({ serverUrl: server().url, home, trustDir: join(home, 'n') }),
    dt: await DtrustClient.create({ serverUrl: server().url, home, trustDir: join(home, 'd'), env: FAST_KDF }),
  };
}

/** The owner publishes one more target (`via` = which client, default dtrust). */
async function publishTarget(r: Repo, via: 'dt' | 'nt' = 'dt'): Promise<void> {
  const name = `v${String(++r.n).padStart(2, '0')}`;
  const f = await file(r.o.home, `${name}.bin`, `${name}\n`);
  await ok(r.o[via], ['add', r.gun, name, f, '-p']);
  r.expected.push(`${name} targets`);
}

/** Both long-lived readers list again (from their old caches) and see every target. */
async function readersAgree(r: Repo): Promise<void> {
  const n = await ok(r.readers.nt, ['list', r.gun]);
  const d = await ok(r.readers.dt, ['list', r.gun]);
  assert.deepEqual(listed(n.stdout), r.expected, 'notary reader');
  assert.deepEqual(listed(d.stdout), r.expected, 'dtrust reader');
  assert.doesNotMatch(d.stderr, /warn|error/i, `dtrust reader warned:\n${d.stderr}`);
}

interface ServerRoot {
  root: Root;
  signatures: Signature[];
  /** Canonical IDs of the keys of a role. */
  ids(role: string): string[];
  keytype(role: string): string[];
}

async function serverRoot(gun: string, name = 'root'): Promise<ServerRoot> {
  const res = await httpGet(`${server().url}/v2/${gun}/_trust/tuf/${name}.json`);
  assert.equal(res.status, 200, `${name}.json: ${res.body}`);
  const env = parseEnvelope(Buffer.from(res.body), 'root');
  const root = parseRoot(env.signed);
  const keysOf = (role: string) => (root.roles.get(role)?.keyids ?? []).map((id) => root.keys.get(id)!);
  return {
    root,
    signatures: env.signatures,
    ids: (role) => keysOf(role).map((k) => k.canonicalId),
    keytype: (role) => keysOf(role).map((k) => k.keytype),
  };
}

/** Requests for `<gun>/_trust/tuf/<file>` in the server log after byte offset `from`. */
function logged(from: number, gun: string, name: string): number {
  const text = readFileSync(server().logFile, 'utf8').slice(from);
  return text.split(`/v2/${gun}/_trust/tuf/${name}`).length - 1;
}

/** Polls the server log briefly: a request is logged as its answer completes. */
async function loggedSoon(from: number, gun: string, name: string): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const n = logged(from, gun, name);
    if (n > 0) return n;
    await new Promise((r) => setTimeout(r, 50));
  }
  return 0;
}

function logSize(): number {
  return readFileSync(server().logFile, 'utf8').length;
}

const added = (before: string[], after: string[]): string[] => after.filter((k) => !before.includes(k));
const removed = (before: string[], after: string[]): string[] => before.filter((k) => !after.includes(k));

describe('key rotate, cross-checked with the real notary', { concurrency: 4 }, () => {
  test('targets, snapshot, snapshot -r, timestamp -r, root: readers with old caches follow every step', T, async () => {
    const r = await repo('all');
    const { gun, o } = r;
    let keys = privateKeyIds(o.trustDir);
    assert.equal(keys.length, 3, 'root, targets, snapshot');
    let root = await serverRoot(gun);
    const v0 = root.root.version;

    // targets: a new local key; the old one removed after the server accepted the rotation
    const oldTargets = root.ids('targets');
    let res = await ok(o.dt, ['key', 'rotate', gun, 'targets']);
    assert.equal(res.stdout, `Successfully rotated targets key for repository ${gun}\n`);
    root = await serverRoot(gun);
    assert.equal(root.root.version, v0 + 1);
    assert.notDeepEqual(root.ids('targets'), oldTargets);
    assert.match(res.stderr, new RegExp(`Rotating the targets key of ${gun.replace(/\./g, '\\.')}: ${oldTargets[0]} -> ${root.ids('targets')[0]}`));
    let now = privateKeyIds(o.trustDir);
    assert.deepEqual(removed(keys, now), oldTargets);
    assert.deepEqual(added(keys, now), root.ids('targets'));
    keys = now;
    await readersAgree(r);
    await publishTarget(r); // signed with the new targets key
    await readersAgree(r);

    // snapshot, kept by the client
    const oldSnapshot = root.ids('snapshot');
    await ok(o.dt, ['key', 'rotate', gun, 'snapshot']);
    root = await serverRoot(gun);
    now = privateKeyIds(o.trustDir);
    assert.deepEqual(removed(keys, now), oldSnapshot);
    assert.deepEqual(added(keys, now), root.ids('snapshot'));
    keys = now;
    await readersAgree(r);
    await publishTarget(r);
    await readersAgree(r);

    // snapshot -r: the server's key (ed25519, local trust service); no snapshot key left here
    res = await ok(o.dt, ['key', 'rotate', gun, 'snapshot', '-r']);
    assert.match(res.stderr, /\(held by the server\)/);
    root = await serverRoot(gun);
    assert.deepEqual(root.keytype('snapshot'), ['ed25519']);
    now = privateKeyIds(o.trustDir);
    assert.deepEqual(added(keys, now), []);
    assert.equal(removed(keys, now).length, 1, 'the local snapshot key is removed');
    assert.equal(now.length, 2, 'root and targets only');
    keys = now;
    await readersAgree(r);
    await publishTarget(r); // the server signs the snapshot now
    await readersAgree(r);

    // timestamp -r
    const oldTs = root.ids('timestamp');
    await ok(o.dt, ['key', 'rotate', gun, 'timestamp', '-r']);
    root = await serverRoot(gun);
    assert.notDeepEqual(root.ids('timestamp'), oldTs);
    assert.deepEqual(privateKeyIds(o.trustDir), keys);
    await readersAgree(r);

    // root, confirmed at the prompt; signed by the old and the new root key
    const oldRoot = root.ids('root');
    const version = root.root.version;
    res = await ok(o.dt, ['key', 'rotate', gun, 'root'], { input: 'yes\n' });
    assert.ok(res.stdout.startsWith('Warning: you are about to rotate your root key.\n\nYou must use your old key to sign this root rotation.\nAre you sure you want to proceed?  (yes/no)  '));
    assert.ok(res.stdout.endsWith(`Successfully rotated root key for repository ${gun}\n`));
    root = await serverRoot(gun);
    assert.equal(root.root.version, version + 1);
    assert.notDeepEqual(root.ids('root'), oldRoot);
    assert.equal(root.signatures.length, 2, 'old and new root keys sign the rotation');
    now = privateKeyIds(o.trustDir);
    assert.deepEqual(added(keys, now), root.ids('root'));
    assert.deepEqual(removed(keys, now), [], 'the old root key is kept (it signs later rotations with -l)');
    keys = now;
    await readersAgree(r);
    await publishTarget(r);
    await readersAgree(r);

    // The real notary rotates on the same trust dir; dtrust's reader and owner follow.
    await ok(o.nt, ['key', 'rotate', gun, 'targets']);
    await readersAgree(r);
    await publishTarget(r, 'dt');
    await ok(o.nt, ['key', 'rotate', gun, 'root'], { input: 'yes\n' });
    await readersAgree(r);
    await publishTarget(r, 'dt');
    await readersAgree(r);
    // and dtrust rotates a notary-rotated root again; notary publishes after it
    await ok(o.dt, ['key', 'rotate', gun, 'root', '-y']);
    await publishTarget(r, 'nt');
    await readersAgree(r);
  });

  test('root rotated twice while a reader was away: the chain is walked through N.root.json', T, async () => {
    const r = await repo('away');
    const v1 = (await serverRoot(r.gun)).root.version;
    await ok(r.o.dt, ['key', 'rotate', r.gun, 'root', '-y']);
    await ok(r.o.dt, ['key', 'rotate', r.gun, 'root', '-y']);
    await publishTarget(r);
    const latest = await serverRoot(r.gun);
    assert.equal(latest.root.version, v1 + 2);
    // The newest root is not signed by the key the readers trust: only the chain leads there.
    const first = await serverRoot(r.gun, `${v1}.root`);
    assert.ok(latest.signatures.every((s) => !first.root.roles.get('root')!.keyids!.includes(s.keyid)));

    let mark = logSize();
    const d = await ok(r.readers.dt, ['list', r.gun]);
    assert.deepEqual(listed(d.stdout), r.expected);
    assert.ok((await loggedSoon(mark, r.gun, `${v1 + 1}.root.json`)) >= 1, `dtrust fetched ${v1 + 1}.root.json`);
    mark = logSize();
    const n = await ok(r.readers.nt, ['list', r.gun]);
    assert.deepEqual(listed(n.stdout), r.expected);
    assert.ok((await loggedSoon(mark, r.gun, `${v1 + 1}.root.json`)) >= 1, `notary fetched ${v1 + 1}.root.json`);
    // Both now trust the newest root: the next list needs no chain walk.
    mark = logSize();
    await ok(r.readers.dt, ['list', r.gun]);
    assert.equal(logged(mark, r.gun, `${v1 + 1}.root.json`), 0);
  });

  test('-l 1: the second rotation is also signed with the first root key, so old readers need no chain walk', T, async () => {
    const r = await repo('legacy');
    const first = await serverRoot(r.gun);
    const k1 = first.root.roles.get('root')!.keyids![0]!;
    await ok(r.o.dt, ['key', 'rotate', r.gun, 'root', '-y']);
    const second = await serverRoot(r.gun);
    const k2 = second.root.roles.get('root')!.keyids![0]!;
    const res = await ok(r.o.dt, ['key', 'rotate', r.gun, 'root', '-y', '-l', '1']);
    assert.match(res.stdout, /Successfully rotated root key/);
    const third = await serverRoot(r.gun);
    const k3 = third.root.roles.get('root')!.keyids![0]!;
    assert.deepEqual(new Set(third.signatures.map((s) => s.keyid)), new Set([k1, k2, k3]), 'new, previous and legacy root keys sign');
    await publishTarget(r);

    const mark = logSize();
    await readersAgree(r);
    assert.equal(logged(mark, r.gun, `${first.root.version + 1}.root.json`), 0, 'no reader needed the intermediate root');
    // -l bad value: pflag's message
    const bad = await fails(r.o.dt, ['key', 'rotate', r.gun, 'root', '-y', '-l', 'x']);
    assert.match(fatalOf(bad), /invalid argument "x" for "-l, --legacy" flag/);
  });

  test('refusals: the same messages as notary, before anything is sent', T, async () => {
    const gun = newGun('refuse');
    const p = await party(server().url, 'refuse');
    const cases: { args: string[]; input?: string; msg: string; hint?: RegExp }[] = [
      { args: ['key', 'rotate', gun, 'targets/releases'], msg: 'notary does not currently permit rotating the targets/releases key', hint: /delegation add \/ delegation remove/ },
      { args: ['key', 'rotate', gun, 'bogus'], msg: 'notary does not currently permit rotating the bogus key' },
      { args: ['key', 'rotate', gun, 'root', '-r'], input: 'yes\n', msg: 'notary does not permit the server managing the root key', hint: /without -r/ },
      { args: ['key', 'rotate', gun, 'targets', '-r'], msg: 'notary does not permit the server managing the targets key', hint: /without -r/ },
      { args: ['key', 'rotate', gun, 'timestamp'], msg: 'notary does not permit the client managing the timestamp key', hint: new RegExp(`key rotate ${gun.replace(/\./g, '\\.')} timestamp -r`) },
      { args: ['key', 'rotate', gun], msg: 'Must specify a GUN and a key role to rotate' },
    ];
    const mark = logSize();
    for (const c of cases) {
      const n = await p.nt.run(c.args, { input: c.input });
      const d = await p.dt.run(c.args, { input: c.input });
      assert.equal(n.code, 1, `notary ${c.args.join(' ')}: ${n.stdout}`);
      assert.equal(d.code, 1, `dtrust ${c.args.join(' ')}: ${d.stdout}${d.stderr}`);
      assert.equal(fatalOf(n), c.msg);
      assert.equal(fatalOf(d), c.msg);
      if (c.hint) assert.match(hintOf(d), c.hint);
    }
    assert.equal(logged(mark, gun, ''), 0, 'nothing about the GUN reached the server');
    assert.deepEqual(privateKeyIds(p.trustDir), [], 'no key was generated');
    // Declining the root prompt: notary's words, exit 0, nothing done.
    const n = await ok(p.nt, ['key', 'rotate', gun, 'root'], { input: 'no\n' });
    const d = await ok(p.dt, ['key', 'rotate', gun, 'root'], { input: 'no\n' });
    assert.equal(d.stdout, n.stdout);
    assert.ok(d.stdout.endsWith('\nAborting action.\n'));
  });

  test('a failed rotation keeps the old key, removes the generated one, and leaves the repository usable', T, async () => {
    const proxy = await faultyProxy(server().port);
    try {
      const r = await repo('fail', proxy.url);
      const { gun, o } = r;
      // reject: 400 from the server; down: 503 from the front (the server behind it is gone).
      const rows: { role: string; flags: string[]; fault: 'reject' | 'down' }[] = [
        { role: 'targets', flags: [], fault: 'reject' },
        { role: 'targets', flags: [], fault: 'down' },
        { role: 'snapshot', flags: [], fault: 'reject' },
        { role: 'root', flags: ['-y'], fault: 'down' },
        { role: 'snapshot', flags: ['-r'], fault: 'down' },
        { role: 'timestamp', flags: ['-r'], fault: 'reject' },
      ];
      for (const row of rows) {
        const what = `${row.role} ${row.flags.join(' ')} (${row.fault})`;
        const keysBefore = privateKeyIds(o.trustDir);
        const rootBefore = (await serverRoot(gun)).root.version;
        proxy.fault = row.fault;
        const res = await fails(o.dt, ['key', 'rotate', gun, row.role, ...row.flags]);
        proxy.fault = undefined;
        assert.equal(proxy.hits, 1, `${what}: the upload was attempted once`);
        proxy.hits = 0;
        assert.match(fatalOf(res), row.fault === 'reject' ? /^trust server rejected operation/ : /503/, `${what}: ${res.stderr}`);
        assert.doesNotMatch(res.stdout, /Successfully rotated/);
        assert.deepEqual(privateKeyIds(o.trustDir), keysBefore, `${what}: old key kept, generated key removed`);
        assert.equal((await serverRoot(gun)).root.version, rootBefore, `${what}: nothing changed on the server`);
        // Still usable with the old keys, for the owner and for readers.
        await publishTarget(r);
        await readersAgree(r);
      }
      // The same rotation succeeds once the server is back, and only then drops the old key.
      let before = privateKeyIds(o.trustDir);
      const oldTargets = (await serverRoot(gun)).ids('targets');
      await ok(o.dt, ['key', 'rotate', gun, 'targets']);
      let after = privateKeyIds(o.trustDir);
      assert.deepEqual(removed(before, after), oldTargets);
      assert.equal(added(before, after).length, 1);
      await publishTarget(r);
      await readersAgree(r);

      // cut: the server applies the rotation, but the connection drops before its answer. The
      // outcome is unknown to dtrust, so it must keep the new key (here the server lists it).
      for (const role of ['targets', 'root']) {
        before = privateKeyIds(o.trustDir);
        const rootBefore = await serverRoot(gun);
        proxy.fault = 'cut';
        const res = await fails(o.dt, ['key', 'rotate', gun, role, '-y']);
        proxy.fault = undefined;
        proxy.hits = 0;
        assert.equal(fatalOf(res), `the connection dropped after the ${role} key rotation was sent; the server may or may not have applied it`);
        const rootAfter = await serverRoot(gun);
        assert.equal(rootAfter.root.version, rootBefore.root.version + 1, 'the server applied it');
        after = privateKeyIds(o.trustDir);
        assert.deepEqual(added(before, after), rootAfter.ids(role), `${role}: the key the server now lists is kept`);
        assert.deepEqual(removed(before, after), [], `${role}: the old key is kept too`);
        assert.match(hintOf(res), new RegExp(`^both keys are kept \\(old: ${rootBefore.ids(role)[0]}; new: ${rootAfter.ids(role)[0]}\\)`));
        await publishTarget(r); // signed with the key the server now lists
        await readersAgree(r);
      }
    } finally {
      await proxy.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

type Fault = 'reject' | 'down' | 'cut' | undefined;

interface FaultyProxy {
  url: string;
  /** What happens to the next metadata upload (`POST /v2/<gun>/_trust/tuf/`). */
  fault: Fault;
  /** Uploads that met a fault. */
  hits: number;
  close(): Promise<void>;
}

/** A pass-through proxy in front of notary-server that can reject or cut off the upload. */
async function faultyProxy(upstreamPort: number): Promise<FaultyProxy> {
  const state = { fault: undefined as Fault, hits: 0 };
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const fault = req.method === 'POST' && /\/_trust\/tuf\/$/.test(req.url ?? '') ? state.fault : undefined;
      if (fault) state.hits++;
      if (fault === 'down') {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('backend unavailable\n');
        return;
      }
      if (fault === 'reject') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'unknown error', detail: 'injected rejection' }] }));
        return;
      }
      const up = http.request(
        { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${upstreamPort}` }, agent: false },
        (ur) => {
          if (fault === 'cut') {
            // The server has processed the upload; its answer never reaches the client.
            ur.resume();
            ur.on('end', () => req.socket.destroy());
            return;
          }
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  const proxy: FaultyProxy = {
    url: `http://127.0.0.1:${port}`,
    get fault() {
      return state.fault;
    },
    set fault(f: Fault) {
      state.fault = f;
    },
    get hits() {
      return state.hits;
    },
    set hits(n: number) {
      state.hits = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        srv.closeAllConnections();
        srv.close(() => resolve());
      }),
  };
  return proxy;
}
