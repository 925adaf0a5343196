// Key stores for a command: a PKCS#11 token for root keys (only when a module is configured or
// found), then the file store of the trust directory, behind a KeyService, with passphrases and
// PINs from the environment or the terminal, and the adapter the workflows sign through.

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { RepoKeyAccess } from '../client/keys.js';
import { decodePemBlocks } from '../crypto/pem.js';
import { decodeKeyBlock, isPrivateKeyBlock } from '../crypto/keyfile.js';
import { KeyStoreError } from '../keystore/errors.js';
import { FileKeyStore, kdfIterationsFromEnv } from '../keystore/filestore.js';
import { PRIVATE_DIR, listKeyFiles } from '../keystore/keyfiles.js';
import { PassphraseRetriever, type PromptIO } from '../keystore/passphrase.js';
import {
  PKCS11_TOKEN_VARIABLE,
  PKCS11_TOUCH_VARIABLE,
  describeModuleSource,
  resolvePkcs11Module,
  type Pkcs11ModuleChoice,
} from '../keystore/pkcs11-module.js';
import type { Pkcs11KeyStore } from '../keystore/pkcs11.js';
import { KeyService } from '../keystore/service.js';
import type { KeyRecord, KeyStore } from '../keystore/types.js';
import type { PublicKey } from '../tuf/keys.js';
import type { Ctx } from './app.js';
import { CliError } from './errors.js';
import { withProgress } from './progress.js';
import { TerminalPrompt } from './prompt.js';
import { shellQuote } from '../shellwords.js';
import { errnoCode, goFileError, NOT_A_DIRECTORY_HINT } from '../fs/errno.js';

export interface Keys {
  service: KeyService;
  /** The command's log (debug lines name the keys used). */
  log: (level: 'debug', msg: string) => void;
  files: FileKeyStore;
  passphrases: PassphraseRetriever;
  token: TokenAccess;
}

export interface KeyServiceOptions {
  /** Names prompts use for roles (docker calls targets and snapshot keys `repository`). */
  displayAliases?: Readonly<Record<string, string>>;
}

export async function openKeyService(ctx: Ctx, opts: KeyServiceOptions = {}): Promise<Keys> {
  const cfg = await ctx.config();
  const env = ctx.app.env;
  const prompt = new TerminalPrompt();
  const passphrases = new PassphraseRetriever({ env, prompt, displayAliases: opts.displayAliases });
  const files = await FileKeyStore.open({
    trustDir: cfg.trustDir,
    passphrases,
    iterations: kdfIterationsFromEnv(env),
    log: (level, msg) => ctx.app.output.log(level, msg),
  });
  const token = await openTokenStore(ctx, files, prompt);
  const stores: KeyStore[] = token.store ? [token.store, files] : [files];
  return { service: new KeyService(stores), files, passphrases, token, log: (level, msg) => ctx.app.output.log(level, msg) };
}

/**
 * The IDs of the key files in a trust directory, without opening the store (a read's expiry
 * warnings only need to know whether the snapshot key is here).
 */
export function fileKeyIds(trustDir: string): Set<string> {
  try {
    return new Set(listKeyFiles(join(trustDir, PRIVATE_DIR), () => undefined).map((e) => e.id));
  } catch {
    return new Set();
  }
}

/** Where each key held here is: a key file of the trust directory, or a token (`expiry`, `doctor`). */
export async function heldKeys(ctx: Ctx): Promise<(canonicalId: string) => 'file' | 'token' | undefined> {
  const keys = await openKeyService(ctx);
  const where = new Map<string, 'file' | 'token'>();
  for (const r of await keys.service.list()) if (!where.has(r.id)) where.set(r.id, r.location === keys.files.name ? 'file' : 'token');
  return (id) => where.get(id);
}

/** What `doctor` shows of the key stores: the roles of the keys held, and the token in use (or why not). */
export async function keySetup(ctx: Ctx): Promise<{ roles: string[]; pkcs11: { module?: string; from?: string; token?: string; error?: string }; held: (id: string) => 'file' | 'token' | undefined }> {
  const keys = await openKeyService(ctx);
  const records = await keys.service.list();
  const t = keys.token;
  const pkcs11: { module?: string; from?: string; token?: string; error?: string } = {};
  if (t.choice) {
    pkcs11.module = t.choice.path;
    pkcs11.from = describeModuleSource(t.choice);
  }
  if (t.store) pkcs11.token = t.store.label;
  if (t.failure) pkcs11.error = t.failure.message;
  const where = new Map<string, 'file' | 'token'>();
  for (const r of records) if (!where.has(r.id)) where.set(r.id, r.location === keys.files.name ? 'file' : 'token');
  return { roles: records.map((r) => r.role), pkcs11, held: (id) => where.get(id) };
}

/** Test hook: comma-separated write steps (`passwd:synced`, `import:renamed@2`) where the process kills itself. */
export const KILL_AT_VARIABLE = 'DTRUST_TEST_KILL_AT';

/** The key commands' file store (with the crash tests' kill-at hook), its passphrases and the prompt. */
export interface KeyFiles {
  store: FileKeyStore;
  passphrases: PassphraseRetriever;
  prompt: TerminalPrompt;
}

export async function openKeyFiles(ctx: Ctx): Promise<KeyFiles> {
  const cfg = await ctx.config();
  const app = ctx.app;
  const prompt = new TerminalPrompt();
  const passphrases = new PassphraseRetriever({ env: app.env, prompt });
  const store = await FileKeyStore.open({
    trustDir: cfg.trustDir,
    passphrases,
    iterations: kdfIterationsFromEnv(app.env),
    log: (level, msg) => app.output.log(level, msg),
    fault: killHook(app.env),
  });
  return { store, passphrases, prompt };
}

/** The kill-at test hook (crash tests): `point[@n]` kills the process at the n-th time (default 1st). */
function killHook(env: Record<string, string | undefined>): ((point: string) => void) | undefined {
  const spec = env[KILL_AT_VARIABLE];
  if (spec === undefined || spec === '') return undefined;
  const wanted = new Map<string, number>();
  for (const item of spec.split(',')) {
    const [p, n] = item.split('@');
    if (p) wanted.set(p, n ? Number(n) : 1);
  }
  const seen = new Map<string, number>();
  return (point) => {
    const n = (seen.get(point) ?? 0) + 1;
    seen.set(point, n);
    if (wanted.get(point) === n) process.kill(process.pid, 'SIGKILL');
  };
}

// ---------------------------------------------------------------------------------------------
// PKCS#11 token (keystore/pkcs11.ts), loaded only when a module is configured or found

export interface TokenAccess {
  /** The token's store, when a module is configured or found and a token answered. */
  store: Pkcs11KeyStore | undefined;
  /** The module in use or tried, and where it came from. */
  choice: Pkcs11ModuleChoice | undefined;
  /** Why a module given by flag, variable or config file is not in use. */
  failure: KeyStoreError | undefined;
}

function absoluteFrom(ctx: Ctx, p: string | undefined): string | undefined {
  if (p === undefined || p === '' || /^(none|off)$/i.test(p.trim())) return p;
  const home = ctx.app.env['HOME'];
  const expanded = (p === '~' || p.startsWith('~/')) && home ? home + p.slice(1) : p;
  return resolve(ctx.app.cwd, expanded);
}

/**
 * The token store for this command, or none: no module configured or found (pkcs11js is then
 * never loaded), or the module/token cannot be used. Then the command goes on with file keys; a
 * failure is a warning when the module was asked for (flag, DTRUST_PKCS11_MODULE, config file)
 * and a debug line when it was only found on notary's search path.
 */
export async function openTokenStore(ctx: Ctx, files: FileKeyStore, prompt: PromptIO): Promise<TokenAccess> {
  const cfg = await ctx.config();
  const env = ctx.app.env;
  const choice = resolvePkcs11Module({
    flag: absoluteFrom(ctx, ctx.flags.pkcs11Module),
    env: { ...env, DTRUST_PKCS11_MODULE: absoluteFrom(ctx, env['DTRUST_PKCS11_MODULE']) },
    config: cfg.pkcs11Module,
  });
  if (!choice) return { store: undefined, choice, failure: undefined };
  const out = ctx.app.output;
  const touch = env[PKCS11_TOUCH_VARIABLE];
  try {
    const { Pkcs11KeyStore } = await import('../keystore/pkcs11.js');
    const store = await Pkcs11KeyStore.open({
      module: choice.path,
      tokenLabel: env[PKCS11_TOKEN_VARIABLE],
      env,
      prompt,
      backup: files,
      log: (level, msg) => out.log(level, msg),
      notice: (line) => out.err(line + '\n'),
      touch: touch === undefined || touch === '' ? undefined : /^(1|true|yes|on)$/i.test(touch),
    });
    out.log('debug', `PKCS#11: using token "${store.label}" through ${choice.path} (from ${describeModuleSource(choice)})`);
    return { store, choice, failure: undefined };
  } catch (e) {
    if (!(e instanceof KeyStoreError)) throw e;
    if (choice.from === 'search') {
      out.log('debug', `no usable YubiKey (${e.message}); using the keys in ${files.name}`);
      return { store: undefined, choice, failure: undefined };
    }
    out.log('warning', `PKCS#11 (${describeModuleSource(choice)}): ${e.message}; using the keys in ${files.name} only${e.hint ? ` (${e.hint})` : ''}`);
    return { store: undefined, choice, failure: e };
  }
}

/**
 * A new root key must not silently land on disk when a token was asked for and cannot be used:
 * throws the token's failure with a way out.
 */
export function requireToken(token: TokenAccess): void {
  const e = token.failure;
  if (!e) return;
  throw new KeyStoreError(e.code, `no root key was created: ${e.message}`, {
    hint: `${e.hint ? e.hint + '; ' : ''}to keep the new root key on disk instead, run with --pkcs11-module none`,
  }, e);
}

/** The workflows' view of the key stores. */
export async function keyAccess(ctx: Ctx, opts: KeyServiceOptions = {}): Promise<RepoKeyAccess> {
  return keyAccessOver(await openKeyService(ctx, opts));
}

/** The workflows' view of already opened key stores; `records` stays current as keys are added. */
export async function keyAccessOver(keys: Keys): Promise<RepoKeyAccess & { records: KeyRecord[] }> {
  const records = await keys.service.list();
  const ids = new Set(records.map((r) => r.id));
  return {
    records,
    has: (id) => ids.has(id),
    signer: async (canonicalId: string, listed: PublicKey, role: string) => {
      keys.log('debug', `signing ${role} with key ${canonicalId}`);
      return (await withProgress(`Decrypting the ${role} key...`, () => keys.service.signer(canonicalId, { role }))).withPublicKey(listed);
    },
    prepare: (canonicalId, role) => void keys.service.prepare(canonicalId, { role }).catch(() => undefined),
    requirePassphrases: async (needs) => {
      for (const n of needs) {
        const store = n.keyId !== undefined ? (await keys.service.find(n.keyId))[0]?.store : keys.service.stores.find((st) => st.accepts(n.role));
        if (store === keys.files) keys.passphrases.require({ keyId: n.keyId ?? '', alias: n.role }, n.keyId === undefined);
      }
    },
    generate: async (role, gun) => {
      if (role === 'root') requireToken(keys.token);
      const { record, publicKey } = await withProgress(`Encrypting the ${role} key...`, () => keys.service.create({ role, gun: gun === '' ? undefined : gun }));
      ids.add(record.id);
      records.push(record);
      return { canonicalId: record.id, publicKey };
    },
    heldFor: (role) => [...new Set(records.filter((r) => r.role === role || `targets/${r.role}` === role).map((r) => r.id))].sort(),
    rootKeyIds: () => records.filter((r) => r.role === 'root').map((r) => r.id).sort(),
    rootCertificate: async (canonicalId, commonName, notBefore, notAfter) => {
      const signer = await keys.service.signer(canonicalId, { role: 'root' });
      if (!signer.privateKeyObject) {
        // A token key: the token signs the certificate.
        const { createRootCertificateWithSigner } = await import('../crypto/certgen.js');
        return createRootCertificateWithSigner({
          publicKey: signer.publicKey.keyObject(),
          sign: async (tbs) => (await signer.sign(tbs)).sig,
          commonName,
          notBefore,
          notAfter,
        });
      }
      const { createRootCertificate } = await import('../crypto/certgen.js');
      return createRootCertificate({ privateKey: signer.privateKeyObject, publicKey: signer.publicKey.keyObject(), commonName, notBefore, notAfter });
    },
    importKeyFile: async (path, role, gun) => {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        const hint = errnoCode(e) === 'EISDIR' ? NOT_A_DIRECTORY_HINT : undefined;
        throw new CliError('KEY_FILE', `Error reading input ${role} key file: ${goFileError(e, path)}`, hint ? { hint } : {}, e);
      }
      const block = decodePemBlocks(text).find(isPrivateKeyBlock);
      if (!block) throw new CliError('KEY_FILE', `no private key found in ${path}`, { hint: 'pass a PEM private key file' });
      const encrypted = block.type === 'ENCRYPTED PRIVATE KEY' || block.headers.has('DEK-Info');
      if (role === 'root' && !encrypted) {
        // `key import -r root` encrypts it into the key store, where init finds it (`Root key found`).
        throw new CliError('KEY_FILE', 'only encrypted root keys may be imported', { hint: `import it into the key store as the root key, then run init without --rootkey: dtrust key import ${shellQuote(path)} -r root` });
      }
      const key = encrypted
        ? await keys.passphrases.unlock({ keyId: '', alias: role, keyName: '' }, (pass) => decodeKeyBlock(block, pass))
        : await decodeKeyBlock(block, null);
      if (!key) throw new CliError('KEY_FILE', `cannot read the private key in ${path}`);
      if (role === 'root') requireToken(keys.token);
      const record = await keys.service.add(key, { role, gun: gun === '' ? undefined : gun });
      ids.add(record.id);
      records.push(record);
      return record.id;
    },
    publicKey: async (id) => (await keys.service.signer(id)).publicKey,
    remove: async (id) => {
      for (const { store } of await keys.service.find(id)) await store.remove(id);
      ids.delete(id);
    },
  };
}

