// docker's verbs under both program names (issue 12 item 4): they use docker's trust directory
// ($DOCKER_CONFIG/trust, else ~/.docker/trust; -d overrides) whether run as `dtrust` or through a
// `notary` symlink, so two docker users with their own DOCKER_CONFIG and one HOME never share
// keys; notary's verbs run as `notary` keep ~/.notary. And `key generate`: run as `notary` it is
// notary's verb only (checked against the real notary); run as `dtrust` an argument that is
// neither an algorithm nor clearly a signer name is refused.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NOTARY_BIN, runDtrust, runProcess, type EnvMap, type RunResult } from '../rig/notary.js';
import { useNotaryServer } from '../rig/server.js';
import { tempDir } from '../rig/tmp.js';

const notary = useNotaryServer();

const IMAGE = 'registry.example.test/team/app';
const DIGEST = `sha256:${'ab'.repeat(32)}`;

type Name = 'dtrust' | 'notary';

function show(r: RunResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/** docker's environment: the trust server, docker's passphrase variables and none of notary's. */
function dockerEnv(extra: EnvMap = {}): EnvMap {
  return {
    DOCKER_CONTENT_TRUST_SERVER: notary().url,
    DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'docker-root-passphrase',
    DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'docker-repository-passphrase',
    DTRUST_KDF_ITERATIONS: '2048',
    NOTARY_ROOT_PASSPHRASE: undefined,
    NOTARY_TARGETS_PASSPHRASE: undefined,
    NOTARY_SNAPSHOT_PASSPHRASE: undefined,
    NOTARY_DELEGATION_PASSPHRASE: undefined,
    ...extra,
  };
}

function run(as: Name, home: string, args: string[], env: EnvMap = {}, cwd?: string): Promise<RunResult> {
  return runDtrust(args, { home, invokeAs: as, env: { DTRUST_KDF_ITERATIONS: '2048', ...env }, ...(cwd ? { cwd } : {}), timeoutMs: 60_000 });
}

async function ok(as: Name, home: string, args: string[], env: EnvMap = {}, cwd?: string): Promise<RunResult> {
  const r = await run(as, home, args, env, cwd);
  assert.equal(r.code, 0, `${as} ${args.join(' ')}\n${show(r)}`);
  return r;
}

function keyFiles(trustDir: string): string[] {
  const dir = join(trustDir, 'private');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.key')) : [];
}

function cached(trustDir: string, gun: string): boolean {
  return existsSync(join(trustDir, 'tuf', gun, 'metadata', 'root.json'));
}

for (const as of ['notary', 'dtrust'] as const) {
  describe(`docker verbs run as ${as}`, () => {
    test('sign and inspect use $DOCKER_CONFIG/trust: two docker users with one HOME share no keys', async () => {
      const home = await tempDir('names-home-');
      const alice = join(home, 'alice-docker');
      const bob = join(home, 'bob-docker');
      const gun = `${IMAGE}-${as}`;

      const signed = await ok(as, home, ['sign', `${gun}:v1`, '--digest', DIGEST, '--size', '512'], dockerEnv({ DOCKER_CONFIG: alice }));
      assert.match(signed.stdout, new RegExp(`^Successfully signed ${gun.replace(/\./g, '\\.')}:v1$`, 'm'));
      assert.equal(keyFiles(join(alice, 'trust')).length, 2, 'root and targets keys in $DOCKER_CONFIG/trust/private');
      assert.ok(cached(join(alice, 'trust'), gun));
      assert.equal(existsSync(join(home, '.notary')), false, 'nothing in ~/.notary');
      assert.equal(existsSync(join(home, '.docker')), false, 'nothing in ~/.docker');

      const ins = await ok(as, home, ['inspect', `${gun}:v1`], dockerEnv({ DOCKER_CONFIG: bob }));
      assert.equal((JSON.parse(ins.stdout) as { SignedTags: unknown[] }[])[0]!.SignedTags.length, 1);
      assert.ok(cached(join(bob, 'trust'), gun), "inspect caches in bob's $DOCKER_CONFIG/trust");
      assert.deepEqual(keyFiles(join(bob, 'trust')), []);

      // bob holds none of alice's keys: he cannot sign her repository.
      const denied = await run(as, home, ['trust', 'sign', `${gun}:v2`, '--digest', DIGEST, '--size', '512'], dockerEnv({ DOCKER_CONFIG: bob }));
      assert.equal(denied.code, 1, show(denied));
      assert.match(denied.stdout + denied.stderr, /\* fatal: failed to sign .*: this machine does not hold the repository \(targets\) key of /);
      assert.equal(existsSync(join(home, '.notary')), false);

      // Without DOCKER_CONFIG: ~/.docker/trust; -d still overrides.
      await ok(as, home, ['inspect', `${gun}:v1`], dockerEnv({ DOCKER_CONFIG: undefined }));
      assert.ok(cached(join(home, '.docker', 'trust'), gun));
      const explicit = join(home, 'explicit');
      await ok(as, home, ['-d', explicit, 'trust', 'inspect', `${gun}:v1`], dockerEnv({ DOCKER_CONFIG: bob }));
      assert.ok(cached(explicit, gun));
      assert.equal(existsSync(join(home, '.notary')), false);
    });

    test('trust key generate and key load put signer keys in $DOCKER_CONFIG/trust', async () => {
      const home = await tempDir('names-home-');
      const config = join(home, 'docker-config');
      await ok(as, home, ['trust', 'key', 'generate', 'alice'], dockerEnv({ DOCKER_CONFIG: config }));
      assert.equal(keyFiles(join(config, 'trust')).length, 1);
      assert.ok(existsSync(join(home, 'alice.pub')));
      const pem = join(home, 'ci.pem');
      await writeFile(pem, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      await ok(as, home, ['key', 'load', '--name', 'ci', pem], dockerEnv({ DOCKER_CONFIG: config }));
      assert.equal(keyFiles(join(config, 'trust')).length, 2);
      assert.equal(existsSync(join(home, '.notary')), false);
    });
  });
}

test('run as notary, notary verbs keep ~/.notary beside docker verbs', async () => {
  const home = await tempDir('names-home-');
  const config = join(home, 'docker-config');
  await ok('notary', home, ['trust', 'key', 'generate', 'alice'], dockerEnv({ DOCKER_CONFIG: config }));
  const list = await ok('notary', home, ['key', 'list'], { DOCKER_CONFIG: config });
  assert.match(list.stdout, /No signing keys found/);
  assert.match(list.stderr, /note: no keys in ~\/\.notary\/private, but .*docker-config\/trust\/private has 1 key/);
});

describe('key generate: one meaning per command line', () => {
  test('run as notary it is notary\'s verb only: the real notary\'s error for an unknown algorithm, nothing created', async () => {
    for (const line of [['key', 'generate', 'bogus'], ['key', 'generate', 'alice'], ['key', 'generate', 'ecdsa256'], ['key', 'generate', 'alice', '--dir', '.']]) {
      const home = await tempDir('names-home-');
      const ours = await run('notary', home, line, { DOCKER_CONFIG: undefined });
      const theirs = await runProcess(NOTARY_BIN, line, { env: { PATH: process.env['PATH'], HOME: home }, cwd: home });
      assert.equal(theirs.code, 1, show(theirs));
      assert.equal(ours.code, theirs.code, `${line.join(' ')}\n${show(ours)}`);
      // The fatal line on stdout, as notary's; dtrust lists the algorithms it can generate.
      const fatal = theirs.stdout.trimEnd();
      assert.ok(ours.stdout.startsWith(fatal), `${line.join(' ')}: ours ${JSON.stringify(ours.stdout)}, notary ${JSON.stringify(theirs.stdout)}`);
      assert.match(fatal, /\* fatal: (Algorithm not allowed, possible values are: ECDSA|unknown flag: --dir)$/);
      assert.deepEqual(readdirSync(home), [], `${line.join(' ')} created nothing`);
    }
  });

  test('run as dtrust: algorithms are notary\'s, clear signer names docker\'s, anything else is refused naming both', async () => {
    const home = await tempDir('names-home-');
    const config = join(home, 'docker-config');
    const env = dockerEnv({ DOCKER_CONFIG: config, NOTARY_ROOT_PASSPHRASE: 'notary-root-passphrase', NOTARY_DELEGATION_PASSPHRASE: 'notary-delegation-pass' });
    const trust = join(config, 'trust');
    const refused = async (args: string[], message: RegExp): Promise<void> => {
      const before = keyFiles(trust).length;
      const r = await run('dtrust', home, ['key', 'generate', ...args], env);
      assert.equal(r.code, 1, `${args.join(' ')}\n${show(r)}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(keyFiles(trust).length, before, `${args.join(' ')} created no key`);
    };

    assert.match((await ok('dtrust', home, ['key', 'generate', 'ECDSA'], env)).stdout, /^Generated new ecdsa root key with keyID: [0-9a-f]{64}$/m);
    assert.match((await ok('dtrust', home, ['key', 'generate', 'bogus'], env)).stdout, /^Successfully generated and loaded private key\. Corresponding public key available: .*bogus\.pub$/m);
    assert.ok(existsSync(join(home, 'bogus.pub')));
    // A signer named like an algorithm, with docker's own flag.
    const dir = join(home, 'pub');
    await mkdir(dir);
    await ok('dtrust', home, ['key', 'generate', 'rsa', '--dir', dir], env);
    assert.ok(existsSync(join(dir, 'rsa.pub')));
    assert.equal(keyFiles(trust).length, 3);

    const algorithm = /\* fatal: Algorithm not allowed, possible values are: ECDSA, ED25519, RSA\n {2}hint: .*dtrust trust key generate NAME/;
    await refused(['ecdsa256'], algorithm);
    await refused(['P-256'], algorithm);
    await refused(['rsa-4096'], algorithm);
    await refused(['alice', '-r', 'targets/releases'], algorithm);
    await refused(['Alice'], /\* fatal: key generate: "Alice" is neither a key algorithm \(ecdsa, ed25519, rsa\) nor a signer name .*\n {2}hint: .*dtrust trust key generate NAME/);
    await refused(['my.key'], /is neither a key algorithm/);
    await refused(['alice', '-o', join(home, 'x'), '--dir', dir], /--dir is for a docker signer key, -o and -r for a notary key/);
    assert.equal(existsSync(join(home, 'x-key.pem')), false);
    assert.equal(existsSync(join(home, '.notary')), false);
  });
});
