// Signature algorithms, chosen from a fixed table of (key type, method) pairs (SEC-V2):
// the `method` field never selects an algorithm on its own.

import { constants, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { DtrustError, type ErrorFields } from '../errors.js';
import { decodePemBlocks } from './pem.js';
import { X509Certificate } from 'node:crypto';

export type KeyType = 'ecdsa' | 'ecdsa-x509' | 'ed25519' | 'rsa' | 'rsa-x509';
export type SigMethod = 'ecdsa' | 'eddsa' | 'rsapss' | 'rsapkcs1v15' | 'pycrypto-pkcs#1 pss';

export const KEY_TYPES: readonly string[] = ['ecdsa', 'ecdsa-x509', 'ed25519', 'rsa', 'rsa-x509'];

export type CryptoErrorCode = 'BAD_PUBLIC_KEY' | 'UNSUPPORTED_KEY' | 'WEAK_KEY' | 'BAD_CERTIFICATE';

/** A public key or certificate that cannot be used. */
export class CryptoError extends DtrustError<CryptoErrorCode> {
  constructor(code: CryptoErrorCode, message: string, fields: ErrorFields = {}, cause?: unknown) {
    super(code, message, fields, cause);
    this.name = 'CryptoError';
  }
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * The verifying key for a TUF public key. `public` is DER SPKI for ecdsa/rsa, the PEM text of a
 * certificate chain (leaf first) for the x509 types, and 32 raw bytes for ed25519.
 */
export function publicKeyObject(keytype: string, pub: Buffer): KeyObject {
  try {
    switch (keytype) {
      case 'ecdsa':
      case 'rsa':
        return createPublicKey({ key: pub, format: 'der', type: 'spki' });
      case 'ecdsa-x509':
      case 'rsa-x509':
        return leafCertificate(pub).publicKey;
      case 'ed25519':
        if (pub.length !== 32) throw new CryptoError('BAD_PUBLIC_KEY', `ed25519 public key has ${pub.length} bytes, not 32`);
        return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
      default:
        throw new CryptoError('UNSUPPORTED_KEY', `unsupported key type ${JSON.stringify(keytype)}`);
    }
  } catch (e) {
    if (e instanceof CryptoError) throw e;
    throw new CryptoError('BAD_PUBLIC_KEY', `cannot read the ${keytype} public key: ${(e as Error).message}`, {}, e);
  }
}

/** The first certificate of a PEM chain. */
export function leafCertificate(pemText: Buffer | string): X509Certificate {
  const blocks = decodePemBlocks(pemText.toString());
  const first = blocks[0];
  if (!first || first.type !== 'CERTIFICATE') throw new CryptoError('BAD_CERTIFICATE', 'no certificate found in PEM');
  return new X509Certificate(first.bytes);
}

const ALLOWED: Record<string, readonly SigMethod[]> = {
  ecdsa: ['ecdsa'],
  'ecdsa-x509': ['ecdsa'],
  ed25519: ['eddsa'],
  rsa: ['rsapss', 'rsapkcs1v15', 'pycrypto-pkcs#1 pss'],
  'rsa-x509': ['rsapss', 'rsapkcs1v15'],
};

/** True when `sig` is a valid signature by `key` (of `keytype`) over `msg` with `method`. */
export function verifySignature(keytype: string, key: KeyObject, method: string, msg: Uint8Array, sig: Uint8Array, pubIsPem = false): boolean {
  if (!ALLOWED[keytype]?.includes(method as SigMethod)) return false;
  if (method === 'pycrypto-pkcs#1 pss' && !pubIsPem) return false;
  try {
    switch (method) {
      case 'ecdsa': {
        if (key.asymmetricKeyType !== 'ec') return false;
        const bits = ecBits(key);
        if (sig.length !== 2 * Math.ceil(bits / 8)) return false;
        return nodeVerify('sha256', msg, { key, dsaEncoding: 'ieee-p1363' }, sig);
      }
      case 'eddsa':
        return key.asymmetricKeyType === 'ed25519' && sig.length === 64 && nodeVerify(null, msg, key, sig);
      case 'rsapss':
      case 'pycrypto-pkcs#1 pss':
        return (
          isStrongRsa(key) &&
          nodeVerify('sha256', msg, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig)
        );
      case 'rsapkcs1v15':
        return isStrongRsa(key) && nodeVerify('sha256', msg, { key, padding: constants.RSA_PKCS1_PADDING }, sig);
      default:
        return false;
    }
  } catch {
    return false;
  }
}

function ecBits(key: KeyObject): number {
  switch (key.asymmetricKeyDetails?.namedCurve) {
    case 'prime256v1':
      return 256;
    case 'secp384r1':
      return 384;
    case 'secp521r1':
      return 521;
    default:
      return 0;
  }
}

function isStrongRsa(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048;
}

/** Signs `msg` with a private key the way notary does; returns the method and raw signature. */
export function signWithKey(key: KeyObject, msg: Uint8Array): { method: SigMethod; sig: Buffer } {
  switch (key.asymmetricKeyType) {
    case 'ec':
      return { method: 'ecdsa', sig: nodeSign('sha256', msg, { key, dsaEncoding: 'ieee-p1363' }) };
    case 'ed25519':
      return { method: 'eddsa', sig: nodeSign(null, msg, key) };
    case 'rsa':
      return {
        method: 'rsapss',
        sig: nodeSign('sha256', msg, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
      };
    default:
      throw new CryptoError('UNSUPPORTED_KEY', `cannot sign with a ${key.asymmetricKeyType} key`);
  }
}

/** DER SPKI of a public key (the `public` of ecdsa and rsa TUF keys). */
export function spkiDer(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' });
}

/** The 32 raw bytes of an ed25519 public key. */
export function ed25519Raw(key: KeyObject): Buffer {
  return spkiDer(key).subarray(ED25519_SPKI_PREFIX.length);
}
