// The Sigstore bundle cosign 3 attaches to an image when it signs with a key (cosign's
// specs/BUNDLE_SPEC.md): a v0.3 bundle whose content is a DSSE envelope of an in-toto statement
// with the image's manifest digest as subject and cosign's signing predicate, and whose
// verification material is the public key (hint only), with no transparency log entry and no
// timestamp. Built by @sigstore/sign with a key signer, read by @sigstore/bundle and checked by
// @sigstore/verify with the log and timestamp thresholds at zero (what `cosign verify --key
// cosign.pub --insecure-ignore-tlog` checks). Load this module with import(): the Sigstore
// libraries then load only for the commands that make or check such signatures.

import { createHash, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const IN_TOTO_PAYLOAD = 'application/vnd.in-toto+json';
const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** The key hint cosign-style verifiers may show: base64 of the sha256 of the PKIX public key. */
export function keyHint(key: KeyObject): string {
  return createHash('sha256').update(createPublicKey(key).export({ format: 'der', type: 'spki' })).digest('base64');
}

/** The in-toto statement cosign signs for an image: `name` is the repository, `digest` `sha256:<hex>`. */
export function signStatement(name: string, digest: string): Buffer {
  const hex = digest.slice('sha256:'.length);
  return Buffer.from(JSON.stringify({ _type: STATEMENT_TYPE, subject: [{ name, digest: { sha256: hex } }], predicateType: SIGN_PREDICATE, predicate: {} }), 'utf8');
}

/** A bundle (JSON bytes) signing `digest` of the image `name` with the private key. */
export async function createImageBundle(privateKey: KeyObject, name: string, digest: string): Promise<Buffer> {
  const publicKey = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
  const hint = keyHint(privateKey);
  const builder = new DSSEBundleBuilder({
    witnesses: [],
    signer: { sign: async (data: Buffer) => ({ signature: sign('sha256', data, privateKey), key: { $case: 'publicKey', publicKey, hint } }) },
  });
  const bundle = await builder.create({ data: signStatement(name, digest), type: IN_TOTO_PAYLOAD });
  return Buffer.from(JSON.stringify(bundleToJSON(bundle)), 'utf8');
}

export type BundleVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Checks a bundle against the public key and the image digest: the signature (by
 * @sigstore/verify), then that the signed statement is cosign's image signature for that digest.
 */
export async function verifyImageBundle(bytes: Buffer, publicKey: KeyObject, digest: string): Promise<BundleVerdict> {
  let bundle;
  try {
    bundle = bundleFromJSON(JSON.parse(bytes.toString('utf8')));
  } catch (e) {
    return { ok: false, reason: `not a Sigstore bundle (${e instanceof Error ? e.message : String(e)})` };
  }
  const trust = toTrustMaterial(
    { mediaType: 'application/vnd.dev.sigstore.trustedroot.v0.2+json', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] },
    () => ({ publicKey, validFor: () => true }),
  );
  try {
    new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle));
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
  if (bundle.content.$case !== 'dsseEnvelope') return { ok: false, reason: 'the bundle holds a message signature, not a signed statement about the image' };
  const env = bundle.content.dsseEnvelope;
  if (env.payloadType !== IN_TOTO_PAYLOAD) return { ok: false, reason: `the payload type is ${env.payloadType}, not ${IN_TOTO_PAYLOAD}` };
  let statement: unknown;
  try {
    statement = JSON.parse(env.payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'the signed payload is not JSON' };
  }
  const s = statement as { predicateType?: unknown; subject?: unknown };
  if (s.predicateType !== SIGN_PREDICATE) return { ok: false, reason: `the predicate type is ${JSON.stringify(s.predicateType)}, not ${SIGN_PREDICATE}` };
  const hex = digest.slice('sha256:'.length);
  const subjects = Array.isArray(s.subject) ? (s.subject as unknown[]) : [];
  const covers = subjects.some((x) => typeof x === 'object' && x !== null && (x as { digest?: { sha256?: unknown } }).digest?.sha256 === hex);
  if (!covers) return { ok: false, reason: `the signed statement is about another digest, not ${digest}` };
  return { ok: true };
}

