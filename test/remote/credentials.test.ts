// docker config.json credentials: `auths` entries and credential helpers (a fake
// docker-credential-test script on a PATH passed in env). Credentials are used end to end and
// never printed; helpers get the server address on stdin, never in argv.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultCredentials, dockerConfigCredentials } from '../../src/remote/credentials.js';
import { isRemoteError } from '../../src/remote/errors.js';
import type { RemoteError } from '../../src/remote/errors.js';
import { NotaryRemote } from '../../src/remote/notary.js';
import { tempDir } from '../rig/tmp.js';
import { FAST, everythingIn, startServer } from './support.js';

const T = { timeout: 30_000 };
const SERVER = 'https://notary.example.com:4443';
const HOST = 'notary.example.com:4443';
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

async function dockerDir(config: unknown): Promise<string> {
  const dir = await tempDir('dtrust-docker-config-');
  await writeFile(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config), { mode: 0o600 });
  return dir;
}

async function rejection(p: Promise<unknown>): Promise<RemoteError> {
  const e = await p.then(
    () => assert.fail('expected a failure'),
    (err: unknown) => err,
  );
  assert.ok(isRemoteError(e), String(e));
  return e;
}

/**
 * A fake `docker-credential-test` in its own bin dir. It logs its argv and stdin, answers for
 * `known` with Username/Secret, says "credentials not found" otherwise; `mode` changes that.
 */
async function fakeHelper(known: string, secret: string, mode: 'ok' | 'crash' | 'slow' | 'garbage' = 'ok', user = 'helper-user'): Promise<{ bin: string; log: string }> {
  const dir = await tempDir('dtrust-cred-helper-');
  const bin = join(dir, 'bin');
  await mkdir(bin);
  const log = join(dir, 'log');
  const body: Record<typeof mode, string> = {
    ok: `if [ "$addr" = "${known}" ]; then printf '{"ServerURL":"%s","Username":"${user}","Secret":"${secret}"}' "$addr"; else echo "credentials not found in native keychain"; exit 1; fi`,
    crash: `echo "fatal: leaked ${secret}" >&2; echo "${secret}"; exit 3`,
    slow: 'sleep 5',
    garbage: `echo "{not json ${secret}"`,
  };
  const script = `#!/bin/sh
addr=$(cat)
printf '%s\\n' "argv:$*" >> "${log}"
printf '%s\\n' "stdin:$addr" >> "${log}"
${body[mode]}
`;
  await writeFile(join(bin, 'docker-credential-test'), script);
  await chmod(join(bin, 'docker-credential-test'), 0o755);
  return { bin, log };
}

describe('docker config.json', () => {
  test('auths[host].auth, URL-form keys, username/password fields', async () => {
    const a = await dockerDir({ auths: { [HOST]: { auth: b64('dock:er:pw\u0000') } } });
    assert.deepEqual(await dockerConfigCredentials(SERVER, { DOCKER_CONFIG: a })(), { username: 'dock', password: 'er:pw' });
    const url = await dockerDir({ auths: { 'https://notary.example.com:4443/v1/': { auth: b64('u:p') } } });
    assert.deepEqual(await dockerConfigCredentials(SERVER, { DOCKER_CONFIG: url })(), { username: 'u', password: 'p' });
    const fields = await dockerDir({ auths: { [HOST]: { username: 'x', password: 'y' } } });
    assert.deepEqual(await dockerConfigCredentials(SERVER, { DOCKER_CONFIG: fields })(), { username: 'x', password: 'y' });
    // Other hosts, the default port written out: no credentials.
    const other = await dockerDir({ auths: { 'notary.example.com': { auth: b64('u:p') }, [HOST + '0']: { auth: b64('u:p') } } });
    assert.equal(await dockerConfigCredentials(SERVER, { DOCKER_CONFIG: other })(), undefined);
    // An identity token (az acr login writes it beside an auth of a GUID and no password) wins.
    const tok = await dockerDir({ auths: { [HOST]: { auth: b64('00000000-0000-0000-0000-000000000000:'), identitytoken: 'abc' } } });
    const guid = '00000000-0000-0000-0000-000000000000';
    assert.deepEqual(await dockerConfigCredentials(SERVER, { DOCKER_CONFIG: tok })(), { username: guid, password: '', identityToken: 'abc' });
    const bare = await dockerDir({ auths: { [HOST]: { identitytoken: 'abc' } } });
    assert.deepEqual(await dockerConfigCredentials(SERVER, { DOCKER_CONFIG: bare })(), { username: '', password: '', identityToken: 'abc' });
    // Prototype keys are plain data: the entry for host "__proto__" is found as such, and
    // another host does not inherit it.
    const proto = await dockerDir('{"auths":{"__proto__":{"auth":"dTpw"}}}');
    assert.deepEqual(await dockerConfigCredentials('https://__proto__', { DOCKER_CONFIG: proto })(), { username: 'u', password: 'p' });
    assert.equal(await dockerConfigCredentials('https://constructor', { DOCKER_CONFIG: proto })(), undefined);
    assert.equal(await dockerConfigCredentials(SERVER, { DOCKER_CONFIG: proto })(), undefined);
  });

  test('HOME/.docker when DOCKER_CONFIG is unset; missing files mean no credentials', async () => {
    const home = await tempDir('dtrust-home-');
    assert.equal(await dockerConfigCredentials(SERVER, { HOME: home })(), undefined);
    await mkdir(join(home, '.docker'));
    await writeFile(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [HOST]: { auth: b64('h:pw') } } }));
    assert.deepEqual(await dockerConfigCredentials(SERVER, { HOME: home })(), { username: 'h', password: 'pw' });
    assert.equal(await dockerConfigCredentials(SERVER, {})(), undefined);
  });

  test('broken config files are CONFIG errors that never quote the file', async () => {
    const secret = 'very-secret-in-file';
    const bad = await dockerDir(`{"auths":{"${HOST}":{"auth":"${secret}"`);
    const e1 = await rejection(dockerConfigCredentials(SERVER, { DOCKER_CONFIG: bad })());
    assert.equal(e1.code, 'CONFIG');
    assert.match(e1.message, /is not valid JSON$/);
    assert.ok(!everythingIn(e1).includes(secret));
    const notB64 = await dockerDir({ auths: { [HOST]: { auth: `${secret}!` } } });
    const e2 = await rejection(dockerConfigCredentials(SERVER, { DOCKER_CONFIG: notB64 })());
    assert.match(e2.message, /invalid "auth" entry for notary\.example\.com:4443 \(not base64\)/);
    assert.ok(!everythingIn(e2).includes(secret));
  });

  test('defaultCredentials: NOTARY_AUTH wins over docker config', async () => {
    const dir = await dockerDir({ auths: { [HOST]: { auth: b64('docker:pw') } } });
    const env = { DOCKER_CONFIG: dir, NOTARY_AUTH: b64('notary:pw') };
    assert.deepEqual(await defaultCredentials(SERVER, env)(), { username: 'notary', password: 'pw' });
    assert.deepEqual(await defaultCredentials(SERVER, { DOCKER_CONFIG: dir })(), { username: 'docker', password: 'pw' });
  });
});

describe('credential helpers', () => {
  test('a helper answering the username <token> holds an identity token', T, async () => {
    const h = await fakeHelper(HOST, 'refresh-Token-42', 'ok', '<token>');
    const dir = await dockerDir({ credHelpers: { [HOST]: 'test' } });
    const env = { DOCKER_CONFIG: dir, PATH: `${h.bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}` };
    assert.deepEqual(await dockerConfigCredentials(SERVER, env)(), { username: '', password: '', identityToken: 'refresh-Token-42' });
  });

  test('credHelpers[host]: address on stdin, argv is only "get"', T, async () => {
    const secret = 'helper-Secret-31337';
    const h = await fakeHelper(HOST, secret);
    const dir = await dockerDir({ credHelpers: { [HOST]: 'test' }, auths: { [HOST]: { auth: b64('ignored:pw') } } });
    const env = { DOCKER_CONFIG: dir, PATH: `${h.bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}` };
    assert.deepEqual(await dockerConfigCredentials(SERVER, env)(), { username: 'helper-user', password: secret });
    const log = await readFile(h.log, 'utf8');
    assert.equal(log, `argv:get\nstdin:${HOST}\n`);
  });

  test('credsStore: tried for the host, then the URL; "not found" means none (auths ignored, as docker)', T, async () => {
    const h = await fakeHelper('nobody', 'x');
    const dir = await dockerDir({ credsStore: 'test', auths: { [HOST]: { auth: b64('file:pw') } } });
    const env = { DOCKER_CONFIG: dir, PATH: `${h.bin}:/usr/bin:/bin` };
    assert.equal(await dockerConfigCredentials(SERVER, env)(), undefined);
    assert.equal(await readFile(h.log, 'utf8'), `argv:get\nstdin:${HOST}\nargv:get\nstdin:${SERVER}\n`);
    const byUrl = await fakeHelper(SERVER, 'url-secret');
    assert.deepEqual(await dockerConfigCredentials(SERVER, { ...env, PATH: `${byUrl.bin}:/usr/bin:/bin` })(), { username: 'helper-user', password: 'url-secret' });
  });

  test('failing, slow, garbage and missing helpers: CONFIG errors without their output', T, async () => {
    const secret = 'must-not-leak-271828';
    const dir = await dockerDir({ credsStore: 'test' });
    for (const mode of ['crash', 'garbage'] as const) {
      const h = await fakeHelper(HOST, secret, mode);
      const e = await rejection(dockerConfigCredentials(SERVER, { DOCKER_CONFIG: dir, PATH: `${h.bin}:/usr/bin:/bin` })());
      assert.equal(e.code, 'CONFIG');
      assert.match(e.message, /^error getting credentials: docker-credential-test /);
      assert.ok(!everythingIn(e).includes(secret), everythingIn(e));
    }
    const slow = await fakeHelper(HOST, secret, 'slow');
    const t0 = performance.now();
    const e3 = await rejection(dockerConfigCredentials(SERVER, { DOCKER_CONFIG: dir, PATH: `${slow.bin}:/usr/bin:/bin` }, { helperTimeoutMs: 300 })());
    assert.match(e3.message, /did not finish within 300 ms/);
    assert.ok(performance.now() - t0 < 2_000);
    const e4 = await rejection(dockerConfigCredentials(SERVER, { DOCKER_CONFIG: dir, PATH: '/nonexistent' })());
    assert.equal(e4.message, 'error getting credentials: docker-credential-test was not found on PATH');
    const evil = await dockerDir({ credsStore: '../../bin/sh' });
    const e5 = await rejection(dockerConfigCredentials(SERVER, { DOCKER_CONFIG: evil, PATH: '/usr/bin:/bin' })());
    assert.match(e5.message, /invalid credential helper name/);
    // A name no file can have (found by the docker-config fuzz property: a raw ENAMETOOLONG).
    const long = await dockerDir({ credsStore: 'desktop'.repeat(40) });
    const e6 = await rejection(dockerConfigCredentials(SERVER, { DOCKER_CONFIG: long, PATH: '/usr/bin:/bin' })());
    assert.equal(e6.code, 'CONFIG');
    assert.match(e6.message, /^invalid credential helper name in the docker config: "desktopdesktop/);
    // A helper that is there but cannot be run.
    const h = await fakeHelper(HOST, secret);
    await chmod(join(h.bin, 'docker-credential-test'), 0o644);
    const e7 = await rejection(dockerConfigCredentials(SERVER, { DOCKER_CONFIG: dir, PATH: `${h.bin}:/usr/bin:/bin` })());
    assert.equal(e7.message, 'error getting credentials: docker-credential-test could not be started (EACCES)');
  });

  test('end to end: helper credentials reach a Basic server and never appear in errors', T, async () => {
    const secret = 'e2e-Secret-1618';
    const good = `Basic ${b64(`helper-user:${secret}`)}`;
    const srv = await startServer((req, res) => {
      if (req.headers.authorization === good && req.url !== '/v2/') {
        res.writeHead(200).end('{"signed":{}}');
        return;
      }
      res.writeHead(401, { 'www-authenticate': 'Basic realm="notary"' }).end();
    });
    const host = `127.0.0.1:${srv.port}`;
    const h = await fakeHelper(host, secret);
    const dir = await dockerDir({ credHelpers: { [host]: 'test' } });
    const env = { DOCKER_CONFIG: dir, PATH: `${h.bin}:/usr/bin:/bin`, HOME: '/nonexistent' };
    const r = await NotaryRemote.connect({ baseUrl: srv.url, gun: 'example.com/helper', env, scope: 'pull', allowInsecureAuth: true, ...FAST });
    try {
      assert.equal((await r.getMeta('root', 1024)).toString(), '{"signed":{}}');
      assert.equal(srv.requests.at(-1)?.headers.authorization, good);
    } finally {
      r.close();
    }
    // The same helper's credentials refused by another server: the error shows none of them.
    const refusing = await startServer((_q, res) => res.writeHead(401, { 'www-authenticate': 'Basic realm="notary"' }).end());
    const host2 = `127.0.0.1:${refusing.port}`;
    const h2 = await fakeHelper(host2, secret);
    const dir2 = await dockerDir({ credHelpers: { [host2]: 'test' } });
    const r2 = await NotaryRemote.connect({
      baseUrl: refusing.url,
      gun: 'example.com/helper',
      env: { DOCKER_CONFIG: dir2, PATH: `${h2.bin}:/usr/bin:/bin` },
      scope: 'pull',
      allowInsecureAuth: true,
      ...FAST,
    });
    try {
      const e = await rejection(r2.getMeta('root', 1024));
      assert.equal(e.code, 'UNAUTHORIZED');
      const all = everythingIn(e);
      assert.ok(!all.includes(secret) && !all.includes(b64(`helper-user:${secret}`)), all);
    } finally {
      r2.close();
    }
  });
});
