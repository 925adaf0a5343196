// Trust archives (docs/commands/archive.md): the metadata of repositories as the server served
// them, byte for byte, with the whole root chain, in one deterministic tar with a manifest.
//
//   manifest.json                       format, capture time, server, dtrust version, and per
//                                       repository its root key IDs, root chain, files and targets
//   manifest.json.sha256                `sha256sum -c` line of manifest.json
//   repositories/<gun>/<N>.root.json    every root version, 1 to the current one
//   repositories/<gun>/timestamp.json, snapshot.json, targets.json, targets/<role>.json
//
// Verification (here, and for every read from an archive) re-runs the trusted-collection builder
// over the files as of the repository's capture time: the first root taken as it is, every
// rotation checked, then timestamp, snapshot, targets and delegations as a read checks them. The
// manifest is then rebuilt from the verified files and must be byte for byte the stored one, and
// the stored one must match its checksum: one changed byte anywhere is refused, naming the file.
// The manifest is not signed: its checksum catches damage and edits, not a forger who rewrites it;
// the metadata's signatures are what is trusted (docs/commands/archive.md, "What is verified").

import { sha256 } from '../crypto/hash.js';
import { readTar, TarError, writeTar, type TarEntry } from '../fs/tar.js';
import { TrustedCollectionBuilder } from '../tuf/builder.js';
import { parseEnvelope } from '../tuf/envelope.js';
import { TrustError } from '../tuf/errors.js';
import { DEFAULT_LIMITS } from '../tuf/limits.js';
import type { FileMeta, Targets } from '../tuf/metadata.js';
import { parentOf } from '../tuf/roles.js';
import { ClientError } from './errors.js';

export const ARCHIVE_FORMAT = 'dtrust-trust-archive';
export const ARCHIVE_VERSION = 1;
const MANIFEST = 'manifest.json';
const CHECKSUM = 'manifest.json.sha256';
const PREFIX = 'repositories/';

/** One repository as captured: its files by archive name (`3.root.json`, `targets/releases.json`). */
export interface CapturedRepo {
  gun: string;
  server: string;
  /** ISO 8601, UTC, milliseconds. */
  capturedAt: string;
  files: Map<string, Buffer>;
}

export interface ArchiveTarget {
  name: string;
  length: number;
  hashes: Record<string, string>;
  role: string;
  /** Canonical key IDs whose signatures on the role's file count. */
  signers: string[];
}

export interface RepoManifest {
  gun: string;
  server: string;
  capturedAt: string;
  rootKeyIds: string[];
  rootChain: { version: number; file: string }[];
  files: { file: string; length: number; sha256: string }[];
  targets: ArchiveTarget[];
  /** Delegations skipped at capture (expired or below threshold), with the reason. */
  invalidRoles: { role: string; reason: string }[];
}

export interface Manifest {
  format: string;
  version: number;
  capturedAt: string;
  servers: string[];
  dtrustVersion: string;
  repositories: RepoManifest[];
}

/** A repository verified from an archive: the builder (as of capture), and its manifest entry. */
export interface ArchivedRepo {
  builder: TrustedCollectionBuilder;
  manifest: RepoManifest;
}

function tampered(file: string, why: string, cause?: unknown): ClientError {
  return new ClientError('ARCHIVE_TAMPERED', `${file}: ${why}`, { hint: 'the archive was changed or damaged after it was written: do not trust it; use an intact copy' }, cause);
}

// ---------------------------------------------------------------------------------------------
// Verifying one repository's files

const ROOT_FILE = /^([1-9]\d{0,9})\.root\.json$/;

/**
 * The builder over one repository's files, as of `nowMs`: the first root as the anchor, each
 * later root checked against the one before, then the rest as a read verifies it.
 */
export function verifyRepoFiles(gun: string, files: ReadonlyMap<string, Buffer>, nowMs: number): TrustedCollectionBuilder {
  const versions = [...files.keys()].map((f) => ROOT_FILE.exec(f)?.[1]).filter((v): v is string => v !== undefined).map(Number).sort((a, b) => a - b);
  if (versions.length === 0) throw new TrustError('ROOT_CHAIN_BROKEN', `${gun}: the archive holds no root`, { gun });
  versions.forEach((v, i) => {
    if (v !== i + 1) throw new TrustError('ROOT_CHAIN_BROKEN', `${gun}: the root chain is incomplete (${i + 1}.root.json is missing)`, { gun });
  });
  const need = (name: string): Buffer => {
    const b = files.get(name);
    if (!b) throw new TrustError('MISSING_META', `${gun}: ${name} is missing from the archive`, { gun });
    return b;
  };
  const b = new TrustedCollectionBuilder({ gun, now: nowMs, limits: { maxRootWalk: Math.max(DEFAULT_LIMITS.maxRootWalk, versions.length) } });
  b.loadRoot(need('1.root.json'), 'cache');
  const last = versions.length;
  for (let v = 2; v <= last; v++) b.updateRoot(need(`${v}.root.json`), { expectedVersion: v, intermediate: v < last });
  b.updateTimestamp(need('timestamp.json'));
  b.updateSnapshot(need('snapshot.json'));
  b.updateTargets(need('targets.json'));
  const pinned = b.snapshot!.meta.meta;
  for (const role of b.delegationsToLoad()) if (pinned.has(role)) b.updateDelegation(role, need(`${role}.json`));
  return b;
}

/** The manifest entry of a verified repository (what `verify` rebuilds and compares). */
export function repoManifest(c: CapturedRepo, b: TrustedCollectionBuilder): RepoManifest {
  const root = b.root!.meta;
  const chain = [...c.files.keys()].filter((f) => ROOT_FILE.test(f)).map((f) => ({ version: Number(ROOT_FILE.exec(f)![1]), file: f })).sort((x, y) => x.version - y.version);
  const signersOf = new Map<string, string[]>();
  const signers = (role: string): string[] => {
    let s = signersOf.get(role);
    if (!s) {
      s = roleSigners(b, role);
      signersOf.set(role, s);
    }
    return s;
  };
  return {
    gun: c.gun,
    server: c.server,
    capturedAt: c.capturedAt,
    rootKeyIds: [...(root.roles.get('root')?.keyids ?? [])],
    rootChain: chain,
    files: archiveOrder([...c.files.keys()]).map((f) => ({ file: f, length: c.files.get(f)!.length, sha256: sha256(c.files.get(f)!).toString('hex') })),
    targets: b.listTargets().sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)).map((e) => ({ name: e.name, length: e.meta.length, hashes: hashesJson(e.meta), role: e.role, signers: signers(e.role) })),
    invalidRoles: [...b.invalid].map(([role, e]) => ({ role, reason: e.message })),
  };
}

function hashesJson(meta: FileMeta): Record<string, string> {
  const o: Record<string, string> = {};
  for (const [alg, h] of [...meta.hashes].sort(([a], [z]) => (a < z ? -1 : 1))) o[alg] = h.toString('hex');
  return o;
}

/** Key IDs (canonical) of the valid role keys that signed the role's file. */
function roleSigners(b: TrustedCollectionBuilder, role: string): string[] {
  const file = b.targetsRoles.get(role);
  if (!file) return [];
  let keys: Map<string, { canonicalId: string }>;
  let ids: readonly string[];
  if (role === 'targets') {
    keys = b.root!.meta.keys;
    ids = b.root!.meta.roles.get('targets')?.keyids ?? [];
  } else {
    const parent: Targets | undefined = b.targetsRoles.get(parentOf(role))?.meta;
    keys = parent?.delegations.keys ?? new Map();
    ids = parent?.delegations.roles.find((r) => r.name === role)?.keyids ?? [];
  }
  const allowed = new Set(ids);
  const out: string[] = [];
  for (const s of parseEnvelope(file.bytes, role).signatures) {
    const k = keys.get(s.keyid);
    if (!allowed.has(s.keyid) || !k) continue;
    let id: string;
    try {
      id = k.canonicalId;
    } catch {
      id = s.keyid;
    }
    if (!out.includes(id)) out.push(id);
  }
  return out;
}

/** Root versions ascending, then timestamp, snapshot, targets, delegations by name. */
function archiveOrder(names: string[]): string[] {
  const rank = (f: string): [number, number, string] => {
    const m = ROOT_FILE.exec(f);
    if (m) return [0, Number(m[1]), ''];
    const fixed = ['timestamp.json', 'snapshot.json', 'targets.json'].indexOf(f);
    return fixed >= 0 ? [1, fixed, ''] : [2, 0, f];
  };
  return names.sort((a, b) => {
    const [x1, x2, x3] = rank(a);
    const [y1, y2, y3] = rank(b);
    return x1 - y1 || x2 - y2 || (x3 < y3 ? -1 : x3 > y3 ? 1 : 0);
  });
}

// ---------------------------------------------------------------------------------------------
// Writing and reading the tar

function manifestBytes(m: Manifest): Buffer {
  return Buffer.from(JSON.stringify(m, null, 2) + '\n', 'utf8');
}

/** A captured repository with the builder that verified it (verifyRepoFiles). */
export interface VerifiedRepo {
  repo: CapturedRepo;
  builder: TrustedCollectionBuilder;
}

/** The archive's bytes: same repositories and times, same bytes. */
export function buildArchive(verified: readonly VerifiedRepo[], meta: { capturedAt: string; dtrustVersion: string }): { bytes: Buffer; manifest: Manifest } {
  const sortedV = [...verified].sort((a, b) => (a.repo.gun < b.repo.gun ? -1 : a.repo.gun > b.repo.gun ? 1 : 0));
  const sorted = sortedV.map((v) => v.repo);
  const manifest: Manifest = {
    format: ARCHIVE_FORMAT,
    version: ARCHIVE_VERSION,
    capturedAt: meta.capturedAt,
    servers: [...new Set(sorted.map((r) => r.server))].sort(),
    dtrustVersion: meta.dtrustVersion,
    repositories: sortedV.map((v) => repoManifest(v.repo, v.builder)),
  };
  const mbytes = manifestBytes(manifest);
  const entries: TarEntry[] = [
    { name: MANIFEST, data: mbytes },
    { name: CHECKSUM, data: Buffer.from(`${sha256(mbytes).toString('hex')}  ${MANIFEST}\n`) },
  ];
  manifest.repositories.forEach((r, i) => {
    const c = sorted[i]!;
    for (const f of r.files) entries.push({ name: `${PREFIX}${r.gun}/${f.file}`, data: c.files.get(f.file)! });
  });
  return { bytes: writeTar(entries), manifest };
}

export interface OpenedArchive {
  manifest: Manifest;
  /** manifest.json as stored. */
  manifestBytes: Buffer;
  repos: Map<string, CapturedRepo>;
}

/** Reads an archive's tar, checks the manifest's checksum and that every file it lists is there, as listed. */
export function openArchive(bytes: Buffer, shown: string): OpenedArchive {
  let entries: TarEntry[];
  try {
    entries = readTar(bytes);
  } catch (e) {
    if (e instanceof TarError) throw tampered(e.entry !== undefined ? e.entry : shown, e.message, e);
    throw e;
  }
  const byName = new Map(entries.map((e) => [e.name, Buffer.from(e.data)]));
  const mbytes = byName.get(MANIFEST);
  const sum = byName.get(CHECKSUM);
  if (!mbytes || !sum || entries[0]?.name !== MANIFEST || entries[1]?.name !== CHECKSUM) {
    throw new ClientError('ARCHIVE_INVALID', `${shown} is not a dtrust trust archive (no ${MANIFEST} and ${CHECKSUM} at its start)`, { hint: 'create one with: dtrust archive GUN... -o FILE' });
  }
  if (!sum.equals(Buffer.from(`${sha256(mbytes).toString('hex')}  ${MANIFEST}\n`))) throw tampered(MANIFEST, `its content does not match ${CHECKSUM}`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(mbytes.toString('utf8')) as Manifest;
  } catch (e) {
    throw tampered(MANIFEST, 'it is not JSON', e);
  }
  if (manifest.format !== ARCHIVE_FORMAT || manifest.version !== ARCHIVE_VERSION || !Array.isArray(manifest.repositories)) {
    throw new ClientError('ARCHIVE_INVALID', `${shown} is a ${String(manifest.format)} version ${String(manifest.version)} archive; this dtrust reads ${ARCHIVE_FORMAT} version ${ARCHIVE_VERSION}`, { hint: 'use the dtrust version that wrote it' });
  }
  const repos = new Map<string, CapturedRepo>();
  const listed = new Set<string>([MANIFEST, CHECKSUM]);
  try {
    for (const r of manifest.repositories) addRepo(r);
  } catch (e) {
    if (e instanceof ClientError) throw e;
    throw tampered(MANIFEST, `it is not what dtrust writes (${(e as Error).message})`, e);
  }
  function addRepo(r: RepoManifest): void {
    const files = new Map<string, Buffer>();
    for (const f of r.files) {
      const name = `${PREFIX}${r.gun}/${f.file}`;
      listed.add(name);
      const data = byName.get(name);
      if (!data) throw tampered(name, 'listed in the manifest but missing from the archive');
      if (data.length !== f.length || sha256(data).toString('hex') !== f.sha256) throw tampered(name, `its content does not match the manifest (sha256 ${f.sha256}, ${f.length} bytes)`);
      files.set(f.file, data);
    }
    repos.set(r.gun, { gun: r.gun, server: r.server, capturedAt: r.capturedAt, files });
  }
  for (const e of entries) if (!listed.has(e.name)) throw tampered(e.name, 'not listed in the manifest');
  return { manifest, manifestBytes: mbytes, repos };
}

/**
 * Verifies one repository of an opened archive as of its capture time and checks that its
 * manifest entry is exactly what its files give.
 */
export function verifyArchivedRepo(a: OpenedArchive, gun: string): ArchivedRepo {
  const c = a.repos.get(gun);
  const stored = a.manifest.repositories.find((r) => r.gun === gun);
  if (!c || !stored) {
    throw new ClientError('ARCHIVE_NO_REPO', `the archive has no repository ${gun}`, { hint: `it holds: ${a.manifest.repositories.map((r) => r.gun).join(', ') || 'nothing'}` });
  }
  const at = Date.parse(c.capturedAt);
  if (!Number.isFinite(at)) throw tampered(MANIFEST, `the capture time of ${gun} is not a time`);
  let builder: TrustedCollectionBuilder;
  try {
    builder = verifyRepoFiles(gun, c.files, at);
  } catch (e) {
    if (e instanceof TrustError) {
      throw new TrustError(e.code, `${gun} (as of its capture time ${c.capturedAt}): ${e.message}`, { ...e.fields, gun, hint: 'the archived metadata does not verify: the archive was changed, or the repository was already broken when it was captured' }, e);
    }
    throw e;
  }
  const rebuilt = repoManifest(c, builder);
  if (JSON.stringify(rebuilt) !== JSON.stringify(stored)) throw tampered(MANIFEST, `the entry of ${gun} does not match the archived files`);
  return { builder, manifest: stored };
}

/** A whole archive, each repository verified; the manifest rebuilt must equal the stored one. */
export function verifyArchive(bytes: Buffer, shown: string): { manifest: Manifest; repos: ArchivedRepo[] } {
  const a = openArchive(bytes, shown);
  const repos = a.manifest.repositories.map((r) => verifyArchivedRepo(a, r.gun));
  const rebuilt: Manifest = { ...a.manifest, repositories: repos.map((r) => r.manifest) };
  if (!manifestBytes(rebuilt).equals(a.manifestBytes)) throw tampered(MANIFEST, 'it is not what dtrust writes for these files');
  return { manifest: a.manifest, repos };
}
