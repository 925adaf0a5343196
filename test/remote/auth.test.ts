// Authentication against fake notary and token servers: Basic and Bearer challenges, scopes,
// the read-only fallback to credentials (stricter than notary, cli.md §12 #13), token caching,
// plain-http protection, and that secrets never show up in errors.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NotaryRemote } from '../../src/remote/notary.js';
import type { RemoteOptions } from '../../src/remote/notary.js';
import { everythingIn, failure, FAST, makePki, startServer } from './support.js';
import type { TestServer } from './support.js';

const T = { timeout: 30_000 };
const USER = 'alice';
const PASS = 'pa55-Secret-\u00e9-xyzzy';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;
const USER_TOKEN = 'user-token-SECRET-4711';
const ANON_TOKEN = 'anon-token-SECRET-0815';
const SECRETS = [PASS, BASIC.slice(6), USER_TOKEN, ANON_TOKEN];
const KEY = JSON.stringify({ keytype: 'ed25519', keyval: { private: null, public: Buffer.alloc(32, 1).toString('base64') } });
const creds = async (): Promise<{ username: string; password: string }> => ({ username: USER, password: PASS });
const noCreds = async (): Promise<undefined> => undefined;

function opts(baseUrl: string, gun: string, extra: Partial<RemoteOptions>): RemoteOptions {
  return { baseUrl, gun, env: {}, scope: 'pull', credentials: noCreds, ...FAST, ...extra };
}

function assertNoSecrets(e: unknown): void {
  const all = everythingIn(e);
  for (const s of SECRETS) assert.ok(!all.includes(s), `secret ${JSON.stringify(s)} leaked into:\n${all}`);
}

function answer(req: IncomingMessage, res: ServerResponse): void {
  if (req.url?.endsWith('.key')) res.writeHead(200).end(KEY);
  else if (req.url === '/v2/') res.writeHead(200).end('{}');
  else res.writeHead(200).end('{"signed":{}}');
}

/** A notary server protected by Basic auth. */
async function basicServer(tlsOpts?: { cert: Buffer; key: Buffer }): Promise<TestServer> {
  return startServer(
    (req, res) => {
      if (req.headers.authorization === BASIC) return answer(req, res);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="notary"', 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    },
    tlsOpts ? { tls: tlsOpts } : {},
  );
}

interface TokenSetup {
  token: TestServer;
  notary: TestServer;
  /** Tokens the notary server accepts right now. */
  accepted: Set<string>;
  /** Does the token server give anonymous tokens? */
  anonymous: { allowed: boolean };
}

async function bearerServers(opts: { pingChallenge?: boolean } = {}): Promise<TokenSetup> {
  const accepted = new Set([USER_TOKEN]);
  const anonymous = { allowed: true };
  const token = await startServer((req, res) => {
    const auth = req.headers.authorization;
    if (auth === undefined) {
      if (!anonymous.allowed) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: ANON_TOKEN, expires_in: 300 }));
      return;
    }
    if (auth !== BASIC) {
      res.writeHead(401).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: USER_TOKEN, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  const pingChallenge = opts.pingChallenge ?? true;
  const challenge = `Bearer realm="${token.url}/auth/token?client=x",service="notary-server",scope="repository:ignored:pull"`;
  const notary = await startServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const ok = auth.startsWith('Bearer ') && accepted.has(auth.slice(7));
    if (ok || (req.url === '/v2/' && !pingChallenge)) return answer(req, res);
    res.writeHead(401, { 'www-authenticate': challenge }).end();
  });
  return { token, notary, accepted, anonymous };
}

function tokenQuery(s: TestServer, i: number): URLSearchParams {
  const q = s.requests[i];
  assert.ok(q, `token request #${i} missing`);
  return new URL(q.url, 'http://x').searchParams;
}

describe('Basic auth', () => {
  test('no credentials: UNAUTHORIZED with notary text and a hint', T, async () => {
    const srv = await basicServer();
    const r = await NotaryRemote.connect(opts(srv.url, 'example.com/basic', {}));
    try {
      assert.deepEqual(r.challenges.map((c) => [c.scheme, c.params.get('realm')]), [['basic', 'notary']]);
      const err = await failure(r.getMeta('root', 1024));
      assert.equal(err.code, 'UNAUTHORIZED');
      assert.equal(err.status, 401);
      assert.equal(err.message, 'you are not authorized to perform this operation: server returned 401.');
      assert.match(err.hint, /NOTARY_AUTH/);
      assert.match(err.hint, new RegExp(`docker login 127\\.0\\.0\\.1:${srv.port}`));
      assert.ok(srv.requests.every((q) => q.headers.authorization === undefined));
    } finally {
      r.close();
    }
  });

  test('credentials are not sent over plain http unless allowed', T, async () => {
    const srv = await basicServer();
    const r = await NotaryRemote.connect(opts(srv.url, 'example.com/basic', { scope: 'push,pull', credentials: creds }));
    try {
      const err = await failure(r.getKey('timestamp'));
      assert.equal(err.code, 'UNAUTHORIZED');
      assert.match(err.message, /refusing to send credentials over plain http/);
      assertNoSecrets(err);
      assert.ok(srv.requests.every((q) => q.headers.authorization === undefined), 'nothing was sent');
    } finally {
      r.close();
    }
  });

  test('with credentials: the Authorization header on every request (push,pull)', T, async () => {
    const srv = await basicServer();
    const r = await NotaryRemote.connect(opts(srv.url, 'example.com/basic', { scope: 'push,pull', credentials: creds, allowInsecureAuth: true }));
    try {
      assert.equal((await r.getKey('timestamp')).keytype, 'ed25519');
      await r.getMeta('root', 1024);
      const after = srv.requests.slice(1);
      assert.equal(after.length, 2, 'write scopes send credentials from the first request');
      assert.ok(after.every((q) => q.headers.authorization === BASIC));
    } finally {
      r.close();
    }
  });

  test('read-only: anonymous first, then retried with credentials (notary never does this)', T, async () => {
    const srv = await basicServer();
    let asked = 0;
    const counting = async (): Promise<{ username: string; password: string }> => {
      asked++;
      return creds();
    };
    const r = await NotaryRemote.connect(opts(srv.url, 'example.com/basic', { credentials: counting, allowInsecureAuth: true }));
    try {
      await r.getMeta('root', 1024);
      await r.getMeta('timestamp', 1024);
      assert.deepEqual(
        srv.requests.slice(1).map((q) => q.headers.authorization ?? 'anonymous'),
        ['anonymous', BASIC, BASIC],
        'after one refusal the session keeps using the credentials',
      );
      assert.equal(asked, 1, 'the provider is asked once per remote');
      assert.equal(r.stats.authRetries, 1);
    } finally {
      r.close();
    }
  });

  test('over https no extra permission is needed', T, async () => {
    const pki = await makePki();
    const srv = await basicServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) });
    const r = await NotaryRemote.connect(opts(srv.url, 'example.com/basic', { credentials: creds, tls: { caFile: pki.caCert } }));
    try {
      await r.getMeta('root', 1024);
      assert.equal(srv.requests.at(-1)?.headers.authorization, BASIC);
    } finally {
      r.close();
    }
  });

  test('wrong credentials: UNAUTHORIZED saying they were refused, no secret anywhere', T, async () => {
    const srv = await basicServer();
    const wrong = async (): Promise<{ username: string; password: string }> => ({ username: USER, password: `${PASS}-wrong` });
    const r = await NotaryRemote.connect(opts(srv.url, 'example.com/basic', { credentials: wrong, allowInsecureAuth: true }));
    try {
      const err = await failure(r.getMeta('root', 1024));
      assert.equal(err.code, 'UNAUTHORIZED');
      assert.match(err.hint, /refused the credentials/);
      assertNoSecrets(err);
      assert.ok(!everythingIn(err).includes(`${PASS}-wrong`));
    } finally {
      r.close();
    }
  });

  test('without a credentials option, NOTARY_AUTH from the given env is used', T, async () => {
    const srv = await basicServer();
    const env = { NOTARY_AUTH: Buffer.from(`${USER}:${PASS}`).toString('base64'), HOME: '/nonexistent' };
    const { credentials: _drop, ...base } = opts(srv.url, 'example.com/basic', { env, allowInsecureAuth: true });
    const r = await NotaryRemote.connect(base);
    try {
      await r.getMeta('root', 1024);
      assert.equal(srv.requests.at(-1)?.headers.authorization, BASIC);
    } finally {
      r.close();
    }
    // A malformed NOTARY_AUTH is a clear error once credentials are needed.
    const bad = await NotaryRemote.connect({ ...base, env: { NOTARY_AUTH: `${PASS}!` } });
    try {
      const err = await failure(bad.getMeta('root', 1024));
      assert.equal(err.code, 'CONFIG');
      assert.equal(err.message, 'Could not base64-decode authentication string');
      assertNoSecrets(err);
    } finally {
      bad.close();
    }
  });
});

describe('Bearer (token) auth', () => {
  test('push,pull: token requested with scope, service, account and Basic; then used and cached', T, async () => {
    const s = await bearerServers();
    const gun = 'example.com/bearer/write';
    const r = await NotaryRemote.connect(opts(s.notary.url, gun, { scope: 'push,pull', credentials: creds, allowInsecureAuth: true }));
    try {
      assert.equal((await r.getKey('timestamp')).keytype, 'ed25519');
      await r.getMeta('root', 1024);
      await r.getMeta('timestamp', 1024);
      assert.equal(s.token.requests.length, 1, 'one token for the whole session');
      const q = tokenQuery(s.token, 0);
      assert.equal(s.token.requests[0]?.url.split('?')[0], '/auth/token');
      assert.equal(q.get('scope'), `repository:${gun}:push,pull`, 'the challenge scope is ignored, as notary');
      assert.equal(q.get('service'), 'notary-server');
      assert.equal(q.get('account'), USER);
      assert.equal(q.get('client'), 'x', "the realm's own query is kept");
      assert.equal(s.token.requests[0]?.headers.authorization, BASIC);
      assert.deepEqual(
        s.notary.requests.slice(1).map((x) => x.headers.authorization),
        [`Bearer ${USER_TOKEN}`, `Bearer ${USER_TOKEN}`, `Bearer ${USER_TOKEN}`],
      );
      assert.equal(r.stats.tokenRequests, 1);
    } finally {
      r.close();
    }
    // Another remote for the same realm, service, scope and account reuses the process's token.
    const again = await NotaryRemote.connect(opts(s.notary.url, gun, { scope: 'push,pull', credentials: creds, allowInsecureAuth: true }));
    try {
      await again.getMeta('root', 1024);
      assert.equal(s.token.requests.length, 1);
    } finally {
      again.close();
    }
  });

  test('scope "*" for admin operations', T, async () => {
    const s = await bearerServers();
    const r = await NotaryRemote.connect(opts(s.notary.url, 'example.com/bearer/admin', { scope: '*', credentials: creds, allowInsecureAuth: true }));
    try {
      await r.deleteRepo();
      assert.equal(tokenQuery(s.token, 0).get('scope'), 'repository:example.com/bearer/admin:*');
      assert.equal(s.notary.requests.at(-1)?.method, 'DELETE');
    } finally {
      r.close();
    }
  });

  test('read-only: anonymous token first; a 401 with it retries with a credentialed token', T, async () => {
    const s = await bearerServers();
    s.accepted.add(ANON_TOKEN);
    const gun = 'example.com/bearer/read';
    const r = await NotaryRemote.connect(opts(s.notary.url, gun, { credentials: creds, allowInsecureAuth: true }));
    try {
      await r.getMeta('root', 1024);
      const q = tokenQuery(s.token, 0);
      assert.equal(q.get('scope'), `repository:${gun}:pull`);
      assert.equal(q.get('account'), null, 'anonymous: no account');
      assert.equal(s.token.requests[0]?.headers.authorization, undefined);
      assert.equal(s.notary.requests.at(-1)?.headers.authorization, `Bearer ${ANON_TOKEN}`);
      // The server stops accepting anonymous tokens: retried with credentials.
      s.accepted.delete(ANON_TOKEN);
      await r.getMeta('timestamp', 1024);
      assert.equal(s.notary.requests.at(-1)?.headers.authorization, `Bearer ${USER_TOKEN}`);
      assert.equal(tokenQuery(s.token, s.token.requests.length - 1).get('account'), USER);
    } finally {
      r.close();
    }
  });

  test('read-only: a token server refusing anonymous tokens falls back to credentials', T, async () => {
    const s = await bearerServers();
    s.anonymous.allowed = false;
    const r = await NotaryRemote.connect(opts(s.notary.url, 'example.com/bearer/refused', { credentials: creds, allowInsecureAuth: true }));
    try {
      await r.getMeta('root', 1024);
      assert.deepEqual(s.token.requests.map((q) => q.headers.authorization ?? 'anonymous'), ['anonymous', BASIC]);
      assert.equal(s.notary.requests.at(-1)?.headers.authorization, `Bearer ${USER_TOKEN}`);
    } finally {
      r.close();
    }
    // Without credentials the refusal is final.
    const none = await NotaryRemote.connect(opts(s.notary.url, 'example.com/bearer/refused2', {}));
    try {
      const err = await failure(none.getMeta('root', 1024));
      assert.equal(err.code, 'UNAUTHORIZED');
      assert.match(err.message, /token server .* refused anonymous access to repository:example\.com\/bearer\/refused2:pull \(401\)/);
      assert.match(err.hint, /NOTARY_AUTH/);
      assertNoSecrets(err);
    } finally {
      none.close();
    }
  });

  test('credentials never go to a plain-http token realm unless allowed', T, async () => {
    const s = await bearerServers();
    const r = await NotaryRemote.connect(opts(s.notary.url, 'example.com/bearer/insecure', { scope: 'push,pull', credentials: creds }));
    try {
      const err = await failure(r.getMeta('root', 1024));
      assert.equal(err.code, 'UNAUTHORIZED');
      assert.match(err.message, /refusing to send credentials over plain http to the token server/);
      assert.equal(s.token.requests.length, 0);
      assertNoSecrets(err);
    } finally {
      r.close();
    }
  });

  test('a challenge first seen on a later request (ping was 200) is answered', T, async () => {
    const s = await bearerServers({ pingChallenge: false });
    const r = await NotaryRemote.connect(opts(s.notary.url, 'example.com/bearer/late', { scope: 'push,pull', credentials: creds, allowInsecureAuth: true }));
    try {
      assert.deepEqual(r.challenges, []);
      await r.getMeta('root', 1024);
      assert.deepEqual(
        s.notary.requests.slice(1).map((q) => q.headers.authorization ?? 'none'),
        ['none', `Bearer ${USER_TOKEN}`],
      );
    } finally {
      r.close();
    }
  });

  test('a cached token the server no longer accepts is replaced once', T, async () => {
    const s = await bearerServers();
    const r = await NotaryRemote.connect(opts(s.notary.url, 'example.com/bearer/revoked', { scope: 'push,pull', credentials: creds, allowInsecureAuth: true }));
    try {
      await r.getMeta('root', 1024);
      // Revoke every token; the token server keeps issuing the same one, which stays refused.
      s.accepted.clear();
      const err = await failure(r.getMeta('root', 1024));
      assert.equal(err.code, 'UNAUTHORIZED');
      assert.match(err.hint, /refused the credentials/);
      assert.equal(s.token.requests.length, 2, 'one fresh token, then give up');
      assertNoSecrets(err);
    } finally {
      r.close();
    }
  });

  test('bad token responses are BAD_RESPONSE', T, async () => {
    for (const body of ['{"nope":1}', 'not json', '{"token":"a\\r\\nX-Injected: 1"}', '[]']) {
      const token = await startServer((_q, res) => res.writeHead(200).end(body));
      const notary = await startServer((req, res) => {
        if (req.headers.authorization) return answer(req, res);
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${token.url}/t",service="s"` }).end();
      });
      const r = await NotaryRemote.connect(opts(notary.url, 'example.com/bearer/bad', {}));
      try {
        const err = await failure(r.getMeta('root', 1024));
        assert.equal(err.code, 'BAD_RESPONSE', `${body}: ${err.message}`);
        assert.equal(notary.requests.length, 1, 'only the ping: no request goes out with a bad token');
      } finally {
        r.close();
      }
    }
  });

  test('a challenge without a usable realm is BAD_RESPONSE', T, async () => {
    for (const ch of ['Bearer service="s"', 'Bearer realm="file:///etc/passwd"']) {
      const notary = await startServer((_q, res) => res.writeHead(401, { 'www-authenticate': ch }).end());
      const r = await NotaryRemote.connect(opts(notary.url, 'example.com/bearer/realm', {}));
      try {
        assert.equal((await failure(r.getMeta('root', 1024))).code, 'BAD_RESPONSE');
      } finally {
        r.close();
      }
    }
  });

  test('both Bearer and Basic offered: Bearer is used', T, async () => {
    const s = await bearerServers();
    const notary = await startServer((req, res) => {
      if (req.headers.authorization === `Bearer ${USER_TOKEN}`) return answer(req, res);
      res.writeHead(401, { 'www-authenticate': `Basic realm="n", Bearer realm="${s.token.url}/t",service="notary-server"` }).end();
    });
    const r = await NotaryRemote.connect(opts(notary.url, 'example.com/both', { scope: 'push,pull', credentials: creds, allowInsecureAuth: true }));
    try {
      await r.getMeta('root', 1024);
      assert.equal(notary.requests.at(-1)?.headers.authorization, `Bearer ${USER_TOKEN}`);
    } finally {
      r.close();
    }
  });
});

describe('identity tokens (docker login through OAuth, e.g. az acr login)', () => {
  const IDENTITY = 'refresh/Token+With=Odd&Chars-SECRET';
  const identity = async (): Promise<{ username: string; password: string; identityToken: string }> => ({ username: '', password: '', identityToken: IDENTITY });

  /** A token server taking only docker's OAuth refresh-token POST, and a notary server behind it. */
  async function oauthServers(): Promise<{ token: TestServer; notary: TestServer }> {
    const token = await startServer((req, res, body) => {
      const form = new URLSearchParams(body.toString('utf8'));
      const okForm = req.method === 'POST' && req.headers['content-type'] === 'application/x-www-form-urlencoded' && form.get('grant_type') === 'refresh_token' && form.get('client_id') === 'docker';
      if (!okForm || form.get('refresh_token') !== IDENTITY || req.headers.authorization !== undefined) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: USER_TOKEN, refresh_token: 'rotated', expires_in: 300 }));
    });
    const notary = await startServer((req, res) => {
      if (req.headers.authorization === `Bearer ${USER_TOKEN}`) return answer(req, res);
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${token.url}/oauth2/token?x=1",service="notary-server"` }).end();
    });
    return { token, notary };
  }

  test('exchanged at the token server as docker does: POST form with client_id docker, scope and service', T, async () => {
    const s = await oauthServers();
    const gun = 'example.com/identity/push';
    const r = await NotaryRemote.connect(opts(s.notary.url, gun, { scope: 'push,pull', credentials: identity, allowInsecureAuth: true }));
    try {
      assert.equal((await r.getKey('timestamp')).keytype, 'ed25519');
      await r.getMeta('root', 1024);
    } finally {
      r.close();
    }
    assert.equal(s.token.requests.length, 1);
    const req = s.token.requests[0]!;
    assert.equal(req.url, '/oauth2/token?x=1');
    assert.equal(
      req.body.toString('utf8'),
      `client_id=docker&grant_type=refresh_token&refresh_token=${encodeURIComponent(IDENTITY)}&scope=${encodeURIComponent(`repository:${gun}:push,pull`)}&service=notary-server`,
    );
  });

  test('a refused identity token: UNAUTHORIZED naming it, the token nowhere in the error', T, async () => {
    const s = await oauthServers();
    const wrong = async (): Promise<{ username: string; password: string; identityToken: string }> => ({ username: '', password: '', identityToken: `${IDENTITY}-expired` });
    const e = await failure(NotaryRemote.connect(opts(s.notary.url, 'example.com/identity/refused', { scope: 'push,pull', credentials: wrong, allowInsecureAuth: true })).then((r) => r.getMeta('root', 1024)));
    assert.equal(e.code, 'UNAUTHORIZED');
    assert.match(e.message, /refused the identity token for access to repository:example\.com\/identity\/refused:push,pull \(401\)/);
    assert.ok(!everythingIn(e).includes(IDENTITY));
  });

  test('never sent to a plain-http token realm unless allowed, and never as Basic', T, async () => {
    const s = await oauthServers();
    const e = await failure(NotaryRemote.connect(opts(s.notary.url, 'example.com/identity/http', { scope: 'push,pull', credentials: identity })).then((r) => r.getMeta('root', 1024)));
    assert.equal(e.code, 'UNAUTHORIZED');
    assert.equal(s.token.requests.length, 0);
    const basicOnly = await basicServer();
    const b = await failure(NotaryRemote.connect(opts(basicOnly.url, 'example.com/identity/basic', { scope: 'push,pull', credentials: identity, allowInsecureAuth: true })).then((r) => r.getMeta('root', 1024)));
    assert.equal(b.code, 'UNAUTHORIZED');
    assert.ok(basicOnly.requests.every((x) => x.headers.authorization === undefined));
  });
});
