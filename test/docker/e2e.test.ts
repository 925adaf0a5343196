// The docker trust verbs end to end, against the REAL registry (Debian docker-registry, images
// pushed with skopeo) and the REAL notary-server, cross-checked with the REAL notary client.
// Every dtrust run is non-interactive: only environment variables, as in CI.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotaryClient, runDtrust, type EnvMap, type RunResult } from '../rig/notary.js';
import { buildOciImage, dockerConfigWithLogin, skopeoPush, useRegistry, type Registry } from '../rig/registry.js';
import { useNotaryServer } from '../rig/server.js';
import { makeTempDir, tempDir } from '../rig/tmp.js';

const ROOT_PASS = 'docker-root-passphrase';
const REPO_PASS = 'docker-repository-passphrase';

const notary = useNotaryServer();
const registry = useRegistry();

/** A docker user: its own HOME and DOCKER_CONFIG (trust dir = DOCKER_CONFIG/trust). */
interface Actor {
  home: string;
  config: string;
  env: EnvMap;
}

async function actor(config?: string, extra: EnvMap = {}): Promise<Actor> {
  const home = await makeTempDir('dtrust-docker-home-');
  const cfg = config ?? (await makeTempDir('dtrust-docker-config-'));
  return {
    home,
    config: cfg,
    env: {
      DOCKER_CONFIG: cfg,
      DOCKER_CONTENT_TRUST_SERVER: notary().url,
      DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: ROOT_PASS,
      DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: REPO_PASS,
      DTRUST_KDF_ITERATIONS: '2048',
      // docker's variables only: none of notary's.
      NOTARY_ROOT_PASSPHRASE: undefined,
      NOTARY_TARGETS_PASSPHRASE: undefined,
      NOTARY_SNAPSHOT_PASSPHRASE: undefined,
      NOTARY_DELEGATION_PASSPHRASE: undefined,
      ...extra,
    },
  };
}

function dt(a: Actor, args: string[], env: EnvMap = {}, cwd?: string): Promise<RunResult> {
  return runDtrust(args, { home: a.home, env: { ...a.env, ...env }, ...(cwd ? { cwd } : {}), timeoutMs: 60_000 });
}

function show(r: RunResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

async function dtOk(a: Actor, args: string[], env: EnvMap = {}, cwd?: string): Promise<RunResult> {
  const r = await dt(a, args, env, cwd);
  assert.equal(r.code, 0, `dtrust ${args.join(' ')}\n${show(r)}`);
  return r;
}

async function notaryClient(): Promise<NotaryClient> {
  return NotaryClient.create({ serverUrl: notary().url });
}

async function pushed(reg: Registry, repo: string, tag: string, content: string, opts: { index?: boolean } = {}) {
  const img = await buildOciImage(tag, content, opts);
  await skopeoPush(img, reg, repo, tag);
  return img;
}

async function onlyKeyId(config: string): Promise<string> {
  const names = (await readdir(join(config, 'trust', 'private'))).filter((n) => n.endsWith('.key'));
  assert.equal(names.length, 1, names.join(','));
  return names[0]!.slice(0, -4);
}

async function keyFileWithRole(config: string, role: string): Promise<string> {
  const dir = join(config, 'trust', 'private');
  for (const n of await readdir(dir)) {
    const text = await readFile(join(dir, n), 'utf8');
    if (new RegExp(`^role: ${role}$`, 'm').test(text)) return text;
  }
  throw new Error(`no ${role} key in ${dir}`);
}

describe('sign after push', () => {
  test('the real notary lookup shows the manifest digest and size; inspect has docker schema; revoke removes it', async () => {
    const reg = registry();
    const owner = await actor();
    const image = `${reg.host}/team/app`;
    const gun = image;
    const img = await pushed(reg, 'team/app', 'v1', 'first build');

    const r = await dtOk(owner, ['sign', `${image}:v1`]);
    assert.match(r.stdout, new RegExp(`^v1: digest: ${img.digest} size: ${img.size}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^Successfully signed ${gun.replace(/\./g, '\\.')}:v1$`, 'm'));
    assert.match(r.stdout, /^Finished initializing "/m);
    assert.match(r.stderr, /no registry login .* no signer was created/);

    const nc = await notaryClient();
    const look = await nc.runOk(['lookup', gun, 'v1']);
    assert.equal(look.stdout, `v1 ${img.digest} ${img.size}\n`);

    // Running it again changes nothing.
    const again = await dtOk(owner, ['trust', 'sign', `${image}:v1`]);
    assert.match(again.stdout, /already signed with this digest in targets; nothing to publish/);

    // inspect: docker's JSON schema, with root.json's key IDs.
    const ins = await dtOk(owner, ['inspect', `${image}:v1`]);
    const parsed = JSON.parse(ins.stdout) as unknown[];
    assert.equal(parsed.length, 1);
    const repo = parsed[0] as Record<string, unknown>;
    assert.deepEqual(Object.keys(repo), ['Name', 'SignedTags', 'Signers', 'AdministrativeKeys']);
    assert.equal(repo['Name'], `${image}:v1`);
    assert.deepEqual(repo['SignedTags'], [{ SignedTag: 'v1', Digest: img.hex, Signers: ['Repo Admin'] }]);
    assert.deepEqual(repo['Signers'], []);
    const root = JSON.parse(await readFile(join(nc.trustDir, 'tuf', gun, 'metadata', 'root.json'), 'utf8')) as {
      signed: { roles: Record<string, { keyids: string[] }> };
    };
    assert.deepEqual(repo['AdministrativeKeys'], [
      { Name: 'Root', Keys: root.signed.roles['root']!.keyids.map((ID) => ({ ID })) },
      { Name: 'Repository', Keys: root.signed.roles['targets']!.keyids.map((ID) => ({ ID })) },
    ]);
    assert.ok(ins.stdout.startsWith('[\n    {\n        "Name": '), ins.stdout);
    const pretty = await dtOk(owner, ['trust', 'inspect', '--pretty', image]);
    assert.match(pretty.stdout, new RegExp(`^v1 {11}${img.hex} {3}\\(Repo Admin\\)$`, 'm'));
    assert.match(pretty.stdout, /^ {2}Root Key:\t[0-9a-f]{64}$/m);

    // A new build pushed under the same tag: sign signs what the registry holds now.
    const img2 = await pushed(reg, 'team/app', 'v1', 'second build');
    const r2 = await dtOk(owner, ['sign', `${image}:v1`]);
    assert.match(r2.stdout, new RegExp(`^v1: digest: ${img2.digest} size: ${img2.size}$`, 'm'));
    assert.match(r2.stdout, new RegExp(`^Existing signatures for tag v1 digest ${img.hex} from:$`, 'm'));
    assert.match(r2.stderr, /was signed for digest .* signing the new digest/);
    assert.equal((await nc.runOk(['lookup', gun, 'v1'])).stdout, `v1 ${img2.digest} ${img2.size}\n`);

    // revoke: without a tag and without -y, nobody can confirm: refused naming the flag, nothing changes.
    const cancel = await dt(owner, ['revoke', image]);
    assert.equal(cancel.code, 1, show(cancel));
    assert.equal(cancel.stdout, `Confirm you would like to delete all signature data for ${image}? [y/N] \n`);
    assert.equal(
      cancel.stderr,
      '\n* fatal: standard input is not a terminal and gave no answer: pass --yes to revoke every signed tag without the question\n' +
        `  hint: or answer through standard input: echo y | dtrust revoke ${image}\n`,
    );
    const declined = await runDtrust(['revoke', image], { home: owner.home, env: owner.env, input: 'n\n' });
    assert.equal(declined.code, 1, show(declined));
    assert.match(declined.stderr, /\* fatal: trust revoke has been cancelled/);
    const rv = await dtOk(owner, ['revoke', '-y', `${image}:v1`]);
    assert.match(rv.stdout, new RegExp(`^Successfully deleted signature for ${image.replace(/\./g, '\\.')}:v1$`, 'm'));
    const gone = await nc.run(['lookup', gun, 'v1']);
    assert.notEqual(gone.code, 0, show(gone));
    const after = JSON.parse((await dtOk(owner, ['inspect', image])).stdout) as { SignedTags: unknown[] }[];
    assert.deepEqual(after[0]!.SignedTags, []);
    const nothing = await dt(owner, ['revoke', '-y', `${image}:v1`]);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /could not remove signature for .*:v1: No valid trust data for v1/);
  });

  test('manifest lists (OCI indexes) are signable', async () => {
    const reg = registry();
    const owner = await actor();
    const img = await pushed(reg, 'team/multi', 'v1', 'multi-arch', { index: true });
    const r = await dtOk(owner, ['sign', `${reg.host}/team/multi:v1`]);
    assert.match(r.stdout, new RegExp(`^v1: digest: ${img.digest} size: ${img.size}$`, 'm'));
    const nc = await notaryClient();
    assert.equal((await nc.runOk(['lookup', `${reg.host}/team/multi`, 'v1'])).stdout, `v1 ${img.digest} ${img.size}\n`);
  });

  test('--digest and --size sign without contacting the registry', async () => {
    const owner = await actor();
    const hexd = 'c0ffee'.padEnd(64, '0');
    // Port 9 on loopback: nothing listens there, so any registry request would fail.
    const r = await dtOk(owner, ['sign', '--digest', `sha256:${hexd}`, '--size', '1234', '127.0.0.1:9/offline/app:v7']);
    assert.match(r.stdout, new RegExp(`^v7: digest: sha256:${hexd} size: 1234 \\(from --digest, not checked against the registry\\)$`, 'm'));
    const nc = await notaryClient();
    assert.equal((await nc.runOk(['lookup', '127.0.0.1:9/offline/app', 'v7'])).stdout, `v7 sha256:${hexd} 1234\n`);
    const half = await dt(owner, ['sign', '--digest', `sha256:${hexd}`, '127.0.0.1:9/offline/app:v8']);
    assert.equal(half.code, 1);
    assert.match(half.stderr, /--digest and --size go together/);
    const digestRef = await dt(owner, ['sign', `127.0.0.1:9/offline/app@sha256:${hexd}`]);
    assert.match(digestRef.stderr, /cannot use a digest reference for IMAGE:TAG/);
    const noTag = await dt(owner, ['sign', '127.0.0.1:9/offline/app']);
    assert.match(noTag.stderr, /no tag specified for 127\.0\.0\.1:9\/offline\/app/);
    const local = await dt(owner, ['sign', '--local', '127.0.0.1:9/offline/app:v1']);
    assert.match(local.stderr, /--local .* dtrust does not use/);
  });

  test('changes staged with notary in the same trust directory are kept, not published', async () => {
    const reg = registry();
    const owner = await actor();
    const image = `${reg.host}/team/staged`;
    await pushed(reg, 'team/staged', 'v1', 'staged 1');
    await dtOk(owner, ['sign', `${image}:v1`]);
    const file = join(owner.home, 'payload.txt');
    await writeFile(file, 'staged by notary\n');
    const real = await NotaryClient.create({ serverUrl: notary().url, home: owner.home, trustDir: join(owner.config, 'trust') });
    await real.runOk(['add', image, 'notary-target', file], { env: { NOTARY_TARGETS_PASSPHRASE: REPO_PASS } });
    await pushed(reg, 'team/staged', 'v2', 'staged 2');
    const r = await dtOk(owner, ['sign', `${image}:v2`]);
    assert.match(r.stderr, /1 unpublished change is staged for .*kept/);
    const status = await dtOk(owner, ['status', image]);
    assert.match(status.stdout, /notary-target/);
    const nc = await notaryClient();
    await nc.runOk(['lookup', image, 'v2']);
    assert.notEqual((await nc.run(['lookup', image, 'notary-target'])).code, 0);
  });
});

describe('signers', () => {
  test('signer add/remove change delegations as docker does; the owner is told how to become a signer', async () => {
    const reg = registry();
    const owner = await actor();
    const alice = await actor();
    const image = `${reg.host}/team/signed`;
    const nc = await notaryClient();
    await pushed(reg, 'team/signed', 'v1', 'signed 1');
    await dtOk(owner, ['sign', `${image}:v1`]);

    const work = await tempDir('dtrust-alice-work-');
    const gen = await dtOk(alice, ['trust', 'key', 'generate', 'alice', '--dir', work]);
    assert.match(gen.stdout, /^Generating key for alice\.\.\.$/m);
    assert.match(gen.stdout, new RegExp(`Corresponding public key available: ${join(work, 'alice.pub')}$`, 'm'));
    const pub = await readFile(join(work, 'alice.pub'), 'utf8');
    assert.match(pub, /^-----BEGIN PUBLIC KEY-----\nrole: alice\n\n/);
    const aliceId = await onlyKeyId(alice.config);
    const dup = await dt(alice, ['trust', 'key', 'generate', 'alice', '--dir', work]);
    assert.match(dup.stderr, /public key file already exists: ".*alice\.pub"/);

    const add = await dtOk(owner, ['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', image]);
    assert.equal(add.stdout, `Adding signer "alice" to ${image}...\nSuccessfully added signer: alice to ${image}\n\n`);
    const dl = await nc.runOk(['delegation', 'list', image]);
    assert.match(dl.stdout, new RegExp(`^targets/alice\\s+"" <all paths>\\s+${aliceId}\\s+1\\s*$`, 'm'));
    assert.match(dl.stdout, new RegExp(`^targets/releases\\s+"" <all paths>\\s+${aliceId}\\s+1\\s*$`, 'm'));

    // The seed workflow: the owner holds root and targets keys but no signer key.
    await pushed(reg, 'team/signed', 'v2', 'signed 2');
    const seed = await dt(owner, ['sign', `${image}:v2`]);
    assert.equal(seed.code, 1, show(seed));
    assert.match(seed.stderr, /failed to sign .*:v2: this machine holds no key of the signer roles/);
    assert.match(seed.stderr, new RegExp(`targets/releases \\(keys ${aliceId.slice(0, 12)}\\)`));
    assert.match(seed.stderr, /hint: you hold the repository \(targets\) key/);
    assert.match(seed.stderr, new RegExp(`dtrust trust key generate <yourname> && dtrust signer add --key <yourname>\\.pub <yourname> ${image.replace(/\./g, '\\.')}`));
    assert.doesNotMatch(seed.stderr, /fatal: [^\n]*no valid signing keys for delegation roles\n/);

    // The signer signs: into targets/alice and targets/releases.
    const as = await dtOk(alice, ['sign', `${image}:v2`]);
    assert.match(as.stdout, /Successfully signed/);
    const img2 = JSON.parse((await dtOk(owner, ['inspect', `${image}:v2`])).stdout) as { SignedTags: unknown; Signers: unknown }[];
    assert.equal((img2[0]!.SignedTags as { Signers: string[] }[])[0]!.Signers[0], 'alice');
    assert.deepEqual(img2[0]!.Signers, [{ Name: 'alice', Keys: [{ ID: aliceId }] }]);
    const list = await nc.runOk(['list', image]);
    assert.match(list.stdout, /^v2\s+[0-9a-f]{64}\s+\d+\s+targets\/(releases|alice)\s*$/m);

    // The owner becomes a signer as the hint says, then can sign.
    const ownerWork = await tempDir('dtrust-owner-work-');
    await dtOk(owner, ['trust', 'key', 'generate', 'owner'], {}, ownerWork);
    await dtOk(owner, ['signer', 'add', '--key', 'owner.pub', 'owner', image], {}, ownerWork);
    await pushed(reg, 'team/signed', 'v3', 'signed 3');
    await dtOk(owner, ['sign', `${image}:v3`]);

    // Removing alice: not the last signer of releases any more (owner signed v3 into releases).
    const rm = await dtOk(owner, ['signer', 'remove', 'alice', image]);
    assert.match(rm.stdout, new RegExp(`^Removing signer "alice" from ${image.replace(/\./g, '\\.')}\\.\\.\\.\\nSuccessfully removed alice from`, 'm'));
    const dl2 = await nc.runOk(['delegation', 'list', image]);
    assert.doesNotMatch(dl2.stdout, /targets\/alice/);
    assert.doesNotMatch(dl2.stdout, new RegExp(aliceId));
    assert.match(dl2.stdout, /targets\/owner/);
    const none = await dt(owner, ['signer', 'remove', 'alice', image]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no signer alice for repository/);
    assert.match(none.stderr, /error removing signer from: /);
    const reserved = await dt(owner, ['signer', 'add', '--key', join(ownerWork, 'owner.pub'), 'releases', image]);
    assert.match(reserved.stderr, /releases is a reserved keyword, use a different signer name/);
    const badName = await dt(owner, ['signer', 'add', '--key', join(ownerWork, 'owner.pub'), 'Bad', image]);
    assert.match(badName.stderr, /signer name "Bad" must start with lowercase alphanumeric characters/);
    const noKey = await dt(owner, ['signer', 'add', 'bob', image]);
    assert.match(noKey.stderr, /path to a public key must be provided using the `--key` flag/);
  });

  test('removing the last releases signer asks first; -f removes it', async () => {
    const reg = registry();
    const owner = await actor();
    const bob = await actor();
    const image = `${reg.host}/team/last`;
    const work = await tempDir('dtrust-bob-work-');
    await dtOk(bob, ['trust', 'key', 'generate', 'bob', '--dir', work]);
    // signer add on a repository that does not exist yet initialises it, as docker does.
    const add = await dtOk(owner, ['trust', 'signer', 'add', '--key', join(work, 'bob.pub'), 'bob', image]);
    assert.match(add.stdout, new RegExp(`^Initializing signed repository for ${image.replace(/\./g, '\\.')}\\.\\.\\.\\nSuccessfully initialized "${image.replace(/\./g, '\\.')}"$`, 'm'));
    // Nothing released yet: docker refuses ("all signed tags are currently revoked"); dtrust removes.
    await pushed(reg, 'team/last', 'v1', 'last 1');
    await dtOk(bob, ['sign', `${image}:v1`]);
    // No terminal and no answer: refused naming the flag (docker prints `Aborting action.`, exit 0).
    const ask = await dt(owner, ['signer', 'remove', 'bob', image]);
    assert.equal(ask.code, 1, show(ask));
    assert.ok(ask.stdout.endsWith(`The signer "bob" signed the last released version of ${image}. Removing this signer will make ${image} unpullable. Are you sure you want to continue? [y/N] \n`), show(ask));
    assert.equal(
      ask.stderr,
      'standard input is not a terminal and gave no answer: pass --yes to remove bob without the question\n' +
        `  hint: or answer through standard input: echo y | dtrust signer remove bob ${image}\n\n` +
        `\n* fatal: error removing signer from: ${image}\n  hint: the reason for each repository is printed above\n`,
    );
    const nc = await notaryClient();
    assert.match((await nc.runOk(['delegation', 'list', image])).stdout, /targets\/bob/);
    const no = await runDtrust(['signer', 'remove', 'bob', image], { home: owner.home, env: owner.env, input: 'n\n' });
    assert.equal(no.code, 0, show(no));
    assert.match(no.stdout, /Aborting action\./);
    // -f removes without the question (docker >= v26 would do nothing at all: cli.md §12 #29).
    const forced = await dtOk(owner, ['signer', 'remove', '-f', 'bob', image]);
    assert.doesNotMatch(forced.stdout, /Are you sure/);
    assert.match(forced.stdout, /Successfully removed bob from/);
    const dl = (await nc.runOk(['delegation', 'list', image])).stdout;
    assert.doesNotMatch(dl, /targets\/bob/);
    assert.match(dl, /^targets\/releases\s+"" <all paths>\s+1\s*$/m);
  });
});

describe('docker credentials and non-interactive runs', () => {
  const authReg = useRegistry({ auth: { username: 'ci', password: 'ci-registry-pass' } });

  test('the registry login in config.json is used; the first sign creates the signer as docker does', async () => {
    const reg = authReg();
    const image = `${reg.host}/team/private`;
    const img = await pushed(reg, 'team/private', 'v1', 'private 1');
    const anon = await actor();
    const denied = await dt(anon, ['sign', `${image}:v1`]);
    assert.equal(denied.code, 1, show(denied));
    assert.match(denied.stderr, /refused access to team\/private:v1/);
    assert.match(denied.stderr, new RegExp(`docker login ${reg.host.replace(/\./g, '\\.')}`));

    const cfg = await dockerConfigWithLogin(reg.host, 'ci', 'ci-registry-pass');
    const ci = await actor(cfg);
    const r = await dtOk(ci, ['sign', `${image}:v1`]);
    assert.match(r.stdout, new RegExp(`^v1: digest: ${img.digest} size: ${img.size}$`, 'm'));
    assert.match(r.stdout, /^Created signer: ci$/m);
    assert.match(r.stdout, new RegExp(`^Finished initializing signed repository for ${image.replace(/\./g, '\\.')}:v1$`, 'm'));
    const nc = await notaryClient();
    assert.equal((await nc.runOk(['lookup', image, 'v1'])).stdout, `v1 ${img.digest} ${img.size}\n`);
    const dl = await nc.runOk(['delegation', 'list', image]);
    assert.match(dl.stdout, /^targets\/ci\s/m);
    assert.match(dl.stdout, /^targets\/releases\s/m);
    const ins = JSON.parse((await dtOk(ci, ['inspect', `${image}:v1`])).stdout) as { SignedTags: { Signers: string[] }[] }[];
    assert.deepEqual(ins[0]!.SignedTags[0]!.Signers, ['ci']);
  });

  test('a missing passphrase fails at once and names the variable', async () => {
    const reg = registry();
    const a = await actor(undefined, { DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: undefined });
    // Nothing listens on port 9: the passphrase check must come before any connection.
    const t0 = Date.now();
    const r = await dt(a, ['sign', '--digest', `sha256:${'1'.repeat(64)}`, '--size', '10', '127.0.0.1:9/x/y:v1'], { DOCKER_CONTENT_TRUST_SERVER: 'http://127.0.0.1:9' });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE is not set and stdin is not a terminal/);
    assert.doesNotMatch(r.stderr, /contacting|could not reach/);
    assert.ok(Date.now() - t0 < 10_000);
    const gen = await dt(a, ['trust', 'key', 'generate', 'nopass', '--dir', a.home]);
    assert.equal(gen.code, 1, show(gen));
    assert.match(gen.stderr, /DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE/);
    assert.doesNotMatch(gen.stderr, /NOTARY_/);

    const noRoot = await actor(undefined, { DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: undefined });
    await pushed(reg, 'team/noroot', 'v1', 'no root');
    const r2 = await dt(noRoot, ['sign', `${reg.host}/team/noroot:v1`]);
    assert.equal(r2.code, 1, show(r2));
    assert.match(r2.stderr, /DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE is not set and stdin is not a terminal/);
    const nc = await notaryClient();
    assert.notEqual((await nc.run(['lookup', `${reg.host}/team/noroot`, 'v1'])).code, 0);
    // No key was created.
    assert.deepEqual(await readdir(join(noRoot.config, 'trust', 'private')).catch(() => []), []);
  });

  test('inspect of unknown repositories, and several arguments', async () => {
    const owner = await actor();
    const none = await dt(owner, ['inspect', '127.0.0.1:9/nobody/here:v1']);
    assert.equal(none.code, 1);
    assert.equal(none.stdout, '[]\n');
    assert.match(none.stderr, /no signatures or cannot access 127\.0\.0\.1:9\/nobody\/here:v1/);
    const hexd = 'ab'.repeat(32);
    await dtOk(owner, ['sign', '--digest', `sha256:${hexd}`, '--size', '5', '127.0.0.1:9/some/body:v1']);
    const two = await dt(owner, ['inspect', '127.0.0.1:9/some/body', 'NOT VALID']);
    assert.equal(two.code, 1);
    const arr = JSON.parse(two.stdout) as { Name: string }[];
    assert.deepEqual(arr.map((x) => x.Name), ['127.0.0.1:9/some/body']);
    assert.match(two.stderr, /invalid reference format/);
  });

  test('key load: private keys only, owner-only permissions, stored for the named signer', async () => {
    const a = await actor();
    const dir = await tempDir('dtrust-keyload-');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyFile = join(dir, 'ci.pem');
    await writeFile(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o644 });
    const loose = await dt(a, ['key', 'load', '--name', 'ci-bot', keyFile]);
    assert.equal(loose.code, 1);
    assert.match(loose.stderr, /refusing to load key from .*ci\.pem: private key file .*ci\.pem must not be readable or writable by others/);
    await chmod(keyFile, 0o600);
    const ok = await dtOk(a, ['key', 'load', '--name', 'ci-bot', keyFile]);
    assert.equal(ok.stdout, `Loading key from "${keyFile}"...\nSuccessfully imported key from ${keyFile}\n`);
    const id = await onlyKeyId(a.config);
    const stored = await readFile(join(a.config, 'trust', 'private', `${id}.key`), 'utf8');
    assert.match(stored, /^role: ci-bot$/m);
    const pubFile = join(dir, 'ci.pub');
    await writeFile(pubFile, publicKey.export({ format: 'pem', type: 'spki' }), { mode: 0o600 });
    const notPrivate = await dt(a, ['trust', 'key', 'load', pubFile]);
    assert.match(notPrivate.stderr, /is not a supported private key - to add a signer's public key use dtrust signer add/);
  });

  test('the CI recipe of docs/ci.md: signer key from a secret, sign without a prompt, verify with a pinned root', async () => {
    const reg = registry();
    const image = `${reg.host}/team/ci`;
    // On the owner's workstation: a key for CI, and CI made a signer (this creates the repository).
    const owner = await actor();
    const work = await tempDir('dtrust-ci-owner-');
    await dtOk(owner, ['trust', 'key', 'generate', 'ci', '--dir', work]);
    await dtOk(owner, ['signer', 'add', '--key', join(work, 'ci.pub'), 'ci', image]);
    const secret = await keyFileWithRole(owner.config, 'ci');
    // Hand the CI key over; the owner keeps root and targets.
    // In CI: no root passphrase, only the repository passphrase and the key from a secret.
    const ci = await actor(undefined, { DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: undefined });
    const keyFile = join(ci.home, 'signer.key');
    await writeFile(keyFile, secret, { mode: 0o600 });
    await dtOk(ci, ['key', 'load', '--name', 'ci', keyFile]);
    const img = await pushed(reg, 'team/ci', 'build-42', 'ci build');
    const signed = await dtOk(ci, ['sign', `${image}:build-42`]);
    assert.match(signed.stdout, new RegExp(`digest: ${img.digest} `));
    // A repository that does not exist is not created by CI: that needs the root passphrase.
    const stray = await dt(ci, ['sign', '--digest', img.digest, '--size', String(img.size), `${reg.host}/team/typo:build-42`]);
    assert.equal(stray.code, 1);
    assert.match(stray.stderr, /DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE is not set/);

    // Before deploy, on a fresh machine: the tag is signed by ci, for the digest that was pushed.
    const deployer = await actor(undefined, { DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: undefined, DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: undefined });
    const info = JSON.parse((await dtOk(deployer, ['inspect', `${image}:build-42`])).stdout) as {
      SignedTags: { SignedTag: string; Digest: string; Signers: string[] }[];
      AdministrativeKeys: { Name: string; Keys: { ID: string }[] }[];
    }[];
    const row = info[0]!.SignedTags.find((t) => t.SignedTag === 'build-42')!;
    assert.equal(row.Digest, img.hex);
    assert.ok(row.Signers.includes('ci'));
    // Pinning the root key (trust_pinning in a config file) instead of trusting on first use.
    const rootId = info[0]!.AdministrativeKeys.find((k) => k.Name === 'Root')!.Keys[0]!.ID;
    const pin = join(deployer.home, 'pin.json');
    await writeFile(pin, JSON.stringify({ trust_pinning: { certs: { [image]: [rootId] } } }));
    const fresh = await actor(undefined, { DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: undefined, DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: undefined });
    await dtOk(fresh, ['-c', pin, 'inspect', `${image}:build-42`]);
    await writeFile(pin, JSON.stringify({ trust_pinning: { certs: { [image]: ['0'.repeat(64)] } } }));
    const other = await actor(undefined, { DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: undefined, DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: undefined });
    const wrong = await dt(other, ['-c', pin, 'inspect', `${image}:build-42`]);
    assert.equal(wrong.code, 1, show(wrong));
    assert.equal(wrong.stdout, '[]\n');
  });
});
