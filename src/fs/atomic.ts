// The one atomic, durable, private file write (SEC-F1, SEC-F2, SEC-F3) under the key store's and
// the metadata cache's writers; each adds its own checks and maps failures to its own codes, so
// errors leave here as Node's system errors.
//
// A write: temp file in the target's directory (O_CREAT|O_EXCL|O_WRONLY|O_NOFOLLOW, the mode from
// creation and fchmod'ed so the umask cannot change it) -> write -> fsync -> rename over the
// target -> fsync the directory. Any error before the rename removes the temp file. A crash
// (SIGKILL, power loss after the directory fsync) leaves the old file or the new one, never a
// partial, empty or missing one.
//
// A crash between creating the temp file and the rename can leave the temp file behind: nothing
// can remove it once the process is gone. Temp names carry the writer's PID and a host tag, so the
// next write into the same directory on the same host removes temps whose writer is dead
// (sweepStaleTemps), and readers of the directory skip them (isTempName).

import { close, closeSync, constants, fchmodSync, fsync, openSync, readdirSync, readFileSync, unlinkSync, write } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { randomHex } from '../crypto/random.js';
import { errnoCode } from './errno.js';

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/** Named steps of a write, for crash and fault-injection tests. */
export type WritePoint = 'created' | 'written' | 'synced' | 'renamed';
/** Test hook called at each step; throwing simulates a failure there. */
export type WriteFault = (point: WritePoint, tempPath: string) => void | Promise<void>;

// ---------------------------------------------------------------------------------------------
// Temp file names: .<target base name, truncated>.<pid>-<host tag>-<random>.tmp

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
/** Temp files of writes of this process still under way (a sweep leaves them alone). */
const inFlight = new Set<string>();

/** A fresh temp-file name for `target` (swept by sweepStaleTemps when its writer dies). */
export function tempNameFor(target: string): string {
  return `.${basename(target).slice(0, 96)}.${process.pid}-${hostTag()}-${randomHex(6)}.tmp`;
}

/** True for the name of a temp file of a write (readers of a directory skip them). */
export function isTempName(name: string): boolean {
  return TEMP_RE.test(name);
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

/**
 * Removes temp files in `dir` left by writers on this host that are no longer running (and by
 * this process, when no write of ours is using them). Best effort; returns the names removed.
 * `listed`: the directory's names when the caller has just read them. Synchronous: the
 * directories are small, and a round trip through the thread pool costs a short command more.
 */
export function sweepStaleTemps(dir: string, listed?: readonly string[]): string[] {
  let names: readonly string[];
  try {
    names = listed ?? readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (!m || m[2] !== hostTag()) continue;
    const pid = Number(m[1]);
    const full = join(dir, name);
    const stale = pid === process.pid ? !inFlight.has(full) : !pidAlive(pid);
    if (!stale) continue;
    try {
      unlinkSync(full);
      removed.push(name);
    } catch {
      // raced with another sweeper, or not ours to remove: leave it
    }
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------
// The write

/** A file written and flushed next to its target, not yet renamed into place. */
export interface TempFile {
  readonly path: string;
  /** Renames it over the target (then the fault hook's `renamed`); removes it if the rename fails. */
  rename(): Promise<void>;
  /** Removes it (best effort). */
  discard(): Promise<void>;
}

export interface TempFileOptions {
  /** File mode, applied exactly whatever the umask. Default 0600. */
  mode?: number;
  fault?: WriteFault | undefined;
}

/**
 * The first half of an atomic write: `data` in a new temp file of the target's directory, synced
 * and closed. On any error the temp file is removed and the error thrown as it came.
 */
export async function writeTemp(target: string, data: Uint8Array | string, opts: TempFileOptions = {}): Promise<TempFile> {
  const mode = opts.mode ?? FILE_MODE;
  const fault = opts.fault;
  const tmp = join(dirname(target), tempNameFor(target));
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  inFlight.add(tmp);
  let fd: number | undefined;
  try {
    // Created on this thread: an interruption (abandonWritesInFlight) then finds the file or no
    // file. Created on the thread pool, it could appear after the interruption removed the temps.
    fd = openSync(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, mode);
    fchmodSync(fd, mode); // the umask may have removed bits; the mode is exact
    await fault?.('created', tmp);
    await writeAll(fd, bytes);
    await fault?.('written', tmp);
    await onPool<void>((cb) => fsync(fd!, cb));
    const closing = fd;
    fd = undefined;
    await onPool<void>((cb) => close(closing, cb));
    await fault?.('synced', tmp);
  } catch (e) {
    if (fd !== undefined) await onPool<void>((cb) => close(fd!, cb)).catch(() => undefined);
    await removeTemp(tmp);
    throw e;
  }
  return {
    path: tmp,
    rename: async () => {
      let renamed = false;
      try {
        await rename(tmp, target);
        renamed = true;
        await fault?.('renamed', tmp);
      } catch (e) {
        if (!renamed) await unlink(tmp).catch(() => undefined);
        throw e;
      } finally {
        inFlight.delete(tmp);
      }
    },
    discard: () => removeTemp(tmp),
  };
}

/** A callback-style fs call as a promise. */
function onPool<T>(call: (cb: (e: Error | null, v?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => call((e, v) => (e ? reject(e) : resolve(v as T))));
}

async function writeAll(fd: number, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length; ) {
    off += await onPool<number>((cb) => write(fd, bytes, off, bytes.length - off, null, cb));
  }
}

async function removeTemp(tmp: string): Promise<void> {
  await unlink(tmp).catch(() => undefined);
  inFlight.delete(tmp);
}

/**
 * An empty file in `dir` that tells readers a write of this process is under way there, named
 * like a temp file (`.<what>.<pid>-<host tag>-<random>.tmp`): if the process dies, readers ignore
 * it and the next mark in `dir` sweeps it away. `remove` ends it.
 */
export function markWriting(dir: string, what: string): { remove(): Promise<void> } {
  sweepStaleTemps(dir);
  const path = join(dir, tempNameFor(join(dir, what)));
  inFlight.add(path);
  try {
    closeSync(openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, FILE_MODE)); // on this thread, as in writeTemp
  } catch (e) {
    inFlight.delete(path);
    throw e;
  }
  return { remove: () => removeTemp(path) };
}

/**
 * Whether a markWriting(dir, what) write may still be under way: a marker whose writer is this
 * process with the write in flight, a live process on this host, or a process on another host
 * (which cannot be asked).
 */
export function writingIn(dir: string, what: string): boolean {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return false;
  }
  const prefix = `.${what}.`;
  for (const name of names) {
    const m = name.startsWith(prefix) ? TEMP_RE.exec(name) : null;
    if (!m) continue;
    const pid = Number(m[1]);
    if (m[2] !== hostTag() || (pid === process.pid ? inFlight.has(join(dir, name)) : pidAlive(pid))) return true;
  }
  return false;
}

/**
 * fsync a directory so that a rename or unlink in it is durable. File systems that cannot
 * (EINVAL, ENOTSUP, ...) are accepted as they are.
 */
export async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    await fh.sync();
  } catch (e) {
    const c = errnoCode(e);
    if (c !== 'EINVAL' && c !== 'ENOTSUP' && c !== 'EOPNOTSUPP' && c !== 'EISDIR' && c !== 'EBADF') throw e;
  } finally {
    if (fh) await fh.close().catch(() => undefined);
  }
}

/**
 * Removes the temp files of writes still in flight, synchronously (an interrupted process is
 * about to exit: their targets keep their old content).
 */
export function abandonWritesInFlight(): number {
  let n = 0;
  for (const tmp of inFlight) {
    try {
      unlinkSync(tmp);
      n++;
    } catch {
      // already renamed or removed
    }
  }
  inFlight.clear();
  return n;
}
