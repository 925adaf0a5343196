// verify-image: parse, resolve through docker/resolve.ts, print the trusted reference (or one
// JSON object), and exit with the gate's codes.

import { resolve } from 'node:path';
import { readRootCert, type RootOfTrust } from '../../client/rootoftrust.js';
import { parseImageReference } from '../../docker/reference.js';
import { gateFailure, resolveImage, type TrustedImage } from '../../docker/resolve.js';
import type { Ctx } from '../app.js';
import { openDockerRepo } from '../docker-session.js';
import { UsageError } from '../errors.js';
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
  const t = await resolveImage(d, {
    anchor,
    roles: strings(o.requireRole),
    signers: strings(o.requireSigner),
    strict: o.strict === true,
    noRegistry: o.registry === false,
  });
  const out = ctx.app.output;
  if (t.trust === 'tofu') out.log('warning', `the root of ${t.gun} was not checked against a pinned root: ${t.how}`);
  if (t.capturedAt !== undefined) out.log('warning', `answer as of the archive's capture time ${t.capturedAt}`);
  if (o.json) out.out(JSON.stringify(gateJson(ref.original, t), null, 2) + '\n');
  else out.out(`${t.reference}\n`);
}

async function rootOfTrust(ctx: Ctx, o: Opts): Promise<RootOfTrust> {
  const keys = strings(o.rootKey);
  const cert = typeof o.rootCert === 'string' ? o.rootCert : undefined;
  if (keys.length > 0 && cert !== undefined) throw new UsageError('--root-key and --root-cert are two ways to name the root of trust: give one');
  for (const k of keys) if (!/^[a-fA-F0-9]{64}$/.test(k)) throw new UsageError(`--root-key ${JSON.stringify(k)}: expected a 64-character hexadecimal key ID`, false);
  if (keys.length > 0) return { kind: 'keys', ids: keys };
  if (cert !== undefined) return readRootCert(resolve(ctx.app.cwd, cert));
  return { kind: 'config', pinning: (await ctx.config()).trustPinning };
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
  return j;
}
