// Several key stores behind one front, in order of preference (a token first, then files), as
// notary's CryptoService: keys are looked up in every store, and a new key goes to the first
// store that accepts its role. Non-root keys are never offered to a root-only (hardware) store.

import { generatePrivateKey, type KeyAlgorithm, type PrivateKeyData } from '../crypto/keyfile.js';
import type { PublicKey } from '../tuf/keys.js';
import { KeyStoreError } from './errors.js';
import { validateKeyId } from './names.js';
import { keyIdOf, publicKeyOf } from './signer.js';
import type { AddKeyOptions, KeyRecord, KeySigner, KeyStore, SignerOptions } from './types.js';

export class KeyService {
  constructor(readonly stores: readonly KeyStore[]) {}

  /** Every key of every store. */
  async list(): Promise<KeyRecord[]> {
    const out: KeyRecord[] = [];
    for (const s of this.stores) out.push(...(await s.list()));
    return out;
  }

  /** The stores holding `id`, with their records. */
  async find(id: string): Promise<{ store: KeyStore; record: KeyRecord }[]> {
    validateKeyId(id);
    const out: { store: KeyStore; record: KeyRecord }[] = [];
    for (const store of this.stores) {
      const record = await store.get(id);
      if (record) out.push({ store, record });
    }
    return out;
  }

  async signer(id: string, opts?: SignerOptions): Promise<KeySigner> {
    for (const store of this.stores) {
      if (await store.get(id)) return store.signer(id, opts);
    }
    throw new KeyStoreError('KEY_NOT_FOUND', `signing key not found: ${id}`, {
      keyId: id,
      hint: 'run `key list` to see the available keys, or import the key with `key import`',
    });
  }

  /** Starts unlocking `id` in the background in the store that holds it, when it can (see FileKeyStore.prepare). */
  async prepare(id: string, opts?: SignerOptions): Promise<void> {
    for (const store of this.stores) {
      if (await store.get(id)) return store.prepare?.(id, opts);
    }
  }

  /** Stores a key in the first store that accepts its role (same ID and role already stored: no-op). */
  async add(key: PrivateKeyData, opts: AddKeyOptions): Promise<KeyRecord> {
    const id = keyIdOf(key);
    for (const { record } of await this.find(id)) {
      if (record.role !== opts.role) {
        throw new KeyStoreError('KEY_EXISTS', `key with same ID already exists for role: ${record.role}`, { keyId: id, role: record.role });
      }
      return record;
    }
    let last: unknown;
    for (const store of this.stores) {
      if (!store.accepts(opts.role)) continue;
      try {
        return await store.add(key, opts);
      } catch (e) {
        if (e instanceof KeyStoreError && e.code === 'NOT_SUPPORTED') {
          last = e;
          continue;
        }
        throw e;
      }
    }
    throw last ?? new KeyStoreError('NOT_SUPPORTED', `no key store accepts ${opts.role} keys`, { role: opts.role });
  }

  /** Generates a key and stores it; returns its record and public key. */
  async create(opts: AddKeyOptions & { algorithm?: KeyAlgorithm }): Promise<{ record: KeyRecord; publicKey: PublicKey }> {
    const key = generatePrivateKey(opts.algorithm ?? 'ecdsa');
    const record = await this.add(key, opts);
    return { record, publicKey: publicKeyOf(key) };
  }
}

/**
 * notary's `key list` order: root keys first, then by GUN, role, key ID and location (plain
 * string order).
 */
export function sortKeyRecords(records: readonly KeyRecord[]): KeyRecord[] {
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...records].sort((a, b) => {
    if (a.role !== b.role) {
      if (a.role === 'root') return -1;
      if (b.role === 'root') return 1;
    }
    return cmp(a.gun, b.gun) || cmp(a.role, b.role) || cmp(a.id, b.id) || cmp(a.location, b.location);
  });
}
