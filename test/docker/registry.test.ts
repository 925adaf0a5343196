// The registry client against fake registries: Bearer token auth with docker's config.json
// credentials, the digest computed from the bytes (and checked against Docker-Content-Digest),
// signable media types, errors that say what to do, and the https → http fallback of insecure
// (loopback) registries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerConfigCredentials } from '../../src/remote/credentials.js';
import { isRemoteError } from '../../src/remote/errors.js';
import { MEDIA_TYPES, RegistryClient } from '../../src/remote/registry.js';
import { FAST, everythingIn, startServer } from '../remote/support.js';
import { makeTempDir } from '../rig/tmp.js';

const MANIFEST = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: {}, layers: [] }));
const DIGEST = 'sha256:' + createHash('sha256').update(MANIFEST).digest('hex');

async function dockerConfig(host: string, user: string, pass: string): Promise<Record<string, string>> {
  const dir = await makeTempDir('dtrust-registry-test-');
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${pass}`).toString('base64') } } }));
  return { DOCKER_CONFIG: dir };
}

test('Bearer token auth with docker config.json credentials; digest and size of the bytes', async () => {
  let tokenAuth: string | undefined;
  let tokenQuery = '';
  const tokens = await startServer((req, res) => {
    tokenAuth = req.headers.authorization;
    tokenQuery = req.url ?? '';
    if (tokenAuth !== 'Basic ' + Buffer.from('ci:s3cret-pass').toString('base64')) {
      res.writeHead(401).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'tok-123', expires_in: 300 }));
  });
  const challenge = `Bearer realm="${tokens.url}/token",service="test-registry"`;
  const reg = await startServer((req, res) => {
    if (req.headers.authorization !== 'Bearer tok-123') {
      res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    if (req.url === '/v2/team/app/manifests/v1') {
      assert.match(String(req.headers.accept), /application\/vnd\.oci\.image\.index\.v1\+json/);
      assert.match(String(req.headers.accept), /application\/vnd\.docker\.distribution\.manifest\.v2\+json/);
      res.writeHead(200, { 'content-type': MEDIA_TYPES.ociManifest, 'docker-content-digest': DIGEST }).end(MANIFEST);
      return;
    }
    res.writeHead(404).end();
  });
  const host = `127.0.0.1:${reg.port}`;
  const env = await dockerConfig(host, 'ci', 's3cret-pass');
  const client = await RegistryClient.connect({
    endpoints: [{ url: reg.url }],
    repository: 'team/app',
    credentials: dockerConfigCredentials(`https://${host}`, env),
    allowInsecureAuth: true,
    ...FAST,
  });
  try {
    const m = await client.manifest('v1');
    assert.equal(m.digest, DIGEST);
    assert.equal(m.size, MANIFEST.length);
    assert.equal(m.mediaType, MEDIA_TYPES.ociManifest);
    assert.ok(m.bytes.equals(MANIFEST));
  } finally {
    client.close();
  }
  assert.match(tokenQuery, /scope=repository%3Ateam%2Fapp%3Apull/);
  assert.match(tokenQuery, /service=test-registry/);
  assert.match(tokenQuery, /account=ci/);
});

test('a 401 without credentials says how to log in; secrets never appear in errors', async () => {
  const reg = await startServer((_req, res) => {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
  });
  const client = await RegistryClient.connect({ endpoints: [{ url: reg.url }], repository: 'team/app', credentials: async () => undefined, ...FAST });
  try {
    await assert.rejects(client.manifest('v1'), (e: unknown) => {
      assert.ok(isRemoteError(e, 'UNAUTHORIZED'), String(e));
      assert.match(e.message, /refused access to team\/app:v1/);
      assert.match(e.hint, /docker login 127\.0\.0\.1:\d+/);
      assert.match(e.hint, /--digest and --size/);
      return true;
    });
  } finally {
    client.close();
  }
  const withBadPass = await RegistryClient.connect({
    endpoints: [{ url: reg.url }],
    repository: 'team/app',
    credentials: async () => ({ username: 'u', password: 'very-secret-password' }),
    allowInsecureAuth: true,
    ...FAST,
  });
  try {
    await assert.rejects(withBadPass.manifest('v1'), (e: unknown) => {
      assert.ok(isRemoteError(e, 'UNAUTHORIZED'));
      assert.doesNotMatch(everythingIn(e), /very-secret-password/);
      return true;
    });
  } finally {
    withBadPass.close();
  }
});

test('manifests: wrong announced digest, schema 1, unknown type and 404 are refused', async () => {
  const schema1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }));
  const reg = await startServer((req, res) => {
    switch (req.url) {
      case '/v2/':
        res.writeHead(200).end('{}');
        return;
      case '/v2/a/manifests/lying':
        res.writeHead(200, { 'content-type': MEDIA_TYPES.ociManifest, 'docker-content-digest': 'sha256:' + '0'.repeat(64) }).end(MANIFEST);
        return;
      case '/v2/a/manifests/old':
        res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' }).end(schema1);
        return;
      case '/v2/a/manifests/untyped':
        res.writeHead(200, { 'content-type': 'application/json' }).end(schema1);
        return;
      case '/v2/a/manifests/weird':
        res.writeHead(200, { 'content-type': 'application/x-weird' }).end('x');
        return;
      case '/v2/a/manifests/list':
        res.writeHead(200, { 'content-type': `${MEDIA_TYPES.dockerList}; charset=utf-8` }).end('{"manifests":[]}');
        return;
      case '/v2/a/manifests/bare':
        res.writeHead(200).end(JSON.stringify({ schemaVersion: 2, manifests: [] }));
        return;
      default:
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
    }
  });
  const client = await RegistryClient.connect({ endpoints: [{ url: reg.url }], repository: 'a', ...FAST });
  try {
    await assert.rejects(client.manifest('lying'), (e: unknown) => isRemoteError(e, 'BAD_RESPONSE') && /announced digest sha256:0+ .* whose digest is sha256:/.test(e.message));
    await assert.rejects(client.manifest('old'), (e: unknown) => isRemoteError(e, 'BAD_RESPONSE') && /schema 1 manifest/.test(e.message));
    await assert.rejects(client.manifest('untyped'), (e: unknown) => isRemoteError(e, 'BAD_RESPONSE') && /schema 1 manifest/.test(e.message));
    await assert.rejects(client.manifest('weird'), (e: unknown) => isRemoteError(e, 'BAD_RESPONSE') && /unknown manifest media type/.test(e.message));
    await assert.rejects(client.manifest('missing'), (e: unknown) => isRemoteError(e, 'NOT_FOUND') && /a:missing is not in the registry/.test(e.message) && /push the image first/.test(e.hint));
    assert.equal((await client.manifest('list')).mediaType, MEDIA_TYPES.dockerList);
    assert.equal((await client.manifest('bare')).mediaType, MEDIA_TYPES.ociIndex);
    await assert.rejects(client.manifest('../x'), (e: unknown) => isRemoteError(e, 'CONFIG'));
  } finally {
    client.close();
  }
});

test('insecure registries: https first, then plain http', async () => {
  const reg = await startServer((req, res) => {
    if (req.url === '/v2/') res.writeHead(200).end('{}');
    else res.writeHead(200, { 'content-type': MEDIA_TYPES.ociManifest }).end(MANIFEST);
  });
  const fallbacks: string[] = [];
  const client = await RegistryClient.connect({
    endpoints: [
      { url: `https://127.0.0.1:${reg.port}`, skipVerify: true },
      { url: `http://127.0.0.1:${reg.port}` },
    ],
    repository: 'a',
    onFallback: (from) => fallbacks.push(from),
    ...FAST,
  });
  try {
    assert.equal(client.baseUrl, `http://127.0.0.1:${reg.port}`);
    assert.deepEqual(fallbacks, [`https://127.0.0.1:${reg.port}`]);
    assert.equal((await client.manifest('v1')).digest, DIGEST);
  } finally {
    client.close();
  }
});
