// Errors of the key store layer: one class, a stable `code`, structured fields and a `hint`
// saying what to do (design principle 4). Messages never contain a passphrase or key material.

import { DtrustError } from '../errors.js';

export type KeyStoreErrorCode =
  /** The passphrase (typed, or from the named environment variable) does not decrypt the key. */
  | 'WRONG_PASSPHRASE'
  /** No passphrase source: no variable set and stdin is not a terminal. */
  | 'NO_PASSPHRASE'
  /** A new passphrase was refused (too short, confirmation mismatch) too many times, or from env. */
  | 'BAD_NEW_PASSPHRASE'
  | 'KEY_NOT_FOUND'
  | 'KEY_EXISTS'
  /** The key file is malformed, truncated or inconsistent. */
  | 'BAD_KEY_FILE'
  /** A key type, curve, size or PEM block type dtrust cannot use. */
  | 'UNSUPPORTED_KEY'
  | 'UNSUPPORTED_ENCRYPTION'
  /** The key file's decrypted key does not have the ID its file name says. */
  | 'KEY_ID_MISMATCH'
  /** A key was asked for a role other than the one it was created for. */
  | 'ROLE_MISMATCH'
  /** The trust or key directory is accessible by other users, or owned by someone else. */
  | 'INSECURE_PERMISSIONS'
  | 'PERMISSION_DENIED'
  | 'SYMLINK'
  | 'INVALID_GUN'
  | 'INVALID_ROLE'
  | 'INVALID_KEY_ID'
  /** A file given for import holds no private key. */
  | 'NO_KEYS_IN_FILE'
  /** Some blocks of an import were rejected. */
  | 'IMPORT_INCOMPLETE'
  /** The store cannot do this (e.g. change the PIN of a token key, hold a non-root key). */
  | 'NOT_SUPPORTED'
  | 'IO_ERROR'
  /** PKCS#11: the driver (or pkcs11js) cannot be loaded, or no initialised token is present. */
  | 'TOKEN_UNAVAILABLE'
  /** PKCS#11: the token went away (or stopped answering) in the middle of an operation. */
  | 'TOKEN_REMOVED'
  /** PKCS#11: the PIN (typed, or from DTRUST_PKCS11_PIN) was refused. */
  | 'WRONG_PIN'
  /** PKCS#11: the token's PIN is locked after too many wrong PINs. */
  | 'PIN_LOCKED'
  /** PKCS#11: no PIN source (no variable, no terminal). */
  | 'NO_PIN'
  /** PKCS#11: every key slot notary uses on the token is taken. */
  | 'TOKEN_FULL'
  /** PKCS#11: the token refused or failed an operation. */
  | 'TOKEN_ERROR'
  /** The disk backup of a new token key could not be written (the token key was removed again). */
  | 'BACKUP_FAILED';

export interface KeyStoreErrorFields {
  hint?: string;
  keyId?: string;
  role?: string;
  gun?: string;
  path?: string;
  /** The environment variable involved, e.g. NOTARY_TARGETS_PASSPHRASE. */
  variable?: string;
}

export class KeyStoreError extends DtrustError<KeyStoreErrorCode, KeyStoreErrorFields> {
  readonly keyId: string | undefined;
  readonly role: string | undefined;
  readonly gun: string | undefined;
  readonly path: string | undefined;
  readonly variable: string | undefined;

  constructor(code: KeyStoreErrorCode, message: string, fields: KeyStoreErrorFields = {}, cause?: unknown) {
    super(code, message, fields, cause);
    this.name = 'KeyStoreError';
    this.keyId = fields.keyId;
    this.role = fields.role;
    this.gun = fields.gun;
    this.path = fields.path;
    this.variable = fields.variable;
  }
}

export function isKeyStoreError(e: unknown, code?: KeyStoreErrorCode): e is KeyStoreError {
  return e instanceof KeyStoreError && (code === undefined || e.code === code);
}

/** Seven characters of a key ID, as notary's prompts and messages show them. */
export function shortId(id: string): string {
  return id.slice(0, 7);
}
