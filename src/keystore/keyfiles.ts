// The key files in `<trust dir>/private` (formats.md §4): found by walking the directory for
// *.key as notary's ListFiles does (symbolic links and temp files skipped), read without
// following a link, and named by key ID, or, in the legacy layouts root_keys/ and
// tuf_keys/<gun>/, by `<id>[_<role>]`. Reads are synchronous: a listing is a few small files, and
// fs/promises alone costs `key list` a millisecond to load.

import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { KeyFileError } from '../crypto/keyfile.js';
import { isTempName } from '../fs/atomic.js';
import { errnoCode } from '../fs/errno.js';
import { ioError } from './atomic.js';
import { KeyStoreError, shortId } from './errors.js';
import type { Logger } from './types.js';

/** Key files are a few KiB; anything larger is not a key file. */
const MAX_KEY_FILE_SIZE = 1024 * 1024;

export const KEY_EXTENSION = '.key';
export const PRIVATE_DIR = 'private';
/** The directories of notary 0.1's layouts below private/, migrated when a store opens (legacy.ts). */
export const LEGACY_DIRS = ['root_keys', 'tuf_keys'];

/** One key file found by the walk. */
export interface KeyFileEntry {
  /** Path relative to private/, without `.key` (what notary's ListFiles returns). */
  name: string;
  path: string;
  /** The key ID: the base name (for legacy `<id>_<role>` names, the part before `_`). */
  id: string;
  /** Below root_keys/ or tuf_keys/ (not yet migrated). */
  legacy: boolean;
}

/** Every *.key file below private/ in lexical walk order (notary's ListFiles), no links. */
export function listKeyFiles(privateDir: string, log: Logger): KeyFileEntry[] {
  const out: KeyFileEntry[] = [];
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (e) {
      const c = errnoCode(e);
      if (c === 'ENOENT' || c === 'ENOTDIR') return;
      if (dir === privateDir) throw ioError('read the key directory', dir, e);
      log('warning', `skipping ${dir}: ${(e as Error).message}`);
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isSymbolicLink()) continue;
      if (st.isDirectory()) {
        walk(p);
        continue;
      }
      if (!st.isFile() || !n.endsWith(KEY_EXTENSION) || isTempName(n)) continue;
      const name = relative(privateDir, p).slice(0, -KEY_EXTENSION.length).split(sep).join('/');
      const base = n.slice(0, -KEY_EXTENSION.length);
      const legacy = LEGACY_DIRS.some((d) => name.startsWith(d + '/'));
      const id = legacy && base.includes('_') ? base.slice(0, base.indexOf('_')) : base;
      out.push({ name, path: p, id, legacy });
    }
  };
  walk(privateDir);
  return out;
}

/**
 * A key file's text: never through a symbolic link, a regular file of at most 1 MiB.
 * `exposed` is called with its mode when other users may read it.
 */
export function readKeyFile(path: string, exposed: (mode: number) => void): string {
  let fd;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const c = errnoCode(e);
    if (c === 'ELOOP') {
      throw new KeyStoreError('SYMLINK', `refusing to read the key through the symbolic link ${path}`, { path });
    }
    if (c === 'ENOENT') throw new KeyStoreError('KEY_NOT_FOUND', `no key file ${path}`, { path });
    throw ioError('read', path, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new KeyStoreError('BAD_KEY_FILE', `${path} is not a regular file`, { path });
    if (st.size > MAX_KEY_FILE_SIZE) throw new KeyStoreError('BAD_KEY_FILE', `${path} is too large to be a key file (${st.size} bytes)`, { path });
    if ((st.mode & 0o077) !== 0) exposed(st.mode);
    return readFileSync(fd, 'utf8');
  } catch (e) {
    if (e instanceof KeyStoreError) throw e;
    throw ioError('read', path, e);
  } finally {
    closeSync(fd);
  }
}

/** Role and GUN encoded in a legacy path `root_keys/<id>[_role]` / `tuf_keys/<gun>/<id>[_role]`. */
export function legacyInfo(name: string): { role: string | undefined; gun: string | undefined } {
  const parts = name.split('/');
  const base = parts[parts.length - 1]!;
  const dir = parts.slice(1, -1).join('/');
  const us = base.indexOf('_');
  return { role: us >= 0 ? base.slice(us + 1) : undefined, gun: dir !== '' ? dir : undefined };
}

/** Maps errors of the crypto layer to key store errors naming the file. */
export function fromKeyFileError(e: unknown, path: string, keyId: string): unknown {
  if (!(e instanceof KeyFileError)) return e;
  const code = e.code === 'ITERATIONS_TOO_HIGH' ? 'UNSUPPORTED_ENCRYPTION' : e.code;
  const hint =
    code === 'BAD_KEY_FILE'
      ? 'the key file is corrupt or truncated: restore it from a backup (key export output)'
      : code === 'UNSUPPORTED_KEY'
        ? 'dtrust and notary sign with ECDSA (P-256, P-384, P-521), RSA (2048 bits or more) and Ed25519 keys'
        : undefined;
  return new KeyStoreError(code, `${path} (key ${shortId(keyId)}): ${e.message}`, { path, keyId, ...(hint ? { hint } : {}) }, e);
}
