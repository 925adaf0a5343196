// Signers over decrypted keys, and the TUF public key / key ID of a private key.

import type { PrivateKeyData } from '../crypto/keyfile.js';
import { tufPublicKey } from '../crypto/keyfile.js';
import { PublicKey } from '../tuf/keys.js';
import { keyObjectSigner } from '../tuf/sign.js';
import { KeyStoreError } from './errors.js';
import type { KeyRecord, KeySigner, SignerOptions } from './types.js';
import { keyRoleAllows } from './types.js';

/** The TUF public key of a private key (ecdsa/rsa: DER SPKI; ed25519: 32 raw bytes). */
export function publicKeyOf(key: PrivateKeyData): PublicKey {
  const { keytype, pub } = tufPublicKey(key);
  return new PublicKey(keytype, pub);
}

/** The canonical key ID, which names the key file. */
export function keyIdOf(key: PrivateKeyData): string {
  return publicKeyOf(key).id;
}

export function makeSigner(key: PrivateKeyData, rec: KeyRecord): KeySigner {
  const publicKey = publicKeyOf(key);
  const inner = keyObjectSigner(key.privateKey, publicKey);
  return {
    publicKey,
    sign: (data) => inner.sign(data),
    keyId: rec.id,
    role: rec.role,
    gun: rec.gun,
    algorithm: key.algorithm,
    privateKeyObject: key.privateKey,
    withPublicKey(other) {
      if (other.canonicalId !== publicKey.id) {
        throw new KeyStoreError('KEY_ID_MISMATCH', `key ${other.id} is not key ${publicKey.id}`, { keyId: rec.id });
      }
      return keyObjectSigner(key.privateKey, other);
    },
  };
}

/** Throws ROLE_MISMATCH when the key may not sign for the requested role or GUN. */
export function checkUse(rec: KeyRecord, opts: SignerOptions | undefined): void {
  if (opts?.role !== undefined && !keyRoleAllows(rec.role, opts.role)) {
    throw new KeyStoreError('ROLE_MISMATCH', `key ${rec.id} is a ${rec.role || '(no role)'} key and cannot sign for ${opts.role}`, {
      keyId: rec.id,
      role: rec.role,
      hint: `use a key created for ${opts.role}; a key is only ever used for the role it was created for`,
    });
  }
  if (opts?.gun !== undefined && opts.gun !== '' && rec.gun !== '' && rec.gun !== opts.gun) {
    throw new KeyStoreError('ROLE_MISMATCH', `key ${rec.id} belongs to ${rec.gun}, not ${opts.gun}`, {
      keyId: rec.id,
      role: rec.role,
      gun: rec.gun,
      hint: `use the ${rec.role} key of ${opts.gun}`,
    });
  }
}
