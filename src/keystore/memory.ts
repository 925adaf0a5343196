// Keys held in memory only (tests, ephemeral signing, the server-managed simulation). Same rules
// as the file store: same ID and role is a no-op, a key signs only for its role.

import type { PrivateKeyData } from '../crypto/keyfile.js';
import { KeyStoreError } from './errors.js';
import { roleHasGun, validateGun, validateKeyId, validateRole } from './names.js';
import type { PassphraseRetriever } from './passphrase.js';
import { checkUse, keyIdOf, makeSigner } from './signer.js';
import type { AddKeyOptions, KeyRecord, KeySigner, KeyStore, SignerOptions } from './types.js';

export class MemoryKeyStore implements KeyStore {
  readonly kind = 'memory' as const;
  private readonly keys = new Map<string, { key: PrivateKeyData; record: KeyRecord }>();

  constructor(
    readonly name = 'memory',
    private readonly acceptRole: (role: string) => boolean = () => true,
  ) {}

  accepts(role: string): boolean {
    return this.acceptRole(role);
  }

  async list(): Promise<KeyRecord[]> {
    return [...this.keys.values()].map((k) => ({ ...k.record }));
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    const k = this.keys.get(id);
    return k ? { ...k.record } : undefined;
  }

  async signer(id: string, opts?: SignerOptions): Promise<KeySigner> {
    validateKeyId(id);
    const k = this.keys.get(id);
    if (!k) throw new KeyStoreError('KEY_NOT_FOUND', `no key with ID ${id} in ${this.name}`, { keyId: id });
    checkUse(k.record, opts);
    return makeSigner(k.key, k.record);
  }

  async add(key: PrivateKeyData, opts: AddKeyOptions): Promise<KeyRecord> {
    const role = validateRole(opts.role);
    if (!this.accepts(role)) {
      throw new KeyStoreError('NOT_SUPPORTED', `${this.name} does not hold ${role} keys`, { role });
    }
    const gun = roleHasGun(role) && opts.gun ? validateGun(opts.gun) : '';
    const id = keyIdOf(key);
    const existing = this.keys.get(id);
    if (existing) {
      if (existing.record.role !== role) {
        throw new KeyStoreError('KEY_EXISTS', `key ${id} already exists for role ${existing.record.role}`, { keyId: id, role: existing.record.role });
      }
      return { ...existing.record };
    }
    const record: KeyRecord = { id, role, gun, location: this.name };
    this.keys.set(id, { key, record });
    return { ...record };
  }

  async remove(id: string): Promise<void> {
    if (!this.keys.delete(validateKeyId(id))) {
      throw new KeyStoreError('KEY_NOT_FOUND', `no key with ID ${id} in ${this.name}`, { keyId: id });
    }
  }

  async changePassphrase(id: string, _source: PassphraseRetriever): Promise<void> {
    if (!this.keys.has(validateKeyId(id))) {
      throw new KeyStoreError('KEY_NOT_FOUND', `no key with ID ${id} in ${this.name}`, { keyId: id });
    }
    // Keys in memory are not encrypted: nothing to change.
  }
}
