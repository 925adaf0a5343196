// The key commands' work on the key stores (cli.md §9.13-§9.19): list, generate (into the stores
// or to files), import (root keys onto the token too), export, find, and change a passphrase.
// cli/keys.ts opens the stores; cli/commands/key.ts parses, asks and prints.

import { encodeKeyBlock, encodePublicKeyPem, fromKeyObject, generatePrivateKey } from '../crypto/keyfile.js';
import { encodePem } from '../crypto/pem.js';
import {
  DEFAULT_SALT_LENGTH,
  KeyService,
  KeyStoreError,
  PassphraseRetriever,
  exportKeys as exportFromStore,
  importKeys,
  kdfIterationsFromEnv,
  keyIdOf,
  sortKeyRecords,
  writeFileAtomic,
  type FileKeyStore,
  type ImportResult,
  type KeyRecord,
  type KeyStore,
  type Logger,
  type PromptIO,
} from '../keystore/index.js';

export { validateGun, validateKeyId, validateRole } from '../keystore/index.js';

export type KeyAlgorithm = 'ecdsa' | 'ed25519' | 'rsa';
type Env = Record<string, string | undefined>;

/** The keys of the token (when there is one) and of the files, in `key list`'s order. */
export async function listKeys(token: KeyStore | undefined, files: KeyStore): Promise<KeyRecord[]> {
  return sortKeyRecords([...(token ? await token.list() : []), ...(await files.list())]);
}

/**
 * A new key in the stores. A root key goes to the token when there is one (with its backup on
 * disk): `rootToken` opens it, and throws when a token was asked for and cannot be used.
 */
export async function generateKey(o: { files: KeyStore; rootToken: () => Promise<KeyStore | undefined>; role: string; algorithm: KeyAlgorithm }): Promise<KeyRecord> {
  try {
    let target: Pick<KeyStore, 'add'> = o.files;
    if (o.role === 'root') {
      const token = await o.rootToken();
      if (token) target = new KeyService([token, o.files]);
    }
    return await target.add(generatePrivateKey(o.algorithm), { role: o.role });
  } catch (e) {
    if (e instanceof KeyStoreError) throw new KeyStoreError(e.code, `Failed to create a new ${o.role} key: ${e.message}`, { hint: e.hint }, e);
    throw e;
  }
}

/**
 * `key generate -o P`: the encrypted private key (role header) to `privPath` and the PUBLIC KEY
 * to `pubPath`, nothing in the stores; the key gets its role's own passphrase (notary uses the
 * delegation one for every role: cli.md §12 item 6). Returns the key ID.
 */
export async function generateKeyFiles(o: { algorithm: KeyAlgorithm; role: string; privPath: string; pubPath: string; env: Env; prompt: PromptIO }): Promise<string> {
  const key = generatePrivateKey(o.algorithm);
  const id = keyIdOf(key);
  const passphrases = new PassphraseRetriever({ env: o.env, prompt: o.prompt });
  const passphrase = await passphrases.newPassphrase({ keyId: id, alias: o.role });
  let pem: string;
  try {
    pem = await encodeKeyBlock(key, { role: o.role, gun: '', passphrase, iterations: kdfIterationsFromEnv(o.env), saltLength: DEFAULT_SALT_LENGTH });
  } finally {
    passphrase.fill(0);
  }
  await writeFileAtomic(o.privPath, pem);
  await writeFileAtomic(o.pubPath, encodePublicKeyPem(key, o.role));
  return id;
}

/**
 * `key import`: the keys of PEM texts into the file store; root keys (only those) also onto the
 * token when `token` opens one.
 */
export async function importKeyTexts(o: {
  files: FileKeyStore;
  sources: { name: string; text: string }[];
  role?: string;
  gun?: string;
  passphrases: PassphraseRetriever;
  log: Logger;
  token: () => Promise<KeyStore | undefined>;
}): Promise<ImportResult> {
  const result = await importKeys(o.files, o.sources, { role: o.role, gun: o.gun, passphrases: o.passphrases, log: o.log });
  const roots = [...result.imported, ...result.unchanged].filter((r) => r.role === 'root');
  if (roots.length === 0) return result;
  const token = await o.token();
  if (!token) return result;
  for (const r of roots) {
    try {
      const signer = await o.files.signer(r.id, { role: 'root' });
      await token.add(fromKeyObject(signer.privateKeyObject!), { role: 'root' });
    } catch (e) {
      if (!(e instanceof KeyStoreError)) throw e;
      throw new KeyStoreError(e.code, `root key ${r.id} was imported to ${o.files.name} but not to ${token.name}: ${e.message}`, { hint: e.hint }, e);
    }
  }
  return result;
}

/**
 * `key export --public`: the public half of each chosen key, as a PUBLIC KEY PEM with its role
 * header (what `delegation add` and `signer add` take). Each key is unlocked to derive it.
 * Filters by `ids` or by `guns` (the command refuses both at once).
 */
export async function exportPublicKeys(o: { service: KeyService; ids: string[]; guns: string[]; output?: string }): Promise<string | undefined> {
  const records = new Map<string, KeyRecord>();
  for (const r of sortKeyRecords(await o.service.list())) if (!records.has(r.id)) records.set(r.id, r);
  for (const id of o.ids) {
    if (!records.has(id)) throw new KeyStoreError('KEY_NOT_FOUND', `no key with ID ${id} is held here`, { keyId: id, hint: 'run `key list` to see the key IDs held here' });
  }
  let text = '';
  for (const r of records.values()) {
    if (o.ids.length > 0 ? !o.ids.includes(r.id) : o.guns.length > 0 && !o.guns.includes(r.gun)) continue;
    const signer = await o.service.signer(r.id);
    const headers = new Map<string, string>();
    if (r.role !== '') headers.set('role', r.role);
    text += encodePem({ type: 'PUBLIC KEY', headers, bytes: signer.publicKey.keyObject().export({ format: 'der', type: 'spki' }) });
  }
  if (o.output === undefined) return text;
  await writeFileAtomic(o.output, text);
  return undefined;
}

/** `key export`: the keys chosen, as PEM; written to `output` when given, else returned. */
export async function exportKeys(o: { files: FileKeyStore; ids: string[]; guns: string[]; log: Logger; output?: string }): Promise<string | undefined> {
  const text = await exportFromStore(o.files, { ids: o.ids, guns: o.guns }, o.log);
  if (o.output === undefined) return text;
  await writeFileAtomic(o.output, text);
  return undefined;
}

/** Where the key `id` is: in each store that holds it (token first). */
export function findKey(token: KeyStore | undefined, files: KeyStore, id: string): Promise<{ store: KeyStore; record: KeyRecord }[]> {
  return new KeyService(token ? [token, files] : [files]).find(id);
}

/**
 * `key passwd`: the key re-encrypted with a new passphrase from a fresh source (nothing cached,
 * never the role's variable: only `variable`). False when the file store does not hold the key.
 */
export async function changePassphrase(o: { files: FileKeyStore; id: string; env: Env; prompt: PromptIO; variable: string }): Promise<boolean> {
  if ((await o.files.get(o.id)) === undefined) return false;
  const fresh = new PassphraseRetriever({ env: o.env, prompt: o.prompt });
  await o.files.changePassphrase(o.id, fresh, { variables: [o.variable] });
  return true;
}
