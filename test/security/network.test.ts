// Security matrix NF-07 (redirects on metadata GETs, on the publish POST and on the token realm:
// never followed, no request and no credential to the other origin) and NF-08 (an expired server
// certificate, a server that speaks only TLS 1.0/1.1, skipTLSVerify warning on every run, TLS
// configuration errors never falling back), through the CLI against the REAL notary-server behind
// fault proxies, every server on 127.0.0.1 (SEC-N3, SEC-N4).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import { DtrustClient, NotaryClient, type RunResult } from '../rig/notary.js';
import { notaryPublishRepo } from '../rig/publish.js';
import { useNotaryServer } from '../rig/server.js';
import { startFaultProxy, type FaultProxy, type ProxyHook } from '../support/faultproxy.js';
import { makePki, startServer, type TestPki, type TestServer } from '../remote/support.js';
import { ENV, treeOf } from './harness.js';

const T = { timeout: 120_000 };
const GUN = 'example.com/security/net';
const TUF = `/v2/${GUN}/_trust/tuf/`;
const USER = 'bob';
const PASSWORD = 'pw-NetSentinel-33e1';
const AUTH = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');

let server: () => { url: string };
let pki: TestPki;
/** The other origin every redirect points at: it must never see a request. */
let other: TestServer;
const proxies: FaultProxy[] = [];

async function proxy(hook: ProxyHook, tlsOpts?: { cert: Buffer; key: Buffer }): Promise<FaultProxy> {
  const p = await startFaultProxy(server().url, { hook, ...(tlsOpts ? { tls: tlsOpts } : {}) });
  proxies.push(p);
  return p;
}

/** Passes everything except requests for `file` (a name under the GUN's tuf/ path). */
function on(file: string | RegExp, fault: ProxyHook): ProxyHook {
  return (req, forward) => {
    const name = req.path.startsWith(TUF) ? req.path.slice(TUF.length) : undefined;
    const hit = name !== undefined && (typeof file === 'string' ? name === file : file.test(name));
    return hit ? fault(req, forward) : forward();
  };
}

function redirect(status: number, to: string): ProxyHook {
  return (req) => ({ status, headers: { location: `${to}${req.url}`, 'content-type': 'text/html' }, body: Buffer.from(`<a href="${to}${req.url}">moved</a>`) });
}

async function client(url: string, env: Record<string, string> = {}): Promise<DtrustClient> {
  return DtrustClient.create({ serverUrl: url, env: { ...ENV, NOTARY_AUTH: AUTH, ...env } });
}

function assertFailed(r: RunResult, re: RegExp): void {
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.stdout.replace(/^Pushing changes to .*\n/, ''), '');
  assert.match(r.stderr, re);
  assert.doesNotMatch(r.stderr, /TypeError|    at /);
  assert.ok(!`${r.stdout}${r.stderr}`.includes(PASSWORD) && !`${r.stdout}${r.stderr}`.includes(AUTH), 'no credential shown');
}

function assertOtherOriginUntouched(): void {
  assert.deepEqual(other.requests.map((r) => `${r.method} ${r.url}`), [], 'nothing reached the other origin');
}

describe('network security rows against the real notary-server', () => {
  server = useNotaryServer();
  before(async () => {
    pki = await makePki();
    other = await startServer((_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"stolen"}'));
    const notary = await NotaryClient.create({ serverUrl: server().url });
    await notaryPublishRepo(notary, GUN, [{ name: 'app/v1', content: 'version one' }]);
  });
  after(() => Promise.all(proxies.map((p) => p.close())));

  describe('NF-07 redirects are never followed', () => {
    for (const status of [301, 302, 307, 308]) {
      test(`${status} on timestamp.json without a cache: exit 1 naming the redirect; nothing to the other origin`, T, async () => {
        const p = await proxy(on('timestamp.json', redirect(status, other.url)));
        const c = await client(p.url);
        const r = await c.run(['list', GUN]);
        assertFailed(r, new RegExp(`\\* fatal: unable to reach trust server at this time: ${status}\\.\\n  hint: dtrust does not follow redirects; the server redirects to ${other.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
        assertOtherOriginUntouched();
        const cached = existsSync(c.trustDir) ? [...(await treeOf(c.trustDir)).keys()].filter((k) => k.includes('metadata/') && !k.endsWith('/')) : [];
        assert.deepEqual(cached, [], 'nothing cached');
      });
    }

    test('a redirect on the snapshot with a cache: exit 1, the cache unchanged; on the timestamp: the cached one, with the warning', T, async () => {
      const p = await proxy((_q, forward) => forward());
      const c = await client(p.url);
      assert.equal((await c.run(['list', GUN])).code, 0);
      const before = await treeOf(c.trustDir);
      p.hook = on(/^snapshot\./, redirect(302, other.url));
      // A damaged cached snapshot must be fetched again, by checksum: that GET is redirected.
      const meta = join(c.trustDir, 'tuf', GUN, 'metadata');
      const snapshotBytes = readFileSync(join(meta, 'snapshot.json'));
      writeFileSync(join(meta, 'snapshot.json'), '');
      const r = await c.run(['list', GUN]);
      assertFailed(r, /dtrust does not follow redirects/);
      assert.match(r.stderr, /snapshot/);
      assertOtherOriginUntouched();
      writeFileSync(join(meta, 'snapshot.json'), snapshotBytes);
      assert.deepEqual(await treeOf(c.trustDir), before, 'the cache is as it was');

      p.hook = on('timestamp.json', redirect(307, other.url));
      const stale = await c.run(['list', GUN]);
      assert.equal(stale.code, 0, stale.stderr);
      assert.match(stale.stdout, /^app\/v1\s/m);
      assert.match(stale.stderr, /using cached timestamp - this might not be the latest version available remotely/);
      assertOtherOriginUntouched();
    });

    test('https redirected to http on another port: refused, nothing sent in the clear', T, async () => {
      const p = await proxy(on('timestamp.json', redirect(302, other.url)), { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) });
      assert.ok(p.url.startsWith('https://'));
      const c = await client(p.url);
      const r = await c.run(['--tlscacert', pki.caCert, 'list', GUN]);
      assertFailed(r, /dtrust does not follow redirects; the server redirects to http:\/\//);
      assertOtherOriginUntouched();
    });

    test('307 on the publish POST: exit 1, the change kept, the other origin never sees the body; the next publish converges', T, async () => {
      const gun = 'example.com/security/net-post';
      const p = await proxy((_q, forward) => forward());
      const c = await client(p.url);
      const file = join(c.home, 'payload');
      writeFileSync(file, 'payload\n');
      assert.equal((await c.run(['init', '-p', gun])).code, 0);
      assert.equal((await c.run(['add', gun, 'app/v1', file])).code, 0);
      p.hook = (req, forward) => (req.method === 'POST' ? redirect(307, other.url)(req, forward) : forward());
      const r = await c.run(['publish', gun]);
      assertFailed(r, /dtrust does not follow redirects; the server redirects to http:\/\/127\.0\.0\.1:\d+\/v2\//);
      assertOtherOriginUntouched();
      assert.match((await c.run(['status', gun])).stdout, /app\/v1/, 'the change is still staged');
      const notary = await NotaryClient.create({ serverUrl: server().url });
      assert.doesNotMatch((await notary.runOk(['list', gun])).stdout, /app\/v1/, 'nothing published');
      p.hook = undefined;
      const again = await c.run(['publish', gun]);
      assert.equal(again.code, 0, again.stderr);
      assert.match((await notary.runOk(['list', gun])).stdout, /^app\/v1\s/m);
    });

    test('the token realm redirects: not followed, the credentials never reach the other origin', T, async () => {
      let tokenRequests = 0;
      const realm = await startServer((req, res) => {
        tokenRequests++;
        res.writeHead(302, { location: `${other.url}${req.url ?? '/'}` }).end();
      });
      const challenge = `Bearer realm="${realm.url}/token",service="notary-server"`;
      const p = await proxy((req, forward) =>
        req.headers.authorization === 'Bearer good' ? forward() : { status: 401, headers: { 'www-authenticate': challenge, 'content-type': 'application/json' }, body: Buffer.from('{"errors":[{"code":"UNAUTHORIZED"}]}') },
      );
      const c = await client(p.url);
      const r = await c.run(['list', GUN]);
      assertFailed(r, /\* fatal: unable to get an authorization token from http:\/\/127\.0\.0\.1:\d+\/token: 302\./);
      assert.ok(tokenRequests >= 1, 'the realm was asked');
      assertOtherOriginUntouched();
    });
  });

  describe('NF-08 TLS', () => {
    test('an expired server certificate: refused as a TLS error naming the expiry, nothing cached', T, async () => {
      const cert = expiredServerCert(pki);
      const p = await proxy((_q, forward) => forward(), { cert: readFileSync(cert.cert), key: readFileSync(cert.key) });
      const c = await client(p.url);
      const r = await c.run(['--tlscacert', pki.caCert, 'list', GUN]);
      assertFailed(r, /\* fatal: could not establish a secure connection to https:\/\/127\.0\.0\.1:\d+\/v2\/: .*certificate has expired/i);
      assert.doesNotMatch(r.stderr, /offline/);
      assert.equal(p.requests.length, 0, 'no request went over the connection');
    });

    test('a server that speaks only TLS 1.0/1.1: refused (TLS 1.2 or later)', T, async (t) => {
      const legacy = await tls11Server(pki);
      if (typeof legacy === 'string') return t.skip(legacy);
      try {
        const c = await client(legacy.url);
        const r = await c.run(['--tlscacert', pki.caCert, 'list', GUN]);
        assertFailed(r, /\* fatal: could not establish a secure connection to https:\/\/127\.0\.0\.1:\d+\/v2\/: the server offers only TLS 1\.0\/1\.1\n {2}hint: dtrust \(as notary\) needs TLS 1\.2 or later: enable TLS 1\.2 on the server/);
        assert.equal(legacy.requests(), 0, 'no HTTP request over TLS 1.1');
      } finally {
        await legacy.close();
      }
    });

    test('skipTLSVerify: the untrusted server is used, with a warning on every run (offline commands too); without it, refused', T, async () => {
      const p = await proxy((_q, forward) => forward(), { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) });
      const c = await client(p.url);
      const config = join(c.home, 'config.json');
      writeFileSync(config, JSON.stringify({ remote_server: { url: p.url, skipTLSVerify: true } }));
      const warning = new RegExp(`remote_server\\.skipTLSVerify is set in ${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the trust server's TLS certificate is not verified, so anyone on the network path can pose as the server`);
      for (const args of [['list', GUN], ['lookup', GUN, 'app/v1'], ['key', 'list'], ['list', GUN]]) {
        const r = await c.run(['-c', config, '-d', c.trustDir, ...args], { noGlobalFlags: true });
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr.match(new RegExp(warning.source, 'g'))?.length, 1, `${args.join(' ')} warns once:\n${r.stderr}`);
      }
      const strict = await c.run(['list', GUN]);
      assertFailed(strict, /could not establish a secure connection/);
    });

    test('TLS configuration errors are errors before any request, never a fall back to plain http', T, async () => {
      const p = await proxy((_q, forward) => forward(), { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) });
      const c = await client(p.url);
      const missing = join(c.home, 'no-such-ca.pem');
      const r1 = await c.run(['--tlscacert', missing, 'list', GUN]);
      assertFailed(r1, new RegExp(missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      const r2 = await c.run(['--tlscacert', pki.caCert, '--tlscert', pki.clientCert, 'list', GUN]);
      assertFailed(r2, /either pass both client key and cert, or neither/);
      const garbage = join(c.home, 'garbage.pem');
      writeFileSync(garbage, 'not a certificate\n');
      const r3 = await c.run(['--tlscacert', garbage, 'list', GUN]);
      assert.equal(r3.code, 1, r3.stdout + r3.stderr);
      assert.equal(p.requests.length, 0, 'no request was made');
    });
  });
});

/** A server certificate for 127.0.0.1 signed by the test CA, valid in 2020 only. */
function expiredServerCert(p: TestPki): { cert: string; key: string } {
  const dir = p.dir;
  const run = (args: string[]): void => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
  };
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'expired.cnf'), ['[ca]', 'default_ca=d', '[d]', 'database=index.txt', 'new_certs_dir=.', 'serial=expired.srl', 'default_md=sha256', 'policy=p', 'unique_subject=no', '[p]', 'commonName=supplied', ''].join('\n'));
  writeFileSync(join(dir, 'expired.srl'), '1000\n');
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'expired.key', '-out', 'expired.csr', '-subj', '/CN=localhost']);
  run(['ca', '-batch', '-config', 'expired.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-in', 'expired.csr', '-out', 'expired.crt', '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extfile', 'server.ext', '-notext']);
  return { cert: join(dir, 'expired.crt'), key: join(dir, 'expired.key') };
}

/**
 * An https server that offers only TLS 1.0 and 1.1, or why none can be made here (an OpenSSL
 * whose policy forbids those versions even at security level 0).
 */
async function tls11Server(p: TestPki): Promise<{ url: string; requests(): number; close(): Promise<void> } | string> {
  let requests = 0;
  const opts = { cert: readFileSync(p.serverCert), key: readFileSync(p.serverKey), minVersion: 'TLSv1' as const, maxVersion: 'TLSv1.1' as const, ciphers: 'DEFAULT@SECLEVEL=0' };
  let srv: https.Server;
  try {
    srv = https.createServer(opts, (_q, res) => {
      requests++;
      res.writeHead(200).end('{}');
    });
  } catch (e) {
    return `cannot make a TLS 1.1 server with this OpenSSL: ${(e as Error).message}`;
  }
  srv.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  const close = (): Promise<void> => new Promise((resolve) => srv.close(() => resolve()));
  // The server must really speak TLS 1.1, or the test proves nothing.
  const probe = await new Promise<string | undefined>((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0', rejectUnauthorized: false }, () => {
      const v = s.getProtocol();
      s.destroy();
      resolve(v === 'TLSv1.1' || v === 'TLSv1' ? undefined : `the probe negotiated ${String(v)}`);
    });
    s.on('error', (e) => resolve(`this OpenSSL cannot complete a TLS 1.1 handshake (${e.message})`));
  });
  if (probe !== undefined) {
    await close();
    return probe;
  }
  return { url: `https://127.0.0.1:${port}`, requests: () => requests, close };
}
