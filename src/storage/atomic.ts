// The metadata cache's file handling (SEC-F1, SEC-F2, SEC-F3): atomic writes (fs/atomic.ts) with
// the checks of this layer (a file below a base directory, no symbolic link on the way) and its
// error codes, directories created one private level at a time, bounded reads, and removal that
// never follows a link.
//
// All paths here are absolute: this layer never resolves against the working directory.

import { chmodSync, closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, read, readSync, statSync, type Stats } from 'node:fs';
import { lstat, readdir, rmdir, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { DIR_MODE, FILE_MODE, sweepStaleTemps, syncDir, writeTemp, type TempFile, type WriteFault } from '../fs/atomic.js';
import { errnoCode } from '../fs/errno.js';
import { StorageError, errnoHint, errnoText } from './errors.js';

export interface WriteFileOptions {
  /**
   * The trust directory (or another base) the target lives in. The target must be inside it, and
   * no directory below it on the way to the target may be a symbolic link. The base itself may
   * be a link (users do link ~/.docker/trust elsewhere). Without a base only the target itself is
   * checked.
   */
  base?: string;
  /** File mode, applied exactly whatever the umask. Default 0600. */
  mode?: number;
  /** Remove temp files of dead writers from the directory first. Default true. */
  sweepStale?: boolean;
  /** Test hook: called at each step; throwing simulates a failure there. */
  fault?: WriteFault;
}

// ---------------------------------------------------------------------------------------------
// Path checks

function assertAbsolute(p: string, what: string): void {
  if (!isAbsolute(p)) throw new Error(`internal error: ${what} must be an absolute path, got ${JSON.stringify(p)}`);
}

/** True when `p` is `base` or below it (a path-relative test, not a string prefix). */
export function isInside(base: string, p: string): boolean {
  const rel = relative(base, p);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

function symlinkError(path: string, what = 'write through'): StorageError {
  return new StorageError('SYMLINK', `refusing to ${what} the symbolic link ${path}`, {
    path,
    hint: `dtrust never follows links inside the trust directory; replace ${path} with a real ${what === 'write through' ? 'file or directory' : 'directory'}`,
  });
}

/**
 * Checks every existing path component strictly below `base` down to and including `dir` with
 * lstat: none may be a symbolic link, each must be a directory. Missing components are fine
 * (returns false then, true when `dir` exists).
 */
export async function assertNoSymlinksBetween(base: string, dir: string): Promise<boolean> {
  assertAbsolute(base, 'the base directory');
  assertAbsolute(dir, 'the directory');
  if (!isInside(base, dir)) {
    throw new StorageError('OUTSIDE_BASE', `${dir} is not inside ${base}`, { path: dir });
  }
  const rel = relative(base, dir);
  if (rel === '') return true;
  let cur = base;
  for (const seg of rel.split(sep)) {
    cur = join(cur, seg);
    let st: Stats;
    try {
      st = await lstat(cur);
    } catch (e) {
      const c = errnoCode(e);
      if (c === 'ENOENT') return false;
      if (c === 'ENOTDIR') throw notDirectory(dirname(cur), e);
      throw new StorageError('READ_FAILED', `cannot inspect ${cur}: ${errnoText(e)}`, { path: cur, hint: errnoHint(e, cur) }, e);
    }
    if (st.isSymbolicLink()) throw symlinkError(cur);
    if (!st.isDirectory()) throw notDirectory(cur);
  }
  return true;
}

function notDirectory(path: string, cause?: unknown): StorageError {
  return new StorageError(
    'NOT_DIRECTORY',
    `${path} is not a directory`,
    { path, hint: `move ${path} out of the way; dtrust keeps a directory there` },
    cause,
  );
}

// ---------------------------------------------------------------------------------------------
// Directories

/**
 * Creates `<base>/<relative>` one level at a time with mode 0700 (exactly, whatever the umask),
 * never following a symbolic link below `base`. `base` itself is created (with its missing
 * parents, 0700) when absent; it may be a symbolic link to a directory. `relative` uses "/"
 * and must be a clean relative path. Returns the absolute directory path.
 */
export async function ensurePrivateDir(base: string, rel: string): Promise<string> {
  assertAbsolute(base, 'the base directory');
  const segs = rel === '' ? [] : rel.split('/');
  for (const s of segs) {
    if (s === '' || s === '.' || s === '..' || s.includes(sep) || s.includes('\0')) {
      throw new StorageError('OUTSIDE_BASE', `${JSON.stringify(rel)} is not a clean relative path below ${base}`, { path: join(base, rel) });
    }
  }
  // A concurrent removal (delete, or a lock release removing an empty GUN directory) can take a
  // directory away between two levels: start again from the top a few times.
  for (let attempt = 0; ; attempt++) {
    try {
      return ensureLevels(base, segs);
    } catch (e) {
      if (e instanceof VanishedError && attempt < 5) continue;
      if (e instanceof VanishedError) throw e.error;
      throw e;
    }
  }
}

class VanishedError extends Error {
  constructor(readonly error: StorageError) {
    super(error.message);
  }
}

// Synchronous calls: each is microseconds, while a round trip through the thread pool costs a
// short command more than the call itself.
function ensureLevels(base: string, segs: readonly string[]): string {
  ensureBase(base);
  let cur = base;
  for (const seg of segs) {
    cur = join(cur, seg);
    let st = lstatLevel(cur);
    if (st === undefined) {
      try {
        mkdirSync(cur, { mode: DIR_MODE });
        chmodSync(cur, DIR_MODE);
        continue;
      } catch (e) {
        const c = errnoCode(e);
        if (c === 'ENOTDIR') throw notDirectory(dirname(cur), e);
        if (c === 'ENOENT') {
          throw new VanishedError(
            new StorageError('WRITE_FAILED', `cannot create the directory ${cur}: its parent keeps disappearing`, { path: cur }, e),
          );
        }
        if (c !== 'EEXIST') {
          throw new StorageError('WRITE_FAILED', `cannot create the directory ${cur}: ${errnoText(e)}`, { path: cur, hint: errnoHint(e, cur) }, e);
        }
      }
      st = lstatLevel(cur);
      if (st === undefined) {
        throw new VanishedError(new StorageError('READ_FAILED', `cannot inspect ${cur}: it disappeared`, { path: cur }));
      }
    }
    if (st.isSymbolicLink()) throw symlinkError(cur, 'create directories through');
    if (!st.isDirectory()) throw notDirectory(cur);
  }
  return cur;
}

/** lstat of one level; undefined when it does not exist. */
function lstatLevel(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (e) {
    if (errnoCode(e) === 'ENOTDIR') throw notDirectory(dirname(path), e);
    throw new StorageError('READ_FAILED', `cannot inspect ${path}: ${errnoText(e)}`, { path, hint: errnoHint(e, path) }, e);
  }
}

function ensureBase(base: string): void {
  let st: Stats | undefined;
  try {
    st = statSync(base, { throwIfNoEntry: false });
  } catch (e) {
    throw new StorageError('READ_FAILED', `cannot inspect ${base}: ${errnoText(e)}`, { path: base, hint: errnoHint(e, base) }, e);
  }
  if (st !== undefined) {
    if (!st.isDirectory()) throw notDirectory(base);
    return;
  }
  // Create the missing chain one level at a time so each new directory gets exactly 0700.
  const missing: string[] = [];
  let cur = base;
  for (;;) {
    try {
      lstatSync(cur);
      break;
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') break;
      missing.push(cur);
      const up = dirname(cur);
      if (up === cur) break;
      cur = up;
    }
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, { mode: DIR_MODE });
      chmodSync(d, DIR_MODE);
    } catch (e) {
      if (errnoCode(e) === 'EEXIST') continue;
      throw new StorageError('WRITE_FAILED', `cannot create the directory ${d}: ${errnoText(e)}`, { path: d, hint: errnoHint(e, d) }, e);
    }
  }
  try {
    st = statSync(base);
  } catch (e) {
    throw new StorageError('WRITE_FAILED', `cannot create the directory ${base}: ${errnoText(e)}`, { path: base, hint: errnoHint(e, base) }, e);
  }
  if (!st.isDirectory()) throw notDirectory(base);
}

// ---------------------------------------------------------------------------------------------
// Atomic write

/** Writes `data` to `path` atomically and durably with a private mode (SEC-F1, F2, F3). */
export async function writeFileAtomic(path: string, data: Uint8Array | string, opts: WriteFileOptions = {}): Promise<void> {
  await (await prepareFileAtomic(path, data, opts)).commit();
}

/** A file written and flushed next to its place, not yet renamed into it. */
export interface PreparedFile {
  /** Renames it into place and flushes the directory: the second half of writeFileAtomic. */
  commit(): Promise<void>;
  /** Removes the temporary file (best effort). */
  discard(): Promise<void>;
}

/**
 * The first half of writeFileAtomic: every check, then the data in a temp file of the target's
 * directory, flushed; nothing is visible at `path` until commit(). Lets a caller write while it
 * waits for something that decides whether the file should appear at all.
 */
export async function prepareFileAtomic(path: string, data: Uint8Array | string, opts: WriteFileOptions = {}): Promise<PreparedFile> {
  await checkWriteTarget(path, opts.base);
  const dir = dirname(path);
  if (opts.sweepStale !== false) sweepStaleTemps(dir);
  const writeFailed = (e: unknown): StorageError =>
    e instanceof StorageError ? e : new StorageError('WRITE_FAILED', `cannot write ${path}: ${errnoText(e)}`, { path, hint: errnoHint(e, dir) }, e);
  let temp: TempFile;
  try {
    temp = await writeTemp(path, data, { mode: opts.mode ?? FILE_MODE, fault: opts.fault });
  } catch (e) {
    throw writeFailed(e);
  }
  let done = false;
  return {
    commit: async () => {
      if (done) throw new Error(`internal error: ${path} was already committed or discarded`);
      done = true;
      try {
        await temp.rename();
      } catch (e) {
        throw writeFailed(e);
      }
      await fsyncDir(dir);
    },
    discard: async () => {
      if (done) return;
      done = true;
      await temp.discard();
    },
  };
}

/** The checks before a write: inside `base` with no link on the way, and not a link or directory itself. */
async function checkWriteTarget(path: string, base: string | undefined): Promise<void> {
  assertAbsolute(path, 'the file');
  const dir = dirname(path);
  if (base !== undefined) {
    assertAbsolute(base, 'the base directory');
    if (!isInside(base, path) || relative(base, path) === '') {
      throw new StorageError('OUTSIDE_BASE', `refusing to write ${path}: it is not inside ${base}`, { path });
    }
    const exists = await assertNoSymlinksBetween(base, dir);
    if (!exists) {
      throw new StorageError('WRITE_FAILED', `cannot write ${path}: the directory ${dir} does not exist`, { path: dir });
    }
  }
  let st: Stats | undefined;
  try {
    st = await lstat(path);
  } catch (e) {
    const c = errnoCode(e);
    if (c === 'ENOTDIR') throw notDirectory(dir, e);
    if (c !== 'ENOENT') {
      throw new StorageError('WRITE_FAILED', `cannot write ${path}: ${errnoText(e)}`, { path, hint: errnoHint(e, path) }, e);
    }
  }
  if (st?.isSymbolicLink()) throw symlinkError(path);
  if (st?.isDirectory()) {
    throw new StorageError('WRITE_FAILED', `cannot write ${path}: it is a directory`, { path, hint: `move the directory ${path} out of the way` });
  }
}

/** fsync a directory so that a rename or unlink in it is durable, in this layer's errors. */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    await syncDir(dir);
  } catch (e) {
    throw new StorageError('WRITE_FAILED', `cannot flush the directory ${dir}: ${errnoText(e)}`, { path: dir, hint: errnoHint(e, dir) }, e);
  }
}

// ---------------------------------------------------------------------------------------------
// Bounded read

/**
 * Reads a file of at most `max` bytes. Returns undefined when it is missing, or larger than
 * `max` (treated as missing, as notary does for cached metadata). Other errors throw.
 */
export async function readFileBounded(path: string, max: number): Promise<Buffer | undefined> {
  assertAbsolute(path, 'the file');
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (e) {
    const c = errnoCode(e);
    if (c === 'ENOENT' || c === 'ENOTDIR') return undefined;
    throw new StorageError('READ_FAILED', `cannot read ${path}: ${errnoText(e)}`, { path, hint: errnoHint(e, path) }, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new StorageError('READ_FAILED', `cannot read ${path}: it is not a regular file`, { path, hint: `move ${path} out of the way` });
    }
    if (st.size > max) return undefined;
    // Small files (metadata of a few targets, change files, locks) are read at once: a short
    // command would otherwise wait on the thread pool for each. Large ones (a 20 MB targets file)
    // are read in the background, so that downloads started before go on meanwhile.
    const readAt =
      st.size <= SYNC_READ_MAX
        ? (b: Buffer, pos: number): Promise<number> => Promise.resolve(readSync(fd, b, 0, b.length, pos))
        : (b: Buffer, pos: number): Promise<number> => new Promise((res, rej) => read(fd, b, 0, b.length, pos, (err, n) => (err ? rej(err) : res(n))));
    // The file may change size after fstat: read until EOF, never more than max + 1 bytes.
    const chunks: Buffer[] = [];
    let total = 0;
    let want = Math.min(max + 1, st.size + 1);
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.max(want, 1));
      const bytesRead = await readAt(chunk, total);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > max) return undefined;
      chunks.push(chunk.subarray(0, bytesRead));
      want = Math.min(max + 1 - total, 64 * 1024);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  } catch (e) {
    if (e instanceof StorageError) throw e;
    throw new StorageError('READ_FAILED', `cannot read ${path}: ${errnoText(e)}`, { path, hint: errnoHint(e, path) }, e);
  } finally {
    closeSync(fd);
  }
}

const SYNC_READ_MAX = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// Removal

export interface RemoveTreeOptions {
  /**
   * Entries to keep, by path relative to the removed tree ("/"-separated). Directories holding a
   * kept entry stay as well.
   */
  keep?: (relPath: string) => boolean;
}

/**
 * Removes `<base>/<relative>` recursively without ever following a symbolic link and without
 * ever touching anything outside `base`: a link inside the tree is removed as a link, a link on
 * the way down from `base` is refused. Missing is fine. Returns true when the root is gone.
 */
export async function removeTree(base: string, rel: string, opts: RemoveTreeOptions = {}): Promise<boolean> {
  assertAbsolute(base, 'the base directory');
  const segs = rel.split('/');
  if (rel === '' || segs.some((s) => s === '' || s === '.' || s === '..' || s.includes(sep) || s.includes('\0'))) {
    throw new StorageError('OUTSIDE_BASE', `refusing to remove ${JSON.stringify(rel)}: not a clean relative path below ${base}`, {
      path: join(base, rel),
    });
  }
  const target = join(base, ...segs);
  if (!isInside(base, target) || target === base) {
    throw new StorageError('OUTSIDE_BASE', `refusing to remove ${target}: it is not inside ${base}`, { path: target });
  }
  const parentExists = await assertNoSymlinksBetween(base, dirname(target));
  if (!parentExists) return true;
  return removeEntry(target, '', opts.keep);
}

async function removeEntry(path: string, rel: string, keep: ((rel: string) => boolean) | undefined): Promise<boolean> {
  if (rel !== '' && keep?.(rel)) return false;
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return true;
    throw removeError(path, e);
  }
  if (!st.isDirectory()) {
    try {
      await unlink(path);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw removeError(path, e);
    }
    return true;
  }
  // A writer may add an entry while we empty the directory: retry a few times.
  for (let attempt = 0; ; attempt++) {
    let names: string[];
    try {
      names = await readdir(path);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return true;
      throw removeError(path, e);
    }
    let allGone = true;
    for (const name of names) {
      const gone = await removeEntry(join(path, name), rel === '' ? name : `${rel}/${name}`, keep);
      if (!gone) allGone = false;
    }
    if (!allGone) return false;
    try {
      await rmdir(path);
      return true;
    } catch (e) {
      const c = errnoCode(e);
      if (c === 'ENOENT') return true;
      if ((c === 'ENOTEMPTY' || c === 'EEXIST') && attempt < 5) continue;
      throw removeError(path, e);
    }
  }
}

function removeError(path: string, e: unknown): StorageError {
  return new StorageError('REMOVE_FAILED', `cannot remove ${path}: ${errnoText(e)}`, { path, hint: errnoHint(e, path) }, e);
}

/** Unlinks one file below `base` (no links followed on the way); missing is fine. */
export async function removeFile(base: string, path: string): Promise<boolean> {
  assertAbsolute(path, 'the file');
  if (!isInside(base, path) || relative(base, path) === '') {
    throw new StorageError('OUTSIDE_BASE', `refusing to remove ${path}: it is not inside ${base}`, { path });
  }
  if (!(await assertNoSymlinksBetween(base, dirname(path)))) return false;
  try {
    await unlink(path);
    return true;
  } catch (e) {
    const c = errnoCode(e);
    if (c === 'ENOENT') return false;
    if (c === 'EISDIR' || c === 'EPERM') {
      const st = await lstat(path).catch(() => undefined);
      if (st?.isDirectory()) {
        throw new StorageError('REMOVE_FAILED', `cannot remove ${path}: it is a directory`, { path });
      }
    }
    throw removeError(path, e);
  }
}
