// notary's on-disk changelist, byte-compatible (formats.md §5; SEC-C2).
//
// Directory `<trustDir>/tuf/<gun>/changelist/` (0700). One file per change, named
// `%020d_<uuid v4>.change` after the Unix time in nanoseconds, mode 0600, holding exactly what
// Go's json.Marshal writes for notary's TUFChange:
//   {"action":A,"role":R,"type":T,"path":P,"data":D}
// in that key order, no newline at the end, strings escaped as encoding/json does (Go 1.19, the
// version notary 0.7 is built with here), `data` the standard base64 of the payload or `null`.
//
// Differences from notary, all invisible to notary itself:
//  - each file is written atomically (temp file + rename), never half-written; a batch
//    (addAll) that fails part way removes the files it wrote: all of it is staged or none;
//  - names are strictly increasing within a process and always sort after the files already
//    staged, even if the wall clock steps back, so that the order of application is the order
//    of staging;
//  - remove() deletes only the files it is given, by name (notary clears the directory);
//  - files that cannot be read or parsed are reported as corrupt, never skipped or deleted;
//  - temp files of an interrupted write (see fs/atomic.ts) are skipped by list(). notary would try to
//    read such a leftover and warn; the next dtrust write into the directory removes it.
//
// Durability: change files are not flushed to disk (fsync), as notary does not flush them either.
// A crash of dtrust leaves each change staged whole or not at all. A power cut in the seconds
// after staging can lose the latest changes or leave one empty; `status` reports an empty file
// as corrupt and `publish` refuses to run until it is removed (`reset -n`), so a change is never
// applied half-written. Flushing costs two fsyncs a change (file and directory), about 4 ms each
// on an ext4 virtual disk: more than the rest of staging, and seconds for a list of 500 targets.
// A staged change is a request that can be made again, unlike keys and cached metadata, which
// are flushed. Removing published changes is flushed, so that they cannot come back.

import { closeSync, constants, fchmodSync, openSync, readdirSync, renameSync, unlinkSync, writeFileSync, type Dirent } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomUuid } from '../crypto/random.js';
import { isJsonObject, parseJson, type Json } from '../tuf/json.js';
import { FILE_MODE, isTempName, sweepStaleTemps, tempNameFor } from '../fs/atomic.js';
import { errnoCode } from '../fs/errno.js';
import { ensurePrivateDir, fsyncDir, readFileBounded, removeFile } from './atomic.js';
import { StorageError, errnoHint, errnoText } from './errors.js';
import { changelistDir, gunRelative } from './paths.js';

export type ChangeAction = 'create' | 'update' | 'delete';
export type ChangeType = 'target' | 'delegation' | 'witness' | 'role';

export interface Change {
  action: ChangeAction;
  /** notary's `role` field: `targets`, `targets/…`, `root`, or a wildcard such as `targets/x/*`. */
  scope: string;
  type: ChangeType;
  path: string;
  /** The payload (notary stores it base64-encoded), or null. */
  data: Buffer | null;
}

export interface StagedChange extends Change {
  /** File name inside the changelist directory. */
  file: string;
  /** Position in the combined (changes + corrupt) order by file name: the `status` number. */
  index: number;
}

export interface CorruptChange {
  file: string;
  index: number;
  reason: string;
}

export interface ChangeListing {
  changes: StagedChange[];
  corrupt: CorruptChange[];
}

const ACTIONS: readonly string[] = ['create', 'update', 'delete'];
const TYPES: readonly string[] = ['target', 'delegation', 'witness', 'role'];

/** No change file notary writes comes near this; anything larger is reported as corrupt. */
export const MAX_CHANGE_FILE_SIZE = 16 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Clock and names

const ORIGIN = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
let lastDefault = 0n;

/** Unix time in nanoseconds from a monotonic source, strictly increasing within the process. */
export function defaultClock(): bigint {
  let t = ORIGIN + process.hrtime.bigint();
  if (t <= lastDefault) t = lastDefault + 1n;
  lastDefault = t;
  return t;
}

const MAX_STAMP = 10n ** 20n - 1n;
const STAMP_RE = /^(\d{20})_/;

/** `%020d_<uuid>.change` */
export function changeFileName(nanos: bigint, uuid: string = randomUuid()): string {
  if (nanos < 0n || nanos > MAX_STAMP) throw new RangeError(`change time ${nanos} does not fit 20 digits`);
  return `${nanos.toString().padStart(20, '0')}_${uuid}.change`;
}

/** Byte-wise name order, as Go's sort of file names. */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// ---------------------------------------------------------------------------------------------
// Go encoding/json (1.19) for the change record

const HEX = '0123456789abcdef';

/** A string as Go's json.Marshal writes it (HTML-escaped, U+2028/9 escaped, invalid → U+FFFD). */
export function goJsonString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c < 0x80) {
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26) continue;
      switch (c) {
        case 0x22:
          esc = '\\"';
          break;
        case 0x5c:
          esc = '\\\\';
          break;
        case 0x0a:
          esc = '\\n';
          break;
        case 0x0d:
          esc = '\\r';
          break;
        case 0x09:
          esc = '\\t';
          break;
        default:
          esc = '\\u00' + HEX[c >> 4]! + HEX[c & 0xf]!;
      }
    } else if (c === 0x2028 || c === 0x2029) {
      esc = c === 0x2028 ? '\\u2028' : '\\u2029';
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
      esc = '\\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      esc = '\\ufffd';
    } else {
      continue;
    }
    out += s.slice(start, i) + esc;
    start = i + 1;
  }
  return out + s.slice(start) + '"';
}

/** The exact bytes notary writes for a change. */
export function encodeChange(change: Change): Buffer {
  const data = change.data === null ? 'null' : `"${Buffer.from(change.data).toString('base64')}"`;
  const text =
    `{"action":${goJsonString(change.action)},"role":${goJsonString(change.scope)},` +
    `"type":${goJsonString(change.type)},"path":${goJsonString(change.path)},"data":${data}}`;
  return Buffer.from(text, 'utf8');
}

// ---------------------------------------------------------------------------------------------
// Decoding (notary-written files included)

const FIELDS = ['action', 'role', 'type', 'path', 'data'] as const;
type Field = (typeof FIELDS)[number];
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function fieldOf(key: string): Field | undefined {
  // Go matches struct fields exactly first, then case-insensitively.
  for (const f of FIELDS) if (f === key) return f;
  const lower = key.toLowerCase();
  for (const f of FIELDS) if (f === lower) return f;
  return undefined;
}

/** Parses one change file; returns the change or the reason it is unusable. */
export function decodeChange(bytes: Uint8Array): Change | { reason: string } {
  let doc: Json;
  try {
    doc = parseJson(bytes);
  } catch (e) {
    return { reason: (e as Error).message };
  }
  if (!isJsonObject(doc)) return { reason: 'not a JSON object' };
  const seen: Partial<Record<Field, Json>> = {};
  for (const [k, v] of Object.entries(doc)) {
    const f = fieldOf(k);
    if (f) seen[f] = v;
  }
  const str = (f: Field): string | { reason: string } => {
    const v = seen[f];
    if (v === undefined || v === null) return ''; // Go leaves the zero value
    if (typeof v !== 'string') return { reason: `"${f}" is not a string` };
    return v;
  };
  const action = str('action');
  if (typeof action !== 'string') return action;
  if (!ACTIONS.includes(action)) return { reason: `unknown action ${JSON.stringify(action)}` };
  const scope = str('role');
  if (typeof scope !== 'string') return scope;
  if (scope === '') return { reason: 'no role (scope)' };
  const type = str('type');
  if (typeof type !== 'string') return type;
  if (!TYPES.includes(type)) return { reason: `unknown change type ${JSON.stringify(type)}` };
  const path = str('path');
  if (typeof path !== 'string') return path;
  const raw = seen.data;
  let data: Buffer | null = null;
  if (raw !== undefined && raw !== null) {
    if (typeof raw !== 'string') return { reason: '"data" is neither base64 text nor null' };
    const b64 = raw.replace(/[\r\n]/g, ''); // Go's decoder skips newlines
    if (b64.length % 4 !== 0 || !BASE64.test(b64)) return { reason: '"data" is not valid base64' };
    data = Buffer.from(b64, 'base64');
  }
  return { action: action as ChangeAction, scope, type: type as ChangeType, path, data };
}

function assertChange(change: Change): void {
  const bad = (why: string): never => {
    throw new StorageError('INVALID_CHANGE', `cannot stage the change: ${why}`);
  };
  if (!ACTIONS.includes(change.action)) bad(`unknown action ${JSON.stringify(change.action)}`);
  if (!TYPES.includes(change.type)) bad(`unknown change type ${JSON.stringify(change.type)}`);
  if (typeof change.scope !== 'string' || change.scope === '') bad('the role (scope) is empty');
  if (typeof change.path !== 'string') bad('the path is not a string');
  if (change.data !== null && !(change.data instanceof Uint8Array)) bad('the data is neither bytes nor null');
}

// ---------------------------------------------------------------------------------------------

export class Changelist {
  readonly trustDir: string;
  readonly gun: string;
  /** `<trustDir>/tuf/<gun>/changelist` */
  readonly dir: string;
  private readonly clock: () => bigint;

  /** Validates the GUN (throws StorageError INVALID_GUN); touches nothing on disk. */
  constructor(trustDir: string, gun: string, clock?: () => bigint) {
    this.dir = changelistDir(trustDir, gun);
    this.trustDir = trustDir;
    this.gun = gun;
    this.clock = clock ?? defaultClock;
  }

  private entries(): Dirent[] {
    return this.readDir(() => readdirSync(this.dir, { withFileTypes: true }));
  }

  /** The names alone: a write needs no file types, which cost a changelist of 500 files ~1 ms. */
  private names(): string[] {
    return this.readDir(() => readdirSync(this.dir));
  }

  private readDir<T>(read: () => T[]): T[] {
    try {
      return read();
    } catch (e) {
      const c = errnoCode(e);
      if (c === 'ENOENT') return [];
      if (c === 'ENOTDIR') {
        throw new StorageError('NOT_DIRECTORY', `${this.dir} is not a directory`, { path: this.dir, gun: this.gun });
      }
      throw new StorageError('READ_FAILED', `cannot list the changelist ${this.dir}: ${errnoText(e)}`, {
        path: this.dir,
        gun: this.gun,
        hint: errnoHint(e, this.dir),
      }, e);
    }
  }

  /**
   * Every staged change, in file-name order (the order notary applies and numbers them), with the
   * files that cannot be used reported separately; `index` numbers both together.
   */
  async list(): Promise<ChangeListing> {
    const ents = this.entries().filter((d) => !d.isDirectory() && !isTempName(d.name));
    ents.sort((a, b) => compareNames(a.name, b.name));
    const changes: StagedChange[] = [];
    const corrupt: CorruptChange[] = [];
    let index = 0;
    for (const ent of ents) {
      const file = ent.name;
      if (ent.isSymbolicLink()) {
        corrupt.push({ file, index: index++, reason: 'it is a symbolic link (not read)' });
        continue;
      }
      if (!ent.isFile()) {
        corrupt.push({ file, index: index++, reason: 'it is not a regular file' });
        continue;
      }
      let bytes: Buffer | undefined;
      try {
        bytes = await readFileBounded(join(this.dir, file), MAX_CHANGE_FILE_SIZE);
      } catch (e) {
        corrupt.push({ file, index: index++, reason: `unreadable: ${(e as Error).message}` });
        continue;
      }
      if (bytes === undefined) {
        // Gone since readdir (removed by a concurrent reset or publish), or too large.
        const st = await lstat(join(this.dir, file)).catch(() => undefined);
        if (st === undefined) continue;
        corrupt.push({ file, index: index++, reason: `larger than ${MAX_CHANGE_FILE_SIZE} bytes` });
        continue;
      }
      const c = decodeChange(bytes);
      if ('reason' in c) corrupt.push({ file, index: index++, reason: c.reason });
      else changes.push({ ...c, file, index: index++ });
    }
    return { changes, corrupt };
  }

  /** Stages one change atomically; returns its file name. */
  async add(change: Change): Promise<string> {
    return (await this.addAll([change]))[0]!;
  }

  /**
   * Stages changes in this order, one file each, and returns their names. All or none: when one
   * cannot be written, those written before it are removed again.
   */
  async addAll(changes: readonly Change[]): Promise<string[]> {
    for (const c of changes) assertChange(c);
    await ensurePrivateDir(this.trustDir, `${gunRelative(this.gun)}/changelist`);
    const present = this.names();
    sweepStaleTemps(this.dir, present);
    let floor = -1n;
    for (const name of present) {
      const m = STAMP_RE.exec(name);
      if (m?.[1]) {
        const t = BigInt(m[1]);
        if (t > floor && t < MAX_STAMP) floor = t;
      }
    }
    const written: string[] = [];
    try {
      for (const change of changes) {
        let t = this.clock();
        if (t <= floor) t = floor + 1n;
        floor = t;
        const name = changeFileName(t);
        writeNewFile(join(this.dir, name), encodeChange(change));
        written.push(name);
      }
    } catch (e) {
      for (const name of written) removeQuietly(join(this.dir, name));
      throw e;
    }
    return written;
  }

  /** Deletes exactly the named change files (SEC-C2); names already gone are fine. */
  async remove(files: readonly string[]): Promise<void> {
    for (const f of files) {
      if (typeof f !== 'string' || f === '' || f === '.' || f === '..' || f.includes('/') || f.includes('\0')) {
        throw new StorageError('INVALID_NAME', `${JSON.stringify(f)} is not the name of a change file`, {
          gun: this.gun,
          path: this.dir,
        });
      }
    }
    let removed = false;
    for (const f of files) {
      if (await removeFile(this.trustDir, join(this.dir, f))) removed = true;
    }
    if (removed) await fsyncDir(this.dir);
  }

  /** Deletes every staged change, corrupt ones included (`reset --all`). */
  async clear(): Promise<void> {
    const { changes, corrupt } = await this.list();
    await this.remove([...changes.map((c) => c.file), ...corrupt.map((c) => c.file)]);
    sweepStaleTemps(this.dir);
  }
}

/**
 * A new change file: a private temp file renamed into place, not flushed (see the header). The
 * directory was checked on the way down (no links); the name is new (time and UUID).
 */
function writeNewFile(path: string, bytes: Buffer): void {
  const tmp = join(dirname(path), tempNameFor(path));
  try {
    const fd = openSync(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, FILE_MODE);
    try {
      fchmodSync(fd, FILE_MODE); // the umask may have removed bits; the mode is exact
      writeFileSync(fd, bytes);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    removeQuietly(tmp);
    throw new StorageError('WRITE_FAILED', `cannot write ${path}: ${errnoText(e)}`, { path, hint: errnoHint(e, dirname(path)) }, e);
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already, or never written
  }
}

/** How many changes are staged for `gun`, read synchronously (for the line an interruption prints). */
export function stagedCountSync(trustDir: string, gun: string): number {
  try {
    return readdirSync(changelistDir(trustDir, gun)).filter((n) => n.endsWith('.change') && !n.startsWith('.')).length;
  } catch {
    return 0;
  }
}
