// Atomic, durable, private file writes for key files (SEC-F1, F2, F3). The key store sits below
// storage/ and cannot use its writer, so this is a small one with the same temp-name scheme:
// temp file in the target's directory (O_CREAT|O_EXCL|O_WRONLY|O_NOFOLLOW, 0600, fchmod) ->
// write -> fsync -> rename over the target -> fsync the directory; the temp file is removed on
// any error. A SIGKILL at any point leaves the old file or the new one (plus, at worst, a temp
// file that the next write into the directory sweeps and that key listing never reads).

import { constants, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { chmod, lstat, mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { errnoCode } from '../fs/errno.js';
import { KeyStoreError } from './errors.js';

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/** Named steps of a write, for crash and fault-injection tests. */
export type WritePoint = 'created' | 'written' | 'synced' | 'renamed';
export type FaultHook = (point: string) => void | Promise<void>;

let host: string | undefined;
/**
 * This machine's host name: the kernel's node name, read from /proc on Linux, which spares a
 * short command loading node:os (0.8 ms of CPU); os.hostname() elsewhere.
 */
export function hostName(): string {
  if (host === undefined) {
    try {
      host = readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
    } catch {
      // not Linux
    }
    if (!host) host = hostname();
  }
  return host;
}

let tag: string | undefined;
/**
 * This host's tag in temp-file names (computed on first write or sweep, not at start-up): the
 * FNV-1a hash of the host name. It only tells hosts sharing a directory apart, and a staging
 * command that never loads node:crypto saves about 7 ms.
 */
export function hostTag(): string {
  if (tag === undefined) {
    let h = 0x811c9dc5;
    for (const b of Buffer.from(hostName(), 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    tag = h.toString(16).padStart(8, '0');
  }
  return tag;
}
const TEMP_RE = /^\..*\.(\d{1,10})-([0-9a-f]{8})-[0-9a-f]{12}\.tmp$/;

export function isTempName(name: string): boolean {
  return TEMP_RE.test(name);
}

export function ioError(what: string, path: string, e: unknown): KeyStoreError {
  const code = errnoCode(e);
  if (code === 'EACCES' || code === 'EPERM') {
    return new KeyStoreError('PERMISSION_DENIED', `cannot ${what} ${path}: permission denied`, {
      path,
      cause: e,
      hint: `check the owner and mode of ${path} (it should belong to you, mode 0600 for files and 0700 for directories)`,
    });
  }
  const text = (e as Error | null)?.message ?? String(e);
  return new KeyStoreError('IO_ERROR', `cannot ${what} ${path}: ${text}`, { path, cause: e });
}

/** Whether a process with this PID exists on this host (the writer of a temp file, a lock holder). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) !== 'ESRCH';
  }
}

/** Removes temp files of dead writers on this host from `dir` (best effort). */
export function sweepStaleTemps(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (!m || m[2] !== hostTag()) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // gone already
    }
  }
}

/** Refuses to write through a symbolic link (SEC-F3). */
export async function assertNotSymlink(path: string): Promise<boolean> {
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
  const tmp = join(dir, `.${basename(path).slice(0, 96)}.${process.pid}-${hostTag()}-${randomBytes(6).toString('hex')}.tmp`);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fh: FileHandle | undefined;
  let renamed = false;
  try {
    fh = await open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, FILE_MODE);
    await fh.chmod(FILE_MODE);
    await fault?.('created');
    await fh.writeFile(bytes);
    await fault?.('written');
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fault?.('synced');
    await rename(tmp, path);
    renamed = true;
    await fault?.('renamed');
  } catch (e) {
    if (fh) await fh.close().catch(() => undefined);
    if (!renamed) await unlink(tmp).catch(() => undefined);
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

export async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    await fh.sync();
  } catch (e) {
    const c = errnoCode(e);
    if (c !== 'EINVAL' && c !== 'ENOTSUP' && c !== 'EOPNOTSUPP' && c !== 'EISDIR' && c !== 'EBADF') throw ioError('flush the directory', dir, e);
  } finally {
    if (fh) await fh.close().catch(() => undefined);
  }
}
