// `migrate` end to end with the REAL notary-server and the REAL registry (Debian docker-registry
// 2.8, which has no referrers API): images signed through DCT (the repository key, and a
// delegation), one tag moved after signing, migrated to cosign's bundle layout. The result is
// checked independently of dtrust's own reading code: the registry's manifests are read over
// plain HTTP and compared with cosign's specs/BUNDLE_SPEC.md, and each bundle is verified here
// with @sigstore/verify directly, with the migration key (accepted) and another key (refused).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { requireCosignSignature } from '../../src/docker/cosign-attach.js';
import { DockerError } from '../../src/docker/errors.js';
import { RegistryClient } from '../../src/remote/registry.js';
import { runDtrust, type EnvMap, type RunResult } from '../rig/notary.js';
import { buildOciImage, skopeoPush, useRegistry, type Registry } from '../rig/registry.js';
import { useNotaryServer } from '../rig/server.js';
import { makeTempDir } from '../rig/tmp.js';

const notary = useNotaryServer();
const registry = useRegistry();

const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const COSIGN_PASSWORD = 'migration-passphrase';

interface Actor {
  home: string;
  work: string;
  env: EnvMap;
}

async function actor(): Promise<Actor> {
  const home = await makeTempDir('dtrust-migrate-home-');
  const config = await makeTempDir('dtrust-migrate-config-');
  const work = await makeTempDir('dtrust-migrate-work-');
  return {
    home,
    work,
    env: {
      DOCKER_CONFIG: config,
      DOCKER_CONTENT_TRUST_SERVER: notary().url,
      DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'root-pass',
      DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'repo-pass',
      DTRUST_KDF_ITERATIONS: '2048',
      COSIGN_PASSWORD,
    },
  };
}

function dt(a: Actor, args: string[], env: EnvMap = {}): Promise<RunResult> {
  return runDtrust(args, { home: a.home, env: { ...a.env, ...env }, cwd: a.work, timeoutMs: 120_000 });
}

async function dtOk(a: Actor, args: string[], env: EnvMap = {}): Promise<RunResult> {
  const r = await dt(a, args, env);
  assert.equal(r.code, 0, `dtrust ${args.join(' ')}\nexit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  return r;
}

async function push(reg: Registry, repo: string, tag: string, content: string): Promise<string> {
  const img = await buildOciImage(tag, content);
  const r = await skopeoPush(img, reg, repo, tag);
  assert.equal(r.code, 0, r.stderr);
  return img.digest;
}

async function get(reg: Registry, path: string, accept?: string): Promise<{ status: number; body: Buffer; type: string }> {
  const res = await fetch(`${reg.url}${path}`, accept ? { headers: { accept } } : {});
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), type: res.headers.get('content-type') ?? '' };
}

/** @sigstore/verify, used here directly: the signature over the statement, no log, no timestamp. */
function sigstoreVerifies(bundleBytes: Buffer, key: KeyObject): boolean {
  const trust = toTrustMaterial(
    { mediaType: 'application/vnd.dev.sigstore.trustedroot.v0.2+json', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] },
    () => ({ publicKey: key, validFor: () => true }),
  );
  try {
    new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundleFromJSON(JSON.parse(bundleBytes.toString('utf8')))));
    return true;
  } catch {
    return false;
  }
}

interface Layout {
  manifestDigest: string;
  manifest: Record<string, unknown>;
  bundle: Buffer;
  index: Record<string, unknown>;
}

/** What the registry holds for one signed digest, read as cosign's spec says a client finds it. */
async function attachedLayout(reg: Registry, repo: string, digest: string): Promise<Layout> {
  const referrers = await get(reg, `/v2/${repo}/referrers/${digest}`);
  assert.equal(referrers.status, 404, 'registry 2.8 has no referrers API: the fallback tag must be used');
  const idx = await get(reg, `/v2/${repo}/manifests/${digest.replace(':', '-')}`, 'application/vnd.oci.image.index.v1+json');
  assert.equal(idx.status, 200, `the referrers tag ${digest.replace(':', '-')} exists`);
  const index = JSON.parse(idx.body.toString('utf8')) as Record<string, unknown>;
  assert.equal(index['mediaType'], 'application/vnd.oci.image.index.v1+json');
  assert.equal(index['schemaVersion'], 2);
  const entries = index['manifests'] as Record<string, unknown>[];
  assert.equal(entries.length, 1, 'exactly one referrer: one signature');
  const entry = entries[0]!;
  assert.equal(entry['artifactType'], BUNDLE);
  assert.equal(entry['mediaType'], 'application/vnd.oci.image.manifest.v1+json');
  const manifestDigest = entry['digest'] as string;
  const m = await get(reg, `/v2/${repo}/manifests/${manifestDigest}`, 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(m.status, 200);
  assert.equal(`sha256:${createHash('sha256').update(m.body).digest('hex')}`, manifestDigest);
  assert.equal(entry['size'], m.body.length);
  const manifest = JSON.parse(m.body.toString('utf8')) as Record<string, unknown>;
  assert.equal(manifest['mediaType'], 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(manifest['schemaVersion'], 2);
  assert.equal(manifest['artifactType'], BUNDLE);
  assert.deepEqual(manifest['config'], { mediaType: 'application/vnd.oci.empty.v1+json', digest: `sha256:${createHash('sha256').update('{}').digest('hex')}`, size: 2 });
  const subject = manifest['subject'] as Record<string, unknown>;
  assert.equal(subject['digest'], digest);
  assert.equal(subject['mediaType'], 'application/vnd.oci.image.manifest.v1+json');
  const layers = manifest['layers'] as Record<string, unknown>[];
  assert.equal(layers.length, 1);
  assert.equal(layers[0]!['mediaType'], BUNDLE);
  const blob = await get(reg, `/v2/${repo}/blobs/${layers[0]!['digest'] as string}`);
  assert.equal(blob.status, 200);
  assert.equal(blob.body.length, layers[0]!['size']);
  const annotations = manifest['annotations'] as Record<string, string>;
  assert.equal(annotations['dev.sigstore.bundle.content'], 'dsse-envelope');
  assert.equal(annotations['dev.sigstore.bundle.predicateType'], 'https://sigstore.dev/cosign/sign/v1');
  assert.match(annotations['org.opencontainers.image.created'] ?? '', /^\d{4}-\d\d-\d\dT/);
  return { manifestDigest, manifest, bundle: blob.body, index };
}

describe('migrate: DCT-verified digests to cosign bundles', () => {
  test('delegations, a moved tag and an unsigned image; @sigstore/verify accepts the key and refuses another; a re-run pushes nothing', async () => {
    const reg = registry();
    const owner = await actor();
    const repo = 'team/app';
    const image = `${reg.host}/${repo}`;
    const d1 = await push(reg, repo, 'v1', 'one');
    const d2 = await push(reg, repo, 'v2', 'two');
    await push(reg, repo, 'moved', 'before');
    await push(reg, repo, 'unsigned', 'nobody signed this');
    // v1 with the repository key (no delegation yet), then a signer alice signs v2 and moved.
    await dtOk(owner, ['sign', `${image}:v1`]);
    await dtOk(owner, ['trust', 'key', 'generate', 'alice', '--dir', owner.work]);
    await dtOk(owner, ['signer', 'add', '--key', join(owner.work, 'alice.pub'), 'alice', image]);
    await dtOk(owner, ['sign', `${image}:v2`]);
    await dtOk(owner, ['sign', `${image}:moved`]);
    const movedTo = await push(reg, repo, 'moved', 'after: pushed over the signed tag');

    await dtOk(owner, ['migrate', 'key', 'generate', 'cosign']);
    const pub = createPublicKey(await readFile(join(owner.work, 'cosign.pub'), 'utf8'));

    const plan = await dtOk(owner, ['migrate', image, '--key', 'cosign.key', '--dry-run', '--json']);
    const planned = JSON.parse(plan.stdout) as { rows: { tag: string; status: string }[] };
    assert.deepEqual(planned.rows.map((r) => `${r.tag}:${r.status}`), ['moved:skipped', 'v1:would-attach', 'v2:would-attach']);
    assert.equal((await get(reg, `/v2/${repo}/manifests/${d1.replace(':', '-')}`)).status, 404, '--dry-run pushed nothing');

    const run = await dtOk(owner, ['migrate', image, '--key', 'cosign.key', '--json']);
    const report = JSON.parse(run.stdout) as { rows: { tag: string; digest: string; status: string; role: string; signers: string[]; manifest?: string; reason?: string; root: string }[] };
    const byTag = new Map(report.rows.map((r) => [r.tag, r]));
    assert.deepEqual([...byTag.keys()], ['moved', 'v1', 'v2']);
    assert.equal(byTag.get('v1')!.status, 'attached');
    assert.equal(byTag.get('v1')!.role, 'targets');
    assert.deepEqual(byTag.get('v1')!.signers, []);
    assert.equal(byTag.get('v2')!.status, 'attached');
    assert.equal(byTag.get('v2')!.role, 'targets/releases');
    assert.deepEqual(byTag.get('v2')!.signers, ['alice']);
    assert.equal(byTag.get('moved')!.status, 'skipped');
    assert.match(byTag.get('moved')!.reason!, new RegExp(`the tag moved: the registry serves ${movedTo}`));
    assert.match(byTag.get('v1')!.root, /^TOFU/);

    const other = createPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    for (const [tag, digest] of [['v1', d1], ['v2', d2]] as const) {
      const layout = await attachedLayout(reg, repo, digest);
      assert.equal(layout.manifestDigest, byTag.get(tag)!.manifest);
      assert.ok(sigstoreVerifies(layout.bundle, pub), `${tag}: @sigstore/verify accepts the bundle with the migration key`);
      assert.ok(!sigstoreVerifies(layout.bundle, other), `${tag}: @sigstore/verify refuses it with another key`);
      const bundle = JSON.parse(layout.bundle.toString('utf8')) as { mediaType: string; dsseEnvelope: { payload: string; payloadType: string }; verificationMaterial: Record<string, unknown> };
      assert.equal(bundle.mediaType, BUNDLE);
      assert.equal(bundle.dsseEnvelope.payloadType, 'application/vnd.in-toto+json');
      const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as { predicateType: string; subject: { digest: { sha256: string } }[] };
      assert.equal(statement.predicateType, 'https://sigstore.dev/cosign/sign/v1');
      assert.equal(statement.subject[0]!.digest.sha256, digest.slice('sha256:'.length));
      assert.ok(bundle.verificationMaterial['publicKey'], 'key-based: public key hint, no certificate');
      const ann = layout.manifest['annotations'] as Record<string, string>;
      assert.equal(ann['dev.dtrust.dct.tags'], tag);
      assert.equal(ann['dev.dtrust.dct.signers'], tag === 'v2' ? 'alice' : '');
    }
    // The moved tag's new digest and the unsigned image carry nothing.
    assert.equal((await get(reg, `/v2/${repo}/manifests/${movedTo.replace(':', '-')}`)).status, 404);

    const indexBefore = (await get(reg, `/v2/${repo}/manifests/${d1.replace(':', '-')}`)).body;
    const tagsBefore = (await get(reg, `/v2/${repo}/tags/list`)).body.toString('utf8');
    const again = await dtOk(owner, ['migrate', image, '--key', 'cosign.key', '--json']);
    const rerun = JSON.parse(again.stdout) as { rows: { tag: string; status: string; manifest?: string }[] };
    assert.deepEqual(rerun.rows.map((r) => `${r.tag}:${r.status}`), ['moved:skipped', 'v1:already-signed', 'v2:already-signed']);
    assert.equal(rerun.rows[1]!.manifest, byTag.get('v1')!.manifest);
    assert.deepEqual((await get(reg, `/v2/${repo}/manifests/${d1.replace(':', '-')}`)).body, indexBefore, 're-run pushed nothing');
    assert.equal((await get(reg, `/v2/${repo}/tags/list`)).body.toString('utf8'), tagsBefore);
    await attachedLayout(reg, repo, d1);

    // The gate's check (verify-image --cosign-key): the migrated digests pass; the moved tag's new
    // digest, the unsigned image and another key are refused.
    const client = await RegistryClient.connect({ endpoints: [{ url: reg.url }], repository: repo });
    try {
      assert.equal((await requireCosignSignature(client, d1, pub)).manifest, byTag.get('v1')!.manifest);
      await requireCosignSignature(client, d2, pub);
      const unsigned = (await client.manifest('unsigned')).digest;
      for (const [digest, key] of [[movedTo, pub], [unsigned, pub], [d1, other]] as const) {
        await assert.rejects(requireCosignSignature(client, digest, key), (e: unknown) => e instanceof DockerError && e.code === 'COSIGN_SIGNATURE');
      }
    } finally {
      client.close();
    }
    // The same through the command line: both checks must hold; a failure of either is "untrusted" (3).
    const gate = await dtOk(owner, ['verify-image', `${image}:v2`, '--cosign-key', 'cosign.pub', '--json']);
    const verdict = JSON.parse(gate.stdout) as { digest: string; cosign?: { verified: boolean; manifest: string } };
    assert.equal(verdict.digest, d2);
    assert.deepEqual(verdict.cosign, { verified: true, manifest: byTag.get('v2')!.manifest });
    await writeFile(join(owner.work, 'other.pub'), other.export({ type: 'spki', format: 'pem' }));
    const wrongKey = await dt(owner, ['verify-image', `${image}:v1`, '--cosign-key', 'other.pub']);
    assert.equal(wrongKey.code, 3, wrongKey.stderr);
    assert.equal(wrongKey.stdout, '');
    assert.match(wrongKey.stderr, new RegExp(`no cosign signature attached to ${repo}@${d1} verifies with the public key given`));
    for (const tag of ['moved', 'unsigned']) {
      const refused = await dt(owner, ['verify-image', `${image}:${tag}`, '--cosign-key', 'cosign.pub']);
      assert.equal(refused.code, 3, `${tag}: ${refused.stderr}`);
      assert.equal(refused.stdout, '');
    }

    // --require-signer: only what alice signs; the wrong passphrase is refused before anything happens.
    const alice = await dtOk(owner, ['migrate', image, '--key', 'cosign.key', '--require-signer', 'alice', '--json']);
    const rows = (JSON.parse(alice.stdout) as { rows: { tag: string; status: string }[] }).rows;
    assert.deepEqual(rows.map((r) => `${r.tag}:${r.status}`), ['moved:skipped', 'v1:skipped', 'v2:already-signed']);
    const wrong = await dt(owner, ['migrate', image, '--key', 'cosign.key'], { COSIGN_PASSWORD: 'nope' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /wrong passphrase/);
  });

  test('sign --cosign-key signs into DCT and attaches the bundle in one step; signing again attaches nothing new', async () => {
    const reg = registry();
    const a = await actor();
    const repo = 'team/both';
    const image = `${reg.host}/${repo}`;
    const digest = await push(reg, repo, 'v1', 'signed both ways');
    await dtOk(a, ['migrate', 'key', 'generate', 'ci']);
    const pub = createPublicKey(await readFile(join(a.work, 'ci.pub'), 'utf8'));
    const wrong = await dt(a, ['sign', `${image}:v1`, '--cosign-key', 'ci.key'], { COSIGN_PASSWORD: 'nope' });
    assert.equal(wrong.code, 1);
    const nothing = await dt(a, ['inspect', `${image}:v1`]);
    assert.notEqual(nothing.code, 0, 'a wrong cosign passphrase stops before DCT is published');
    const first = await dtOk(a, ['sign', `${image}:v1`, '--cosign-key', 'ci.key']);
    assert.match(first.stdout, /Successfully signed/);
    assert.match(first.stdout, new RegExp(`Attached cosign signature sha256:[a-f0-9]{64} for ${digest}`));
    const layout = await attachedLayout(reg, repo, digest);
    assert.ok(sigstoreVerifies(layout.bundle, pub));
    const second = await dtOk(a, ['sign', `${image}:v1`, '--cosign-key', 'ci.key']);
    assert.match(second.stdout, /attached already/);
    assert.equal((await attachedLayout(reg, repo, digest)).manifestDigest, layout.manifestDigest);
  });

  test('--format legacy: the sha256-<hex>.sig manifest of SIGNATURE_SPEC, a simple-signing payload with the DCT provenance; a re-run adds nothing', async () => {
    const reg = registry();
    const a = await actor();
    const repo = 'team/legacy';
    const image = `${reg.host}/${repo}`;
    const digest = await push(reg, repo, 'v1', 'for an older verifier');
    await dtOk(a, ['sign', `${image}:v1`]);
    await dtOk(a, ['migrate', 'key', 'generate', 'cosign']);
    const pub = createPublicKey(await readFile(join(a.work, 'cosign.pub'), 'utf8'));
    const first = JSON.parse((await dtOk(a, ['migrate', image, '--key', 'cosign.key', '--format', 'legacy', '--json'])).stdout) as { rows: { status: string }[] };
    assert.deepEqual(first.rows.map((r) => r.status), ['attached']);
    const sigTag = `${digest.replace(':', '-')}.sig`;
    const m = await get(reg, `/v2/${repo}/manifests/${sigTag}`, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(m.status, 200);
    const manifest = JSON.parse(m.body.toString('utf8')) as { mediaType: string; config: { mediaType: string }; layers: { mediaType: string; digest: string; annotations: Record<string, string> }[] };
    assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(manifest.config.mediaType, 'application/vnd.oci.image.config.v1+json');
    assert.equal(manifest.layers.length, 1);
    const layer = manifest.layers[0]!;
    assert.equal(layer.mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json');
    const payload = (await get(reg, `/v2/${repo}/blobs/${layer.digest}`)).body;
    const sig = Buffer.from(layer.annotations['dev.cosignproject.cosign/signature']!, 'base64');
    assert.ok(verify('sha256', payload, pub, sig), 'the ECDSA signature over the payload verifies with the migration key');
    assert.ok(!verify('sha256', payload, createPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey), sig));
    const p = JSON.parse(payload.toString('utf8')) as { critical: { identity: Record<string, string>; image: Record<string, string>; type: string }; optional: Record<string, string> };
    assert.equal(p.critical.type, 'cosign container image signature');
    assert.equal(p.critical.image['docker-manifest-digest'], digest);
    assert.equal(p.critical.identity['docker-reference'], image);
    assert.equal(p.optional['dev.dtrust.dct.tags'], 'v1');
    const again = JSON.parse((await dtOk(a, ['migrate', image, '--key', 'cosign.key', '--format', 'legacy', '--json'])).stdout) as { rows: { status: string }[] };
    assert.deepEqual(again.rows.map((r) => r.status), ['already-signed']);
    assert.deepEqual((await get(reg, `/v2/${repo}/manifests/${sigTag}`, 'application/vnd.oci.image.manifest.v1+json')).body, m.body, 're-run pushed nothing');
    const table = await dtOk(a, ['migrate', `${image}:v1`, `${image}:nope`, '--key', 'cosign.key', '--format', 'legacy']);
    assert.match(table.stdout, /^127\.0\.0\.1:\d+\/team\/legacy: TOFU \(root trusted since an earlier contact\); root key [0-9a-f]{64}; targets version \d+$/m);
    assert.match(table.stdout, new RegExp(`^already-signed +${image.replace(/\./g, '\\.')}:v1  ${digest}  targets \\(Repo Admin\\)  signature ${sigTag}$`, 'm'));
    assert.match(table.stdout, /^skipped +\S+:nope  -  +the tag is not signed in DCT$/m);
    assert.match(table.stdout, /^0 attached, 1 already signed, 1 skipped, 0 failed$/m);
  });

  test('migrate key generate: nothing is overwritten, and without COSIGN_PASSWORD or a terminal nothing is written', async () => {
    const a = await actor();
    await dtOk(a, ['migrate', 'key', 'generate', 'k']);
    const before = await readFile(join(a.work, 'k.key'), 'utf8');
    const again = await dt(a, ['migrate', 'key', 'generate', 'k']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /k\.key already exists/);
    assert.equal(await readFile(join(a.work, 'k.key'), 'utf8'), before);
    const noPass = await dt(a, ['migrate', 'key', 'generate', 'other'], { COSIGN_PASSWORD: undefined });
    assert.equal(noPass.code, 1);
    assert.match(noPass.stderr, /COSIGN_PASSWORD is not set and there is no terminal/);
    await assert.rejects(readFile(join(a.work, 'other.key')));
    const noKey = await dt(a, ['migrate', 'example.com/x']);
    assert.equal(noKey.code, 1);
    assert.match(noKey.stderr, /requires --key cosign\.key/);
  });
});
