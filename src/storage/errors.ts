// Typed errors of the storage layer (design principle 4): a stable code, the path or GUN the
// failure is about, a hint saying what the user can do, and the underlying cause.

import { DtrustError } from '../errors.js';
import { errnoCode } from '../fs/errno.js';

export type StorageErrorCode =
  /** A GUN that cannot be used as a path (SEC-F4). */
  | 'INVALID_GUN'
  /** A role name that is not notary's grammar (SEC-F4). */
  | 'INVALID_ROLE'
  /** A change-file name passed to Changelist.remove() that is not a plain file name. */
  | 'INVALID_NAME'
  /** A change that cannot be staged (bad action/type/scope/data). */
  | 'INVALID_CHANGE'
  /** A symbolic link where dtrust writes or removes (SEC-F3). */
  | 'SYMLINK'
  /** Something other than a directory where a directory is needed. */
  | 'NOT_DIRECTORY'
  /** A joined path that would leave its base directory (SEC-F4). */
  | 'OUTSIDE_BASE'
  | 'READ_FAILED'
  | 'WRITE_FAILED'
  | 'REMOVE_FAILED'
  /** The GUN is locked by another live process (SEC-C1). */
  | 'LOCKED'
  /** The lock file could not be created, read or removed. */
  | 'LOCK_FAILED'
  /** A cached file that cannot be used as what it should hold (does not parse or verify). */
  | 'CORRUPT';

export interface StorageErrorFields {
  /** The file or directory the error is about. */
  path?: string;
  gun?: string;
  role?: string;
  /** For LOCKED: the holder. */
  pid?: number;
  host?: string;
  /** What the user can do about it. */
  hint?: string;
}

export class StorageError extends DtrustError<StorageErrorCode, StorageErrorFields> {
  readonly path: string | undefined;

  constructor(code: StorageErrorCode, message: string, fields: StorageErrorFields = {}, cause?: unknown) {
    super(code, message, fields, cause);
    this.name = 'StorageError';
    this.path = fields.path;
  }

  get gun(): string | undefined {
    return this.fields.gun;
  }
}

export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  return e instanceof StorageError && (code === undefined || e.code === code);
}

const UNWRITABLE = new Set(['EROFS', 'ENOSPC', 'EDQUOT', 'EACCES', 'EPERM']);

/** A write that failed because the file system cannot take it: read-only, full, or not writable by this user. */
export function isUnwritable(e: unknown): e is StorageError {
  return isStorageError(e, 'WRITE_FAILED') && UNWRITABLE.has(errnoCode(e.cause) ?? '');
}

/** A hint for common file-system failures, or undefined. */
export function errnoHint(e: unknown, path: string): string | undefined {
  switch (errnoCode(e)) {
    case 'ENOSPC':
    case 'EDQUOT':
      return `free some disk space on the file system holding ${path} and try again`;
    case 'EACCES':
    case 'EPERM':
      return `check the owner and permissions of ${path} and its directories`;
    case 'EROFS':
      return `${path} is on a read-only file system; use a writable trust directory (-d)`;
    case 'ENOTDIR':
      return `a component of ${path} is a file, not a directory`;
    case 'ENAMETOOLONG':
      return 'use a shorter name or trust directory';
    default:
      return undefined;
  }
}

/** A one-line description of a system error ("no space left on device"), without the path. */
export function errnoText(e: unknown): string {
  const c = errnoCode(e);
  const msg = e instanceof Error ? e.message : String(e);
  // Node: "ENOSPC: no space left on device, open '/x'" -> "no space left on device"
  const m = /^[A-Z0-9_]+: ([^,]+)/.exec(msg);
  if (m?.[1]) return m[1];
  return c ?? msg;
}
