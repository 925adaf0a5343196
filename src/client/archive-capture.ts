// `archive GUN... -o FILE`: fetch each repository's metadata (every root version, timestamp,
// snapshot, targets and every delegation the snapshot names), verify it as a read does, and keep
// it byte for byte. Repositories are fetched in parallel (bounded). Each captured repository is
// saved at once in FILE.parts/ (atomically), so an interrupted or partly failed run re-does only
// what is missing; a failure in one repository is reported and the others are kept.

import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '../crypto/hash.js';
import { syncDir, writeTemp } from '../fs/atomic.js';
import { readTar, writeTar } from '../fs/tar.js';
import { RemoteError } from '../remote/errors.js';
import type { NotaryRemote } from '../remote/notary.js';
import { TrustedCollectionBuilder } from '../tuf/builder.js';
import { signedVersion } from '../tuf/envelope.js';
import { TrustError } from '../tuf/errors.js';
import { DEFAULT_LIMITS, type Limits } from '../tuf/limits.js';
import { buildArchive, verifyRepoFiles, type CapturedRepo, type Manifest, type VerifiedRepo } from './archive.js';
import { ClientError } from './errors.js';
import { checkRootOfTrust, type RootOfTrust } from './rootoftrust.js';

export interface ArchiveSource {
  gun: string;
  /** The trust server's URL (for the manifest and messages). */
  server: string;
  connect(): Promise<NotaryRemote>;
}

export interface CaptureOptions {
  sources: readonly ArchiveSource[];
  /** The archive to write. */
  out: string;
  /** Repositories fetched at once. */
  concurrency: number;
  dtrustVersion: string;
  clock: () => number;
  /** After each repository (done counts reused ones). */
  progress?: (done: number, failed: number, total: number) => void;
  /** A repository that could not be archived. */
  failed?: (gun: string, e: unknown) => void;
  limits?: Partial<Limits>;
  /** Each root is checked against it as a read checks a first root (trust_pinning); default TOFU. */
  anchor?: RootOfTrust;
}

export interface CaptureResult {
  manifest: Manifest;
  /** Repositories taken from FILE.parts/ (captured by an earlier run). */
  reused: number;
  failures: { gun: string; error: unknown }[];
}

/** Where the captured repositories wait until the archive is written. */
export function partsDir(out: string): string {
  return `${out}.parts`;
}

function partFile(dir: string, gun: string): string {
  return join(dir, `${sha256(Buffer.from(gun, 'utf8')).toString('hex').slice(0, 32)}.tar`);
}

export async function captureArchive(opts: CaptureOptions): Promise<CaptureResult> {
  const dir = partsDir(opts.out);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const total = opts.sources.length;
  const repos: VerifiedRepo[] = [];
  const failures: { gun: string; error: unknown }[] = [];
  let reused = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const src = opts.sources[next++]!;
      try {
        const saved = await readPart(dir, src.gun);
        if (saved) {
          reused++;
          repos.push(saved);
        } else {
          const c = await captureRepo(src, opts.clock(), { ...DEFAULT_LIMITS, ...opts.limits }, opts.anchor);
          await writePart(dir, c.repo);
          repos.push(c);
        }
      } catch (e) {
        failures.push({ gun: src.gun, error: e });
        opts.failed?.(src.gun, e);
      }
      opts.progress?.(repos.length, failures.length, total);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, total)) }, worker));
  const { bytes, manifest } = buildArchive(repos, { capturedAt: new Date(opts.clock()).toISOString(), dtrustVersion: opts.dtrustVersion });
  const tmp = await writeTemp(opts.out, bytes, { mode: 0o644 });
  await tmp.rename();
  await syncDir(join(opts.out, '..'));
  if (failures.length === 0) await rm(dir, { recursive: true, force: true });
  return { manifest, reused, failures };
}

/** One repository's files, fetched and verified (as of `nowMs`) as a read verifies them. */
export async function captureRepo(src: ArchiveSource, nowMs: number, limits: Limits, anchor: RootOfTrust = { kind: 'tofu' }): Promise<VerifiedRepo> {
  const remote = await src.connect();
  try {
    const files = new Map<string, Buffer>();
    let root: Buffer;
    try {
      root = await remote.getMeta('root', limits.rootMax);
    } catch (e) {
      if (e instanceof RemoteError && e.code === 'NOT_FOUND') {
        throw new RemoteError('NOT_FOUND', `${remote.host} does not have trust data for ${src.gun}`, { url: e.url, hint: 'check the repository name and the trust server (-s, or trust_servers in the configuration)' }, e);
      }
      throw e;
    }
    const current = signedVersion(root, 'root');
    if (current - 1 > limits.maxRootWalk) throw new TrustError('ROOT_CHAIN_BROKEN', `${src.gun}: refusing to fetch ${current} root versions (limit ${limits.maxRootWalk})`, { gun: src.gun });
    const older = Array.from({ length: current - 1 }, (_, i) => i + 1);
    const [chain, timestamp] = await Promise.all([Promise.all(older.map((v) => remote.getMeta(`${v}.root`, limits.rootMax))), remote.getMeta('timestamp', limits.timestampMax)]);
    older.forEach((v, i) => files.set(`${v}.root.json`, chain[i]!));
    files.set(`${current}.root.json`, root);
    files.set('timestamp.json', timestamp);
    // The snapshot and every targets role by the hashes the verified files pin.
    const b = new TrustedCollectionBuilder({ gun: src.gun, now: nowMs, limits });
    b.loadRoot(files.get('1.root.json')!, 'cache');
    for (let v = 2; v <= current; v++) b.updateRoot(files.get(`${v}.root.json`)!, { expectedVersion: v, intermediate: v < current });
    b.updateTimestamp(timestamp);
    const snap = b.expectedSnapshot();
    const snapshot = await remote.getMeta(`snapshot.${hex(snap.hashes.get('sha256'), 'snapshot')}`, snap.length);
    files.set('snapshot.json', snapshot);
    b.updateSnapshot(snapshot);
    const roles = [...b.snapshot!.meta.meta].filter(([r]) => r === 'targets' || r.startsWith('targets/'));
    const got = await Promise.all(roles.map(([role, meta]) => remote.getMeta(`${role}.${hex(meta.hashes.get('sha256'), role)}`, meta.length)));
    roles.forEach(([role], i) => files.set(`${role}.json`, got[i]!));
    const repo: CapturedRepo = { gun: src.gun, server: src.server, capturedAt: new Date(nowMs).toISOString(), files };
    const builder = verifyRepoFiles(src.gun, files, nowMs);
    await checkRootOfTrust(builder, anchor);
    return { repo, builder };
  } finally {
    remote.close();
  }
}

function hex(h: Buffer | undefined, role: string): string {
  if (!h) throw new TrustError('MISSING_HASH', `${role}: no sha256 hash to fetch it by`, { role });
  return h.toString('hex');
}

// ---------------------------------------------------------------------------------------------
// FILE.parts/: one small tar per captured repository

async function writePart(dir: string, c: CapturedRepo): Promise<void> {
  const head = Buffer.from(JSON.stringify({ gun: c.gun, server: c.server, capturedAt: c.capturedAt }));
  const tar = writeTar([{ name: 'repository.json', data: head }, ...[...c.files].map(([name, data]) => ({ name: `files/${name}`, data }))]);
  const tmp = await writeTemp(partFile(dir, c.gun), tar);
  await tmp.rename();
}

/** A repository an earlier run captured, or undefined (absent, or unusable: it is fetched again). */
async function readPart(dir: string, gun: string): Promise<VerifiedRepo | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(partFile(dir, gun));
  } catch {
    return undefined;
  }
  try {
    const [head, ...rest] = readTar(bytes);
    const meta = JSON.parse(Buffer.from(head!.data).toString('utf8')) as { gun: string; server: string; capturedAt: string };
    if (head!.name !== 'repository.json' || meta.gun !== gun) return undefined;
    const files = new Map(rest.map((e) => [e.name.slice('files/'.length), Buffer.from(e.data)]));
    const builder = verifyRepoFiles(gun, files, Date.parse(meta.capturedAt));
    return { repo: { gun, server: meta.server, capturedAt: meta.capturedAt, files }, builder };
  } catch {
    return undefined;
  }
}

/** The error of a run where some repositories failed (each was reported already). */
export function partialFailure(r: CaptureResult, out: string): ClientError {
  const n = r.failures.length;
  return new ClientError('ARCHIVE_PARTIAL', `${n} ${n === 1 ? 'repository' : 'repositories'} could not be archived: ${r.failures.map((f) => f.gun).join(', ')}`, {
    hint: `${out} holds the ${r.manifest.repositories.length} others; run the same command again to fetch only the missing ones (they wait in ${partsDir(out)})`,
  });
}
