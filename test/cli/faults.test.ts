// Network faults through the whole CLI against the REAL notary-server (security.md §5, §7.2):
// the server down, 5xx then recovery, truncated bodies, a slow drip, a silent server, TLS with a
// private CA, and Basic authentication, each bounded in time. A fault proxy on 127.0.0.1 sits in
// front of the server where a fault is needed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { DtrustClient, NotaryClient, type RunResult } from '../rig/notary.js';
import { notaryPublishRepo } from '../rig/publish.js';
import { useNotaryServer } from '../rig/server.js';
import { startFaultProxy, type FaultProxy, type ProxyHook } from '../support/faultproxy.js';
import { closedPort, makePki } from '../remote/support.js';

const T = { timeout: 60_000 };
const GUN = 'example.com/faults/app';
const TUF = `/v2/${GUN}/_trust/tuf/`;
const ENV = { DTRUST_KDF_ITERATIONS: '2048' };

let server: () => { url: string };
const proxies: FaultProxy[] = [];

/** The server (with the real notary's repository on it) and the proxies' cleanup, in the outer describe. */
function setup(): void {
  server = useNotaryServer();
  after(() => Promise.all(proxies.map((p) => p.close())));
  before(async () => {
    const notary = await NotaryClient.create({ serverUrl: server().url });
    await notaryPublishRepo(notary, GUN, [
      { name: 'app/v1', content: 'version one' },
      { name: 'app/v2', content: 'version two' },
    ]);
  });
}

async function proxy(hook: ProxyHook, tls?: { cert: Buffer; key: Buffer }): Promise<FaultProxy> {
  const p = await startFaultProxy(server().url, { hook, ...(tls ? { tls } : {}) });
  proxies.push(p);
  return p;
}

async function client(serverUrl: string, env: Record<string, string> = {}): Promise<DtrustClient> {
  return DtrustClient.create({ serverUrl, env: { ...ENV, ...env } });
}

async function timed(c: DtrustClient, args: string[], opts: { env?: Record<string, string>; global?: boolean } = {}): Promise<RunResult & { ms: number }> {
  const t0 = performance.now();
  const r = await c.run(args, { timeoutMs: 40_000, ...(opts.env ? { env: opts.env } : {}), ...(opts.global === false ? { noGlobalFlags: true } : {}) });
  return { ...r, ms: performance.now() - t0 };
}

function assertListed(r: RunResult): void {
  assert.equal(r.code, 0, `list failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^app\/v1\s/m);
  assert.match(r.stdout, /^app\/v2\s/m);
}

function assertBounded(r: { ms: number }, ms: number): void {
  assert.ok(r.ms < ms, `took ${Math.round(r.ms)} ms, bound ${ms} ms`);
}

/** Passes everything except requests for `file`, which `fault` answers. */
function on(file: string | RegExp, fault: ProxyHook): ProxyHook {
  return (req, forward) => {
    const name = req.path.startsWith(TUF) ? req.path.slice(TUF.length) : undefined;
    const hit = name !== undefined && (typeof file === 'string' ? name === file : file.test(name));
    return hit ? fault(req, forward) : forward();
  };
}

const unavailable = { status: 503, headers: { 'content-type': 'text/plain' }, body: Buffer.from('busy') };

describe('network faults against the real notary-server', () => {
  setup();

  describe('server down', () => {
    test('after one online list, list reads the verified cache and warns; without a cache: client is offline', T, async () => {
      const c = await client(server().url);
      const online = await timed(c, ['list', GUN]);
      assertListed(online);
      const down = `http://127.0.0.1:${await closedPort()}`;

      const cached = await timed(c, ['-s', down, '-d', c.trustDir, 'list', GUN], { global: false });
      assertListed(cached);
      assert.equal(cached.stdout, online.stdout);
      assert.match(cached.stderr, /could not reach/);
      assert.match(cached.stderr, /using cached timestamp - this might not be the latest version available remotely/);
      assertBounded(cached, 10_000);

      const fresh = await client(down);
      const none = await timed(fresh, ['list', GUN]);
      assert.equal(none.code, 1, none.stdout + none.stderr);
      assert.equal(none.stdout, '');
      assert.match(none.stderr, /\* fatal: client is offline/);
      assertBounded(none, 10_000);
    });
  });

  describe('server errors', () => {
    test('503 twice on the timestamp, then the real answer: the retries succeed', T, async () => {
      const p = await proxy(on('timestamp.json', (req, forward) => (req.n <= 2 ? unavailable : forward())));
      const r = await timed(await client(p.url), ['list', GUN]);
      assertListed(r);
      assert.equal(p.count(`${TUF}timestamp.json`), 3);
      assert.doesNotMatch(r.stderr, /cached timestamp/);
      assertBounded(r, 10_000);
    });

    test('503 on every timestamp request without a cache: the status is named', T, async () => {
      const p = await proxy(on('timestamp.json', () => unavailable));
      const r = await timed(await client(p.url), ['list', GUN]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /unable to reach trust server at this time: 503\./);
      assertBounded(r, 15_000);
    });

    test('503 on every timestamp request with a cache: the cached timestamp is used, with a warning', T, async () => {
      const p = await proxy((_q, forward) => forward());
      const c = await client(p.url);
      assertListed(await timed(c, ['list', GUN]));
      p.hook = on('timestamp.json', () => unavailable);
      const r = await timed(c, ['list', GUN]);
      assertListed(r);
      assert.match(r.stderr, /using cached timestamp/);
      assertBounded(r, 15_000);
    });
  });

  describe('broken bodies', () => {
    const truncated: ProxyHook = async (_q, forward) => {
      const res = await forward();
      return { ...res, truncateAt: Math.floor(res.body.length / 2) };
    };

    test('a truncated snapshot once: the retry gets the whole file', T, async () => {
      const p = await proxy(on(/^snapshot\./, (req, forward) => (req.n === 1 ? truncated(req, forward) : forward())));
      const r = await timed(await client(p.url), ['list', GUN]);
      assertListed(r);
      assertBounded(r, 10_000);
    });

    test('a snapshot truncated every time: a bad response, nothing cached past the timestamp', T, async () => {
      const p = await proxy(on(/^snapshot\./, truncated));
      const c = await client(p.url);
      const r = await timed(c, ['list', GUN]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /trust server returned a bad response: the connection closed before the whole body arrived/);
      assertBounded(r, 15_000);
      await assert.rejects(readFile(`${c.trustDir}/tuf/${GUN}/metadata/snapshot.json`), /ENOENT/, 'no partial snapshot cached');
    });

    test('a timestamp dripping one byte per second is cut off by the total limit', T, async () => {
      const drip: ProxyHook = async (_q, forward) => ({ ...(await forward()), drip: { bytes: 1, everyMs: 1_000 } });
      const p = await proxy(on('timestamp.json', drip));
      const limits = { DTRUST_TOTAL_TIMEOUT: '3' };
      const r = await timed(await client(p.url, limits), ['list', GUN]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /timed out fetching timestamp from .*: not complete after 3000 ms/);
      assertBounded(r, 12_000);

      // With a verified cache, the dripping server only means "stale": cached timestamp, warning.
      p.hook = (_q, forward) => forward();
      const c = await client(p.url, limits);
      assertListed(await timed(c, ['list', GUN]));
      p.hook = on('timestamp.json', drip);
      const cached = await timed(c, ['list', GUN]);
      assertListed(cached);
      assert.match(cached.stderr, /using cached timestamp/);
      assertBounded(cached, 12_000);
    });

    test('a server that never answers is cut off by the idle limit', T, async () => {
      const p = await proxy(on('timestamp.json', (req) => req.clientGone.then(() => unavailable)));
      const r = await timed(await client(p.url, { DTRUST_IDLE_TIMEOUT: '1' }), ['list', GUN]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /timed out fetching timestamp from .*: no data for 1000 ms/);
      assertBounded(r, 10_000);
    });

    test('a bad timeout setting is a configuration error', T, async () => {
      const r = await timed(await client(server().url, { DTRUST_TOTAL_TIMEOUT: 'soon' }), ['list', GUN]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /DTRUST_TOTAL_TIMEOUT must be a number of seconds/);
    });
  });

  describe('TLS', () => {
    test('a server certificate from an unknown CA is a TLS error (not offline); --tlscacert makes it work', T, async () => {
      const pki = await makePki();
      const p = await proxy((_q, forward) => forward(), { cert: await readFile(pki.serverCert), key: await readFile(pki.serverKey) });

      const c = await client(p.url);
      const r = await timed(c, ['list', GUN]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /\* fatal: could not establish a secure connection to https:\/\/127\.0\.0\.1:\d+\/v2\/: .*(self[- ]signed|unable to (get|verify)|issuer|not issued by a CA this machine trusts)/i);
      assert.match(r.stderr, /--tlscacert/);
      assert.doesNotMatch(r.stderr, /offline/);
      assertBounded(r, 10_000);

      const other = await timed(c, ['--tlscacert', pki.otherCaCert, 'list', GUN]);
      assert.equal(other.code, 1, other.stdout + other.stderr);
      assert.match(other.stderr, /could not establish a secure connection/);

      const ok = await timed(c, ['--tlscacert', pki.caCert, 'list', GUN]);
      assertListed(ok);
      assertBounded(ok, 10_000);
    });
  });

  describe('authentication', () => {
    const user = 'alice';
    const password = 'pw-Sentinel-4711';
    const basic = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const basicAuth: ProxyHook = (req, forward) =>
      req.headers.authorization === basic
        ? forward()
        : { status: 401, headers: { 'www-authenticate': 'Basic realm="dtrust-test"', 'content-type': 'application/json' }, body: Buffer.from('{"errors":[{"code":"UNAUTHORIZED"}]}') };

    test('401 without credentials names the problem with a hint; NOTARY_AUTH works; a wrong one is refused', T, async () => {
      const p = await proxy(basicAuth);
      const c = await client(p.url);

      const none = await timed(c, ['list', GUN]);
      assert.equal(none.code, 1, none.stdout + none.stderr);
      assert.equal(none.stdout, '');
      assert.match(none.stderr, /you are not authorized to perform this operation: server returned 401/);
      assert.match(none.stderr, /hint: .*NOTARY_AUTH/);
      assertBounded(none, 10_000);

      const good = await timed(c, ['list', GUN], { env: { NOTARY_AUTH: Buffer.from(`${user}:${password}`).toString('base64') } });
      assertListed(good);
      assertBounded(good, 10_000);

      const wrong = await timed(c, ['list', GUN], { env: { NOTARY_AUTH: Buffer.from(`${user}:not-${password}`).toString('base64') } });
      assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr);
      assert.match(wrong.stderr, /not authorized/);
      for (const r of [none, good, wrong]) assert.ok(!`${r.stdout}${r.stderr}`.includes(password), 'the password never shows');
    });
  });
});
