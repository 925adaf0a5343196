// Config: flags + file + environment, defaults for both program names, notary's error messages
// (checked against the real notary), the path fixes of cli.md §12 #11, the keys-elsewhere notice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig, DEFAULT_SERVER_URL, type Env, type GlobalFlags } from '../../src/config/config.js';
import { isConfigError } from '../../src/config/errors.js';
import { goJsonSyntaxError } from '../../src/config/gojson.js';
import { NotaryClient } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';

interface World {
  home: string;
  cwd: string;
  env: Env;
}

async function world(): Promise<World> {
  const root = await tempDir('config-');
  const home = join(root, 'home');
  const cwd = join(root, 'work');
  await mkdir(home);
  await mkdir(cwd);
  return { home, cwd, env: { HOME: home } };
}

async function writeConfig(path: string, value: unknown): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

async function addKeys(trustDir: string, n: number, sub = ''): Promise<void> {
  const dir = join(trustDir, 'private', sub);
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < n; i++) await writeFile(join(dir, `${String(i).repeat(64).slice(0, 64)}.key`), 'x');
}

test('defaults: notary', async () => {
  const w = await world();
  const c = await loadConfig({}, { ...w.env, DOCKER_CONFIG: '/elsewhere', DOCKER_CONTENT_TRUST_SERVER: 'https://dct:4443' }, w.cwd, 'notary');
  assert.equal(c.program, 'notary');
  assert.equal(c.trustDir, join(w.home, '.notary'));
  assert.equal(c.trustDirFrom, 'default');
  assert.equal(c.serverUrl, DEFAULT_SERVER_URL);
  assert.equal(c.serverUrl, 'https://notary-server:4443');
  assert.equal(c.serverUrlFrom, 'default');
  assert.deepEqual(c.tls, { skipVerify: false });
  assert.deepEqual({ ...c.trustPinning.certs }, {});
  assert.deepEqual({ ...c.trustPinning.ca }, {});
  assert.equal(c.trustPinning.disableTofu, false);
  assert.equal(c.configFile, undefined);
  assert.equal(c.logLevel, 'warning');
  assert.deepEqual(c.notices, []);
  assert.ok(!existsSync(join(w.home, '.notary')), 'loading creates nothing');
});

test('defaults: dtrust shares docker\'s trust dir; DOCKER_CONFIG and DOCKER_CONTENT_TRUST_SERVER', async () => {
  const w = await world();
  let c = await loadConfig({}, w.env, w.cwd, 'dtrust');
  assert.equal(c.trustDir, join(w.home, '.docker', 'trust'));
  assert.equal(c.serverUrl, DEFAULT_SERVER_URL);
  assert.equal(c.serverUrlFrom, 'default');

  c = await loadConfig({}, { ...w.env, DOCKER_CONFIG: '/opt/docker-cfg', DOCKER_CONTENT_TRUST_SERVER: 'https://dct.example:4443' }, w.cwd, 'dtrust');
  assert.equal(c.trustDir, '/opt/docker-cfg/trust');
  assert.equal(c.serverUrl, 'https://dct.example:4443');
  assert.equal(c.serverUrlFrom, 'env');

  c = await loadConfig({}, { ...w.env, DOCKER_CONFIG: 'rel-cfg', DOCKER_CONTENT_TRUST_SERVER: '' }, w.cwd, 'dtrust');
  assert.equal(c.trustDir, join(w.cwd, 'rel-cfg', 'trust'));
  assert.equal(c.serverUrlFrom, 'default', 'an empty variable counts as unset');
});

test("docker's verbs run as notary: docker's default trust dir, the same precedence, the note pointing at ~/.notary", async () => {
  const w = await world();
  let c = await loadConfig({}, { ...w.env, DOCKER_CONFIG: '/opt/docker-cfg' }, w.cwd, 'notary', 'docker');
  assert.deepEqual([c.program, c.trustDir, c.trustDirFrom], ['notary', '/opt/docker-cfg/trust', 'default']);
  c = await loadConfig({}, w.env, w.cwd, 'notary', 'docker');
  assert.equal(c.trustDir, join(w.home, '.docker', 'trust'));
  c = await loadConfig({ trustDir: 'td' }, { ...w.env, DOCKER_CONFIG: '/opt/docker-cfg' }, w.cwd, 'notary', 'docker');
  assert.deepEqual([c.trustDir, c.trustDirFrom], [join(w.cwd, 'td'), 'flag']);
  await addKeys(join(w.home, '.notary'), 1);
  c = await loadConfig({}, w.env, w.cwd, 'notary', 'docker');
  assert.deepEqual(c.notices, ['note: no keys in ~/.docker/trust/private, but ~/.notary/private has 1 key; pass -d ~/.notary to use them']);
});

test('server precedence: -s > remote_server.url > DOCKER_CONTENT_TRUST_SERVER > default', async () => {
  const w = await world();
  const env = { ...w.env, DOCKER_CONTENT_TRUST_SERVER: 'https://env:1' };
  const cfg = await writeConfig(join(w.home, '.notary', 'config.json'), { remote_server: { url: 'https://cfg:2' } });
  let c = await loadConfig({ server: 'https://flag:3' }, env, w.cwd, 'dtrust');
  assert.deepEqual([c.serverUrl, c.serverUrlFrom, c.configFile], ['https://flag:3', 'flag', cfg]);
  c = await loadConfig({ server: '' }, env, w.cwd, 'dtrust');
  assert.deepEqual([c.serverUrl, c.serverUrlFrom], ['https://cfg:2', 'config']);
  await writeConfig(join(w.cwd, 'empty.json'), {});
  c = await loadConfig({ configFile: 'empty.json' }, env, w.cwd, 'dtrust');
  assert.deepEqual([c.serverUrl, c.serverUrlFrom, c.configFile], ['https://env:1', 'env', join(w.cwd, 'empty.json')]);
  c = await loadConfig({ configFile: 'empty.json' }, env, w.cwd, 'notary');
  assert.deepEqual([c.serverUrl, c.serverUrlFrom], [DEFAULT_SERVER_URL, 'default']);
});

test('trust dir: -d (relative to cwd, ~ expanded even when quoted) > trust_dir (relative to the config file) > default', async () => {
  const w = await world();
  const cfgDir = join(w.home, 'cfgs');
  await writeConfig(join(cfgDir, 'rel.json'), { trust_dir: 'trust-rel' });
  await writeConfig(join(cfgDir, 'tilde.json'), { trust_dir: '~/trust-tilde' });
  await writeConfig(join(cfgDir, 'abs.json'), { trust_dir: '/abs/trust' });
  await writeConfig(join(cfgDir, 'dots.json'), { trust_dir: '../up/./trust' });

  let c = await loadConfig({ configFile: join(cfgDir, 'rel.json') }, w.env, w.cwd, 'notary');
  assert.deepEqual([c.trustDir, c.trustDirFrom], [join(cfgDir, 'trust-rel'), 'config']);
  c = await loadConfig({ configFile: join(cfgDir, 'tilde.json') }, w.env, w.cwd, 'notary');
  assert.equal(c.trustDir, join(w.home, 'trust-tilde'));
  c = await loadConfig({ configFile: join(cfgDir, 'abs.json') }, w.env, w.cwd, 'notary');
  assert.equal(c.trustDir, '/abs/trust');
  c = await loadConfig({ configFile: join(cfgDir, 'dots.json') }, w.env, w.cwd, 'notary');
  assert.equal(c.trustDir, join(w.home, 'up', 'trust'));

  c = await loadConfig({ configFile: join(cfgDir, 'rel.json'), trustDir: 'td' }, w.env, w.cwd, 'notary');
  assert.deepEqual([c.trustDir, c.trustDirFrom], [join(w.cwd, 'td'), 'flag']);
  c = await loadConfig({ trustDir: '~/x' }, w.env, w.cwd, 'dtrust');
  assert.equal(c.trustDir, join(w.home, 'x'));
  c = await loadConfig({ trustDir: '~' }, w.env, w.cwd, 'dtrust');
  assert.equal(c.trustDir, w.home);
  c = await loadConfig({ trustDir: '~other/x' }, w.env, w.cwd, 'dtrust');
  assert.equal(c.trustDir, join(w.cwd, '~other', 'x'), '~user is not expanded');
  c = await loadConfig({ trustDir: '/a/b/../c' }, w.env, w.cwd, 'dtrust');
  assert.equal(c.trustDir, '/a/c');

  // -c itself: relative to the cwd, ~ expanded.
  await writeConfig(join(w.cwd, 'sub', 'c.json'), { trust_dir: 't' });
  c = await loadConfig({ configFile: 'sub/c.json' }, w.env, w.cwd, 'notary');
  assert.equal(c.trustDir, join(w.cwd, 'sub', 't'));
  c = await loadConfig({ configFile: '~/cfgs/rel.json' }, w.env, w.cwd, 'notary');
  assert.equal(c.configFile, join(cfgDir, 'rel.json'));
});

test('the default config file is $HOME/.notary/config.json for both programs', async () => {
  const w = await world();
  await writeConfig(join(w.home, '.notary', 'config.json'), { trust_dir: 'from-default-config' });
  for (const program of ['notary', 'dtrust'] as const) {
    const c = await loadConfig({}, w.env, w.cwd, program);
    assert.equal(c.configFile, join(w.home, '.notary', 'config.json'));
    assert.equal(c.trustDir, join(w.home, '.notary', 'from-default-config'));
    assert.equal(c.trustDirFrom, 'config');
  }
});

test('TLS paths: flags against the cwd, config values against the config directory; skipTLSVerify', async () => {
  const w = await world();
  const cfg = await writeConfig(join(w.home, 'c', 'config.json'), {
    remote_server: { url: 'https://s', root_ca: 'ca.pem', tls_client_cert: '~/cert.pem', tls_client_key: '/k.pem', skipTLSVerify: true },
  });
  let c = await loadConfig({ configFile: cfg }, w.env, w.cwd, 'notary');
  assert.deepEqual(c.tls, { caFile: join(w.home, 'c', 'ca.pem'), certFile: join(w.home, 'cert.pem'), keyFile: '/k.pem', skipVerify: true });
  c = await loadConfig({ configFile: cfg, tlscacert: 'my-ca.pem', tlscert: '~/c2.pem', tlskey: 'k2.pem' }, w.env, w.cwd, 'notary');
  assert.deepEqual(c.tls, { caFile: join(w.cwd, 'my-ca.pem'), certFile: join(w.home, 'c2.pem'), keyFile: join(w.cwd, 'k2.pem'), skipVerify: true });
  for (const [v, want] of [['true', true], ['1', true], ['False', false], [0, false], [1, true]] as const) {
    await writeConfig(cfg, { remote_server: { skiptlsverify: v } });
    c = await loadConfig({ configFile: cfg }, w.env, w.cwd, 'notary');
    assert.equal(c.tls.skipVerify, want, String(v));
  }
  await writeConfig(cfg, { remote_server: { skipTLSVerify: 'maybe' } });
  await assert.rejects(loadConfig({ configFile: cfg }, w.env, w.cwd, 'notary'), (e) => isConfigError(e, 'CONFIG_INVALID_VALUE') && e.key === 'remote_server.skipTLSVerify');
  await writeConfig(cfg, { remote_server: { url: 5 } });
  await assert.rejects(
    loadConfig({ configFile: cfg }, w.env, w.cwd, 'notary'),
    (e) => isConfigError(e, 'CONFIG_INVALID_VALUE') && e.key === 'remote_server.url' && e.message.includes('expected a string, got number'),
  );
  await writeConfig(cfg, { remote_server: 'https://x' });
  await assert.rejects(loadConfig({ configFile: cfg }, w.env, w.cwd, 'notary'), (e) => isConfigError(e, 'CONFIG_INVALID_VALUE') && e.key === 'remote_server');
});

test('keys are matched case-insensitively, as viper does; unknown keys are ignored', async () => {
  const w = await world();
  const cfg = await writeConfig(join(w.home, 'config.json'), {
    Trust_Dir: 'T',
    REMOTE_SERVER: { URL: 'https://upper:1', Root_CA: 'ca.pem' },
    Trust_Pinning: { CERTS: { 'Example.com/App': ['abc'] }, Disable_TOFU: true },
    storage: { backend: 'whatever' },
  });
  const c = await loadConfig({ configFile: cfg }, w.env, w.cwd, 'notary');
  assert.equal(c.trustDir, join(w.home, 'T'));
  assert.equal(c.serverUrl, 'https://upper:1');
  assert.equal(c.tls.caFile, join(w.home, 'ca.pem'));
  assert.deepEqual({ ...c.trustPinning.certs }, { 'Example.com/App': ['abc'] }, 'GUNs keep their case');
  assert.equal(c.trustPinning.disableTofu, true);
});

test('trust pinning: certs and ca (paths relative to the config file), shape validation', async () => {
  const w = await world();
  const cfg = join(w.home, 'p', 'config.json');
  // JSON.stringify drops a literal __proto__ key set through an object literal; write it by hand.
  const text = JSON.stringify({
    trust_pinning: {
      certs: { 'docker.io/library/alpine': ['a'.repeat(64), 'b'.repeat(64)], 'example.com/*': [] },
      ca: { 'example.com/': 'root-ca.pem', 'other.org/': '/etc/ca.pem', 'home.org/': '~/ca.pem' },
      disable_tofu: 'true',
    },
  }).replace('"certs":{', '"certs":{"__proto__":["c"],');
  await writeConfig(cfg, text);
  const c = await loadConfig({ configFile: cfg }, w.env, w.cwd, 'dtrust');
  assert.deepEqual(Object.keys(c.trustPinning.certs).sort(), ['__proto__', 'docker.io/library/alpine', 'example.com/*']);
  assert.deepEqual(c.trustPinning.certs['docker.io/library/alpine'], ['a'.repeat(64), 'b'.repeat(64)]);
  assert.deepEqual(c.trustPinning.certs['__proto__'], ['c']);
  assert.deepEqual(c.trustPinning.certs['example.com/*'], []);
  assert.deepEqual({ ...c.trustPinning.ca }, { 'example.com/': join(w.home, 'p', 'root-ca.pem'), 'other.org/': '/etc/ca.pem', 'home.org/': join(w.home, 'ca.pem') });
  assert.equal(c.trustPinning.disableTofu, true);

  for (const certs of ['x', ['a'], { g: 'abc' }, { g: [1] }, { g: [null] }, { g: { a: 'b' } }]) {
    await writeConfig(cfg, { trust_pinning: { certs } });
    await assert.rejects(
      loadConfig({ configFile: cfg }, w.env, w.cwd, 'dtrust'),
      (e) => isConfigError(e, 'CONFIG_INVALID_VALUE') && e.message === 'invalid format for trust_pinning.certs' && e.key === 'trust_pinning.certs' && !!e.hint,
      JSON.stringify(certs),
    );
  }
  for (const ca of ['x', { g: 1 }, { g: '' }, { g: ['a'] }]) {
    await writeConfig(cfg, { trust_pinning: { ca } });
    await assert.rejects(
      loadConfig({ configFile: cfg }, w.env, w.cwd, 'dtrust'),
      (e) => isConfigError(e, 'CONFIG_INVALID_VALUE') && e.message === 'invalid format for trust_pinning.ca',
      JSON.stringify(ca),
    );
  }
});

test('-c missing, unreadable, wrong type or unparsable: typed errors with notary\'s messages', async () => {
  const w = await world();
  await assert.rejects(
    loadConfig({ configFile: '/nonexist.json' }, w.env, w.cwd, 'notary'),
    (e) =>
      isConfigError(e, 'CONFIG_NOT_FOUND') &&
      e.message === 'error opening config file: open /nonexist.json: no such file or directory' &&
      e.path === '/nonexist.json' &&
      !!e.hint,
  );
  await assert.rejects(
    loadConfig({ configFile: 'missing.json' }, w.env, w.cwd, 'notary'),
    (e) => isConfigError(e, 'CONFIG_NOT_FOUND') && e.message === 'error opening config file: open missing.json: no such file or directory' && e.path === join(w.cwd, 'missing.json'),
  );
  await mkdir(join(w.cwd, 'dir.json'));
  await assert.rejects(
    loadConfig({ configFile: 'dir.json' }, w.env, w.cwd, 'notary'),
    (e) => isConfigError(e, 'CONFIG_UNREADABLE') && e.message === 'error opening config file: read dir.json: is a directory',
  );
  await writeConfig(join(w.cwd, 'c.yaml'), 'trust_dir: x');
  await assert.rejects(
    loadConfig({ configFile: 'c.yaml' }, w.env, w.cwd, 'notary'),
    (e) => isConfigError(e, 'CONFIG_UNSUPPORTED_TYPE') && e.message === 'error opening config file: Unsupported Config Type "yaml"' && /JSON/.test(e.hint ?? ''),
  );
  await writeConfig(join(w.cwd, 'bad.json'), '{\n  "trust_dir": "x",\n  bad\n}');
  await assert.rejects(
    loadConfig({ configFile: 'bad.json' }, w.env, w.cwd, 'notary'),
    (e) =>
      isConfigError(e, 'CONFIG_SYNTAX') &&
      e.message === "error opening config file: While parsing config: invalid character 'b' looking for beginning of object key string" &&
      e.fields.line === 3 &&
      e.fields.column === 3 &&
      (e.hint ?? '').includes('line 3, column 3'),
  );
  // The default file, when present and broken, is an error too (as in notary).
  await writeConfig(join(w.home, '.notary', 'config.json'), '{');
  await assert.rejects(loadConfig({}, w.env, w.cwd, 'dtrust'), (e) => isConfigError(e, 'CONFIG_SYNTAX') && e.message.endsWith('unexpected end of JSON input'));
  await writeConfig(join(w.home, '.notary', 'config.json'), 'null');
  assert.equal((await loadConfig({}, w.env, w.cwd, 'dtrust')).trustDirFrom, 'default');
});

// Broken JSON inputs and what notary 0.7 (Go 1.19 encoding/json + viper) says about each.
const BROKEN = [
  '{"trust_dir": }',
  '{"a":1}x',
  '{"a":1',
  '',
  '   ',
  '[1]',
  '5',
  '"x"',
  'true',
  '{"a":[{{}]}',
  '{"a":"\\x"}',
  '{"a":"\\u12g4"}',
  '{"a":"\\u12',
  '{"a":"x\u0001"}',
  '{"a":1.}',
  '{"a":1.',
  '-',
  '{"a":-x}',
  '{"a":1e}',
  '{"a":1e+',
  '{"a":tru}',
  '{"a":nul',
  '{"a":f',
  "{'a':1}",
  '[1,]',
  '{"a":1,}',
  '\u00e9',
  '\ufeff{}',
  '{"a":1 "b":2}',
  '01',
  '{"a" 1}',
  '{"a":[1 2]}',
  '{"a":\t\u007f}',
  '{"a":\u0085}',
  '{"a":"\\',
  '{"a":"',
];

test('syntax errors match the real notary byte for byte', async () => {
  const w = await world();
  const notary = await NotaryClient.create({ serverUrl: 'https://127.0.0.1:1', home: w.home });
  for (const [i, text] of BROKEN.entries()) {
    const file = join(w.cwd, `broken-${i}.json`);
    await writeFile(file, text);
    const r = await notary.run(['-c', file, 'status', 'example.com/x'], { noGlobalFlags: true });
    const fatal = /\* fatal: (.*)\n/.exec(r.stdout + r.stderr)?.[1];
    assert.ok(fatal, `notary output for ${JSON.stringify(text)}: ${r.stdout}${r.stderr}`);
    await assert.rejects(
      loadConfig({ configFile: file }, w.env, w.cwd, 'notary'),
      (e) => isConfigError(e, 'CONFIG_SYNTAX') && e.message === fatal,
      `${JSON.stringify(text)} → notary: ${fatal}`,
    );
  }
});

test('goJsonSyntaxError accepts what Go accepts', () => {
  for (const ok of ['{}', ' {"a":[1,2.5e-3,-0,true,false,null,"\\u00e9\\n"]} ', '[]', '0', '"x"', '{"a":{"b":{}}}', '1E+2', '{"é":"\u00ff"}']) {
    assert.equal(goJsonSyntaxError(Buffer.from(ok)), undefined, ok);
  }
  assert.match(goJsonSyntaxError(Buffer.from('['.repeat(10001) + ']'.repeat(10001)))!.message, /exceeded max depth/);
  assert.equal(goJsonSyntaxError(Buffer.from('['.repeat(10000) + ']'.repeat(10000))), undefined);
});

test('HOME unset: notary\'s two warnings as notices and <cwd>/.notary; ~ is an error', async () => {
  const w = await world();
  let c = await loadConfig({}, {}, w.cwd, 'notary');
  assert.deepEqual(c.notices, [
    'cannot get current user home directory: environment variable not set',
    `notary will use ${join(w.cwd, '.notary')} to store configuration and keys`,
  ]);
  assert.equal(c.trustDir, join(w.cwd, '.notary'));
  c = await loadConfig({}, { HOME: '' }, w.cwd, 'dtrust');
  assert.equal(c.notices[1], `dtrust will use ${join(w.cwd, '.notary')} to store configuration and keys`);
  assert.equal(c.trustDir, join(w.cwd, '.notary'));
  // The config file then lives in <cwd>/.notary too.
  await writeConfig(join(w.cwd, '.notary', 'config.json'), { remote_server: { url: 'https://cwd-config' } });
  c = await loadConfig({}, {}, w.cwd, 'notary');
  assert.equal(c.serverUrl, 'https://cwd-config');
  await assert.rejects(loadConfig({ trustDir: '~/x' }, {}, w.cwd, 'notary'), (e) => isConfigError(e, 'HOME_UNSET') && !!e.hint);
  // DOCKER_CONFIG still gives dtrust its trust dir.
  c = await loadConfig({}, { DOCKER_CONFIG: '/dc' }, w.cwd, 'dtrust');
  assert.equal(c.trustDir, '/dc/trust');
});

test('log level: -D wins over -v', async () => {
  const w = await world();
  const level = async (f: GlobalFlags): Promise<string> => (await loadConfig(f, w.env, w.cwd, 'dtrust')).logLevel;
  assert.equal(await level({}), 'warning');
  assert.equal(await level({ verbose: true }), 'info');
  assert.equal(await level({ debug: true }), 'debug');
  assert.equal(await level({ debug: true, verbose: true }), 'debug');
});

test('one notice when the default trust dir has no keys and the other default has some', async () => {
  const w = await world();
  const docker = join(w.home, '.docker', 'trust');
  const notary = join(w.home, '.notary');
  await addKeys(notary, 2);
  await addKeys(notary, 1, 'root_keys'); // legacy layout counts too
  let c = await loadConfig({}, w.env, w.cwd, 'dtrust');
  assert.deepEqual(c.notices, ['note: no keys in ~/.docker/trust/private, but ~/.notary/private has 3 keys; pass -d ~/.notary to use them']);
  // Not when the trust dir was chosen explicitly.
  c = await loadConfig({ trustDir: docker }, w.env, w.cwd, 'dtrust');
  assert.deepEqual(c.notices, []);
  const cfg = await writeConfig(join(w.home, 'c.json'), { trust_dir: '.docker/trust' });
  c = await loadConfig({ configFile: cfg }, w.env, w.cwd, 'dtrust');
  assert.deepEqual(c.notices, []);
  // Not when the chosen dir has keys.
  await addKeys(docker, 1);
  c = await loadConfig({}, w.env, w.cwd, 'dtrust');
  assert.deepEqual(c.notices, []);

  // The other way round for the notary program.
  const w2 = await world();
  await addKeys(join(w2.home, '.docker', 'trust'), 1);
  c = await loadConfig({}, w2.env, w2.cwd, 'notary');
  assert.deepEqual(c.notices, ['note: no keys in ~/.notary/private, but ~/.docker/trust/private has 1 key; pass -d ~/.docker/trust to use them']);
  // With DOCKER_CONFIG outside HOME the path is shown in full.
  const dc = join(w2.cwd, 'dockercfg');
  await addKeys(join(dc, 'trust'), 2);
  c = await loadConfig({}, { ...w2.env, DOCKER_CONFIG: dc }, w2.cwd, 'notary');
  assert.deepEqual(c.notices, [`note: no keys in ~/.notary/private, but ${join(dc, 'trust', 'private')} has 2 keys; pass -d ${join(dc, 'trust')} to use them`]);
});

test('a relative cwd is a caller bug', async () => {
  await assert.rejects(loadConfig({}, {}, 'relative', 'dtrust'), (e) => isConfigError(e, 'BAD_CWD'));
});
