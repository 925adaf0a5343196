// A signer's own key (cli.md §11.9): `trust key generate NAME [--dir DIR]` makes an ECDSA P-256 key
// in the trust directory with role NAME and no GUN, and writes `<DIR>/<NAME>.pub` (PUBLIC KEY PEM
// with a `role` header, mode 0600) to give to the repository owner for `signer add`;
// `trust key load KEYFILE` imports a private key file as a signer's key.

import { readFile, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { isPrivateKeyBlock } from '../crypto/keyfile.js';
import { decodePemBlocks, encodePem } from '../crypto/pem.js';
import { KeyStoreError, isKeyStoreError } from '../keystore/errors.js';
import type { Logger } from '../keystore/types.js';
import { importKeys } from '../keystore/importexport.js';
import type { PublicKey } from '../tuf/keys.js';
import { DockerError, wrapError } from './errors.js';
import type { DockerKeys } from './repository.js';

export interface GenerateOptions {
  name: string;
  cwd: string;
  /** The directory for NAME.pub as the user gave it (default: the working directory). */
  dir?: string;
  /** The key stores, opened once the destination was checked. */
  keys: () => Promise<DockerKeys>;
  /** The destination is fine: the key is made now. */
  onGenerating: () => void;
}

/** Makes the key and writes NAME.pub; returns that file's name as the user gave its directory. */
export async function generateSignerKey(o: GenerateOptions): Promise<string> {
  const { name } = o;
  const dirShown = o.dir ?? o.cwd;
  const dir = isAbsolute(dirShown) ? dirShown : resolve(o.cwd, dirShown);
  try {
    await stat(dir);
  } catch {
    throw new DockerError('FILE', `public key path does not exist: "${dirShown}"`, { hint: 'create the directory first, or leave out --dir to write to the working directory' });
  }
  const pubShown = join(dirShown, `${name}.pub`);
  const pubPath = join(dir, `${name}.pub`);
  if (await exists(pubPath)) throw new DockerError('FILE', `public key file already exists: "${pubShown}"`, { hint: 'choose another name, or move the old file away' });
  o.onGenerating();
  let publicKey: PublicKey;
  try {
    const keys = await o.keys();
    ({ publicKey } = await keys.service.create({ role: name }));
  } catch (e) {
    throw wrapError(e, `failed to generate key for ${name}`);
  }
  const pem = encodePem({ type: 'PUBLIC KEY', headers: new Map([['role', name]]), bytes: publicKey.pub });
  try {
    await writeFile(pubPath, pem, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    throw new DockerError('FILE', `failed to write public key to ${pubShown}: ${(e as Error).message}`, { hint: 'the private key is in the trust directory already; write its public key with: dtrust key export' });
  }
  return pubShown;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

const MAX_PRIVATE_KEY_FILE = 1024 * 1024;

export interface LoadOptions {
  /** The key file as the user gave it. */
  file: string;
  cwd: string;
  /** The signer's name (the key's role); '' loads it as `signer`. */
  name: string;
  /** The key stores, opened once the file was checked. */
  keys: () => Promise<DockerKeys>;
  log: Logger;
}

/** Imports the private key in the file: only from a file others cannot read or write. */
export async function loadSignerKey(o: LoadOptions): Promise<void> {
  const { file } = o;
  const text = await readPrivateKeyFile(resolve(o.cwd, file), file);
  const keys = await o.keys();
  let result;
  try {
    result = await importKeys(keys.files, [{ name: file, text }], { role: o.name === '' ? 'signer' : o.name, passphrases: keys.passphrases, log: o.log });
  } catch (e) {
    if (isKeyStoreError(e, 'WRONG_PASSPHRASE')) {
      throw wrapError(new KeyStoreError('WRONG_PASSPHRASE', `cannot load key from provided file ${file}: could not decrypt key`, { ...(e.variable ? { variable: e.variable } : {}), hint: e.hint }, e), `error importing key from ${file}`);
    }
    throw wrapError(e, `error importing key from ${file}`);
  }
  if (result.imported.length === 0 && result.unchanged.length === 0) {
    const why = result.rejected.map((r) => r.reason).join('; ');
    throw new DockerError('KEY_FILE', `error importing key from ${file}: ${why}`, { hint: 'key load takes an ECDSA, RSA or Ed25519 private key in PEM form' });
  }
}

async function readPrivateKeyFile(path: string, file: string): Promise<string> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DockerError('KEY_FILE', `refusing to load key from ${file}: stat ${file}: ${code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`, { hint: 'pass the path of a private key file (PEM)' });
  }
  if ((st.mode & 0o077) !== 0) {
    throw new DockerError('KEY_FILE', `refusing to load key from ${file}: private key file ${file} must not be readable or writable by others`, { hint: `run: chmod 600 ${file}` });
  }
  if (st.size > MAX_PRIVATE_KEY_FILE) throw new DockerError('KEY_FILE', `refusing to load key from ${file}: it is larger than 1 MiB`, { hint: 'pass a PEM private key file' });
  const text = (await readFile(path)).toString('latin1');
  if (!decodePemBlocks(text).some(isPrivateKeyBlock)) {
    throw new DockerError(
      'KEY_FILE',
      `error importing key from ${file}: provided file ${file} is not a supported private key - to add a signer's public key use dtrust signer add`,
      { hint: 'key load takes a private key (BEGIN PRIVATE KEY, ENCRYPTED PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)' },);
  }
  return text;
}
