// Sigstore bundles attached to an image as cosign 3 attaches them (cosign's specs/BUNDLE_SPEC.md):
// the bundle as a blob, an OCI 1.1 manifest with the bundle's media type as `artifactType`, the
// empty config and the image as `subject`; found through the referrers API or, on registries
// without it, the referrers tag schema (`sha256-<hex>` naming an OCI index of the referrers).
// Reading goes through dtrust's registry client (docker's credentials, TLS and endpoints);
// attaching through @sigstore/oci, which also keeps the fallback index on registries without the
// referrers API. @sigstore/oci reaches loopback registries over http and every other over https
// with the system's CAs, and signs in with the credentials given. Load this module with import()
// (see sigstore-bundle.ts).

import type { KeyObject } from 'node:crypto';
import { attachArtifactToImage } from '@sigstore/oci';
import type { Credentials } from '../remote/credentials.js';
import { RemoteError } from '../remote/errors.js';
import type { RegistryClient } from '../remote/registry.js';
import type { CosignKeyPair } from './cosign-keys.js';
import { DockerError } from './errors.js';
import type { DockerRepo } from './repository.js';
import { BUNDLE_MEDIA_TYPE, SIGN_PREDICATE, createImageBundle, verifyImageBundle } from './sigstore-bundle.js';

/** A bundle is a few kilobytes; cosign's own limit for an attached blob is far below this. */
const MAX_BUNDLE_SIZE = 1024 * 1024;
/** Referrers looked at per image before giving up (a registry flooded with attachments). */
const MAX_REFERRERS = 256;

export interface Referrer {
  digest: string;
  artifactType: string;
  annotations: Record<string, string>;
}

export interface BundleFound {
  /** The attached manifest's digest. */
  manifest: string;
  annotations: Record<string, string>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** The referrers tag of the referrers tag schema: `sha256:<hex>` → `sha256-<hex>`. */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-');
}

/** The referrers of `digest`: the referrers API, else the referrers tag schema's index (none: empty). */
export async function listReferrers(client: RegistryClient, digest: string): Promise<{ referrers: Referrer[]; api: boolean }> {
  let bytes = await client.referrers(digest);
  const api = bytes !== null;
  if (bytes === null) {
    try {
      bytes = (await client.manifest(referrersTag(digest))).bytes;
    } catch (e) {
      if (e instanceof RemoteError && e.code === 'NOT_FOUND') return { referrers: [], api };
      throw e;
    }
  }
  let index: unknown;
  try {
    index = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new DockerError('MANIFEST', `the referrers index of ${digest} in ${client.repository} is not JSON`, { hint: 'the registry holds a damaged referrers index; remove the tag ' + referrersTag(digest) });
  }
  const manifests = isObject(index) && Array.isArray(index['manifests']) ? (index['manifests'] as unknown[]) : [];
  const referrers: Referrer[] = [];
  for (const m of manifests.slice(0, MAX_REFERRERS)) {
    if (!isObject(m) || typeof m['digest'] !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(m['digest'])) continue;
    referrers.push({ digest: m['digest'], artifactType: typeof m['artifactType'] === 'string' ? m['artifactType'] : '', annotations: stringMap(m['annotations']) });
  }
  return { referrers, api };
}

/** The bundle blob an attached manifest names, when it is a bundle manifest whose subject is `digest`. */
async function bundleOf(client: RegistryClient, manifestDigest: string, digest: string): Promise<{ bytes: Buffer; annotations: Record<string, string> } | { reason: string }> {
  const m = await client.manifest(manifestDigest);
  let v: unknown;
  try {
    v = JSON.parse(m.bytes.toString('utf8'));
  } catch {
    return { reason: `${manifestDigest} is not JSON` };
  }
  if (!isObject(v) || v['artifactType'] !== BUNDLE_MEDIA_TYPE) return { reason: `${manifestDigest} is not a Sigstore bundle manifest` };
  const subject = v['subject'];
  if (!isObject(subject) || subject['digest'] !== digest) return { reason: `${manifestDigest} has another subject` };
  const layers = Array.isArray(v['layers']) ? (v['layers'] as unknown[]) : [];
  const layer = layers[0];
  if (layers.length !== 1 || !isObject(layer) || layer['mediaType'] !== BUNDLE_MEDIA_TYPE || typeof layer['digest'] !== 'string') {
    return { reason: `${manifestDigest} does not hold exactly one bundle layer` };
  }
  return { bytes: await client.blob(layer['digest'], MAX_BUNDLE_SIZE), annotations: stringMap(v['annotations']) };
}

/**
 * The attached bundles of `digest` that verify with `publicKey` (the first is enough for a
 * verifier), and why each other bundle did not.
 */
export async function findBundles(client: RegistryClient, digest: string, publicKey: KeyObject, firstOnly = false): Promise<{ found: BundleFound[]; refused: string[] }> {
  const { referrers } = await listReferrers(client, digest);
  const found: BundleFound[] = [];
  const refused: string[] = [];
  for (const r of referrers) {
    if (r.artifactType !== BUNDLE_MEDIA_TYPE) continue;
    const b = await bundleOf(client, r.digest, digest);
    if ('reason' in b) {
      refused.push(b.reason);
      continue;
    }
    const verdict = await verifyImageBundle(b.bytes, publicKey, digest);
    if (!verdict.ok) {
      refused.push(`${r.digest}: ${verdict.reason}`);
      continue;
    }
    found.push({ manifest: r.digest, annotations: b.annotations });
    if (firstOnly) break;
  }
  return { found, refused };
}

export interface AttachRequest {
  /** `host[:port]` as in the image name (docker.io for Docker Hub). */
  registryHost: string;
  /** Repository path inside the registry. */
  repository: string;
  digest: string;
  bundle: Buffer;
  annotations: Record<string, string>;
  credentials: Credentials | undefined;
}

type AttachOptions = Parameters<typeof attachArtifactToImage>[0];

/** Pushes the bundle and its manifest (and the fallback index); returns the manifest's digest. */
export async function attachBundle(r: AttachRequest): Promise<string> {
  const common = {
    imageName: `${r.registryHost}/${r.repository}`,
    imageDigest: r.digest,
    artifact: r.bundle,
    mediaType: BUNDLE_MEDIA_TYPE,
    annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': SIGN_PREDICATE, ...r.annotations },
    fetchOpts: { retry: { retries: 2 }, timeout: 60_000, proxy: undefined, noProxy: undefined },
  };
  const creds = r.credentials;
  // @sigstore/oci signs in only when credentials are given; a registry without authentication
  // must get none (its sign-in expects a challenge). Its type asks for them either way.
  const opts: AttachOptions = creds ? { ...common, credentials: { username: creds.username, password: creds.password } } : (common as unknown as AttachOptions);
  try {
    const d = await attachArtifactToImage(opts);
    return d.digest;
  } catch (e) {
    const inner = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
    throw new DockerError('ATTACH', `could not attach the signature to ${r.registryHost}/${r.repository}@${r.digest}${inner}`, {
      hint: `check that docker's login for ${r.registryHost} may push to ${r.repository} (docker login ${r.registryHost})`,
    }, e);
  }
}

/**
 * The gate's check: a bundle attached to `digest` verifies with `publicKey` and signs that digest.
 * Throws COSIGN_SIGNATURE naming why each attached bundle was refused.
 */
export async function requireCosignSignature(client: RegistryClient, digest: string, publicKey: KeyObject): Promise<BundleFound> {
  const { found, refused } = await findBundles(client, digest, publicKey, true);
  if (found[0]) return found[0];
  throw new DockerError('COSIGN_SIGNATURE', `no cosign signature attached to ${client.repository}@${digest} verifies with the public key given`, {
    hint: refused.length > 0 ? `attached signatures refused: ${refused.join('; ')}` : 'nothing is signed for this digest: sign it with dtrust migrate or dtrust sign --cosign-key',
  });
}

export interface SignAndAttach {
  client: RegistryClient;
  registryHost: string;
  repository: string;
  digest: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  annotations: Record<string, string>;
  credentials: () => Promise<Credentials | undefined>;
  dryRun?: boolean;
  /** Runs the push (one at a time per repository, see migrate.ts). */
  exclusive?: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** Signs `digest` and attaches the bundle, unless a bundle verifying with the key is there already. */
export async function signAndAttach(o: SignAndAttach): Promise<{ status: 'attached' | 'already-signed' | 'would-attach'; manifest?: string }> {
  const { found } = await findBundles(o.client, o.digest, o.publicKey, true);
  if (found[0]) return { status: 'already-signed', manifest: found[0].manifest };
  if (o.dryRun) return { status: 'would-attach' };
  const bundle = await createImageBundle(o.privateKey, `${o.registryHost}/${o.repository}`, o.digest);
  const credentials = await o.credentials();
  const attach = (): Promise<string> => attachBundle({ registryHost: o.registryHost, repository: o.repository, digest: o.digest, bundle, annotations: o.annotations, credentials });
  const manifest = await (o.exclusive ? o.exclusive(attach) : attach());
  return { status: 'attached', manifest };
}

/** `sign --cosign-key`: the digest just signed into DCT, signed and attached in cosign's layout too. */
export async function attachToImage(d: DockerRepo, digest: string, key: CosignKeyPair, tag: string, now: number): Promise<{ status: 'attached' | 'already-signed' | 'would-attach'; manifest?: string }> {
  const client = await d.registry();
  try {
    return await signAndAttach({
      client,
      registryHost: d.ref.domain,
      repository: d.ref.path,
      digest,
      ...key,
      annotations: { 'org.opencontainers.image.created': new Date(now).toISOString(), 'dev.dtrust.dct.gun': d.gun, 'dev.dtrust.dct.tags': tag },
      credentials: d.credentials,
    });
  } finally {
    client.close();
  }
}
