// Per-GUN writer lock (SEC-C1): `<trustDir>/tuf/<gun>/.dtrust.lock`, held for a whole command.
//
// Acquire: the holder record {pid, host, started, token} is written to a private temp file which
// is then hard-linked to the lock name; link() fails with EEXIST when the lock exists, so the lock
// appears atomically and always complete. A second writer polls (bounded, default 10 s) and then
// fails naming the holder's PID. A lock whose holder is dead (same host, kill(pid, 0) → ESRCH) is
// taken over with a notice: the taker holds a short-lived `.dtrust.lock.break` file (O_EXCL)
// while it checks that the lock is still the dead one and removes it, so two waiters cannot both
// break it and end up holding it together.
//
// Re-entrant within one async call chain (AsyncLocalStorage): a command that holds the lock can
// call code that takes it again. Other tasks of the same process wait like another process would.
// Release removes the lock file, and the GUN directory when it is then empty (after `delete`).
// Readers do not lock; they rely on atomic renames (SEC-C5).

import { AsyncLocalStorage } from 'node:async_hooks';
import { closeSync, constants, fchmodSync, linkSync, openSync, readFileSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { lstat, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomHex } from '../crypto/random.js';
import { hostName, pidAlive, tempNameFor } from '../fs/atomic.js';
import { errnoCode } from '../fs/errno.js';
import { ensurePrivateDir, readFileBounded } from './atomic.js';
import { StorageError, errnoHint, errnoText } from './errors.js';
import { gunDir, gunRelative } from './paths.js';

export const LOCK_FILE_NAME = '.dtrust.lock';
const BREAK_FILE_NAME = '.dtrust.lock.break';
/** A break file is held for microseconds; one older than this was left by a crash. */
const BREAK_STALE_MS = 5_000;

export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
export const DEFAULT_LOCK_POLL_MS = 100;

export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  started: string;
  token: string;
}

export interface LockOptions {
  /** How long a second writer waits before failing. Default 10 s; 0 fails at once. */
  timeoutMs?: number;
  /** Poll interval while waiting. Default 100 ms. */
  pollMs?: number;
  /** Receives one line when a dead holder's lock is taken over. */
  onNotice?: (message: string) => void;
  /** Called once when this writer starts waiting for a live holder. */
  onWait?: (holder: LockHolder | undefined) => void;
  /**
   * `fn` never takes a lock itself (a changelist write): it runs without the async context that
   * lets a nested call re-enter, whose set-up (AsyncLocalStorage) costs a short command ~1 ms.
   * A nested call for the same GUN would then wait like another process, and time out.
   */
  leaf?: boolean;
}

const held = new AsyncLocalStorage<ReadonlySet<string>>();
const HOST = hostName();

function parseHolder(bytes: Buffer | undefined): LockHolder | undefined {
  if (bytes === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as Record<string, unknown>;
    if (typeof o['pid'] !== 'number' || !Number.isSafeInteger(o['pid']) || o['pid'] <= 0) return undefined;
    if (typeof o['host'] !== 'string' || typeof o['started'] !== 'string' || typeof o['token'] !== 'string') return undefined;
    return { pid: o['pid'], host: o['host'], started: o['started'], token: o['token'] };
  } catch {
    return undefined;
  }
}

function lockError(path: string, e: unknown, gun: string, what: string): StorageError {
  return new StorageError('LOCK_FAILED', `cannot ${what} the lock ${path}: ${errnoText(e)}`, { path, gun, hint: errnoHint(e, path) }, e);
}

/** The current holder of a GUN's lock, if any (for diagnostics). */
export async function readLockHolder(trustDir: string, gun: string): Promise<LockHolder | undefined> {
  return parseHolder(await readFileBounded(join(gunDir(trustDir, gun), LOCK_FILE_NAME), 4096));
}

/** Runs `fn` holding the GUN's exclusive writer lock; releases it however `fn` ends. */
export async function withGunLock<T>(trustDir: string, gun: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const dir = gunDir(trustDir, gun); // validates before anything touches the disk
  const lockPath = join(dir, LOCK_FILE_NAME);
  const current = held.getStore();
  if (current?.has(lockPath)) return fn();

  const mine: LockHolder = { pid: process.pid, host: HOST, started: isoTime(Date.now()), token: randomHex(16) };
  await acquire(trustDir, gun, dir, lockPath, mine, opts);
  const next = new Set(current ?? []);
  next.add(lockPath);
  heldNow.set(lockPath, mine.token);
  try {
    return await (opts.leaf ? fn() : held.run(next, fn));
  } finally {
    heldNow.delete(lockPath);
    await release(dir, lockPath, mine);
  }
}

/** `new Date(ms).toISOString()`, which first loads the ICU time zone (~1 ms of a short command). */
export function isoTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}Z`;
}

/** Lock files this process holds now, with their tokens (for an interruption). */
const heldNow = new Map<string, string>();

/** Releases every lock this process holds, synchronously (an interrupted process is about to exit). */
export function releaseLocksNow(): void {
  for (const [lockPath, token] of heldNow) {
    try {
      if (parseHolder(readFileSync(lockPath))?.token === token) unlinkSync(lockPath);
    } catch {
      // gone already
    }
  }
  heldNow.clear();
}

async function acquire(trustDir: string, gun: string, dir: string, lockPath: string, mine: LockHolder, opts: LockOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const pollMs = Math.max(1, opts.pollMs ?? DEFAULT_LOCK_POLL_MS);
  // Read the clock only once the lock is found taken: `performance` loads perf_hooks.
  let deadline: number | undefined;
  const record = Buffer.from(JSON.stringify(mine) + '\n', 'utf8');
  let waited = false;
  for (;;) {
    await ensurePrivateDir(trustDir, gunRelative(gun));
    if (tryCreate(dir, lockPath, record, gun)) return;
    deadline ??= performance.now() + timeoutMs;

    const bytes = await readFileBounded(lockPath, 4096).catch((e: unknown) => {
      throw lockError(lockPath, e, gun, 'read');
    });
    if (bytes === undefined) continue; // released meanwhile: try again at once
    const holder = parseHolder(bytes);
    const dead = holder === undefined || (holder.host === HOST && !pidAlive(holder.pid));
    if (dead) {
      if (await breakStale(dir, lockPath, bytes, gun)) {
        opts.onNotice?.(
          holder === undefined
            ? `removed an unreadable lock file ${lockPath}`
            : `took over the lock on ${gun} left by PID ${holder.pid}, which is no longer running (locked since ${holder.started})`,
        );
        continue;
      }
    }
    if (performance.now() >= deadline) {
      const who = holder ? `PID ${holder.pid}${holder.host !== HOST ? ` on host ${holder.host}` : ''}` : 'another process';
      throw new StorageError(
        'LOCKED',
        `${gun} is locked by another dtrust command (${who}${holder ? `, since ${holder.started}` : ''}); gave up after ${(timeoutMs / 1000).toFixed(timeoutMs % 1000 === 0 ? 0 : 1)} s`,
        {
          path: lockPath,
          gun,
          ...(holder ? { pid: holder.pid, host: holder.host } : {}),
          hint: `wait for that command to finish and try again; if ${holder ? `PID ${holder.pid}` : 'it'} is not a running dtrust command, remove ${lockPath}`,
        },
      );
    }
    if (!waited) {
      waited = true;
      opts.onWait?.(holder);
    }
    await sleep(Math.min(pollMs, Math.max(1, deadline - performance.now())));
  }
}

/**
 * One attempt: temp file with the record, hard-linked to the lock name. Synchronous calls: each
 * takes microseconds, a round trip through the thread pool more than that.
 */
function tryCreate(dir: string, lockPath: string, record: Buffer, gun: string): boolean {
  const tmp = join(dir, tempNameFor(lockPath));
  try {
    const fd = openSync(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600);
    try {
      fchmodSync(fd, 0o600);
      writeSync(fd, record);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    removeQuietly(tmp);
    if (errnoCode(e) === 'ENOENT') return false; // the directory vanished (concurrent delete): retry
    throw lockError(lockPath, e, gun, 'create');
  }
  try {
    linkSync(tmp, lockPath);
    return true;
  } catch (e) {
    const c = errnoCode(e);
    if (c === 'EEXIST' || c === 'ENOENT') return false;
    throw lockError(lockPath, e, gun, 'create');
  } finally {
    removeQuietly(tmp);
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}

/**
 * Removes a dead holder's lock if it still holds exactly the bytes we judged stale, under the
 * break file so that only one waiter does so. Returns true when the lock is gone.
 */
async function breakStale(dir: string, lockPath: string, staleBytes: Buffer, gun: string): Promise<boolean> {
  const breakPath = join(dir, BREAK_FILE_NAME);
  try {
    const fh = await open(breakPath, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600);
    await fh.close();
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') {
      const st = await lstat(breakPath).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > BREAK_STALE_MS) await unlink(breakPath).catch(() => undefined);
      return false;
    }
    if (errnoCode(e) === 'ENOENT') return false;
    throw lockError(breakPath, e, gun, 'create');
  }
  try {
    const now = await readFileBounded(lockPath, 4096);
    if (now === undefined) return true;
    if (!now.equals(staleBytes)) return false;
    await unlink(lockPath).catch((e: unknown) => {
      if (errnoCode(e) !== 'ENOENT') throw lockError(lockPath, e, gun, 'remove');
    });
    return true;
  } finally {
    await unlink(breakPath).catch(() => undefined);
  }
}

async function release(dir: string, lockPath: string, mine: LockHolder): Promise<void> {
  const bytes = await readFileBounded(lockPath, 4096).catch(() => undefined);
  const holder = parseHolder(bytes);
  if (holder?.token !== mine.token) return; // not ours any more (removed by hand): leave it
  removeQuietly(lockPath);
  // After `delete` the GUN directory holds nothing else: remove it, as notary's delete does.
  try {
    rmdirSync(dir);
  } catch {
    // not empty
  }
}
