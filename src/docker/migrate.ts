// `migrate IMAGE|GUN...` (issue 17): carries the trust Docker Content Trust verified forward to
// cosign's signatures. For every signed tag, the digest `docker pull` would trust (the root pinned
// or trusted on first use, said per repository), checked against what the registry serves for the
// tag now (a tag moved since it was signed is reported and never signed), then signed with the
// cosign key and attached as cosign 3 attaches it, with the DCT provenance in the attached
// manifest's annotations. A digest that already carries a bundle verifying with the key is left
// alone, so a re-run (or a run after an interrupted one) pushes only what is missing.

import { describeError } from '../client/errors.js';
import { RemoteError } from '../remote/errors.js';
import type { RegistryClient } from '../remote/registry.js';
import { pinRule } from '../tuf/rootcerts.js';
import { signAndAttach } from './cosign-attach.js';
import type { CosignKeyPair } from './cosign-keys.js';
import { wrapError } from './errors.js';
import { refreshRepo, type DockerRepo } from './repository.js';
import { provenanceOf, trustedTags, type TrustedTag } from './resolve.js';

/** Root files are small; the cache read only asks whether one is there. */
const ROOT_PROBE_MAX = 1024 * 1024;
const ANNOTATION = 'dev.dtrust.dct';

export interface MigrateOptions {
  repos: readonly DockerRepo[];
  key: CosignKeyPair;
  /** `bundle` (cosign 3, BUNDLE_SPEC) or `legacy` (the `.sig` tag of SIGNATURE_SPEC). */
  format: 'bundle' | 'legacy';
  /** Only tags this delegation (name without `targets/`) signs with the trusted digest. */
  requireSigner?: string;
  dryRun: boolean;
  /** Registry requests in flight at once. */
  concurrency: number;
  now: number;
  /** Told of every row as soon as it is decided. */
  onRow?: (row: MigrateRow, done: number, total: number) => void;
}

/** `failed`: this digest could not be signed or attached (`reason`); the others went on. */
export type RowStatus = 'attached' | 'already-signed' | 'would-attach' | 'skipped' | 'failed';

export interface MigrateRow {
  /** The image name as given, without tag. */
  repository: string;
  gun: string;
  tag: string;
  /** The trusted digest (empty when the tag is not signed at all). */
  digest: string;
  role: string;
  signers: string[];
  /** How the repository's root was trusted. */
  root: string;
  rootKeyIds: string[];
  targetsVersion: number;
  status: RowStatus;
  /** Why a tag was skipped. */
  reason?: string;
  /** The attached manifest carrying the bundle (new or found). */
  manifest?: string;
}

export interface MigrateReport {
  rows: MigrateRow[];
  /** Repositories that failed as a whole (trust data or registry unreachable, ...). */
  failed: { repository: string; message: string; hint?: string }[];
}

/** At most `n` of the functions run at once. */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async (fn) => {
    if (active >= n) await new Promise<void>((resolve) => queue.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

function repositoryOf(d: DockerRepo): string {
  const s = d.ref.original;
  const slash = s.lastIndexOf('/');
  const at = s.indexOf('@');
  const base = at >= 0 ? s.slice(0, at) : s;
  const colon = base.lastIndexOf(':');
  return colon > slash ? base.slice(0, colon) : base;
}

/** How the root of this repository is trusted, in words for the report. */
function rootTrust(d: DockerRepo, hadCachedRoot: boolean): string {
  const rule = pinRule(d.gun, d.pinning);
  if (rule.kind === 'certs') return `pinned (trust_pinning certs ${rule.entry})`;
  if (rule.kind === 'ca') return `pinned (trust_pinning ca ${rule.prefix})`;
  return hadCachedRoot ? 'TOFU (root trusted since an earlier contact)' : 'TOFU (first contact: root trusted on first use now)';
}

export async function migrate(o: MigrateOptions): Promise<MigrateReport> {
  const report: MigrateReport = { rows: [], failed: [] };
  const net = limiter(Math.max(1, o.concurrency));
  let done = 0;
  let total = 0;
  const emit = (row: MigrateRow): void => {
    report.rows.push(row);
    done++;
    o.onRow?.(row, done, total);
  };
  await Promise.all(
    o.repos.map(async (d) => {
      try {
        const plan = await net(() => resolveRepo(d));
        total += plan.tags.length + plan.missing.length;
        await migrateRepo(d, plan, o, net, emit);
      } catch (e) {
        const w = wrapError(e, `cannot migrate ${repositoryOf(d)}`);
        report.failed.push({ repository: repositoryOf(d), message: w.message, ...(w.hint ? { hint: w.hint } : {}) });
      }
    }),
  );
  report.rows.sort((a, b) => (a.repository === b.repository ? (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0) : a.repository < b.repository ? -1 : 1));
  return report;
}

interface RepoPlan {
  tags: TrustedTag[];
  missing: string[];
  base: Pick<MigrateRow, 'repository' | 'gun' | 'root' | 'rootKeyIds' | 'targetsVersion'>;
}

/** The repository's trust data, verified, and the tags to migrate. */
async function resolveRepo(d: DockerRepo): Promise<RepoPlan> {
  const hadCachedRoot = (await d.cache.read('root', ROOT_PROBE_MAX)) !== undefined;
  const remote = await d.connect('pull');
  let builder;
  try {
    builder = await refreshRepo(d, remote);
  } finally {
    remote.close();
  }
  const all = trustedTags(builder);
  const wanted = d.ref.tag;
  const tags = wanted === undefined ? all : all.filter((t) => t.tag === wanted);
  const missing = wanted !== undefined && tags.length === 0 ? [wanted] : [];
  const p = provenanceOf(builder);
  return { tags, missing, base: { repository: repositoryOf(d), gun: d.gun, root: rootTrust(d, hadCachedRoot), rootKeyIds: p.rootKeyIds, targetsVersion: p.targetsVersion } };
}

async function migrateRepo(d: DockerRepo, plan: RepoPlan, o: MigrateOptions, net: <T>(fn: () => Promise<T>) => Promise<T>, emit: (row: MigrateRow) => void): Promise<void> {
  const row = (t: TrustedTag, status: RowStatus, extra: Partial<MigrateRow> = {}): MigrateRow => ({
    ...plan.base,
    tag: t.tag,
    digest: t.digest,
    role: t.role,
    signers: t.signers,
    status,
    ...extra,
  });
  for (const tag of plan.missing) emit({ ...plan.base, tag, digest: '', role: '', signers: [], status: 'skipped', reason: 'the tag is not signed in DCT' });
  const eligible: TrustedTag[] = [];
  for (const t of plan.tags) {
    if (o.requireSigner !== undefined && !t.signers.includes(o.requireSigner)) {
      emit(row(t, 'skipped', { reason: `not signed by ${o.requireSigner} (signers: ${t.signers.length > 0 ? t.signers.join(', ') : 'none, Repo Admin only'})` }));
    } else eligible.push(t);
  }
  if (eligible.length === 0) return;
  const registry = await net(() => d.registry());
  try {
    // The registry must still serve the trusted digest for the tag.
    const served = await Promise.all(eligible.map((t) => net(() => servedDigest(registry, t))));
    const byDigest = new Map<string, TrustedTag[]>();
    eligible.forEach((t, i) => {
      const s = served[i]!;
      if (s !== t.digest) {
        emit(row(t, 'skipped', { reason: s === null ? 'the registry does not have the tag any more' : `the tag moved: the registry serves ${s}, DCT signed ${t.digest}; not signed` }));
        return;
      }
      byDigest.set(t.digest, [...(byDigest.get(t.digest) ?? []), t]);
    });
    // Pushes to one repository go one at a time: concurrent uploads of the same blob (the
    // empty config every bundle manifest names) made registry 2.8 refuse manifests.
    const push = limiter(1);
    await Promise.all(
      [...byDigest].map(([digest, tags]) =>
        net(async () => {
          const common = { client: registry, registryHost: d.ref.domain, repository: d.ref.path, digest, ...o.key, credentials: d.credentials, dryRun: o.dryRun, exclusive: push };
          try {
            const r =
              o.format === 'legacy'
                ? await (await import('./cosign-legacy.js')).signLegacy({ ...common, optional: provenanceAnnotations(plan, tags, o.now) })
                : await signAndAttach({ ...common, annotations: provenanceAnnotations(plan, tags, o.now) });
            for (const t of tags) emit(row(t, r.status, r.manifest ? { manifest: r.manifest } : {}));
          } catch (e) {
            const { message, hint } = describeError(e);
            for (const t of tags) emit(row(t, 'failed', { reason: `${message}${hint ? ` (${hint})` : ''}` }));
          }
        }),
      ),
    );
  } finally {
    registry.close();
  }
}

/** What the registry serves for the tag now; null when it has no such tag. */
async function servedDigest(registry: RegistryClient, t: TrustedTag): Promise<string | null> {
  try {
    return (await registry.manifest(t.tag)).digest;
  } catch (e) {
    if (e instanceof RemoteError && e.code === 'NOT_FOUND') return null;
    throw e;
  }
}

/** The DCT provenance of a signature, on the attached manifest. */
function provenanceAnnotations(plan: RepoPlan, tags: readonly TrustedTag[], now: number): Record<string, string> {
  const uniq = (xs: string[]): string => [...new Set(xs)].join(',');
  return {
    'org.opencontainers.image.created': new Date(now).toISOString(),
    [`${ANNOTATION}.gun`]: plan.base.gun,
    [`${ANNOTATION}.tags`]: uniq(tags.map((t) => t.tag)),
    [`${ANNOTATION}.roles`]: uniq(tags.map((t) => t.role)),
    [`${ANNOTATION}.signers`]: uniq(tags.flatMap((t) => t.signers)),
    [`${ANNOTATION}.root-key-ids`]: plan.base.rootKeyIds.join(','),
    [`${ANNOTATION}.targets-version`]: String(plan.base.targetsVersion),
    [`${ANNOTATION}.root`]: plan.base.root,
  };
}
