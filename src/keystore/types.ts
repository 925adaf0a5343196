// The key store interface. A store holds private keys and hands out Signers; private keys never
// leave it (design principle 3). Stores: encrypted files in `<trust dir>/private` (filestore.ts),
// memory (memory.ts), and, in its own module, a PKCS#11 token that holds root keys only: that is
// why every store says which roles it `accepts`.

import type { KeyObject } from 'node:crypto';
import type { KeyAlgorithm, PrivateKeyData } from '../crypto/keyfile.js';
import type { PublicKey } from '../tuf/keys.js';
import type { Signer } from '../tuf/sign.js';
import type { PassphraseRetriever, NewPassphraseOptions } from './passphrase.js';

export type LogLevel = 'error' | 'warning' | 'info' | 'debug';
export type Logger = (level: LogLevel, message: string) => void;

/** What a store knows about one key without decrypting it. */
export interface KeyRecord {
  /** The canonical key ID (the key file's name). */
  id: string;
  /** The role the key was created for (`root`, `targets`, `targets/releases`, `alice`, ...). */
  role: string;
  /** The GUN, for targets/snapshot/timestamp keys; '' otherwise. */
  gun: string;
  /** The store's name, as `key list` shows it: `<trust dir>/private`, `memory` or `yubikey`. */
  location: string;
}

/** A Signer that also says which key it is. */
export interface KeySigner extends Signer {
  readonly keyId: string;
  readonly role: string;
  readonly gun: string;
  readonly algorithm: KeyAlgorithm;
  /**
   * The same private key presented as `publicKey` (e.g. the x509 certificate key of a root key
   * in root.json). Throws unless `publicKey.canonicalId` is this key's ID.
   */
  withPublicKey(publicKey: PublicKey): Signer;
  /** The private key for building a root certificate; undefined for hardware keys. */
  readonly privateKeyObject: KeyObject | undefined;
}

export interface SignerOptions {
  /**
   * The role the key is about to sign for. A base-role key (root, targets, snapshot, timestamp)
   * signs only for that role; a delegation key never signs for a base role (ROLE_MISMATCH).
   */
  role?: string;
  /** The repository; a key bound to another GUN is refused (ROLE_MISMATCH). */
  gun?: string;
}

export interface AddKeyOptions {
  role: string;
  /** Kept only for targets/snapshot/timestamp keys (as notary). */
  gun?: string;
}

export interface KeyStore {
  /** The location shown by `key list` (`<trust dir>/private`, `memory`, `yubikey`). */
  readonly name: string;
  readonly kind: 'file' | 'memory' | 'pkcs11';
  /** Whether this store may hold keys of `role` (a token: root only). */
  accepts(role: string): boolean;
  list(): Promise<KeyRecord[]>;
  /** The record of one key, or undefined. */
  get(id: string): Promise<KeyRecord | undefined>;
  /** A signer for the key; asks for its passphrase when needed. */
  signer(id: string, opts?: SignerOptions): Promise<KeySigner>;
  /** Starts unlocking the key in the background when that needs no one to type anything. */
  prepare?(id: string, opts?: SignerOptions): void;
  /** Stores a key (asking for a new passphrase when the store encrypts). Same ID and role: no-op. */
  add(key: PrivateKeyData, opts: AddKeyOptions): Promise<KeyRecord>;
  /** Removes a key; KEY_NOT_FOUND when absent. */
  remove(id: string): Promise<void>;
  /** Re-encrypts a key with a new passphrase taken from `source` (NOT_SUPPORTED for tokens). */
  changePassphrase(id: string, source: PassphraseRetriever, opts?: NewPassphraseOptions): Promise<void>;
}

/** Base roles sign only for themselves; any other key signs only for non-base roles. */
export function keyRoleAllows(keyRole: string, wantedRole: string): boolean {
  const base = ['root', 'targets', 'snapshot', 'timestamp'];
  if (base.includes(wantedRole) || base.includes(keyRole)) return keyRole === wantedRole;
  return true;
}
