// Key stores for a command: the file store of the trust directory behind a KeyService, with
// passphrases from the environment or the terminal, and the adapter the workflows sign through.

import { readFile } from 'node:fs/promises';
import type { KeyAccess } from '../client/keys.js';
import { decodePemBlocks } from '../crypto/pem.js';
import { decodeKeyBlock, isPrivateKeyBlock } from '../crypto/keyfile.js';
import { FileKeyStore, kdfIterationsFromEnv } from '../keystore/filestore.js';
import { PassphraseRetriever } from '../keystore/passphrase.js';
import { KeyService } from '../keystore/service.js';
import type { PublicKey } from '../tuf/keys.js';
import type { Ctx } from './app.js';
import { CliError } from './errors.js';
import { TerminalPrompt } from './prompt.js';

export interface Keys {
  service: KeyService;
  files: FileKeyStore;
  passphrases: PassphraseRetriever;
}

export async function openKeyService(ctx: Ctx): Promise<Keys> {
  const cfg = await ctx.config();
  const env = ctx.app.env;
  const passphrases = new PassphraseRetriever({ env, prompt: new TerminalPrompt() });
  const files = await FileKeyStore.open({
    trustDir: cfg.trustDir,
    passphrases,
    iterations: kdfIterationsFromEnv(env),
    log: (level, msg) => ctx.app.output.log(level, msg),
  });
  return { service: new KeyService([files]), files, passphrases };
}

export interface RepoKeyAccess extends KeyAccess {
  /**
   * Imports the first private key of a PEM file for `role` (decrypted with that role's
   * passphrase) and returns its ID. Root keys must come encrypted, as notary requires.
   */
  importKeyFile(path: string, role: string, gun: string): Promise<string>;
  /** Removes a key from the stores (a rotated-away key, or a new key of a failed rotation). */
  remove(id: string): Promise<void>;
  /** The plain public key of a stored private key. */
  publicKey(id: string): Promise<PublicKey>;
}

/** The workflows' view of the key stores. */
export async function keyAccess(ctx: Ctx): Promise<RepoKeyAccess> {
  const keys = await openKeyService(ctx);
  const records = await keys.service.list();
  const ids = new Set(records.map((r) => r.id));
  return {
    has: (id) => ids.has(id),
    signer: async (canonicalId: string, listed: PublicKey, role: string) =>
      (await keys.service.signer(canonicalId, { role })).withPublicKey(listed),
    generate: async (role, gun) => {
      const { record, publicKey } = await keys.service.create({ role, gun: gun === '' ? undefined : gun });
      ids.add(record.id);
      return { canonicalId: record.id, publicKey };
    },
    rootKeyIds: () => records.filter((r) => r.role === 'root').map((r) => r.id).sort(),
    rootCertificate: async (canonicalId, commonName, notBefore, notAfter) => {
      const signer = await keys.service.signer(canonicalId, { role: 'root' });
      if (!signer.privateKeyObject) {
        throw new CliError('NOT_SUPPORTED', `cannot build a certificate for root key ${canonicalId} here`, 'pass the key\'s certificate with --rootcert');
      }
      const { createRootCertificate } = await import('../crypto/certgen.js');
      return createRootCertificate({ privateKey: signer.privateKeyObject, publicKey: signer.publicKey.keyObject(), commonName, notBefore, notAfter });
    },
    importKeyFile: async (path, role, gun) => {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        throw new CliError('KEY_FILE', `Error reading input ${role} key file: ${(e as Error).message}`);
      }
      const block = decodePemBlocks(text).find(isPrivateKeyBlock);
      if (!block) throw new CliError('KEY_FILE', `no private key found in ${path}`, 'pass a PEM private key file');
      const encrypted = block.type === 'ENCRYPTED PRIVATE KEY' || block.headers.has('DEK-Info');
      if (role === 'root' && !encrypted) {
        throw new CliError('KEY_FILE', 'only encrypted root keys may be imported', 'encrypt the key first: dtrust key import it, then dtrust key export it');
      }
      const key = encrypted
        ? await keys.passphrases.unlock({ keyId: '', alias: role, keyName: '' }, (pass) => decodeKeyBlock(block, pass))
        : await decodeKeyBlock(block, null);
      if (!key) throw new CliError('KEY_FILE', `cannot read the private key in ${path}`);
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

