// cosign key pairs for the migration: `migrate key generate NAME` writes NAME.key (cosign's
// encrypted private key, 0600) and NAME.pub (PKIX PEM) as `cosign generate-key-pair` does, and
// the signing commands read a cosign.key (written by cosign or by dtrust) with its passphrase.

import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { cosignPublicPem, decryptCosignKey, encryptCosignKey, readCosignPublicKey } from '../crypto/cosignkey.js';
import { KeyFileError } from '../crypto/pbes2.js';
import { exists } from '../fs/exists.js';
import { DockerError } from './errors.js';

export const COSIGN_PASSWORD_VARIABLE = 'COSIGN_PASSWORD';

export interface CosignKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Writes `<dir>/<name>.key` and `<dir>/<name>.pub`; returns both paths as the user gave the directory. */
export async function generateCosignKeyPair(o: { name: string; cwd: string; dir?: string; passphrase: string }): Promise<{ key: string; pub: string }> {
  const dirShown = o.dir ?? '.';
  const dir = isAbsolute(dirShown) ? dirShown : resolve(o.cwd, dirShown);
  if (!(await exists(dir))) throw new DockerError('FILE', `directory does not exist: "${dirShown}"`, { hint: 'create the directory first, or leave out --dir to write to the working directory' });
  const shown = { key: join(dirShown, `${o.name}.key`), pub: join(dirShown, `${o.name}.pub`) };
  const paths = { key: join(dir, `${o.name}.key`), pub: join(dir, `${o.name}.pub`) };
  for (const k of ['key', 'pub'] as const) {
    if (await exists(paths[k])) throw new DockerError('FILE', `${shown[k]} already exists`, { hint: 'choose another name, or move the old files away (nothing was written)' });
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyPem = await encryptCosignKey(privateKey, o.passphrase);
  await writeFile(paths.key, keyPem, { mode: 0o600, flag: 'wx' });
  try {
    await writeFile(paths.pub, cosignPublicPem(privateKey), { mode: 0o644, flag: 'wx' });
  } catch (e) {
    await unlink(paths.key).catch(() => undefined);
    throw new DockerError('FILE', `could not write ${shown.pub}: ${(e as Error).message}`, { hint: 'nothing was kept; check the directory and run the command again' }, e);
  }
  return shown;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new DockerError('KEY_FILE', `cannot read the ${what} ${path}: ${(e as Error).message}`, { hint: `give the path of the ${what}` }, e);
  }
}

/** Reads and decrypts a cosign private key file. */
export async function loadCosignKeyPair(path: string, passphrase: string): Promise<CosignKeyPair> {
  const text = await readText(path, 'cosign private key');
  try {
    const privateKey = await decryptCosignKey(text, passphrase);
    return { privateKey, publicKey: createPublicKey(privateKey) };
  } catch (e) {
    if (e instanceof KeyFileError) {
      throw new DockerError('KEY_FILE', `${path}: ${e.message}`, { hint: e.code === 'WRONG_PASSPHRASE' ? `set ${COSIGN_PASSWORD_VARIABLE} to the key's passphrase` : e.hint }, e);
    }
    throw e;
  }
}

/** Reads a cosign public key file (cosign.pub). */
export async function loadCosignPublicKey(path: string): Promise<KeyObject> {
  const text = await readText(path, 'cosign public key');
  try {
    return readCosignPublicKey(text);
  } catch (e) {
    if (e instanceof KeyFileError) throw new DockerError('KEY_FILE', `${path}: ${e.message}`, { hint: e.hint }, e);
    throw e;
  }
}
