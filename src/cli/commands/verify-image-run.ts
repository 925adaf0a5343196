// verify-image: parse, resolve through docker/resolve.ts, print the trusted reference (or one
// JSON object), and exit with the gate's codes.

import { resolve } from 'node:path';
import { parseImageReference } from '../../docker/reference.js';
import { gateFailure, resolveImage, type Collection, type TrustedImage } from '../../docker/resolve.js';
import type { Ctx } from '../app.js';
import { openDockerRepo } from '../docker-session.js';
import { UsageError } from '../errors.js';
import { rootOfTrust } from '../root-of-trust.js';
import { GATE_EXIT } from '../exit-codes.js';

type Opts = Record<string, unknown>;

const strings = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

export async function verifyImage(ctx: Ctx, args: string[]): Promise<void> {
  ctx.app.exitCodeOf = (e) => GATE_EXIT[gateFailure(e)];
  const o: Opts = ctx.cmd.opts();
  if (args.length !== 1) throw new UsageError(`"verify-image" requires exactly 1 argument (an image reference).`);
  const ref = parseImageReference(args[0]!);
  const anchor = await rootOfTrust(ctx, o);
  const d = await openDockerRepo(ctx, ref);
  const archive = typeof o.archive === 'string' ? o.archive : undefined;
  const collection = archive !== undefined ? await archivedCollection(ctx, archive, d.gun) : undefined;
  const cosignKey = typeof o.cosignKey === 'string' ? await (await import('../../docker/cosign-keys.js')).loadCosignPublicKey(resolve(ctx.app.cwd, o.cosignKey)) : undefined;
  const t = await resolveImage(d, {
    anchor,
    roles: strings(o.requireRole),
    signers: strings(o.requireSigner),
    strict: o.strict === true,
    noRegistry: o.registry === false,
    ...(collection ? { collection } : {}),
    ...(cosignKey ? { cosignKey } : {}),
  });
  const out = ctx.app.output;
  if (t.trust === 'tofu') out.log('warning', `the root of ${t.gun} was not checked against a pinned root: ${t.how}`);
  if (o.json) out.out(JSON.stringify(gateJson(ref.original, t), null, 2) + '\n');
  else out.out(`${t.reference}\n`);
}

/** The JSON object of docs/admission.md (schema version 1). */
export function gateJson(image: string, t: TrustedImage): Record<string, unknown> {
  const j: Record<string, unknown> = {
    schemaVersion: 1,
    image,
    repository: t.repository,
    gun: t.gun,
    tag: t.tag,
    digest: t.digest,
    size: t.size,
    reference: t.reference,
    role: t.role,
    signers: t.signers,
    rootKeyIds: t.rootKeyIds,
    rootOfTrust: t.trust,
    rootOfTrustFrom: t.how,
    expires: t.expires,
    source: t.source,
  };
  if (t.capturedAt !== undefined) j['capturedAt'] = t.capturedAt;
  j['registry'] = t.registryCheck
    ? { checked: true, url: t.registryCheck.registry, mediaType: t.registryCheck.mediaType, ...(t.registryCheck.platforms ? { platforms: t.registryCheck.platforms } : {}) }
    : { checked: false };
  if (t.cosign) j['cosign'] = { verified: true, manifest: t.cosign.manifest };
  return j;
}

/** The repository from a trust archive; its root is checked by the gate itself (not twice here). */
async function archivedCollection(ctx: Ctx, file: string, gun: string): Promise<Collection> {
  const c = await (await import('../archive-read.js')).fromArchive(ctx, file, gun, { kind: 'tofu' });
  return { builder: c.builder, source: 'archive', capturedAt: c.capturedAt };
}
