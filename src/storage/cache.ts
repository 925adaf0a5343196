// The metadata cache of one GUN: `<trustDir>/tuf/<gun>/metadata/<role>.json`, written atomically
// with private modes (SEC-F1, F2), never through a symbolic link (SEC-F3). Readers take no lock:
// every file is replaced by rename, so a reader sees the old bytes or the new ones (SEC-C5).
//
// The cache stores bytes; parsing and verification are the client's and the engine's business.

import { dirname, relative, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { markWriting, writingIn } from '../fs/atomic.js';
import { ensurePrivateDir, prepareFileAtomic, readFileBounded, removeFile, removeTree, type PreparedFile } from './atomic.js';
import { LOCK_FILE_NAME } from './lock.js';
import { gunDir, gunRelative, metadataDir, roleFile, validateRole } from './paths.js';

const SERIAL = new Set(['root', 'snapshot', 'timestamp']);
const WRITE_CONCURRENCY = 32;
/** Marker of a commit under way, in the GUN's directory. */
const COMMIT_MARK = 'cache-commit';
/** How long a reader waits for another process's commit: renames take milliseconds, even thousands of them. */
const COMMIT_WAIT_MS = 10_000;

/** Files written by MetadataCache.stage, not yet in place. */
export interface StagedFiles {
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** Runs `fn` over `items`, WRITE_CONCURRENCY at a time; every started call settles before a failure is thrown. */
async function inBatches(items: readonly string[], fn: (item: string) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += WRITE_CONCURRENCY) {
    const results = await Promise.allSettled(items.slice(i, i + WRITE_CONCURRENCY).map(fn));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

export class MetadataCache {
  readonly trustDir: string;
  readonly gun: string;
  /** `<trustDir>/tuf/<gun>` */
  readonly dir: string;
  /** `<trustDir>/tuf/<gun>/metadata` */
  readonly metadataDir: string;

  /** Validates the GUN (throws StorageError INVALID_GUN); touches nothing on disk. */
  constructor(trustDir: string, gun: string) {
    this.dir = gunDir(trustDir, gun);
    this.metadataDir = metadataDir(trustDir, gun);
    this.trustDir = trustDir;
    this.gun = gun;
  }

  /** Absolute path of a role's cached file (validates the role name). */
  path(role: string): string {
    return roleFile(this.trustDir, this.gun, role);
  }

  /** The cached bytes, or undefined when missing or larger than maxSize (as notary). */
  read(role: string, maxSize: number): Promise<Buffer | undefined> {
    return readFileBounded(this.path(role), maxSize);
  }

  /** Replaces a role's cached file atomically (0600, directories 0700). */
  async write(role: string, bytes: Uint8Array): Promise<void> {
    await (await this.stage(new Map([[role, bytes]]))).commit();
  }

  /**
   * Writes several roles, each atomically. Not all-or-nothing: root goes first, then targets
   * and delegations (in parallel, bounded: a repository may have thousands), then snapshot,
   * then timestamp, so that an interrupted write leaves a state the updater accepts (cached
   * files are only reused when their hashes match what the newest timestamp pins).
   */
  async writeMany(files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    await (await this.stage(files)).commit();
  }

  /**
   * The first half of writeMany: the files written and flushed next to their places, where
   * readers do not see them; commit() moves them into place in writeMany's order, discard()
   * drops them. For writing while waiting to learn whether the files should be cached at all
   * (the upload of a publish).
   */
  async stage(files: ReadonlyMap<string, Uint8Array>): Promise<StagedFiles> {
    for (const role of files.keys()) validateRole(role, this.gun);
    const roles = [...files.keys()];
    const prepared = new Map<string, PreparedFile>();
    const discard = async (): Promise<void> => {
      await Promise.all([...prepared.values()].map((p) => p.discard()));
    };
    const swept = new Set<string>();
    const one = async (role: string): Promise<void> => {
      const file = this.path(role);
      const dir = dirname(file);
      const first = !swept.has(dir);
      swept.add(dir);
      if (first) await ensurePrivateDir(this.trustDir, relative(this.trustDir, dir).split(sep).join('/'));
      prepared.set(role, await prepareFileAtomic(file, files.get(role)!, { base: this.trustDir, sweepStale: first }));
    };
    try {
      // The first write into each directory creates and sweeps it; then the rest run in parallel.
      const firstPerDir = new Map<string, string>();
      for (const role of roles) if (!firstPerDir.has(dirname(this.path(role)))) firstPerDir.set(dirname(this.path(role)), role);
      for (const role of firstPerDir.values()) await one(role);
      await inBatches(roles.filter((r) => !prepared.has(r)), one);
    } catch (e) {
      await discard();
      throw e;
    }
    const commit = async (): Promise<void> => {
      const commitOne = async (role: string): Promise<void> => prepared.get(role)?.commit();
      // Between the first rename and the last the files on disk do not match each other: the
      // marker tells a reader that fails meanwhile to wait and read again (waitForCommits).
      let mark: { remove(): Promise<void> } | undefined;
      try {
        mark = markWriting(this.dir, COMMIT_MARK);
      } catch {
        // a directory that cannot take it: the renames below fail as well, and say why
      }
      try {
        await commitOne('root');
        await inBatches(roles.filter((r) => !SERIAL.has(r)), commitOne);
        await commitOne('snapshot');
        await commitOne('timestamp');
      } catch (e) {
        await discard();
        throw e;
      } finally {
        await mark?.remove();
      }
    };
    return { commit, discard };
  }

  /**
   * For a reader whose files did not match each other: waits while another writer is replacing
   * this cache (at most `timeoutMs`). True when one was and has finished, so that a new read sees
   * its files; false when none was (the mismatch is real) or it is still at work.
   */
  async waitForCommits(timeoutMs = COMMIT_WAIT_MS, pollMs = 10): Promise<boolean> {
    if (!writingIn(this.dir, COMMIT_MARK)) return false;
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      await sleep(pollMs);
      if (!writingIn(this.dir, COMMIT_MARK)) return true;
    }
    return false;
  }

  /** Removes a role's cached file; missing is fine. */
  async remove(role: string): Promise<void> {
    await removeFile(this.trustDir, this.path(role));
  }

  /**
   * Removes all local data of the GUN: `tuf/<gun>` with its metadata and changelist (used by
   * `delete`). The lock file of a running dtrust command is kept (the lock removes it and the
   * then-empty directory on release). Keys are not touched.
   */
  async removeAll(): Promise<void> {
    await removeTree(this.trustDir, gunRelative(this.gun), { keep: (rel) => rel === LOCK_FILE_NAME });
  }
}
