// What the workflows need from key stores: which keys are at hand, and Signers for them
// (cli/keys.ts opens the stores and implements these).

import type { PublicKey } from '../tuf/keys.js';
import type { Signer } from '../tuf/sign.js';

export interface KeyAccess {
  /** True when a private key with this canonical (or TUF) ID is available. */
  has(id: string): boolean;
  /**
   * A Signer for the private key `canonicalId`, presenting itself as `listed` in metadata,
   * for signing `role` (a key is never used for a role other than its own).
   */
  signer(canonicalId: string, listed: PublicKey, role: string): Promise<Signer>;
  /**
   * Starts unlocking a key that signer() will be asked for soon, when that needs no one to type
   * anything (its passphrase is in the environment); never prompts, and a failure is left for
   * signer() to report.
   */
  prepare?(canonicalId: string, role: string): void;
  /**
   * Throws, naming the variable to set, when the passphrase of one of these keys (an existing key
   * by ID, or a new key of the role) could neither come from the environment nor be typed; a
   * workflow asks before it creates anything. Keys on a token need no passphrase.
   */
  requirePassphrases?(keys: readonly { role: string; keyId?: string }[]): Promise<void>;
  /** Creates a key for `role` (targets and snapshot keys carry the GUN). */
  generate(role: string, gun: string): Promise<{ canonicalId: string; publicKey: PublicKey }>;
  /**
   * Canonical IDs of keys at hand made for the delegation `role`, in a stable order (a docker
   * signer key made for `targets/NAME` carries the role NAME).
   */
  heldFor?(role: string): string[];
  /** Canonical IDs of root keys at hand, in a stable order. */
  rootKeyIds(): string[];
  /** A self-signed root certificate (DER) for the root key `canonicalId`, notary's profile. */
  rootCertificate(canonicalId: string, commonName: string, notBefore: Date, notAfter: Date): Promise<Buffer>;
}

/** A repository owner's workflows (init, key rotation) also import, remove and read keys. */
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
