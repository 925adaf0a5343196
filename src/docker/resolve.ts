// The gate's core (verify-image, and any caller that needs "which digest may I run"): an image
// reference resolved to exactly one trusted digest, as `docker pull` with content trust resolves
// it (notary's GetTargetByName(tag, targets/releases, targets): the releases subtree first, then
// targets and the rest of its tree), with the root checked against a root of trust (or TOFU,
// said), the signers and roles a policy may require, and the registry asked whether it still
// serves that digest for the tag (a moved tag fails naming both digests; a manifest list or OCI
// index is reported with each platform's manifest).

import type { KeyObject } from 'node:crypto';
import type { RootOfTrust, RootVerdict } from '../client/rootoftrust.js';
import { checkRootOfTrust } from '../client/rootoftrust.js';
import { RemoteError } from '../remote/errors.js';
import type { NotaryRemote } from '../remote/notary.js';
import { MEDIA_TYPES, type RegistryClient } from '../remote/registry.js';
import { StorageError } from '../storage/errors.js';
import type { TrustedCollectionBuilder } from '../tuf/builder.js';
import { TrustError } from '../tuf/errors.js';
import { formatExpires, type Expires } from '../tuf/expires.js';
import { pathAllowed } from '../tuf/roles.js';
import { targetsByName, trustedRoles, type TargetEntry } from '../tuf/walk.js';
import { DockerError } from './errors.js';
import type { ImageReference } from './reference.js';
import { refreshRepo, type DockerRepo } from './repository.js';
import { isReleasedRole, RELEASES_ROLE, sha256Hex, signerName } from './trustdata.js';

export interface Requirements {
  /** Roles that must sign the tag with the resolved digest (`targets/releases`, `targets/ci`, ...). */
  roles?: readonly string[];
  /** docker signers (`targets/NAME`) that must sign the tag with the resolved digest. */
  signers?: readonly string[];
}

/** Where the verified trust data came from. */
export type TrustSource = 'server' | 'cache' | 'archive';

export interface TrustedDigest {
  /** The repository as typed, without tag or digest. */
  repository: string;
  /** The GUN. */
  gun: string;
  /** The signed tag (for a digest reference: the trusted tag that names that digest). */
  tag: string;
  /** `sha256:<hex>`. */
  digest: string;
  size: number;
  /** The role whose signature counts (docker's pull order). */
  role: string;
  /** Delegations (names without `targets/`) that sign the same tag and digest, walk order. */
  signers: string[];
  /** The earliest expiry of the files this answer rests on (root, timestamp, snapshot, the roles). */
  expires: string;
}

export interface PlatformManifest {
  digest: string;
  mediaType: string;
  platform?: { os?: string; architecture?: string; variant?: string };
}

export interface RegistryCheck {
  registry: string;
  mediaType: string;
  /** A manifest list / OCI index: each platform's manifest, each served by the registry. */
  platforms?: PlatformManifest[];
}

export interface TrustedImage extends TrustedDigest, RootVerdict {
  /** `REPO@sha256:...`: what a deploy should run. */
  reference: string;
  source: TrustSource;
  /** The archive's capture time, when the answer comes from an archive. */
  capturedAt?: string;
  /** Absent with --no-registry. */
  registryCheck?: RegistryCheck;
  /** With --cosign-key: the attached cosign signature that verified for the trusted digest. */
  cosign?: { manifest: string };
}

/** The repository part of a reference as typed (`alpine`, `localhost:5000/team/app`). */
export function typedRepository(ref: ImageReference): string {
  let s = ref.original;
  const at = s.indexOf('@');
  if (at >= 0) s = s.slice(0, at);
  const slash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  return colon > slash ? s.slice(0, colon) : s;
}

/** Roles in docker's pull order: targets/releases and its tree, then targets and the rest of its tree. */
export function pullOrder(b: TrustedCollectionBuilder): string[] {
  const releases = trustedRoles(b, [RELEASES_ROLE]);
  const skip = new Set(releases);
  return [...releases, ...trustedRoles(b).filter((r) => !skip.has(r))];
}

function entryIn(b: TrustedCollectionBuilder, role: string, name: string): TargetEntry | undefined {
  const meta = b.targetsRoles.get(role)?.meta.targets.get(name);
  return meta && pathAllowed(name, b.pathsOf(role) ?? []) ? { name, meta, role } : undefined;
}

/** The entry docker pull uses for `name`: the first role in pull order that may and does sign it. */
function firstEntry(b: TrustedCollectionBuilder, order: string[], name: string): TargetEntry | undefined {
  for (const role of order) {
    const e = entryIn(b, role, name);
    if (e) return e;
  }
  return undefined;
}

/** The roles signing the same name and digest as `entry`, and the docker signers among them. */
function sameDigest(b: TrustedCollectionBuilder, entry: TargetEntry): { holding: Set<string>; signers: string[] } {
  const hex = sha256Hex(entry.meta);
  const same = targetsByName(b, entry.name).filter((e) => sha256Hex(e.meta) === hex);
  return { holding: new Set(same.map((e) => e.role)), signers: [...new Set(same.filter((e) => !isReleasedRole(e.role)).map((e) => signerName(e.role)))] };
}

/**
 * The one trusted digest of `ref` in a verified collection: the tag (default `latest`) in
 * docker's pull order; a digest reference must be what a trusted tag names (its own tag when one
 * is given). Then the requirements: each required role and signer signs the same tag and digest.
 */
export function trustedDigest(b: TrustedCollectionBuilder, ref: ImageReference, req: Requirements = {}): TrustedDigest {
  const repository = typedRepository(ref);
  const order = pullOrder(b);
  let entry: TargetEntry | undefined;
  const wantHex = ref.digest?.startsWith('sha256:') ? ref.digest.slice('sha256:'.length) : undefined;
  if (ref.digest !== undefined && wantHex === undefined) {
    throw new DockerError('USAGE', `${ref.original}: docker content trust signs sha256 digests only`, { hint: 'give the image by tag, or by its sha256 digest' });
  }
  if (ref.tag !== undefined || ref.digest === undefined) {
    const tag = ref.tag ?? 'latest';
    entry = firstEntry(b, order, tag);
    if (!entry) {
      throw new DockerError('NOT_SIGNED', `no trusted signature for ${repository}:${tag} in ${b.gun}`, {
        hint: `see what is signed with: dtrust inspect --pretty ${repository}`,
      });
    }
    if (wantHex !== undefined && sha256Hex(entry.meta) !== wantHex) {
      throw new DockerError('NOT_SIGNED', `${repository}:${tag} is signed for sha256:${sha256Hex(entry.meta)}, not for ${ref.digest}`, {
        hint: `deploy ${repository}@sha256:${sha256Hex(entry.meta)}, or sign the digest you want to run`,
      });
    }
  } else {
    outer: for (const role of order) {
      for (const [name, meta] of b.targetsRoles.get(role)!.meta.targets) {
        if (sha256Hex(meta) !== wantHex || !pathAllowed(name, b.pathsOf(role) ?? [])) continue;
        // The tag's own resolution must give this digest: a tag a release role moved elsewhere does not count.
        const first = firstEntry(b, order, name);
        if (first && sha256Hex(first.meta) === wantHex) {
          entry = first;
          break outer;
        }
      }
    }
    if (!entry) {
      throw new DockerError('NOT_SIGNED', `no trusted tag of ${repository} is signed for ${ref.digest}`, { hint: `see what is signed with: dtrust inspect --pretty ${repository}` });
    }
  }
  const hex = sha256Hex(entry.meta);
  const { holding, signers } = sameDigest(b, entry);
  for (const r of req.roles ?? []) {
    const role = r === 'targets' || r.startsWith('targets/') ? r : `targets/${r}`;
    if (!holding.has(role)) {
      throw new DockerError('REQUIREMENT', `${repository}:${entry.name} (sha256:${hex}) is not signed by the required role ${role}`, {
        hint: `it is signed by ${[...holding].join(', ')}; sign it into ${role}, or change --require-role`,
      });
    }
  }
  for (const s of req.signers ?? []) {
    if (!holding.has(`targets/${s}`)) {
      throw new DockerError('REQUIREMENT', `${repository}:${entry.name} (sha256:${hex}) is not signed by the required signer ${s}`, {
        hint: `its signers are ${signers.length > 0 ? signers.join(', ') : 'none (Repo Admin only)'}; ask ${s} to sign it (dtrust sign ${repository}:${entry.name} with ${s}'s key), or change --require-signer`,
      });
    }
  }
  const expiries: Expires[] = [b.root!.meta.expires, b.timestamp!.meta.expires, b.snapshot!.meta.expires];
  for (const role of holding) expiries.push(b.targetsRoles.get(role)!.meta.expires);
  for (let r = entry.role; r.includes('/'); r = r.slice(0, r.lastIndexOf('/'))) {
    const parent = b.targetsRoles.get(r.slice(0, r.lastIndexOf('/')));
    if (parent) expiries.push(parent.meta.expires);
  }
  const earliest = expiries.reduce((a, e) => (e.ms < a.ms ? e : a));
  return { repository, gun: b.gun, tag: entry.name, digest: `sha256:${hex}`, size: entry.meta.length, role: entry.role, signers, expires: formatExpires(earliest) };
}

/** A signed tag with the digest docker pull trusts for it, the role that decides it and its signers. */
export interface TrustedTag {
  tag: string;
  /** `sha256:<hex>`. */
  digest: string;
  size: number;
  role: string;
  /** Delegations (names without `targets/`) signing the same tag and digest, walk order. */
  signers: string[];
}

/** Every tag of the repository resolved as docker pull resolves it, sorted by name (migrate). */
export function trustedTags(b: TrustedCollectionBuilder): TrustedTag[] {
  const order = pullOrder(b);
  const names = new Set<string>();
  for (const role of order) for (const name of b.targetsRoles.get(role)!.meta.targets.keys()) names.add(name);
  const out: TrustedTag[] = [];
  for (const tag of [...names].sort()) {
    const entry = firstEntry(b, order, tag);
    if (entry === undefined) continue;
    const hex = sha256Hex(entry.meta);
    if (hex === '') continue;
    out.push({ tag, digest: `sha256:${hex}`, size: entry.meta.length, role: entry.role, signers: sameDigest(b, entry).signers });
  }
  return out;
}

/** The root key IDs and the targets version the answers rest on. */
export function provenanceOf(b: TrustedCollectionBuilder): { rootKeyIds: string[]; targetsVersion: number } {
  return { rootKeyIds: [...(b.root?.meta.roles.get('root')?.keyids ?? [])], targetsVersion: b.targetsRoles.get('targets')?.meta.version ?? 0 };
}

/**
 * Asks the registry what it serves for the tag: it must be the trusted digest. For a manifest
 * list or OCI index, each platform's manifest must be served too (by digest, checked).
 */
export async function checkRegistry(registry: RegistryClient, t: TrustedDigest, byDigest = false): Promise<RegistryCheck> {
  const m = await registry.manifest(byDigest ? t.digest : t.tag);
  if (m.digest !== t.digest) {
    throw new DockerError('TAG_MOVED', `the registry ${registry.baseUrl} serves ${m.digest} for ${t.repository}${byDigest ? '@' : ':'}${byDigest ? t.digest : t.tag}, but the trusted digest is ${t.digest}`, {
      hint: `the tag was moved after it was signed: deploy ${t.repository}@${t.digest}, or sign the new digest if it is meant to be released`,
    });
  }
  const check: RegistryCheck = { registry: registry.baseUrl, mediaType: m.mediaType };
  if (m.mediaType === MEDIA_TYPES.dockerList || m.mediaType === MEDIA_TYPES.ociIndex) {
    check.platforms = [];
    for (const p of platformsOf(m.bytes)) {
      const pm = await registry.manifest(p.digest);
      if (pm.digest !== p.digest) {
        throw new DockerError('TAG_MOVED', `the registry ${registry.baseUrl} sent ${pm.digest} when asked for the platform manifest ${p.digest} of ${t.repository}@${t.digest}`, {
          hint: 'the registry does not serve what the signed index names; do not deploy it',
        });
      }
      check.platforms.push(p);
    }
  }
  return check;
}

function platformsOf(bytes: Buffer): PlatformManifest[] {
  const bad = (): never => {
    throw new DockerError('MANIFEST', 'the signed manifest list / index does not parse', { hint: 'the registry holds a malformed index; do not deploy it' });
  };
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    return bad();
  }
  const list = (v as { manifests?: unknown }).manifests;
  if (!Array.isArray(list)) return bad();
  return list.map((x: unknown) => {
    const o = x as { digest?: unknown; mediaType?: unknown; platform?: unknown };
    if (typeof o.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(o.digest)) return bad();
    const p: PlatformManifest = { digest: o.digest, mediaType: typeof o.mediaType === 'string' ? o.mediaType : '' };
    const pl = o.platform as Record<string, unknown> | undefined;
    if (pl && typeof pl === 'object') {
      p.platform = {};
      if (typeof pl['os'] === 'string') p.platform.os = pl['os'];
      if (typeof pl['architecture'] === 'string') p.platform.architecture = pl['architecture'];
      if (typeof pl['variant'] === 'string') p.platform.variant = pl['variant'];
    }
    return p;
  });
}

/** A verified collection and where it came from (the server, the cache, or an archive). */
export interface Collection {
  builder: TrustedCollectionBuilder;
  source: TrustSource;
  capturedAt?: string;
}

export interface ResolveOptions extends Requirements {
  anchor: RootOfTrust;
  /** No fallback to the cache when the trust server cannot be reached. */
  strict?: boolean;
  /** Skip the registry check. */
  noRegistry?: boolean;
  /** Trust data from elsewhere (an archive) instead of the trust server. */
  collection?: Collection;
  /** Also require a cosign signature attached to the trusted digest that verifies with this key. */
  cosignKey?: KeyObject;
}

/** The trust server's view of the repository (the cache when it cannot be reached, unless strict). */
export async function fetchCollection(d: DockerRepo, strict: boolean): Promise<Collection> {
  let remote: NotaryRemote | null = null;
  let offline: Error | undefined;
  try {
    remote = await d.connect('pull');
  } catch (e) {
    if (strict || !(e instanceof RemoteError && (e.code === 'OFFLINE' || e.code === 'TIMEOUT'))) throw e;
    d.log('warning', `${e.message}; using the cached trust data`);
    offline = e;
  }
  let stale = false;
  const repo: DockerRepo = {
    ...d,
    log: (level, msg) => {
      if (/using cached timestamp/.test(msg)) stale = true;
      d.log(level, msg);
    },
  };
  try {
    const builder = await refreshRepo(repo, remote, offline);
    if (strict && stale) {
      throw new RemoteError('OFFLINE', `${d.serverUrl} did not serve the current timestamp of ${d.gun}`, { url: d.serverUrl, hint: 'with --strict the cached trust data is not used; try again when the trust server answers' });
    }
    return { builder, source: remote && !stale ? 'server' : 'cache' };
  } finally {
    remote?.close();
  }
}

/** The gate: root of trust, one trusted digest, requirements, and the registry's answer. */
export async function resolveImage(d: DockerRepo, opts: ResolveOptions): Promise<TrustedImage> {
  const c = opts.collection ?? (await fetchCollection(d, opts.strict === true));
  const verdict = await checkRootOfTrust(c.builder, opts.anchor);
  const t = trustedDigest(c.builder, d.ref, opts);
  const out: TrustedImage = { ...t, ...verdict, reference: `${t.repository}@${t.digest}`, source: c.source };
  if (c.capturedAt !== undefined) out.capturedAt = c.capturedAt;
  if (!opts.noRegistry || opts.cosignKey) {
    const registry = await d.registry();
    try {
      if (!opts.noRegistry) out.registryCheck = await checkRegistry(registry, t, d.ref.tag === undefined && d.ref.digest !== undefined);
      if (opts.cosignKey) {
        // Loaded here only: the Sigstore libraries stay out of every other command.
        const { requireCosignSignature } = await import('./cosign-attach.js');
        out.cosign = { manifest: (await requireCosignSignature(registry, t.digest, opts.cosignKey)).manifest };
      }
    } finally {
      registry.close();
    }
  }
  return out;
}

/** What a failure of the gate means, for its exit code (docs/commands/verify-image.md). */
export type GateFailure = 'untrusted' | 'unreachable' | 'usage' | 'error';

export function gateFailure(e: unknown): GateFailure {
  const code = (e as { code?: unknown } | undefined)?.code;
  if (code === 'USAGE' || code === 'INVALID_REFERENCE' || code === 'TAG_REQUIRED') return 'usage';
  if (e instanceof RemoteError) {
    if (e.code === 'OFFLINE' || e.code === 'TIMEOUT' || e.code === 'TLS' || e.code === 'SERVER_ERROR') return 'unreachable';
    if (e.code === 'NOT_FOUND' || e.code === 'BAD_RESPONSE') return 'untrusted';
    return 'error';
  }
  if (e instanceof DockerError) return e.code === 'NOT_SIGNED' || e.code === 'TAG_MOVED' || e.code === 'REQUIREMENT' || e.code === 'MANIFEST' || e.code === 'COSIGN_SIGNATURE' ? 'untrusted' : 'error';
  if (e instanceof TrustError || (typeof code === 'string' && /^ARCHIVE_(TAMPERED|INVALID|NO_REPO)$/.test(code))) return 'untrusted';
  if (e instanceof StorageError && e.code === 'CORRUPT') return 'untrusted';
  return 'error';
}
