// Key files written atomically, durably, with mode 0600 (SEC-F1, F2, F3): the write itself is
// fs/atomic.ts; here are the key store's checks (no symbolic link where keys are written) and its
// error codes. A SIGKILL at any point leaves the old file or the new one (plus, at worst, a temp
// file that the next write into the directory sweeps and that key listing never reads).

import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DIR_MODE, FILE_MODE, sweepStaleTemps, syncDir, writeTemp } from '../fs/atomic.js';
import { errnoCode } from '../fs/errno.js';
import { KeyStoreError } from './errors.js';

/** Test hook: called at each named step of a write (`created`, `written`, `synced`, `renamed`). */
export type FaultHook = (point: string) => void | Promise<void>;

export function ioError(what: string, path: string, e: unknown): KeyStoreError {
  const code = errnoCode(e);
  if (code === 'EACCES' || code === 'EPERM') {
    return new KeyStoreError('PERMISSION_DENIED', `cannot ${what} ${path}: permission denied`, {
      path,
      hint: `check the owner and mode of ${path} (it should belong to you, mode 0600 for files and 0700 for directories)`,
    }, e);
  }
  const text = (e as Error | null)?.message ?? String(e);
  return new KeyStoreError('IO_ERROR', `cannot ${what} ${path}: ${text}`, { path }, e);
}

/** Refuses to write through a symbolic link (SEC-F3). */
async function assertNotSymlink(path: string): Promise<boolean> {
  try {
    const st = await lstat(path);
    if (st.isSymbolicLink()) {
      throw new KeyStoreError('SYMLINK', `refusing to write through the symbolic link ${path}`, {
        path,
        hint: `dtrust does not follow links where it writes keys; replace ${path} with a real file or directory`,
      });
    }
    if (st.isDirectory()) throw new KeyStoreError('IO_ERROR', `cannot write ${path}: it is a directory`, { path });
    return true;
  } catch (e) {
    if (e instanceof KeyStoreError) throw e;
    if (errnoCode(e) === 'ENOENT') return false;
    throw ioError('inspect', path, e);
  }
}

/** Creates `dir` (and missing parents) with mode 0700; an existing directory is left as it is. */
export async function ensureDir(dir: string): Promise<void> {
  try {
    const st = await lstat(dir);
    if (st.isSymbolicLink()) {
      // A linked trust dir (e.g. ~/.docker/trust -> elsewhere) is the user's choice; a link
      // inside it where dtrust writes is not (checked by the callers for private/).
      return;
    }
    if (!st.isDirectory()) throw new KeyStoreError('IO_ERROR', `${dir} is not a directory`, { path: dir });
    return;
  } catch (e) {
    if (e instanceof KeyStoreError) throw e;
    if (errnoCode(e) !== 'ENOENT') throw ioError('inspect', dir, e);
  }
  await ensureDir(dirname(dir));
  try {
    await mkdir(dir, { mode: DIR_MODE });
    await chmod(dir, DIR_MODE);
  } catch (e) {
    if (errnoCode(e) !== 'EEXIST') throw ioError('create the directory', dir, e);
  }
}

/**
 * Writes `data` to `path` atomically, durably, with mode 0600. `fault` is called at each named
 * step (a test hook: it may throw, or kill the process).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, fault?: FaultHook): Promise<void> {
  const dir = dirname(path);
  await assertNotSymlink(path);
  sweepStaleTemps(dir);
  try {
    await (await writeTemp(path, data, { mode: FILE_MODE, fault })).rename();
  } catch (e) {
    if (e instanceof KeyStoreError) throw e;
    throw ioError('write', path, e);
  }
  await fsyncDir(dir);
}

/** Removes a file durably (unlink + directory fsync); a missing file is not an error. */
export async function removeFileDurably(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw ioError('remove', path, e);
  }
  await fsyncDir(dirname(path));
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    await syncDir(dir);
  } catch (e) {
    throw ioError('flush the directory', dir, e);
  }
}
