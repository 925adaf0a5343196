// verify-image, the gate, against the REAL registry and the REAL notary-server: one trusted
// digest in docker's pull order, the root of trust (pinned or TOFU, said), required signers,
// the registry's answer (a moved tag is refused naming both digests; an index lists its
// platforms), and distinct exit codes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runDtrust, type EnvMap, type RunResult } from '../rig/notary.js';
import { buildOciImage, skopeoPush, useRegistry, type Registry } from '../rig/registry.js';
import { useNotaryServer } from '../rig/server.js';
import { makeTempDir, tempDir } from '../rig/tmp.js';

const notary = useNotaryServer();
const registry = useRegistry();

interface Actor {
  home: string;
  config: string;
  env: EnvMap;
}

async function actor(): Promise<Actor> {
  const home = await makeTempDir('dtrust-gate-home-');
  const config = await makeTempDir('dtrust-gate-config-');
  return {
    home,
    config,
    env: {
      DOCKER_CONFIG: config,
      DOCKER_CONTENT_TRUST_SERVER: notary().url,
      DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'gate-root-passphrase',
      DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'gate-repository-passphrase',
      DTRUST_KDF_ITERATIONS: '2048',
    },
  };
}

function dt(a: Actor, args: string[], env: EnvMap = {}): Promise<RunResult> {
  return runDtrust(args, { home: a.home, env: { ...a.env, ...env }, timeoutMs: 60_000 });
}

function show(r: RunResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

async function dtOk(a: Actor, args: string[], env: EnvMap = {}): Promise<RunResult> {
  const r = await dt(a, args, env);
  assert.equal(r.code, 0, `dtrust ${args.join(' ')}\n${show(r)}`);
  return r;
}

async function pushed(reg: Registry, repo: string, tag: string, content: string, opts: { index?: boolean } = {}) {
  const img = await buildOciImage(tag, content, opts);
  await skopeoPush(img, reg, repo, tag);
  return img;
}

async function rootKeyIds(a: Actor, gun: string): Promise<string[]> {
  const root = JSON.parse(await readFile(join(a.config, 'trust', 'tuf', gun, 'metadata', 'root.json'), 'utf8')) as { signed: { roles: { root: { keyids: string[] } } } };
  return root.signed.roles.root.keyids;
}

describe('verify-image', () => {
  test('one trusted digest, TOFU said, a pinned root key accepted and a wrong one refused, a moved tag refused', async () => {
    const reg = registry();
    const owner = await actor();
    const image = `${reg.host}/gate/app`;
    const img = await pushed(reg, 'gate/app', 'v1', 'gate build 1');
    await dtOk(owner, ['sign', `${image}:v1`]);

    const ok = await dtOk(owner, ['verify-image', `${image}:v1`]);
    assert.equal(ok.stdout, `${image}@${img.digest}\n`);
    assert.match(ok.stderr, /was not checked against a pinned root: trust on first use/);

    const [rootId] = await rootKeyIds(owner, image);
    const j = await dtOk(owner, ['verify-image', '--json', '--root-key', rootId!, `${image}:v1`]);
    const o = JSON.parse(j.stdout) as Record<string, unknown>;
    assert.equal(o['digest'], img.digest);
    assert.equal(o['reference'], `${image}@${img.digest}`);
    assert.equal(o['tag'], 'v1');
    assert.equal(o['role'], 'targets');
    assert.deepEqual(o['signers'], []);
    assert.deepEqual(o['rootKeyIds'], [rootId]);
    assert.equal(o['rootOfTrust'], 'pinned');
    assert.equal(o['source'], 'server');
    assert.equal((o['registry'] as Record<string, unknown>)['checked'], true);
    assert.match(String(o['expires']), /^\d{4}-\d{2}-\d{2}T/);
    assert.doesNotMatch(j.stderr, /trust on first use/);

    // The digest reference resolves to the tag that names it.
    const byDigest = await dtOk(owner, ['verify-image', `${image}@${img.digest}`]);
    assert.equal(byDigest.stdout, `${image}@${img.digest}\n`);

    // A wrong pinned root: refused as untrusted (3), nothing on stdout. A fresh machine, too.
    const wrong = await dt(owner, ['verify-image', '--root-key', 'a'.repeat(64), `${image}:v1`]);
    assert.equal(wrong.code, 3, show(wrong));
    assert.equal(wrong.stdout, '');
    assert.match(wrong.stderr, /is not the pinned root/);
    const stranger = await actor();
    const fresh = await dt(stranger, ['verify-image', '--root-key', 'b'.repeat(64), `${image}:v1`]);
    assert.equal(fresh.code, 3, show(fresh));
    const pinnedFresh = await dtOk(stranger, ['verify-image', '--root-key', rootId!, `${image}:v1`]);
    assert.equal(pinnedFresh.stdout, `${image}@${img.digest}\n`);

    // trust_pinning in the configuration is a root of trust as well.
    const cfg = join(await tempDir('dtrust-gate-cfg-'), 'config.json');
    await writeFile(cfg, JSON.stringify({ trust_pinning: { certs: { [image]: ['c'.repeat(64)] } } }));
    const pinnedWrong = await dt(owner, ['-c', cfg, 'verify-image', `${image}:v1`]);
    assert.equal(pinnedWrong.code, 3, show(pinnedWrong));

    // The tag moved in the registry after signing: refused, naming both digests.
    const moved = await pushed(reg, 'gate/app', 'v1', 'gate build 2 (unsigned)');
    const mv = await dt(owner, ['verify-image', `${image}:v1`]);
    assert.equal(mv.code, 3, show(mv));
    assert.equal(mv.stdout, '');
    assert.match(mv.stderr, new RegExp(`serves ${moved.digest} for ${image.replace(/\./g, '\\.')}:v1, but the trusted digest is ${img.digest}`));
    // --no-registry: the trust data alone.
    const noReg = await dtOk(owner, ['verify-image', '--no-registry', `${image}:v1`]);
    assert.equal(noReg.stdout, `${image}@${img.digest}\n`);

    // Not signed at all: untrusted.
    const unsigned = await dt(owner, ['verify-image', `${image}:nope`]);
    assert.equal(unsigned.code, 3, show(unsigned));
    assert.match(unsigned.stderr, /no trusted signature for .*:nope/);
  });

  test('signers and roles a policy requires; an index with its platforms; the registry-to-server map', async () => {
    const reg = registry();
    const owner = await actor();
    const alice = await actor();
    const image = `${reg.host}/gate/multi`;
    await pushed(reg, 'gate/multi', 'v0', 'multi 0');
    await dtOk(owner, ['sign', `${image}:v0`]);
    const work = await tempDir('dtrust-gate-alice-');
    await dtOk(alice, ['trust', 'key', 'generate', 'alice', '--dir', work]);
    await dtOk(owner, ['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', image]);
    const idx = await pushed(reg, 'gate/multi', 'v1', 'multi 1', { index: true });
    await dtOk(alice, ['sign', `${image}:v1`]);

    const j = await dtOk(alice, ['verify-image', '--json', '--require-signer', 'alice', '--require-role', 'targets/releases', `${image}:v1`]);
    const o = JSON.parse(j.stdout) as Record<string, unknown>;
    assert.equal(o['digest'], idx.digest);
    assert.equal(o['role'], 'targets/releases');
    assert.deepEqual(o['signers'], ['alice']);
    const r = o['registry'] as { mediaType: string; platforms: { digest: string; platform: { architecture: string } }[] };
    assert.equal(r.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(r.platforms.map((p) => p.platform.architecture), ['amd64', 'arm64']);

    const bob = await dt(alice, ['verify-image', '--require-signer', 'bob', `${image}:v1`]);
    assert.equal(bob.code, 3, show(bob));
    assert.match(bob.stderr, /not signed by the required signer bob/);
    // v0 was signed into targets before alice existed: no signer.
    const v0 = await dt(alice, ['verify-image', '--require-signer', 'alice', `${image}:v0`]);
    assert.equal(v0.code, 3, show(v0));

    // The registry -> trust server map of the configuration (no DOCKER_CONTENT_TRUST_SERVER).
    const cfg = join(await tempDir('dtrust-gate-map-'), 'config.json');
    await writeFile(cfg, JSON.stringify({ trust_servers: { [reg.host]: notary().url } }));
    const stranger = await actor();
    const mapped = await dtOk(stranger, ['-c', cfg, 'verify-image', `${image}:v1`], { DOCKER_CONTENT_TRUST_SERVER: undefined });
    assert.equal(mapped.stdout, `${image}@${idx.digest}\n`);
  });

  test('exit codes: unreachable (4) with --strict, the cache without it; usage (2)', async () => {
    const reg = registry();
    const owner = await actor();
    const image = `${reg.host}/gate/offline`;
    const img = await pushed(reg, 'gate/offline', 'v1', 'offline 1');
    await dtOk(owner, ['sign', `${image}:v1`]);
    await dtOk(owner, ['verify-image', `${image}:v1`]); // the gate's host has seen the repository
    const down = { DOCKER_CONTENT_TRUST_SERVER: 'http://127.0.0.1:9' };
    const strict = await dt(owner, ['verify-image', '--strict', `${image}:v1`], down);
    assert.equal(strict.code, 4, show(strict));
    const cached = await dtOk(owner, ['verify-image', '--json', `${image}:v1`], down);
    assert.equal((JSON.parse(cached.stdout) as Record<string, unknown>)['source'], 'cache');
    assert.equal((JSON.parse(cached.stdout) as Record<string, unknown>)['digest'], img.digest);
    const stranger = await actor();
    const nothing = await dt(stranger, ['verify-image', `${image}:v1`], down);
    assert.equal(nothing.code, 4, show(nothing));

    for (const args of [['verify-image'], ['verify-image', '--bogus', `${image}:v1`], ['verify-image', 'bad//ref:v1'], ['verify-image', '--root-key', 'short', `${image}:v1`]]) {
      const r = await dt(owner, args);
      assert.equal(r.code, 2, `${args.join(' ')}\n${show(r)}`);
    }
  });
});
