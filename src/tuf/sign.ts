// Signing metadata through Signers (design principle 3): the engine never sees private keys.

import type { KeyObject } from 'node:crypto';
import { signWithKey } from '../crypto/signature.js';
import { canonicalString, fileFormString } from './canonical.js';
import { envelopeAround, type Signature } from './envelope.js';
import { TrustError } from './errors.js';
import type { PublicKey } from './keys.js';
import { MAX_AUTHORED_VERSION, toJson, type Metadata } from './metadata.js';
import { targetsText, type SignedText } from './splice.js';

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
 * signatures over the same signed bytes (co-signing) that stay next to the new ones. A targets
 * role read from a file keeps the unchanged entries' bytes (splice.ts).
 */
export async function signMetadata(meta: Metadata, signers: readonly Signer[], keep: readonly Signature[] = []): Promise<SignedFile> {
  if (meta.version > MAX_AUTHORED_VERSION) {
    throw new TrustError('VERSION_OVERFLOW', `refusing to write version ${meta.version}: notary-server cannot store versions above ${MAX_AUTHORED_VERSION}`, {
      found: meta.version,
      needed: MAX_AUTHORED_VERSION,
    });
  }
  const text = meta._type === 'Targets' ? targetsText(meta) : signedText(meta);
  const signatures: Signature[] = keep.filter((s) => !signers.some((x) => x.publicKey.id === s.keyid));
  for (const signer of signers) {
    const { method, sig } = await signer.sign(text.canonical);
    signatures.push({ keyid: signer.publicKey.id, method, sig });
  }
  return { bytes: envelopeAround(text.fileForm, signatures), signatures };
}

function signedText(meta: Metadata): SignedText {
  const text = canonicalString(toJson(meta), 'sign');
  const canonical = Buffer.from(text, 'utf8');
  const fileForm = fileFormString(text);
  return { canonical, fileForm: fileForm === text ? canonical : Buffer.from(fileForm, 'utf8') };
}
