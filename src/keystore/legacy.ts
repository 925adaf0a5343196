// Migration of notary 0.1's key layouts (formats.md §4.1): private/root_keys/<id>[_<role>].key
// and private/tuf_keys/<gun>/<id>[_<role>].key become private/<id>.key with `role` and `gun`
// headers, as notary 0.7 reads them. Each file is copied atomically first, and only once that
// copy is durable is the old file removed. Nothing is overwritten.

import { lstatSync, readdirSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isPrivateKeyBlock } from '../crypto/keyfile.js';
import { decodePemBlocks, encodePem } from '../crypto/pem.js';
import { removeFileDurably } from './atomic.js';
import { KeyStoreError } from './errors.js';
import { KEY_EXTENSION, LEGACY_DIRS, legacyInfo, listKeyFiles, type KeyFileEntry } from './keyfiles.js';
import { isKeyId, validateGun } from './names.js';
import type { Logger } from './types.js';

/** What the migration needs of the file store. */
export interface MigrationContext {
  privateDir: string;
  /** Why keys must not be written in privateDir (nothing is migrated then), or undefined. */
  insecure: string | undefined;
  log: Logger;
  /** Reads a key file (readKeyFile with the store's warnings). */
  read(path: string): string;
  /** Writes a key file atomically. */
  write(path: string, text: string): Promise<void>;
}

/**
 * Moves the key files of notary 0.1's layouts to `private/<id>.key` with `role` and `gun`
 * headers. Nothing when keys must not be written there; a file that cannot be migrated stays
 * (and is still listed), with a warning.
 */
export async function migrateLegacyKeys(ctx: MigrationContext): Promise<void> {
  const present: string[] = [];
  for (const d of LEGACY_DIRS) {
    try {
      const st = lstatSync(join(ctx.privateDir, d));
      if (st.isDirectory()) present.push(d);
    } catch {
      // absent
    }
  }
  if (present.length === 0) return;
  if (ctx.insecure !== undefined) {
    ctx.log('warning', `not migrating the legacy key directories in ${ctx.privateDir}: ${ctx.insecure}`);
    return;
  }
  const entries = listKeyFiles(ctx.privateDir, ctx.log).filter((e) => e.legacy);
  for (const entry of entries) {
    try {
      await migrateOne(ctx, entry);
    } catch (e) {
      ctx.log('warning', `could not migrate ${entry.path}: ${(e as Error).message}; it stays where it is`);
    }
  }
  for (const d of present) await removeEmptyDirs(join(ctx.privateDir, d));
}

async function migrateOne(ctx: MigrationContext, entry: KeyFileEntry): Promise<void> {
  if (!isKeyId(entry.id)) throw new Error(`${entry.id} is not a key ID`);
  const text = ctx.read(entry.path);
  const blocks = decodePemBlocks(text);
  if (blocks.length === 0 || !isPrivateKeyBlock(blocks[0]!)) throw new Error('it holds no private key PEM block');
  const info = legacyInfo(entry.name);
  if (info.gun !== undefined) validateGun(info.gun);
  const migrated = blocks
    .map((b) => {
      const headers = new Map(b.headers);
      if (info.gun !== undefined) headers.set('gun', info.gun);
      if (info.role !== undefined) headers.set('role', info.role);
      return encodePem({ type: b.type, headers, bytes: b.bytes });
    })
    .join('');
  const target = join(ctx.privateDir, entry.id + KEY_EXTENSION);
  let existing: string | undefined;
  try {
    existing = ctx.read(target);
  } catch (e) {
    if (!(e instanceof KeyStoreError && e.code === 'KEY_NOT_FOUND')) throw e;
  }
  if (existing !== undefined && existing !== migrated) {
    throw new Error(`${target} already exists with other contents`);
  }
  if (existing === undefined) await ctx.write(target, migrated);
  // The copy is durable (file and directory fsynced): only now remove the old file.
  await removeFileDurably(entry.path);
  ctx.log('info', `migrated ${entry.path} to ${target}`);
}

async function removeEmptyDirs(dir: string): Promise<boolean> {
  let names: string[];
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory()) return false;
    names = readdirSync(dir);
  } catch {
    return false;
  }
  let empty = true;
  for (const n of names) {
    const p = join(dir, n);
    let isDir = false;
    try {
      isDir = lstatSync(p).isDirectory();
    } catch {
      // vanished
    }
    if (!isDir || !(await removeEmptyDirs(p))) empty = false;
  }
  if (!empty) return false;
  try {
    await rmdir(dir);
    return true;
  } catch {
    return false;
  }
}
