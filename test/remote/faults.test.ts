// Fault injection with small local servers on 127.0.0.1: down, 5xx then 200, 500 on POST,
// truncated bodies, slow drip, oversize bodies, dropped POSTs, hangs, and TLS.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NotaryRemote } from '../../src/remote/notary.js';
import type { RemoteOptions } from '../../src/remote/notary.js';
import { closedPort, failure, FAST, makePki, startServer, startTcpServer } from './support.js';
import type { Handler } from './support.js';

const T = { timeout: 30_000 };
const GUN = 'example.com/faults';
const META = `/v2/${GUN}/_trust/tuf/`;

function opts(baseUrl: string, extra: Partial<RemoteOptions> = {}): RemoteOptions {
  return { baseUrl, gun: GUN, env: {}, scope: 'push,pull', credentials: async () => undefined, ...FAST, ...extra };
}

/** /v2/ answers 200; everything else goes to `rest`. */
function withPing(rest: Handler): Handler {
  return (req, res, body, seen) => {
    if (req.url === '/v2/') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('{}');
      return;
    }
    return rest(req, res, body, seen);
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, performance.now() - t0];
}

const ED25519_KEY = JSON.stringify({ keytype: 'ed25519', keyval: { private: null, public: Buffer.alloc(32, 7).toString('base64') } });

describe('connect and transport faults', () => {
  test('server down: connection refused is OFFLINE, fast, not retried', T, async () => {
    const port = await closedPort();
    const [err, ms] = await timed(() => failure(NotaryRemote.connect(opts(`http://127.0.0.1:${port}`))));
    assert.equal(err.code, 'OFFLINE');
    assert.equal(err.message, `could not reach http://127.0.0.1:${port}/v2/: connection refused`);
    assert.match(err.hint, /server URL/);
    assert.ok(ms < 5_000, `${ms} ms`);
  });

  test('ping answering neither 2xx nor 401 is OFFLINE (as notary), with the status', T, async () => {
    const srv = await startServer((_q, res) => res.writeHead(404).end('nope'));
    const err = await failure(NotaryRemote.connect(opts(srv.url)));
    assert.equal(err.code, 'OFFLINE');
    assert.equal(err.status, 404);
    assert.equal(err.message, `could not reach ${srv.url}: 404`);
    assert.match(err.hint, /notary server/);
    const moved = await startServer((_q, res) => res.writeHead(301, { location: 'https://elsewhere.example/v2/' }).end());
    const m = await failure(NotaryRemote.connect(opts(moved.url)));
    assert.equal(m.status, 301);
    assert.match(m.hint, /elsewhere\.example/);
    assert.equal(moved.requests.length, 1, 'redirects are not followed');
  });

  test('503 twice then 200: the GET is retried and succeeds', T, async () => {
    let n = 0;
    const srv = await startServer(
      withPing((_q, res) => {
        n++;
        if (n <= 2) res.writeHead(503, { 'retry-after': '0' }).end('busy');
        else res.writeHead(200).end('{"signed":{}}');
      }),
    );
    const r = await NotaryRemote.connect(opts(srv.url));
    try {
      assert.equal((await r.getMeta('timestamp', 1024)).toString(), '{"signed":{}}');
      assert.equal(n, 3);
      assert.equal(r.stats.retries, 2);
      // 5xx that never stops: bounded attempts, then SERVER_ERROR with notary's text.
      n = -100;
      const err = await failure(r.getMeta('timestamp', 1024));
      assert.deepEqual([err.code, err.status, err.message], ['SERVER_ERROR', 503, 'unable to reach trust server at this time: 503.']);
      assert.equal(n, -97, 'three attempts in total');
    } finally {
      r.close();
    }
  });

  test('408 and 429 are retried; 404 and 400 are not', T, async () => {
    const statuses = [408, 429, 200, 404, 400];
    const srv = await startServer(withPing((_q, res) => res.writeHead(statuses.shift() ?? 500).end('{}')));
    const r = await NotaryRemote.connect(opts(srv.url));
    try {
      await r.getMeta('root', 100);
      await assert.rejects(r.getMeta('root', 100), { code: 'NOT_FOUND' });
      await assert.rejects(r.getMeta('root', 100), { code: 'REJECTED' });
      assert.equal(srv.requests.length, 1 + 5);
    } finally {
      r.close();
    }
  });

  test('500 on POST is not retried', T, async () => {
    const srv = await startServer(withPing((_q, res) => res.writeHead(500).end('{"errors":[{"code":"UNKNOWN"}]}')));
    const r = await NotaryRemote.connect(opts(srv.url));
    try {
      const err = await failure(r.publish(new Map([['root', Buffer.from('{}')]])));
      assert.deepEqual([err.code, err.status, err.message], ['SERVER_ERROR', 500, 'unable to reach trust server at this time: 500.']);
      const rot = await failure(r.rotateKey('snapshot'));
      assert.equal(rot.code, 'SERVER_ERROR');
      const del = await failure(r.deleteRepo());
      assert.equal(del.code, 'SERVER_ERROR');
      assert.deepEqual(
        srv.requests.map((q) => `${q.method} ${q.url}`),
        ['GET /v2/', `POST ${META}`, `POST ${META}snapshot.key`, `DELETE ${META}`],
      );
      assert.equal(r.stats.retries, 0);
    } finally {
      r.close();
    }
  });

  test('truncated body (Content-Length larger than the body, then close) fails, bounded', T, async () => {
    const srv = await startServer(
      withPing((_q, res) => {
        res.writeHead(200, { 'content-length': '1000' });
        res.write('x'.repeat(10));
        setTimeout(() => res.socket?.destroy(), 20);
      }),
    );
    const r = await NotaryRemote.connect(opts(srv.url));
    try {
      const [err, ms] = await timed(() => failure(r.getMeta('timestamp', 4096)));
      assert.equal(err.code, 'BAD_RESPONSE');
      assert.match(err.message, /^trust server returned a bad response: the connection closed before the whole body arrived$/);
      assert.equal(srv.requests.length, 1 + 3, 'a GET is retried after a cut connection, a bounded number of times');
      assert.ok(ms < 8_000, `${ms} ms`);
    } finally {
      r.close();
    }
  });

  test('slow drip (one byte at a time) hits the overall deadline: TIMEOUT in bounded time', T, async () => {
    const srv = await startServer(
      withPing((_q, res) => {
        res.writeHead(200, { 'content-length': '100' });
        const t = setInterval(() => {
          if (res.writableEnded || res.destroyed) clearInterval(t);
          else res.write('x');
        }, 250);
        res.on('close', () => clearInterval(t));
      }),
    );
    const r = await NotaryRemote.connect(opts(srv.url, { timeouts: { connectMs: 1_000, readMs: 1_000, totalMs: 1_500 } }));
    try {
      const [err, ms] = await timed(() => failure(r.getMeta('timestamp', 1024)));
      assert.equal(err.code, 'TIMEOUT');
      assert.equal(err.message, `timed out fetching timestamp from ${srv.url}${META}timestamp.json: not complete after 1500 ms`);
      assert.ok(ms >= 1_400 && ms < 8_000, `${ms} ms`);
      assert.equal(srv.requests.length, 2, 'no retry once the deadline is spent');
    } finally {
      r.close();
    }
  });

  test('a server that accepts and never answers: idle TIMEOUT', T, async () => {
    const srv = await startServer(withPing(() => undefined));
    const r = await NotaryRemote.connect(opts(srv.url, { timeouts: { connectMs: 1_000, readMs: 300, totalMs: 5_000 }, retry: { attempts: 1 } }));
    try {
      const [err, ms] = await timed(() => failure(r.getMeta('root', 1024)));
      assert.equal(err.code, 'TIMEOUT');
      assert.match(err.message, /no data for 300 ms$/);
      assert.ok(ms < 6_000, `${ms} ms`);
    } finally {
      r.close();
    }
  });

  test('body over the cap: at once with Content-Length, at cap+1 bytes without', T, async () => {
    const srv = await startServer(
      withPing((req, res) => {
        if (req.url?.includes('with-length')) {
          res.writeHead(200, { 'content-length': String(50 * 1024 * 1024) });
          res.write('x'.repeat(1024));
          return; // never finishes: the client must not wait for it
        }
        // Chunked, endless.
        res.writeHead(200);
        const chunk = Buffer.alloc(16 * 1024, 0x61);
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
      }),
    );
    const r = await NotaryRemote.connect(opts(srv.url));
    try {
      const [a, msA] = await timed(() => failure(r.getMeta('with-length', 1024 * 1024)));
      assert.equal(a.code, 'BAD_RESPONSE');
      assert.equal(a.message, 'trust server returned a bad response.');
      assert.equal(a.status, 200);
      assert.match(a.hint, /Content-Length 52428800 is above the limit of 1048576 bytes/);
      assert.ok(msA < 5_000, `${msA} ms`);
      const before = r.stats.bytesIn;
      const b = await failure(r.getMeta('endless', 100_000));
      assert.equal(b.code, 'BAD_RESPONSE');
      assert.equal(b.message, 'trust server returned a bad response.');
      const read = r.stats.bytesIn - before;
      assert.ok(read > 100_000 && read <= 100_000 + 64 * 1024, `read ${read} bytes`);
      assert.equal(srv.requests.length, 3, 'an oversize body is not retried');
    } finally {
      r.close();
    }
  });

  test('error bodies are read only up to 1 KiB', T, async () => {
    const srv = await startServer(
      withPing((_q, res) => {
        res.writeHead(400);
        res.end(`{"errors":[{"code":"INVALID_UPDATE","detail":{"Name":"ErrBadRoot","Error":{"Msg":"${'m'.repeat(5000)}"}}}]}`);
      }),
    );
    const r = await NotaryRemote.connect(opts(srv.url));
    try {
      const err = await failure(r.publish(new Map([['root', Buffer.from('{}')]])));
      // The cut body no longer parses: notary's generic text.
      assert.deepEqual([err.code, err.message], ['REJECTED', 'trust server rejected operation.']);
    } finally {
      r.close();
    }
  });

  test('connection dropped after a POST body was sent: UNKNOWN_OUTCOME, not retried', T, async () => {
    const srv = await startServer(withPing((_q, res) => res.socket?.destroy()));
    const r = await NotaryRemote.connect(opts(srv.url));
    try {
      const err = await failure(r.publish(new Map([['root', Buffer.from('{"signed":{}}')]])));
      assert.equal(err.code, 'UNKNOWN_OUTCOME');
      assert.match(err.message, /may or may not have applied it$/);
      assert.match(err.hint, /run the same command again/);
      assert.equal(srv.requests.filter((q) => q.method === 'POST').length, 1);
      assert.equal(srv.requests.find((q) => q.method === 'POST')?.body.toString().includes('{"signed":{}}'), true);
      // The same for a POST that never gets an answer.
      const hang = await startServer(withPing(() => undefined));
      const r2 = await NotaryRemote.connect(opts(hang.url, { timeouts: { connectMs: 1_000, readMs: 300, totalMs: 3_000 } }));
      try {
        const e2 = await failure(r2.publish(new Map([['root', Buffer.from('{}')]])));
        assert.equal(e2.code, 'UNKNOWN_OUTCOME');
        assert.match(e2.message, /timed out waiting for the answer \(no data for 300 ms\)/);
      } finally {
        r2.close();
      }
    } finally {
      r.close();
    }
  });

  test('a GET whose keep-alive connection was reset is retried on a new one', T, async () => {
    let n = 0;
    const srv = await startServer(
      withPing((_q, res) => {
        n++;
        if (n === 1) res.socket?.destroy();
        else res.writeHead(200).end(ED25519_KEY);
      }),
    );
    const r = await NotaryRemote.connect(opts(srv.url));
    try {
      assert.equal((await r.getKey('timestamp')).keytype, 'ed25519');
      assert.equal(r.stats.retries, 1);
    } finally {
      r.close();
    }
  });

  test('not HTTP at all: BAD_RESPONSE, never a crash', T, async () => {
    const tcp = await startTcpServer((s) => {
      s.once('data', () => s.end('SSH-2.0-OpenSSH_9.2\r\n\r\n'));
    });
    const err = await failure(NotaryRemote.connect(opts(`http://127.0.0.1:${tcp.port}`, { retry: { attempts: 1 } })));
    assert.equal(err.code, 'BAD_RESPONSE');
  });

  test('malformed server key response is BAD_RESPONSE', T, async () => {
    const srv = await startServer(withPing((_q, res) => res.writeHead(200).end('{"keytype":"ed25519","keyval":{"public":"%%%"}}')));
    const r = await NotaryRemote.connect(opts(srv.url));
    try {
      const err = await failure(r.getKey('snapshot'));
      assert.equal(err.code, 'BAD_RESPONSE');
      assert.match(err.message, /snapshot key is not a valid public key/);
    } finally {
      r.close();
    }
  });

  test('URL, scope and TLS file problems are CONFIG errors before any network use', T, async () => {
    const port = await closedPort();
    const base = `http://127.0.0.1:${port}`;
    assert.equal((await failure(NotaryRemote.connect(opts('127.0.0.1:4471')))).code, 'CONFIG');
    assert.equal((await failure(NotaryRemote.connect(opts(base, { gun: '../etc' })))).code, 'CONFIG');
    const half = await failure(NotaryRemote.connect(opts(base, { tls: { certFile: '/x.crt' } })));
    assert.deepEqual([half.code, half.message], ['CONFIG', 'either pass both client key and cert, or neither']);
    const ca = await failure(NotaryRemote.connect(opts(base, { tls: { caFile: '/nonexistent/ca.crt' } })));
    assert.deepEqual(
      [ca.code, ca.message],
      ['CONFIG', 'unable to configure TLS: could not read CA certificate "/nonexistent/ca.crt": open /nonexistent/ca.crt: no such file or directory'],
    );
    const pki = await makePki();
    const notPem = await failure(NotaryRemote.connect(opts(base, { tls: { caFile: pki.serverKey } })));
    assert.equal(notPem.message, `unable to configure TLS: failed to append certificates from PEM file: "${pki.serverKey}"`);
    const mismatch = await failure(NotaryRemote.connect(opts(base, { tls: { certFile: pki.clientCert, keyFile: pki.serverKey } })));
    assert.equal(mismatch.code, 'CONFIG');
    assert.match(mismatch.message, /^unable to configure TLS: Could not load X509 key pair: /);
    // With verification skipped the CA file is not even read (as notary).
    assert.equal((await failure(NotaryRemote.connect(opts(base, { tls: { caFile: '/nonexistent', skipVerify: true } })))).code, 'OFFLINE');
  });
});

describe('TLS', () => {
  const tlsServer = async (pkiOpts: Awaited<ReturnType<typeof makePki>>, extra: object = {}): Promise<Awaited<ReturnType<typeof startServer>>> => {
    const { readFileSync } = await import('node:fs');
    return startServer(
      withPing((_q, res) => res.writeHead(200).end(ED25519_KEY)),
      { tls: { cert: readFileSync(pkiOpts.serverCert), key: readFileSync(pkiOpts.serverKey), ...extra } },
    );
  };

  test('unknown CA is a TLS error (not OFFLINE); the same server works with caFile', T, async () => {
    const pki = await makePki();
    const srv = await tlsServer(pki);
    const err = await failure(NotaryRemote.connect(opts(srv.url)));
    assert.equal(err.code, 'TLS');
    assert.match(err.message, new RegExp(`^could not establish a secure connection to ${srv.url}/v2/: `));
    assert.match(err.hint, /--tlscacert/);
    // An unrelated CA as the exclusive pool: still refused.
    assert.equal((await failure(NotaryRemote.connect(opts(srv.url, { tls: { caFile: pki.otherCaCert } })))).code, 'TLS');
    const r = await NotaryRemote.connect(opts(srv.url, { tls: { caFile: pki.caCert } }));
    try {
      assert.equal((await r.getKey('timestamp')).keytype, 'ed25519');
    } finally {
      r.close();
    }
    const skip = await NotaryRemote.connect(opts(srv.url, { tls: { skipVerify: true } }));
    skip.close();
  });

  test('host name mismatch is TLS with its own hint', T, async () => {
    const pki = await makePki();
    const { readFileSync } = await import('node:fs');
    const srv = await startServer(withPing((_q, res) => res.writeHead(200).end('{}')), {
      tls: { cert: readFileSync(pki.wrongNameCert), key: readFileSync(pki.wrongNameKey) },
    });
    const err = await failure(NotaryRemote.connect(opts(srv.url, { tls: { caFile: pki.caCert } })));
    assert.equal(err.code, 'TLS');
    assert.match(err.message, /ERR_TLS_CERT_ALTNAME_INVALID/);
    assert.match(err.hint, /host name/);
  });

  test('https to a plain-http server is TLS, with a hint about the scheme', T, async () => {
    const srv = await startServer((_q, res) => res.writeHead(200).end('{}'));
    const err = await failure(NotaryRemote.connect(opts(srv.url.replace('http:', 'https:'))));
    assert.equal(err.code, 'TLS');
    assert.equal(err.message, `could not establish a secure connection to ${err.url}: the server speaks plain HTTP on this port`);
    assert.equal(err.hint, 'use http:// in the server URL if the server really has no TLS, or the port where it serves https');
  });

  test('a TLS handshake that never completes hits the connect timeout', T, async () => {
    const tcp = await startTcpServer(() => undefined);
    const [err, ms] = await timed(() =>
      failure(NotaryRemote.connect(opts(`https://127.0.0.1:${tcp.port}`, { timeouts: { connectMs: 300, readMs: 5_000, totalMs: 5_000 } }))),
    );
    assert.equal(err.code, 'TIMEOUT');
    assert.match(err.message, /could not connect within 300 ms$/);
    assert.ok(ms < 6_000, `${ms} ms`);
  });

  test('client certificates: required by the server, sent when configured', T, async () => {
    const pki = await makePki();
    const { readFileSync } = await import('node:fs');
    const srv = await tlsServer(pki, { ca: readFileSync(pki.caCert), requestCert: true, rejectUnauthorized: true });
    const err = await failure(NotaryRemote.connect(opts(srv.url, { tls: { caFile: pki.caCert }, retry: { attempts: 1 } })));
    assert.equal(err.code, 'TLS', `${err.code}: ${err.message}`);
    const r = await NotaryRemote.connect(opts(srv.url, { tls: { caFile: pki.caCert, certFile: pki.clientCert, keyFile: pki.clientKey } }));
    try {
      assert.equal((await r.getKey('timestamp')).keytype, 'ed25519');
    } finally {
      r.close();
    }
  });
});
