// docker's certificate directories: which files count (*.crt CAs, <name>.cert + <name>.key client
// certificates, docker's messages for an incomplete pair), CAs added to the default roots, a
// client certificate presented; and end to end, `dtrust inspect` trusting the notary server
// through $DOCKER_CONFIG/tls/<host:port> as docker does.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import { certsDirectory } from '../../src/remote/certsdir.js';
import { loadTls } from '../../src/remote/tls.js';
import { NotaryRemote } from '../../src/remote/notary.js';
import { RegistryClient } from '../../src/remote/registry.js';
import { runDtrust } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';
import { FAST, failure, makePki, startServer, type TestPki } from './support.js';

const T = { timeout: 30_000 };
const KEY = JSON.stringify({ keytype: 'ed25519', keyval: { private: null, public: Buffer.alloc(32, 1).toString('base64') } });

async function dirWith(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await tempDir('dtrust-certsd-');
  for (const [name, body] of Object.entries(files)) await writeFile(join(dir, name), body);
  return dir;
}

/** A notary-like https server that requires a client certificate from the test CA. */
async function mutualTls(pki: TestPki): Promise<Awaited<ReturnType<typeof startServer>>> {
  return startServer(
    (req, res) => {
      if (req.url === '/v2/') res.writeHead(200).end('{}');
      else if (req.url?.endsWith('.key')) res.writeHead(200).end(KEY);
      else res.writeHead(404).end('{"errors":[{"code":"METADATA_NOT_FOUND"}]}');
    },
    { tls: { cert: await readFile(pki.serverCert), key: await readFile(pki.serverKey), ca: await readFile(pki.caCert), requestCert: true, rejectUnauthorized: true } },
  );
}

describe('certificate directories', () => {
  test('*.crt are CAs, <name>.cert with <name>.key the client certificate; other files and a missing directory are nothing', async () => {
    const dir = await dirWith({ 'b.crt': 'x', 'a.crt': 'x', 'me.cert': 'x', 'me.key': 'x', 'notes.txt': 'x' });
    assert.deepEqual(await certsDirectory(dir, 'https://h'), {
      extraCaFiles: [join(dir, 'a.crt'), join(dir, 'b.crt')],
      certFile: join(dir, 'me.cert'),
      keyFile: join(dir, 'me.key'),
    });
    assert.deepEqual(await certsDirectory(join(dir, 'missing'), 'https://h'), {});
  });

  test('an incomplete client pair is refused with docker\'s words', async () => {
    const noKey = await failure(certsDirectory(await dirWith({ 'ca.cert': 'x' }), 'https://h'));
    assert.equal(noKey.code, 'CONFIG');
    assert.equal(noKey.message, 'unable to configure TLS: missing key ca.key for client certificate ca.cert. CA certificates must use the extension .crt');
    const noCert = await failure(certsDirectory(await dirWith({ 'me.key': 'x' }), 'https://h'));
    assert.equal(noCert.message, 'unable to configure TLS: missing client certificate me.cert for key me.key');
  });

  test('NODE_EXTRA_CA_CERTS joins the directory\'s CAs (Node drops it for an explicit list); unreadable, it is skipped', T, async () => {
    const pki = await makePki();
    const dir = await dirWith({ 'other.crt': await readFile(pki.otherCaCert) });
    assert.deepEqual((await certsDirectory(dir, 'https://h', pki.caCert)).extraCaFiles, [join(dir, 'other.crt'), pki.caCert]);
    assert.deepEqual((await certsDirectory(dir, 'https://h', join(dir, 'missing.pem'))).extraCaFiles, [join(dir, 'other.crt')]);
    assert.deepEqual(await certsDirectory(await dirWith({}), 'https://h', pki.caCert), {}, 'no directory CAs: the default store, extras included, applies');
    // A server only NODE_EXTRA_CA_CERTS vouches for stays reachable when the directory holds another CA.
    const srv = await startServer((req, res) => (req.url?.endsWith('.key') ? res.writeHead(200).end(KEY) : res.writeHead(200).end('{}')), {
      tls: { cert: await readFile(pki.serverCert), key: await readFile(pki.serverKey) },
    });
    const opts = { baseUrl: srv.url, gun: 'example.com/extra', env: {}, scope: 'pull' as const, credentials: async () => undefined, ...FAST };
    assert.equal((await failure(NotaryRemote.connect({ ...opts, tls: await certsDirectory(dir, srv.url) }))).code, 'TLS');
    const r = await NotaryRemote.connect({ ...opts, tls: await certsDirectory(dir, srv.url, pki.caCert) });
    r.close();
  });

  test('the CAs are added to the default roots, not put in their place', async () => {
    const pki = await makePki();
    const tls = await loadTls({ extraCaFiles: [pki.caCert] }, 'https://h');
    assert.ok(tls.ca?.includes(rootCertificates[0]!), 'a default root is still trusted');
    assert.ok(tls.ca?.includes((await readFile(pki.caCert, 'latin1')).trim()), 'the directory CA is trusted');
  });

  test('a server with a private CA that requires a client certificate: trusted and answered through the directory', T, async () => {
    const pki = await makePki();
    const srv = await mutualTls(pki);
    const opts = { baseUrl: srv.url, gun: 'example.com/certsd', env: {}, scope: 'pull' as const, credentials: async () => undefined, ...FAST };
    assert.equal((await failure(NotaryRemote.connect(opts))).code, 'TLS');
    const dir = await tempDir('dtrust-certsd-');
    await copyFile(pki.caCert, join(dir, 'ca.crt'));
    await copyFile(pki.clientCert, join(dir, 'client.cert'));
    await copyFile(pki.clientKey, join(dir, 'client.key'));
    const r = await NotaryRemote.connect({ ...opts, tls: await certsDirectory(dir, srv.url) });
    try {
      assert.equal((await r.getKey('timestamp')).keytype, 'ed25519');
    } finally {
      r.close();
    }
  });

  test('a registry: <certsDir>/<host:port> holds its CA and client certificate (docker\'s certs.d)', T, async () => {
    const pki = await makePki();
    const srv = await mutualTls(pki);
    const certsDir = await tempDir('dtrust-certs-d-');
    const opts = { endpoints: [{ url: srv.url }], repository: 'team/app', timeouts: FAST.timeouts, certsDir };
    assert.equal((await failure(RegistryClient.connect(opts))).code, 'TLS');
    const hostDir = join(certsDir, new URL(srv.url).host);
    await mkdir(hostDir);
    await copyFile(pki.caCert, join(hostDir, 'ca.crt'));
    await copyFile(pki.clientCert, join(hostDir, 'client.cert'));
    await copyFile(pki.clientKey, join(hostDir, 'client.key'));
    (await RegistryClient.connect(opts)).close();
  });

  test('dtrust inspect reads $DOCKER_CONFIG/tls/<host:port> for the trust server, as docker does', T, async () => {
    const pki = await makePki();
    const srv = await mutualTls(pki);
    const config = await tempDir('dtrust-docker-config-');
    const env = { DOCKER_CONFIG: config, DOCKER_CONTENT_TRUST_SERVER: srv.url };
    const image = 'registry.example.com/team/app:v1';
    const untrusted = await runDtrust(['inspect', image], { env });
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /secure connection/);
    const tlsDir = join(config, 'tls', new URL(srv.url).host);
    await mkdir(tlsDir, { recursive: true });
    await copyFile(pki.caCert, join(tlsDir, 'ca.crt'));
    await copyFile(pki.clientCert, join(tlsDir, 'client.cert'));
    await copyFile(pki.clientKey, join(tlsDir, 'client.key'));
    const trusted = await runDtrust(['inspect', image], { env });
    assert.doesNotMatch(trusted.stderr, /secure connection|TLS/, trusted.stderr);
    assert.match(trusted.stderr, /remote trust data does not exist for registry\.example\.com\/team\/app on https:/, 'the server was reached and answered');
  });
});
