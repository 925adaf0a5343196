// NotaryRemote.open(): requests go out while the ping is under way, reachable() gives the ping's
// verdict as connect() would; requests that meet a Bearer challenge at once share one token
// request, a Basic one costs one retry; close() ends retry waits; http-only use never loads
// node:https or node:tls.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { NotaryRemote } from '../../src/remote/notary.js';
import type { RemoteOptions } from '../../src/remote/notary.js';
import { failure, FAST, makePki, startServer } from './support.js';

const T = { timeout: 30_000 };
const META = (gun: string): string => `/v2/${gun}/_trust/tuf/`;
const BODY = '{"signed":{}}';

function opts(baseUrl: string, gun: string, extra: Partial<RemoteOptions> = {}): RemoteOptions {
  return { baseUrl, gun, env: {}, scope: 'pull', credentials: async () => undefined, ...FAST, ...extra };
}

const later = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('NotaryRemote.open', () => {
  test('requests go out and are answered while the ping is still under way', T, async () => {
    const gun = 'example.com/open/early';
    const events: string[] = [];
    const srv = await startServer(async (req, res) => {
      if (req.url === '/v2/') {
        await later(300);
        events.push('ping answered');
        res.writeHead(200).end('{}');
        return;
      }
      res.writeHead(200).end(BODY);
    });
    const r = await NotaryRemote.open(opts(srv.url, gun));
    try {
      const ready = r.reachable().then(() => events.push('reachable'));
      const [ts, root] = await Promise.all([r.getMeta('timestamp', 1024), r.getMeta('root', 1024)]);
      events.push('metadata');
      assert.equal(ts.toString(), BODY);
      assert.equal(root.toString(), BODY);
      await ready;
      assert.deepEqual(events, ['metadata', 'ping answered', 'reachable']);
      assert.deepEqual(srv.requests.map((x) => x.url).sort(), ['/v2/', `${META(gun)}root.json`, `${META(gun)}timestamp.json`]);
    } finally {
      r.close();
    }
  });

  test('reachable() gives the verdict connect() gives: OFFLINE for a non-notary answer, TLS for a TLS failure', T, async () => {
    const notNotary = await startServer((req, res) => {
      res.writeHead(req.url === '/v2/' ? 404 : 200).end(BODY);
    });
    const r = await NotaryRemote.open(opts(notNotary.url, 'example.com/open/verdict'));
    try {
      // The metadata request itself succeeds; the ping says this is not a notary server.
      assert.equal((await r.getMeta('timestamp', 1024)).toString(), BODY);
      const err = await failure(r.reachable());
      assert.equal(err.code, 'OFFLINE');
      assert.equal(err.message, `could not reach ${notNotary.url}: 404`);
      const viaConnect = await failure(NotaryRemote.connect(opts(notNotary.url, 'example.com/open/verdict')));
      assert.equal(viaConnect.message, err.message);
    } finally {
      r.close();
    }

    const pki = await makePki();
    const tls = await startServer((_req, res) => void res.writeHead(200).end('{}'), {
      tls: { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) },
    });
    const t = await NotaryRemote.open(opts(tls.url, 'example.com/open/tls', { tls: { caFile: pki.otherCaCert } }));
    try {
      assert.equal((await failure(t.reachable())).code, 'TLS');
      assert.equal((await failure(t.getMeta('timestamp', 1024))).code, 'TLS');
    } finally {
      t.close();
    }
  });

  test('requests that meet a Bearer challenge at once share one token request', T, async () => {
    const gun = 'example.com/open/bearer';
    const token = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'shared-token', expires_in: 300 }));
    });
    const challenge = `Bearer realm="${token.url}/auth",service="notary-server"`;
    const notary = await startServer(async (req, res) => {
      if (req.url === '/v2/') await later(200); // the ping's challenge comes last
      if (req.headers.authorization !== 'Bearer shared-token') {
        res.writeHead(401, { 'www-authenticate': challenge }).end();
        return;
      }
      res.writeHead(200).end(BODY);
    });
    const r = await NotaryRemote.open(opts(notary.url, gun));
    try {
      const names = ['root', 'timestamp', 'snapshot', 'targets', 'targets/a', 'targets/b'];
      const got = await Promise.all(names.map((n) => r.getMeta(n, 1024)));
      for (const b of got) assert.equal(b.toString(), BODY);
      await r.reachable();
      assert.equal(token.requests.length, 1, token.requests.map((x) => x.url).join('\n'));
      assert.equal(r.stats.tokenRequests, 1);
      assert.equal(notary.requests.filter((x) => x.headers.authorization === 'Bearer shared-token').length, names.length);
    } finally {
      r.close();
    }
  });

  test('a Basic challenge met before the ping answered: retried once, with the credentials', T, async () => {
    const gun = 'example.com/open/basic';
    const basic = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
    const srv = await startServer(async (req, res) => {
      if (req.url === '/v2/') await later(200);
      if (req.headers.authorization !== basic) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="notary"' }).end();
        return;
      }
      res.writeHead(200).end(BODY);
    });
    const r = await NotaryRemote.open(opts(srv.url, gun, { credentials: async () => ({ username: 'alice', password: 'secret' }), allowInsecureAuth: true }));
    try {
      await Promise.all(['root', 'timestamp', 'snapshot'].map((n) => r.getMeta(n, 1024)));
      await r.reachable();
      for (const n of ['root', 'timestamp', 'snapshot']) {
        const sent = srv.requests.filter((x) => x.url === `${META(gun)}${n}.json`).map((x) => x.headers.authorization);
        assert.deepEqual(sent, [undefined, basic], n);
      }
    } finally {
      r.close();
    }
  });

  test('close() ends a retry wait at once', T, async () => {
    const srv = await startServer((req, res) => {
      if (req.url === '/v2/') res.writeHead(200).end('{}');
      else res.writeHead(503, { 'retry-after': '30' }).end();
    });
    const r = await NotaryRemote.open(opts(srv.url, 'example.com/open/close', {
      retry: { attempts: 3, baseDelayMs: 10_000, maxDelayMs: 10_000 },
      timeouts: { ...FAST.timeouts, totalMs: 60_000 },
    }));
    await r.reachable();
    const pending = failure(r.getMeta('timestamp', 1024));
    while (srv.requests.length < 2) await later(5);
    await later(50); // the 503 arrived: the request waits before its retry
    const t0 = performance.now();
    r.close();
    const err = await pending;
    assert.ok(performance.now() - t0 < 1_000, `took ${performance.now() - t0} ms`);
    assert.equal(err.code, 'OFFLINE');
    assert.match(err.message, /closed by the caller/);
  });

  test('http-only use never loads node:https or node:tls', T, async () => {
    const srv = await startServer((req, res) => void res.writeHead(200).end(req.url === '/v2/' ? '{}' : BODY));
    const notary = new URL('../../src/remote/notary.js', import.meta.url).href;
    const script = `
      const { NotaryRemote } = await import(${JSON.stringify(notary)});
      const r = await NotaryRemote.connect({ baseUrl: ${JSON.stringify(srv.url)}, gun: 'example.com/open/lazy', env: {}, scope: 'pull' });
      await r.getMeta('timestamp', 1024);
      r.close();
      console.log(JSON.stringify(process.moduleLoadList.filter((m) => /^NativeModule (https|tls)$/.test(m))));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('.', import.meta.url)) });
    assert.deepEqual(JSON.parse(stdout), []);
  });
});
