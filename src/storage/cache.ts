// The metadata cache of one GUN: `<trustDir>/tuf/<gun>/metadata/<role>.json`, written atomically
// with private modes (SEC-F1, F2), never through a symbolic link (SEC-F3). Readers take no lock:
// every file is replaced by rename, so a reader sees the old bytes or the new ones (SEC-C5).
//
// The cache stores bytes; parsing and verification are the client's and the engine's business.

import { dirname, relative, sep } from 'node:path';
import { ensurePrivateDir, readFileBounded, removeFile, removeTree, writeFileAtomic } from './atomic.js';
import { LOCK_FILE_NAME } from './lock.js';
import { gunDir, gunRelative, metadataDir, roleFile, validateRole } from './paths.js';

const SERIAL = new Set(['root', 'snapshot', 'timestamp']);
const WRITE_CONCURRENCY = 32;

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
    await this.writeInto(role, bytes, new Set());
  }

  private async writeInto(role: string, bytes: Uint8Array, swept: Set<string>): Promise<void> {
    const file = this.path(role);
    const dir = dirname(file);
    const first = !swept.has(dir);
    swept.add(dir);
    if (first) await ensurePrivateDir(this.trustDir, relative(this.trustDir, dir).split(sep).join('/'));
    await writeFileAtomic(file, bytes, { base: this.trustDir, sweepStale: first });
  }

  /**
   * Writes several roles, each atomically. Not all-or-nothing: root goes first, then targets
   * and delegations (in parallel, bounded: a repository may have thousands), then snapshot,
   * then timestamp, so that an interrupted write leaves a state the updater accepts (cached
   * files are only reused when their hashes match what the newest timestamp pins).
   */
  async writeMany(files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    for (const role of files.keys()) validateRole(role, this.gun);
    const swept = new Set<string>();
    const ordered = ['root', ...[...files.keys()].filter((r) => !SERIAL.has(r)), 'snapshot', 'timestamp'];
    const middle = ordered.slice(1, -2);
    const one = async (role: string): Promise<void> => {
      const bytes = files.get(role);
      if (bytes) await this.writeInto(role, bytes, swept);
    };
    await one('root');
    // The first write into each directory creates and sweeps it; then the rest run in parallel.
    const firstPerDir = new Map<string, string>();
    for (const role of middle) if (!firstPerDir.has(dirname(this.path(role)))) firstPerDir.set(dirname(this.path(role)), role);
    for (const role of firstPerDir.values()) await one(role);
    const rest = middle.filter((r) => firstPerDir.get(dirname(this.path(r))) !== r);
    for (let i = 0; i < rest.length; i += WRITE_CONCURRENCY) await Promise.all(rest.slice(i, i + WRITE_CONCURRENCY).map(one));
    await one('snapshot');
    await one('timestamp');
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
