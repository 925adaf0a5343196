// `key import` and `key export` with notary's semantics (formats.md §4.7, cli.md §9.16-9.17),
// made safe:
//  - a file without any PEM block is an error (notary: silent success, cli.md §12 item 8);
//  - every block is checked before anything is written, and nothing is written when a passphrase
//    is missing or wrong;
//  - an existing key is never overwritten (same ID, role and GUN: already there, skipped);
//  - the `path` header must be a key ID and must match the key when it can be computed;
//  - unencrypted keys are encrypted in notary's form; encrypted keys notary can read are stored
//    unchanged (their passphrase stays); encrypted keys without `path` or in a scheme notary
//    cannot read (e.g. OpenSSL's default hmacWithSHA256) are decrypted with their passphrase and
//    stored in notary's form, so notary and docker can use every key dtrust imported;
//  - `export --gun A --gun B` exports both (cli.md §12 item 7).

import { basename, dirname } from 'node:path';
import {
  KeyFileError,
  decodeKeyBlock,
  isPrivateKeyBlock,
  keyBlockEncryption,
  type PrivateKeyData,
} from '../crypto/keyfile.js';
import { decodePemBlocks, encodePem, type PemBlock } from '../crypto/pem.js';
import { KeyStoreError, isKeyStoreError, shortId } from './errors.js';
import type { FileKeyStore } from './filestore.js';
import { DEFAULT_IMPORT_ROLE, isKeyId, roleHasGun, validateGun, validateRole } from './names.js';
import type { PassphraseRetriever } from './passphrase.js';
import { keyIdOf } from './signer.js';
import type { KeyRecord, Logger } from './types.js';

export interface ImportSource {
  /** Shown in messages (the file name). */
  name: string;
  text: string;
}

export interface ImportOptions {
  /** Role for blocks without a `role` header (default `delegation`). */
  role?: string;
  /** GUN for blocks without a `gun` header. */
  gun?: string;
  passphrases: PassphraseRetriever;
  log?: Logger;
}

export interface RejectedBlock {
  source: string;
  /** 1-based position of the block in its file. */
  block: number;
  reason: string;
  code: string;
}

export interface ImportResult {
  imported: KeyRecord[];
  /** Keys already present with the same role and GUN. */
  unchanged: KeyRecord[];
  rejected: RejectedBlock[];
}

class Reject extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Prepared {
  id: string;
  role: string;
  gun: string;
  pem: string;
}

/**
 * Imports every private key block of every source into `store`. Throws NO_KEYS_IN_FILE (before
 * writing anything) when a source has no PEM block, and passphrase errors as they come (nothing
 * written yet). Blocks that cannot be imported are reported in `rejected`; the others are stored.
 */
export async function importKeys(store: FileKeyStore, sources: readonly ImportSource[], opts: ImportOptions): Promise<ImportResult> {
  const log = opts.log ?? (() => undefined);
  if (opts.role !== undefined && opts.role !== '') validateRole(opts.role);
  if (opts.gun !== undefined && opts.gun !== '') validateGun(opts.gun);
  const parsed = sources.map((s) => ({ source: s, blocks: decodePemBlocks(s.text) }));
  for (const p of parsed) {
    if (p.blocks.length === 0) {
      throw new KeyStoreError('NO_KEYS_IN_FILE', `no keys found in ${p.source.name}`, {
        path: p.source.name,
        hint: 'give a PEM file with a private key (BEGIN PRIVATE KEY, ENCRYPTED PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)',
      });
    }
  }

  const result: ImportResult = { imported: [], unchanged: [], rejected: [] };
  const planned: Prepared[] = [];
  for (const { source, blocks } of parsed) {
    for (let i = 0; i < blocks.length; i++) {
      try {
        const p = await prepareBlock(store, blocks[i]!, opts, planned);
        if (p === 'unchanged') continue;
        if ('record' in p) {
          result.unchanged.push(p.record);
          log('info', `key ${p.record.id} (${p.record.role}) is already in ${store.name}`);
          continue;
        }
        planned.push(p);
      } catch (e) {
        if (e instanceof Reject) {
          result.rejected.push({ source: source.name, block: i + 1, reason: e.message, code: e.code });
          log('warning', `failed to import key ${i + 1} of ${source.name}: ${e.message}`);
          continue;
        }
        throw e;
      }
    }
  }

  // Consecutive blocks for the same key are stored together in one file (as notary does).
  let i = 0;
  while (i < planned.length) {
    const first = planned[i]!;
    let pem = first.pem;
    let j = i + 1;
    while (j < planned.length && planned[j]!.id === first.id) pem += planned[j++]!.pem;
    await store.writeRaw(first.id, pem);
    result.imported.push({ id: first.id, role: first.role, gun: first.gun, location: store.name });
    log('info', `imported ${first.role} key ${first.id}${first.gun ? ` for ${first.gun}` : ''}`);
    i = j;
  }
  return result;
}

/** One block on its way in: its headers resolved, the key ID its `path` header names. */
interface BlockImport {
  store: FileKeyStore;
  block: PemBlock;
  /** The headers to store (without `path`). */
  headers: Map<string, string>;
  role: string;
  gun: string;
  pathId: string | undefined;
  opts: ImportOptions;
  planned: readonly Prepared[];
}

/**
 * What to store for one block: the PEM to write, an existing key with the same role and GUN
 * (`record`), or 'unchanged' (a repeat of a block planned before). Throws Reject for a block
 * that cannot be imported.
 */
async function prepareBlock(
  store: FileKeyStore,
  block: PemBlock,
  opts: ImportOptions,
  planned: readonly Prepared[],
): Promise<Prepared | { record: KeyRecord } | 'unchanged'> {
  const { headers, role, gun } = resolveHeaders(block, opts);
  if (!isPrivateKeyBlock(block)) {
    throw new Reject('UNSUPPORTED_KEY', `the PEM block is a ${block.type}, not a private key`);
  }
  let enc;
  try {
    enc = keyBlockEncryption(block);
  } catch (e) {
    if (e instanceof KeyFileError) throw new Reject(e.code, e.message);
    throw e;
  }
  const path = headers.get('path');
  headers.delete('path');
  if (path !== undefined && path !== '' && !isKeyId(path)) {
    throw new Reject('INVALID_KEY_ID', `the path header ${JSON.stringify(path)} is not a key ID`);
  }
  const b: BlockImport = { store, block, headers, role, gun, pathId: path === '' ? undefined : path, opts, planned };
  if (enc.scheme === 'none') return importUnencrypted(b);
  if (b.pathId !== undefined && enc.notaryReadable) {
    // Stored as it is, still encrypted with its own passphrase (as notary does).
    const ex = await existing(b, b.pathId);
    if (ex !== undefined) return ex;
    return { id: b.pathId, role, gun, pem: encodePem({ type: block.type, headers, bytes: block.bytes }) };
  }
  return importDecrypted(b, enc.notaryReadable);
}

/** Role and GUN of a block from its headers, a legacy `path`, and the command line's fallbacks. */
function resolveHeaders(block: PemBlock, opts: ImportOptions): { headers: Map<string, string>; role: string; gun: string } {
  const headers = new Map(block.headers);
  // 1. A legacy `path` such as tuf_keys/<gun>/<id> gives the GUN; the path becomes its base name.
  const rawPath = headers.get('path');
  if (rawPath !== undefined && rawPath !== '' && rawPath !== basename(rawPath)) {
    const dir = dirname(rawPath);
    if (dir.startsWith('tuf_keys')) {
      const gun = dir.slice('tuf_keys'.length).replace(/^\/+|\/+$/g, '');
      if (gun !== '') headers.set('gun', gun);
    }
    headers.set('path', basename(rawPath));
  }
  // A 0.1-style name `<id>_<role>` carries the role.
  const legacyName = /^([0-9a-f]{64})_(.+)$/.exec(headers.get('path') ?? '');
  if (legacyName) {
    headers.set('path', legacyName[1]!);
    if (!headers.get('role')) headers.set('role', legacyName[2]!);
  }
  // 2. Fallbacks from the command line.
  if (!headers.get('gun') && opts.gun) headers.set('gun', opts.gun);
  if (!headers.get('role')) headers.set('role', opts.role || DEFAULT_IMPORT_ROLE);
  const role = headers.get('role')!;
  try {
    validateRole(role);
  } catch (e) {
    throw new Reject('INVALID_ROLE', (e as Error).message);
  }
  // 3. Base roles other than root need a GUN; every other key has none.
  let gun = headers.get('gun') ?? '';
  if (roleHasGun(role)) {
    if (gun === '') throw new Reject('INVALID_GUN', `a ${role} key needs a GUN (give one with --gun), dtrust cannot tell which repository it belongs to`);
    try {
      validateGun(gun);
    } catch (e) {
      throw new Reject('INVALID_GUN', (e as Error).message);
    }
  } else {
    gun = '';
    headers.delete('gun');
  }
  return { headers, role, gun };
}

/** An unencrypted key: encrypted in notary's form with a new passphrase. */
async function importUnencrypted(b: BlockImport): Promise<Prepared | { record: KeyRecord } | 'unchanged'> {
  const key = await decodeOrReject(b.block, null);
  if (key === null) throw new Reject('BAD_KEY_FILE', 'the key cannot be read');
  const id = checkId(b, key);
  const ex = await existing(b, id);
  if (ex !== undefined) return ex;
  const passphrase = await b.opts.passphrases.newPassphrase({ keyId: id, alias: b.role, keyName: b.pathId ?? id });
  try {
    return { id, role: b.role, gun: b.gun, pem: await b.store.encode(key, b.role, b.gun, passphrase) };
  } finally {
    passphrase.fill(0);
  }
}

/**
 * Encrypted without a path (the ID is unknown until decrypted), or encrypted in a way notary
 * cannot read: decrypt with the key's passphrase, then store it in notary's form.
 */
async function importDecrypted(b: BlockImport, notaryReadable: boolean): Promise<Prepared | { record: KeyRecord } | 'unchanged'> {
  const { pathId, role, gun, block } = b;
  let used: Buffer | undefined;
  const key = await b.opts.passphrases.unlock(
    {
      keyId: pathId ?? '',
      alias: role,
      keyName: pathId ?? '',
      label: pathId !== undefined ? `${role} key ${shortId(pathId)}` : `encrypted ${role} key`,
    },
    async (p) => {
      const k = await decodeOrReject(block, p);
      if (k !== null) used = Buffer.from(p);
      return k;
    },
  );
  try {
    const id = checkId(b, key);
    const ex = await existing(b, id);
    if (ex !== undefined) return ex;
    if (notaryReadable) {
      return { id, role, gun, pem: encodePem({ type: block.type, headers: b.headers, bytes: block.bytes }) };
    }
    return { id, role, gun, pem: await b.store.encode(key, role, gun, used!) };
  } finally {
    used?.fill(0);
  }
}

async function decodeOrReject(block: PemBlock, passphrase: Buffer | null): Promise<PrivateKeyData | null> {
  try {
    return await decodeKeyBlock(block, passphrase);
  } catch (e) {
    if (e instanceof KeyFileError) throw new Reject(e.code, e.message);
    throw e;
  }
}

/** The key's ID, which the `path` header must name when it has one. */
function checkId(b: BlockImport, key: PrivateKeyData): string {
  const id = keyIdOf(key);
  if (b.pathId !== undefined && b.pathId !== id) {
    throw new Reject('KEY_ID_MISMATCH', `the path header says ${b.pathId} but the key's ID is ${id}`);
  }
  return id;
}

/** Existing key with this ID: same role and GUN is fine (skip), anything else is refused. */
async function existing(b: BlockImport, id: string): Promise<{ record: KeyRecord } | 'unchanged' | undefined> {
  const { planned, role, gun } = b;
  const dup = planned.find((p) => p.id === id);
  if (dup) {
    if (dup.role === role && dup.gun === gun) return planned[planned.length - 1]?.id === id ? undefined : 'unchanged';
    throw new Reject('KEY_EXISTS', `key ${id} appears twice with different roles (${dup.role}, ${role})`);
  }
  let rec: KeyRecord | undefined;
  try {
    rec = await b.store.get(id);
  } catch (e) {
    if (isKeyStoreError(e)) throw new Reject('KEY_EXISTS', `key ${id} is already in the key store but its file cannot be read (${e.message})`);
    throw e;
  }
  if (rec === undefined) return undefined;
  if (rec.role === role && rec.gun === gun) return { record: rec };
  throw new Reject('KEY_EXISTS', `key ${id} is already in the key store with role ${rec.role || '(none)'}${rec.gun ? ` for ${rec.gun}` : ''}; remove it first (key remove) to import it again`);
}

export interface ExportFilter {
  ids?: readonly string[];
  guns?: readonly string[];
}

/**
 * The stored key files as PEM, each block still encrypted, with a `path: <key ID>` header added
 * (headers sorted: gun, path, role). No filter: every key in walk order. `ids`: those keys.
 * `guns`: keys whose `gun` header equals one of them, in key ID order.
 */
export async function exportKeys(store: FileKeyStore, filter: ExportFilter = {}, log: Logger = () => undefined): Promise<string> {
  const ids = filter.ids && filter.ids.length > 0 ? new Set(filter.ids) : undefined;
  const guns = filter.guns && filter.guns.length > 0 ? new Set(filter.guns) : undefined;
  if (ids && guns) {
    throw new KeyStoreError('NOT_SUPPORTED', 'Only the --gun or --key flag may be provided, not a mix of the two flags');
  }
  let entries = store.listFiles();
  if (guns) entries = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let out = '';
  for (const entry of entries) {
    if (ids && !ids.has(entry.id)) continue;
    let text: string;
    try {
      text = await store.readEntry(entry);
    } catch (e) {
      log('warning', `could not read key file at ${entry.path}: ${(e as Error).message}`);
      continue;
    }
    const blocks = decodePemBlocks(text);
    if (blocks.length === 0) {
      log('warning', `could not parse key file at ${entry.path}: it holds no PEM block`);
      continue;
    }
    if (guns && !guns.has(blocks[0]!.headers.get('gun') ?? '')) continue;
    for (const b of blocks) {
      const headers = new Map(b.headers);
      headers.set('path', entry.name);
      out += encodePem({ type: b.type, headers, bytes: b.bytes });
    }
  }
  return out;
}
