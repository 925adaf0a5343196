// cosign's older layout (cosign 1 and 2 without bundles; cosign's specs/SIGNATURE_SPEC.md), for
// verifiers that read only that: the tag `sha256-<hex>.sig` names one OCI image manifest whose
// layers are simple-signing payloads (`application/vnd.dev.cosign.simplesigning.v1+json`), each
// with its base64 ECDSA signature in the layer annotation `dev.cosignproject.cosign/signature`.
// The payload names the digest in `critical.image.docker-manifest-digest`, and carries the DCT
// provenance in `optional`. Another signature for the same digest is kept: the new one is added
// as one more layer. Pushed with @sigstore/oci's registry client; load this module with import().

import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { RegistryClient as OciRegistry } from '@sigstore/oci/dist/registry.js';
import { RemoteError } from '../remote/errors.js';
import type { RegistryClient } from '../remote/registry.js';
import { DockerError } from './errors.js';
import type { SignAndAttach } from './cosign-attach.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
const SIGNATURE_TYPE = 'cosign container image signature';
const MAX_PAYLOAD = 64 * 1024;

/** `sha256:<hex>` → `sha256-<hex>.sig`. */
export function signatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

/** The simple-signing payload cosign signs for an image. */
export function simpleSigningPayload(reference: string, digest: string, optional: Record<string, string>): Buffer {
  return Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': reference }, image: { 'docker-manifest-digest': digest }, type: SIGNATURE_TYPE }, optional }), 'utf8');
}

interface Layer {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The layers of the `.sig` manifest of `digest` (none when there is no such tag). */
async function existingLayers(client: RegistryClient, digest: string): Promise<Layer[]> {
  let bytes: Buffer;
  try {
    bytes = (await client.manifest(signatureTag(digest))).bytes;
  } catch (e) {
    if (e instanceof RemoteError && e.code === 'NOT_FOUND') return [];
    throw e;
  }
  const v: unknown = JSON.parse(bytes.toString('utf8'));
  const layers = isObject(v) && Array.isArray(v['layers']) ? (v['layers'] as unknown[]) : [];
  return layers.filter((l): l is Layer => isObject(l) && typeof l['mediaType'] === 'string' && typeof l['digest'] === 'string' && typeof l['size'] === 'number');
}

/** True when the layer is a simple-signing payload for `digest` signed by `publicKey`. */
async function layerVerifies(client: RegistryClient, layer: Layer, digest: string, publicKey: KeyObject): Promise<boolean> {
  const sig = layer.annotations?.[SIGNATURE_ANNOTATION];
  if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE || typeof sig !== 'string') return false;
  const payload = await client.blob(layer.digest, MAX_PAYLOAD);
  if (!verify('sha256', payload, publicKey, Buffer.from(sig, 'base64'))) return false;
  try {
    const p = JSON.parse(payload.toString('utf8')) as { critical?: { image?: Record<string, unknown>; type?: unknown } };
    return p.critical?.type === SIGNATURE_TYPE && p.critical.image?.['docker-manifest-digest'] === digest;
  } catch {
    return false;
  }
}

/** As a bundle is attached, with the provenance in the payload's `optional` section instead of annotations. */
export type LegacySign = Omit<SignAndAttach, 'annotations'> & { optional: Record<string, string> };

/** Adds a signature of `digest` to its `.sig` manifest unless one made with the key is there. */
export async function signLegacy(o: LegacySign): Promise<{ status: 'attached' | 'already-signed' | 'would-attach'; manifest?: string }> {
  return o.exclusive ? o.exclusive(() => signLegacyNow(o)) : signLegacyNow(o);
}

async function signLegacyNow(o: LegacySign): Promise<{ status: 'attached' | 'already-signed' | 'would-attach'; manifest?: string }> {
  const layers = await existingLayers(o.client, o.digest);
  for (const l of layers) {
    if (await layerVerifies(o.client, l, o.digest, o.publicKey)) return { status: 'already-signed', manifest: signatureTag(o.digest) };
  }
  if (o.dryRun) return { status: 'would-attach' };
  const payload = simpleSigningPayload(`${o.registryHost}/${o.repository}`, o.digest, o.optional);
  const signature = sign('sha256', payload, o.privateKey).toString('base64');
  const host = o.registryHost.endsWith('docker.io') ? 'registry-1.docker.io' : o.registryHost;
  const oci = new OciRegistry(host, o.repository);
  try {
    const creds = await o.credentials();
    if (creds) await oci.signIn({ username: creds.username, password: creds.password });
    const payloadDesc = await oci.uploadBlob(payload);
    const all: Layer[] = [...layers, { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: payloadDesc.digest, size: payload.length, annotations: { [SIGNATURE_ANNOTATION]: signature } }];
    const config = Buffer.from(JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: all.map((l) => l.digest) } }), 'utf8');
    const configDesc = await oci.uploadBlob(config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDesc.digest, size: config.length },
      layers: all,
    });
    await oci.uploadManifest(manifest, { reference: signatureTag(o.digest), mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    return { status: 'attached', manifest: `sha256:${createHash('sha256').update(manifest).digest('hex')}` };
  } catch (e) {
    throw new DockerError('ATTACH', `could not push the signature ${signatureTag(o.digest)} to ${o.registryHost}/${o.repository}: ${e instanceof Error ? e.message : String(e)}`, {
      hint: `check that docker's login for ${o.registryHost} may push to ${o.repository} (docker login ${o.registryHost})`,
    }, e);
  }
}
