// The metadata cache of one GUN: `<trustDir>/tuf/<gun>/metadata/<role>.json`, written atomically
// with private modes (SEC-F1, F2), never through a symbolic link (SEC-F3). Readers take no lock:
// every file is replaced by rename, so a reader sees the old bytes or the new ones (SEC-C5).
//
// The cache stores bytes; parsing and verification are the client's and the engine's business.

import { dirname, relative, sep } from 'node:path';
import { ensurePrivateDir, readFileBounded, removeFile, removeTree, writeFileAtomic } from './atomic.js';
import { LOCK_FILE_NAME } from './lock.js';
import { gunDir, gunRelative, metadataDir, roleFile, validateRole } from './paths.js';

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
    const file = this.path(role);
    await ensurePrivateDir(this.trustDir, relative(this.trustDir, dirname(file)).split(sep).join('/'));
    await writeFileAtomic(file, bytes, { base: this.trustDir });
  }

  /**
   * Writes several roles, each atomically, in the Map's order. Not all-or-nothing: a failure
   * leaves the roles written before it. Callers order the map so that any prefix is a state the
   * updater accepts (root first, timestamp last).
   */
  async writeMany(files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    for (const role of files.keys()) validateRole(role, this.gun);
    for (const [role, bytes] of files) await this.write(role, bytes);
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
