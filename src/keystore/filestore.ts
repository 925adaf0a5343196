// Encrypted key files in `<trust dir>/private`, shared with notary and docker (formats.md §4):
// one PEM file per key named `<canonical key ID>.key`, PKCS#8 encrypted with PBES2 (notary's
// structure, a stronger KDF), `role` header and `gun` for targets/snapshot/timestamp keys.
//  - Keys are listed by walking private/ recursively for *.key, skipping symbolic links
//    (keyfiles.ts, which also reads them).
//  - Legacy layouts (root_keys/, tuf_keys/<gun>/) are migrated when the store opens (legacy.ts).
//  - Every write is atomic (atomic.ts); directories 0700, files 0600; keys are not written where
//    other users could swap a directory or file (keydirs.ts, SEC-F2).
//  - After decryption the key's ID must equal the file name, and a key signs only for the role
//    it was created for (SEC-F5).

import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { decodeKeyBlock, encodeKeyBlock, isPrivateKeyBlock, keyBlockEncryption, type PrivateKeyData } from '../crypto/keyfile.js';
import { decodePemBlocks, encodePem, type PemBlock } from '../crypto/pem.js';
import { MAX_READ_ITERATIONS, MIN_WRITE_ITERATIONS } from '../crypto/pbes2.js';
import { sweepStaleTemps } from '../fs/atomic.js';
import { errnoCode } from '../fs/errno.js';
import { ensureDir, ioError, removeFileDurably, writeFileAtomic, type FaultHook } from './atomic.js';
import { KeyStoreError } from './errors.js';
import { checkKeyDirs } from './keydirs.js';
import { KEY_EXTENSION, PRIVATE_DIR, fromKeyFileError, legacyInfo, listKeyFiles, readKeyFile, type KeyFileEntry } from './keyfiles.js';
import { migrateLegacyKeys } from './legacy.js';
import { roleHasGun, validateGun, validateKeyId, validateRole } from './names.js';
import type { Env, NewPassphraseOptions, PassphraseRetriever } from './passphrase.js';
import { checkUse, keyIdOf, makeSigner } from './signer.js';
import type { AddKeyOptions, KeyRecord, KeySigner, KeyStore, Logger, SignerOptions } from './types.js';

/**
 * PBKDF2-HMAC-SHA1 iterations for keys dtrust writes (notary writes 2048). Chosen by measuring
 * unlock times on the 2-core reference machine (test/keystore/notary-kdf.test.ts reports them):
 *   1,000,000: dtrust 0.45-0.7 s, the real notary 0.7 binary 0.65-0.85 s (`key passwd`, start-up
 *              included);
 *   1,300,000 (OWASP 2023 for HMAC-SHA1): dtrust 0.5-0.8 s, notary 0.9-1.25 s: over the ~1 s
 *              budget for notary and docker, which read the same files.
 * notary and docker decrypt these files (proven with the real binary, 16-byte salt included).
 * Configurable with DTRUST_KDF_ITERATIONS.
 */
export const DEFAULT_KDF_ITERATIONS = 1_000_000;
/** notary reads any salt length (proven with the real binary); 16 bytes as NIST asks. */
export const DEFAULT_SALT_LENGTH = 16;
/** The iteration count from DTRUST_KDF_ITERATIONS, or the default. Throws on a bad value. */
export function kdfIterationsFromEnv(env: Env): number {
  const v = env['DTRUST_KDF_ITERATIONS'];
  if (v === undefined || v === '') return DEFAULT_KDF_ITERATIONS;
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < MIN_WRITE_ITERATIONS || n > MAX_READ_ITERATIONS) {
    throw new KeyStoreError('UNSUPPORTED_ENCRYPTION', `DTRUST_KDF_ITERATIONS must be a whole number from ${MIN_WRITE_ITERATIONS} to ${MAX_READ_ITERATIONS}, got ${JSON.stringify(v)}`, {
      variable: 'DTRUST_KDF_ITERATIONS',
    });
  }
  return n;
}

export interface FileKeyStoreOptions {
  /** Absolute trust directory; keys live in `<trustDir>/private`. */
  trustDir: string;
  passphrases: PassphraseRetriever;
  /** PBKDF2 iterations for new key files (default DEFAULT_KDF_ITERATIONS). */
  iterations?: number;
  saltLength?: number;
  log?: Logger;
  /** Test hook called at named steps of every write (`<op>:<step>`), e.g. `passwd:synced`. */
  fault?: FaultHook;
  /** Migrate legacy layouts when opening (default true). */
  migrate?: boolean;
}

interface LoadedFile {
  entry: KeyFileEntry;
  text: string;
  blocks: PemBlock[];
  /** The first private key block (what notary reads). */
  block: PemBlock;
  record: KeyRecord;
}

export class FileKeyStore implements KeyStore {
  readonly kind = 'file' as const;
  readonly name: string;
  readonly privateDir: string;
  private readonly iterations: number;
  private readonly saltLength: number;
  private readonly log: Logger;
  private readonly unlocked = new Map<string, { key: PrivateKeyData; record: KeyRecord }>();
  /** Background decryptions started by prepare(), by key ID. */
  private readonly unlocking = new Map<string, Promise<void>>();
  private insecure: string | undefined;
  private warnedFiles = new Set<string>();

  private constructor(private readonly opts: FileKeyStoreOptions) {
    this.privateDir = join(opts.trustDir, PRIVATE_DIR);
    this.name = this.privateDir;
    this.iterations = opts.iterations ?? DEFAULT_KDF_ITERATIONS;
    this.saltLength = opts.saltLength ?? DEFAULT_SALT_LENGTH;
    this.log = opts.log ?? (() => undefined);
    if (this.iterations < MIN_WRITE_ITERATIONS || this.iterations > MAX_READ_ITERATIONS) {
      throw new RangeError(`iterations must be between ${MIN_WRITE_ITERATIONS} and ${MAX_READ_ITERATIONS}`);
    }
  }

  /** Opens the store: checks permissions and migrates legacy layouts. Creates nothing else. */
  static async open(opts: FileKeyStoreOptions): Promise<FileKeyStore> {
    const s = new FileKeyStore(opts);
    s.checkPermissions();
    // Temp files of writers that died (SIGKILL mid-write) are removed; listing never reads them.
    if (s.insecure === undefined) sweepStaleTemps(s.privateDir);
    if (opts.migrate !== false) {
      await migrateLegacyKeys({
        privateDir: s.privateDir,
        insecure: s.insecure,
        log: s.log,
        read: (path) => s.readKeyFile(path),
        write: (path, text) => writeFileAtomic(path, text, s.fault('migrate')),
      });
    }
    return s;
  }

  accepts(): boolean {
    return true;
  }

  // ---- permissions (SEC-F2) ----

  private checkPermissions(): void {
    const verdict = checkKeyDirs(this.opts.trustDir, this.privateDir);
    this.insecure = verdict.unsafe;
    if (verdict.warning !== undefined) this.log('warning', verdict.warning);
  }

  private assertWritable(): void {
    this.assertSafe('write');
  }

  /**
   * Keys are neither written nor used for signing where other users could have put a file: a
   * planted key (say a root key chosen by init) would sign for them. Listing and export still work.
   */
  private assertSafe(what: 'write' | 'use'): void {
    if (this.insecure !== undefined) {
      throw new KeyStoreError('INSECURE_PERMISSIONS', `refusing to ${what} private keys: ${this.insecure}`, {
        path: this.privateDir,
        hint: `run: chmod 700 ${this.opts.trustDir} ${this.privateDir} (and make sure you own them)`,
      });
    }
  }

  private async ensurePrivateDir(): Promise<void> {
    this.assertWritable();
    await ensureDir(this.opts.trustDir);
    try {
      const st = lstatSync(this.privateDir);
      if (st.isSymbolicLink()) {
        throw new KeyStoreError('SYMLINK', `refusing to write keys through the symbolic link ${this.privateDir}`, {
          path: this.privateDir,
          hint: `replace ${this.privateDir} with a real directory (mode 0700)`,
        });
      }
      return;
    } catch (e) {
      if (e instanceof KeyStoreError) throw e;
      if (errnoCode(e) !== 'ENOENT') throw ioError('inspect', this.privateDir, e);
    }
    await ensureDir(this.privateDir);
  }

  private fault(op: string): FaultHook | undefined {
    const f = this.opts.fault;
    return f ? (point) => f(`${op}:${point}`) : undefined;
  }

  // ---- reading ----

  /** Every *.key file below private/ in lexical walk order (notary's ListFiles), no links. */
  listFiles(): KeyFileEntry[] {
    return listKeyFiles(this.privateDir, this.log);
  }

  private readKeyFile(path: string): string {
    return readKeyFile(path, (mode) => {
      if (this.warnedFiles.has(path)) return;
      this.warnedFiles.add(path);
      this.log('warning', `the key file ${path} is accessible by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run chmod 600 on it`);
    });
  }

  /** Role and GUN of a file, from its headers, or (legacy layout) from its path. */
  private recordFor(entry: KeyFileEntry, block: PemBlock): KeyRecord {
    let role = block.headers.get('role') ?? '';
    let gun = block.headers.get('gun') ?? '';
    if (entry.legacy) {
      const m = legacyInfo(entry.name);
      if (m.role !== undefined) role = m.role;
      if (m.gun !== undefined) gun = m.gun;
    }
    return { id: entry.id, role, gun, location: this.name };
  }

  private load(entry: KeyFileEntry): LoadedFile {
    const text = this.readKeyFile(entry.path);
    const blocks = decodePemBlocks(text);
    const block = blocks[0];
    if (block === undefined) {
      throw new KeyStoreError('BAD_KEY_FILE', `${entry.path} holds no PEM block: the key file is corrupt or truncated`, {
        path: entry.path,
        keyId: entry.id,
        hint: 'restore this key from a backup (key export output), or remove the file',
      });
    }
    if (!isPrivateKeyBlock(block)) {
      throw new KeyStoreError('UNSUPPORTED_KEY', `${entry.path} is not a private key file (PEM block ${JSON.stringify(block.type)})`, {
        path: entry.path,
        keyId: entry.id,
      });
    }
    return { entry, text, blocks, block, record: this.recordFor(entry, block) };
  }

  async list(): Promise<KeyRecord[]> {
    const byId = new Map<string, KeyRecord>();
    for (const entry of this.listFiles()) {
      try {
        const f = this.load(entry);
        // A migrated copy at the top level wins over a leftover legacy file.
        if (!byId.has(entry.id) || !entry.legacy) byId.set(entry.id, f.record);
      } catch (e) {
        this.log('error', `skipping ${entry.path}: ${(e as Error).message}`);
      }
    }
    return [...byId.values()];
  }

  private find(id: string): KeyFileEntry | undefined {
    validateKeyId(id);
    const direct = join(this.privateDir, id + KEY_EXTENSION);
    try {
      const st = lstatSync(direct);
      if (st.isSymbolicLink()) {
        throw new KeyStoreError('SYMLINK', `refusing to use the key file ${direct}: it is a symbolic link`, {
          path: direct,
          keyId: id,
          hint: `replace the link with the key file itself`,
        });
      }
      if (st.isFile()) return { name: id, path: direct, id, legacy: false };
    } catch (e) {
      if (e instanceof KeyStoreError) throw e;
      if (errnoCode(e) !== 'ENOENT') throw ioError('inspect', direct, e);
    }
    return this.listFiles().find((f) => f.id === id);
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    const cached = this.unlocked.get(id);
    if (cached) return cached.record;
    const entry = this.find(id);
    if (!entry) return undefined;
    return this.load(entry).record;
  }

  private notFound(id: string): KeyStoreError {
    return new KeyStoreError('KEY_NOT_FOUND', `no key with ID ${id} in ${this.privateDir}`, {
      keyId: id,
      hint: 'run `key list` to see the keys this trust directory holds',
    });
  }

  /**
   * Decrypts a loaded file with the passphrase chain and checks its ID. `keep` receives a copy
   * of the passphrase that worked (the caller zeroes it).
   */
  private async decrypt(f: LoadedFile, keep?: (passphrase: Buffer) => void, prompt = true): Promise<PrivateKeyData> {
    const { block, record, entry } = f;
    let enc;
    try {
      enc = keyBlockEncryption(block);
    } catch (e) {
      throw fromKeyFileError(e, entry.path, record.id);
    }
    let key: PrivateKeyData;
    try {
      if (enc.scheme === 'none') {
        const k = await decodeKeyBlock(block, null);
        if (k === null) throw new KeyStoreError('BAD_KEY_FILE', `cannot read ${entry.path}`, { path: entry.path });
        key = k;
      } else {
        key = await this.opts.passphrases.unlock(
          { keyId: record.id, alias: record.role },
          async (p) => {
            const k = await decodeKeyBlock(block, p);
            if (k !== null) keep?.(Buffer.from(p));
            return k;
          },
          { prompt },
        );
      }
    } catch (e) {
      throw fromKeyFileError(e, entry.path, record.id);
    }
    const actual = keyIdOf(key);
    if (actual !== record.id) {
      throw new KeyStoreError('KEY_ID_MISMATCH', `the key in ${entry.path} has ID ${actual}, not ${record.id} as its file name says`, {
        keyId: record.id,
        path: entry.path,
        hint: `rename the file to ${actual}${KEY_EXTENSION} if this is the key you meant`,
      });
    }
    return key;
  }

  /**
   * Starts decrypting key `id` in the background when nobody has to type anything for it (no
   * passphrase, or one from the environment or already verified), so that signer() finds it
   * ready: PBKDF2 runs on the thread pool while the caller does other work. Never prompts; a
   * failure is dropped here, met again and reported by signer().
   */
  prepare(id: string, opts?: SignerOptions): void {
    if (this.unlocked.has(id) || this.unlocking.has(id) || this.insecure !== undefined) return;
    const run = async (): Promise<void> => {
      const entry = this.find(id);
      if (!entry) return;
      const f = this.load(entry);
      checkUse(f.record, opts);
      const key = await this.decrypt(f, undefined, false);
      // Not when the key was removed or replaced meanwhile.
      if (this.unlocking.get(id) === p) this.unlocked.set(id, { key, record: f.record });
    };
    const p = run().catch(() => undefined);
    this.unlocking.set(id, p);
  }

  async signer(id: string, opts?: SignerOptions): Promise<KeySigner> {
    const pending = this.unlocking.get(id);
    if (pending) {
      await pending;
      if (this.unlocking.get(id) === pending) this.unlocking.delete(id);
    }
    const cached = this.unlocked.get(id);
    if (cached) {
      checkUse(cached.record, opts);
      return makeSigner(cached.key, cached.record);
    }
    const entry = this.find(id);
    if (!entry) throw this.notFound(id);
    this.assertSafe('use');
    const f = this.load(entry);
    checkUse(f.record, opts);
    const key = await this.decrypt(f);
    this.unlocked.set(id, { key, record: f.record });
    return makeSigner(key, f.record);
  }

  // ---- writing ----

  private headersFor(role: string, gun: string): { role: string; gun: string } {
    return { role, gun: roleHasGun(role) ? gun : '' };
  }

  async add(key: PrivateKeyData, opts: AddKeyOptions): Promise<KeyRecord> {
    const role = validateRole(opts.role);
    const gun = roleHasGun(role) && opts.gun ? validateGun(opts.gun) : '';
    const id = keyIdOf(key);
    // An existing file is never overwritten, even a damaged one (get() throws for it).
    const existing = await this.get(id);
    if (existing) {
      if (existing.role !== role) {
        throw new KeyStoreError('KEY_EXISTS', `key ${id} already exists for role ${existing.role}`, {
          keyId: id,
          role: existing.role,
          hint: 'a key is only ever used for one role; generate a new key for this one',
        });
      }
      return existing;
    }
    await this.ensurePrivateDir();
    const passphrase = await this.opts.passphrases.newPassphrase({ keyId: id, alias: role });
    let pem: string;
    try {
      pem = await this.encode(key, role, gun, passphrase);
    } finally {
      passphrase.fill(0);
    }
    await writeFileAtomic(join(this.privateDir, id + KEY_EXTENSION), pem, this.fault('add'));
    const record: KeyRecord = { id, role, gun, location: this.name };
    this.unlocked.set(id, { key, record });
    return record;
  }

  async remove(id: string): Promise<void> {
    validateKeyId(id);
    const entries = this.listFiles().filter((f) => f.id === id);
    if (entries.length === 0) throw this.notFound(id);
    this.assertWritable();
    for (const e of entries) await removeFileDurably(e.path);
    this.unlocked.delete(id);
    this.unlocking.delete(id);
  }

  async changePassphrase(id: string, source: PassphraseRetriever, opts?: NewPassphraseOptions): Promise<void> {
    const entry = this.find(id);
    if (!entry) throw this.notFound(id);
    const f = this.load(entry);
    let old: Buffer | undefined;
    const key = await this.decrypt(f, (p) => (old = p));
    this.assertWritable();
    const { role, gun } = f.record;
    let pem: string;
    try {
      const passphrase = await source.newPassphrase({ keyId: id, alias: role }, opts);
      try {
        if (old !== undefined && old.equals(passphrase)) {
          this.log('warning', `the new passphrase of key ${id} is the same as the old one`);
        }
        pem = await this.encode(key, role, gun, passphrase);
      } finally {
        passphrase.fill(0);
      }
    } finally {
      old?.fill(0);
    }
    // Further blocks of the file (an import can concatenate several) are kept as they were.
    const rest = f.blocks.slice(1).map((b) => encodePem(b)).join('');
    const target = entry.legacy ? join(this.privateDir, id + KEY_EXTENSION) : entry.path;
    await this.ensurePrivateDir();
    await writeFileAtomic(target, pem + rest, this.fault('passwd'));
    if (target !== entry.path) await removeFileDurably(entry.path);
    this.unlocked.set(id, { key, record: f.record });
  }

  /** A key as this store writes it: notary's PEM with this store's KDF settings. */
  async encode(key: PrivateKeyData, role: string, gun: string, passphrase: Buffer): Promise<string> {
    if (passphrase.length === 0) throw new KeyStoreError('BAD_NEW_PASSPHRASE', 'refusing to write a private key without a passphrase');
    return encodeKeyBlock(key, { ...this.headersFor(role, gun), passphrase, iterations: this.iterations, saltLength: this.saltLength });
  }

  /** The stored text of a key file (for export), or undefined. */
  async readRaw(id: string): Promise<{ entry: KeyFileEntry; text: string } | undefined> {
    const entry = this.find(id);
    if (!entry) return undefined;
    return { entry, text: this.readKeyFile(entry.path) };
  }

  /** Reads a listed file's text (for export). */
  async readEntry(entry: KeyFileEntry): Promise<string> {
    return this.readKeyFile(entry.path);
  }

  /** Writes prepared PEM text as `private/<id>.key` atomically (for import). */
  async writeRaw(id: string, pem: string): Promise<void> {
    validateKeyId(id);
    await this.ensurePrivateDir();
    await writeFileAtomic(join(this.privateDir, id + KEY_EXTENSION), pem, this.fault('import'));
    this.unlocked.delete(id);
    this.unlocking.delete(id);
  }
}
