// Signing metadata through Signers (design principle 3): the engine never sees private keys.

import type { KeyObject } from 'node:crypto';
import { signWithKey } from '../crypto/signature.js';
import { canonicalString } from './canonical.js';
import { envelopeBytes, type Signature } from './envelope.js';
import { TrustError } from './errors.js';
import type { PublicKey } from './keys.js';
import { MAX_AUTHORED_VERSION, toJson, type Metadata } from './metadata.js';

export interface Signer {
  /** The key as listed in metadata (for x509 root keys: the certificate key). */
  readonly publicKey: PublicKey;
  sign(data: Buffer): Promise<{ method: string; sig: Buffer }>;
}

/** A Signer over a private key held in memory. */
export function keyObjectSigner(privateKey: KeyObject, publicKey: PublicKey): Signer {
  return {
    publicKey,
    sign: async (data) => signWithKey(privateKey, data),
  };
}

export interface SignedFile {
  bytes: Buffer;
  signatures: Signature[];
}

/**
 * Serialises `meta` as notary would and signs it with every signer. `keep` carries earlier
 * signatures over the same signed bytes (co-signing) that stay next to the new ones.
 */
export async function signMetadata(meta: Metadata, signers: readonly Signer[], keep: readonly Signature[] = []): Promise<SignedFile> {
  if (meta.version > MAX_AUTHORED_VERSION) {
    throw new TrustError('VERSION_OVERFLOW', `refusing to write version ${meta.version}: notary-server cannot store versions above ${MAX_AUTHORED_VERSION}`, {
      found: meta.version,
      needed: MAX_AUTHORED_VERSION,
    });
  }
  const signed = toJson(meta);
  const text = canonicalString(signed, 'sign');
  const data = Buffer.from(text, 'utf8');
  const signatures: Signature[] = keep.filter((s) => !signers.some((x) => x.publicKey.id === s.keyid));
  for (const signer of signers) {
    const { method, sig } = await signer.sign(data);
    signatures.push({ keyid: signer.publicKey.id, method, sig });
  }
  return { bytes: envelopeBytes(text, signatures), signatures };
}
