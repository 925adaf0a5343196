// Private key encryption as notary reads and writes it:
//  - PKCS#8 EncryptedPrivateKeyInfo with PBES2 / PBKDF2 (formats.md §4.4). notary writes
//    HMAC-SHA1 (no `prf` field), an 8-byte salt, 2048 iterations and AES-256-CBC, and reads only
//    that scheme (it ignores a `prf` field and always uses SHA-1). dtrust reads more (any PRF of
//    the SHA family, AES-128/192/256-CBC, DES-EDE3-CBC) and writes notary's structure with a
//    configurable iteration count and salt length.
//  - Legacy RFC 1423 PEM encryption (`Proc-Type: 4,ENCRYPTED` + `DEK-Info`), written by notary
//    0.1-0.3 (formats.md §4.5): OpenSSL's EVP_BytesToKey with MD5 and one round.

import { createCipheriv, createDecipheriv, createHash, getCiphers, pbkdf2, randomBytes } from 'node:crypto';
import { DtrustError, type ErrorFields } from '../errors.js';
import {
  DerError,
  Tag,
  children,
  contentOf,
  decodeInteger,
  decodeOid,
  derInteger,
  derOctetString,
  derOid,
  derSequence,
  expectTag,
  readSingle,
  readTlv,
  type Tlv,
} from './der.js';

export type KeyFileErrorCode =
  | 'BAD_KEY_FILE'
  | 'UNSUPPORTED_KEY'
  | 'UNSUPPORTED_ENCRYPTION'
  | 'ITERATIONS_TOO_HIGH';

/** A key file (or PEM block) that cannot be used, with the reason class in `code`. */
export class KeyFileError extends DtrustError<KeyFileErrorCode> {
  constructor(code: KeyFileErrorCode, message: string, fields: ErrorFields = {}, cause?: unknown) {
    super(code, message, fields, cause);
    this.name = 'KeyFileError';
  }
}

export const OID_PBES2 = '1.2.840.113549.1.5.13';
export const OID_PBKDF2 = '1.2.840.113549.1.5.12';

const PRF_BY_OID: Record<string, Prf> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

const CIPHER_BY_OID: Record<string, Pbes2Cipher> = {
  '2.16.840.1.101.3.4.1.2': 'aes-128-cbc',
  '2.16.840.1.101.3.4.1.22': 'aes-192-cbc',
  '2.16.840.1.101.3.4.1.42': 'aes-256-cbc',
  '1.2.840.113549.3.7': 'des-ede3-cbc',
};
const OID_AES256_CBC = '2.16.840.1.101.3.4.1.42';

const CIPHER_SIZES: Record<string, { key: number; iv: number }> = {
  'aes-128-cbc': { key: 16, iv: 16 },
  'aes-192-cbc': { key: 24, iv: 16 },
  'aes-256-cbc': { key: 32, iv: 16 },
  'des-ede3-cbc': { key: 24, iv: 8 },
  'des-cbc': { key: 8, iv: 8 },
};

export type Prf = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
export type Pbes2Cipher = 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc' | 'des-ede3-cbc';

/** The encryption parameters of a PBES2 EncryptedPrivateKeyInfo. */
export interface Pbes2Params {
  prf: Prf;
  /** True when the file names its PRF (notary ignores the field and always uses SHA-1). */
  prfExplicit: boolean;
  salt: Buffer;
  iterations: number;
  keyLength: number | undefined;
  cipher: Pbes2Cipher;
  iv: Buffer;
}

export interface EncryptedPrivateKeyInfo {
  params: Pbes2Params;
  encrypted: Buffer;
}

/** Iteration counts above this are refused on read (a hostile file could make us spin for hours). */
export const MAX_READ_ITERATIONS = 10_000_000;
/** notary's own count: the lowest dtrust accepts for writing. */
export const MIN_WRITE_ITERATIONS = 2048;

function bad(message: string, cause?: unknown): KeyFileError {
  return new KeyFileError('BAD_KEY_FILE', message, {}, cause);
}

/** Parses the DER of an EncryptedPrivateKeyInfo. Throws KeyFileError. */
export function parseEncryptedPrivateKeyInfo(der: Buffer): EncryptedPrivateKeyInfo {
  try {
    const top = readSingle(der, Tag.SEQUENCE);
    const [algId, data] = exactly(children(der, top), 2, 'EncryptedPrivateKeyInfo');
    expectTag(algId, Tag.SEQUENCE, 'encryptionAlgorithm');
    expectTag(data, Tag.OCTET_STRING, 'encryptedData');
    const [algOid, pbes2Params] = exactly(children(der, algId), 2, 'encryptionAlgorithm');
    const alg = oidOf(der, algOid);
    if (alg !== OID_PBES2) throw new KeyFileError('UNSUPPORTED_ENCRYPTION', `unsupported key encryption ${alg} (only PBES2 is supported)`);
    expectTag(pbes2Params, Tag.SEQUENCE, 'PBES2-params');
    const [kdf, enc] = exactly(children(der, pbes2Params), 2, 'PBES2-params');
    expectTag(kdf, Tag.SEQUENCE, 'keyDerivationFunc');
    expectTag(enc, Tag.SEQUENCE, 'encryptionScheme');

    const [kdfOid, kdfParams] = exactly(children(der, kdf), 2, 'keyDerivationFunc');
    const kdfName = oidOf(der, kdfOid);
    if (kdfName !== OID_PBKDF2) throw new KeyFileError('UNSUPPORTED_ENCRYPTION', `unsupported key derivation ${kdfName} (only PBKDF2 is supported)`);
    expectTag(kdfParams, Tag.SEQUENCE, 'PBKDF2-params');
    const kp = children(der, kdfParams);
    const salt = kp[0];
    const iter = kp[1];
    if (!salt || !iter) throw bad('PBKDF2 parameters are incomplete');
    expectTag(salt, Tag.OCTET_STRING, 'salt');
    expectTag(iter, Tag.INTEGER, 'iterationCount');
    const iterations = decodeInteger(contentOf(der, iter), iter.start);
    let keyLength: number | undefined;
    let prf: Prf = 'sha1';
    let prfExplicit = false;
    for (const extra of kp.slice(2)) {
      if (extra.tag === Tag.INTEGER && keyLength === undefined && !prfExplicit) {
        const kl = decodeInteger(contentOf(der, extra), extra.start);
        if (kl < 1n || kl > 64n) throw bad(`invalid PBKDF2 key length ${kl}`);
        keyLength = Number(kl);
      } else if (extra.tag === Tag.SEQUENCE && !prfExplicit) {
        const prfOidTlv = children(der, extra)[0];
        if (!prfOidTlv) throw bad('empty PBKDF2 prf');
        const prfOid = oidOf(der, prfOidTlv);
        const p = PRF_BY_OID[prfOid];
        if (!p) throw new KeyFileError('UNSUPPORTED_ENCRYPTION', `unsupported PBKDF2 prf ${prfOid}`);
        prf = p;
        prfExplicit = true;
      } else {
        throw bad('unexpected field in PBKDF2 parameters');
      }
    }
    if (iterations < 1n) throw bad(`invalid PBKDF2 iteration count ${iterations}`);
    if (iterations > BigInt(MAX_READ_ITERATIONS)) {
      throw new KeyFileError('ITERATIONS_TOO_HIGH', `the key file asks for ${iterations} PBKDF2 iterations, more than the ${MAX_READ_ITERATIONS} dtrust accepts`);
    }

    const [encOid, ivTlv] = exactly(children(der, enc), 2, 'encryptionScheme');
    const encName = oidOf(der, encOid);
    const cipher = CIPHER_BY_OID[encName];
    if (!cipher) throw new KeyFileError('UNSUPPORTED_ENCRYPTION', `unsupported key cipher ${encName}`);
    expectTag(ivTlv, Tag.OCTET_STRING, 'IV');
    const iv = Buffer.from(contentOf(der, ivTlv));
    const sizes = CIPHER_SIZES[cipher]!;
    if (iv.length !== sizes.iv) throw bad(`${cipher} needs a ${sizes.iv}-byte IV, the file has ${iv.length}`);
    if (keyLength !== undefined && keyLength !== sizes.key) throw bad(`PBKDF2 key length ${keyLength} does not fit ${cipher}`);
    const encrypted = Buffer.from(contentOf(der, data));
    if (encrypted.length === 0 || encrypted.length % (sizes.iv === 8 ? 8 : 16) !== 0) {
      throw bad('the encrypted key is truncated (its length is not a whole number of cipher blocks)');
    }
    return {
      params: { prf, prfExplicit, salt: Buffer.from(contentOf(der, salt)), iterations: Number(iterations), keyLength, cipher, iv },
      encrypted,
    };
  } catch (e) {
    if (e instanceof KeyFileError) throw e;
    if (e instanceof DerError) throw bad(`the encrypted private key is truncated or corrupt (${e.message})`, e);
    throw e;
  }
}

/** True when notary 0.7 can decrypt a key with these parameters (it assumes SHA-1 and AES-256-CBC). */
export function notaryCanDecrypt(p: Pbes2Params): boolean {
  return p.prf === 'sha1' && p.cipher === 'aes-256-cbc';
}

function exactly(list: Tlv[], n: 2, what: string): [Tlv, Tlv] {
  if (list.length !== n) throw bad(`${what} has ${list.length} fields, expected ${n}`);
  return [list[0]!, list[1]!];
}

function oidOf(der: Buffer, t: Tlv): string {
  expectTag(t, Tag.OID, 'OBJECT IDENTIFIER');
  return decodeOid(contentOf(der, t), t.start);
}

function derive(passphrase: Buffer, salt: Buffer, iterations: number, keyLength: number, prf: Prf): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(passphrase, salt, iterations, keyLength, prf, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * Strips PKCS#7 padding when it is valid. When it is not, notary still accepts the key if a DER
 * SEQUENCE followed by at most one block of trailing bytes parses (Go ignores trailing data), so
 * do the same; otherwise the passphrase was wrong: null.
 */
function unpadToDer(plain: Buffer, blockSize: number): Buffer | null {
  const n = plain[plain.length - 1]!;
  if (n >= 1 && n <= blockSize && n <= plain.length && plain.subarray(plain.length - n).every((b) => b === n)) {
    const body = plain.subarray(0, plain.length - n);
    try {
      readSingle(body, Tag.SEQUENCE);
      return body;
    } catch {
      // fall through to the lenient reading
    }
  }
  try {
    const t = readTlv(plain, 0, plain.length);
    if (t.tag !== Tag.SEQUENCE || plain.length - t.end > blockSize) return null;
    return plain.subarray(0, t.end);
  } catch {
    return null;
  }
}

/**
 * Decrypts an EncryptedPrivateKeyInfo. Resolves to the PKCS#8 DER, or null when the passphrase is
 * wrong (the result is not a DER SEQUENCE). Runs the KDF on the thread pool.
 */
export async function pbes2Decrypt(info: EncryptedPrivateKeyInfo, passphrase: Buffer): Promise<Buffer | null> {
  const { params } = info;
  const sizes = CIPHER_SIZES[params.cipher]!;
  const key = await derive(passphrase, params.salt, params.iterations, sizes.key, params.prf);
  try {
    const d = createDecipheriv(params.cipher, key, params.iv);
    d.setAutoPadding(false);
    const plain = Buffer.concat([d.update(info.encrypted), d.final()]);
    return unpadToDer(plain, sizes.iv === 8 ? 8 : 16);
  } finally {
    key.fill(0);
  }
}

export interface Pbes2WriteOptions {
  iterations: number;
  /** 8 (notary's) or 16 bytes. */
  saltLength: number;
}

/**
 * Encrypts PKCS#8 DER into notary's EncryptedPrivateKeyInfo: PBES2, PBKDF2-HMAC-SHA1 with
 * {salt, iterationCount} only (no keyLength, no prf), AES-256-CBC with a 16-byte IV, PKCS#7
 * padding always added.
 */
export async function pbes2Encrypt(plain: Buffer, passphrase: Buffer, opts: Pbes2WriteOptions): Promise<Buffer> {
  if (!Number.isSafeInteger(opts.iterations) || opts.iterations < MIN_WRITE_ITERATIONS || opts.iterations > MAX_READ_ITERATIONS) {
    throw new RangeError(`iteration count must be between ${MIN_WRITE_ITERATIONS} and ${MAX_READ_ITERATIONS}, got ${opts.iterations}`);
  }
  if (!Number.isSafeInteger(opts.saltLength) || opts.saltLength < 8 || opts.saltLength > 64) {
    throw new RangeError(`salt length must be between 8 and 64 bytes, got ${opts.saltLength}`);
  }
  const salt = randomBytes(opts.saltLength);
  const iv = randomBytes(16);
  const key = await derive(passphrase, salt, opts.iterations, 32, 'sha1');
  let encrypted: Buffer;
  try {
    const c = createCipheriv('aes-256-cbc', key, iv);
    encrypted = Buffer.concat([c.update(plain), c.final()]);
  } finally {
    key.fill(0);
  }
  return derSequence(
    derSequence(
      derOid(OID_PBES2),
      derSequence(
        derSequence(derOid(OID_PBKDF2), derSequence(derOctetString(salt), derInteger(opts.iterations))),
        derSequence(derOid(OID_AES256_CBC), derOctetString(iv)),
      ),
    ),
    derOctetString(encrypted),
  );
}

// ---- legacy RFC 1423 PEM encryption ----

export interface DekInfo {
  cipher: string;
  iv: Buffer;
}

/** Parses a `DEK-Info` header value such as `AES-256-CBC,<hex IV>`. Throws KeyFileError. */
export function parseDekInfo(value: string): DekInfo {
  const m = /^([A-Za-z0-9-]+),([0-9A-Fa-f]+)$/.exec(value.trim());
  if (!m) throw bad(`malformed DEK-Info header ${JSON.stringify(value)}`);
  const cipher = m[1]!.toLowerCase();
  const sizes = CIPHER_SIZES[cipher];
  if (!sizes) throw new KeyFileError('UNSUPPORTED_ENCRYPTION', `unsupported legacy key cipher ${m[1]}`);
  const ivHex = m[2]!;
  if (ivHex.length !== sizes.iv * 2) throw bad(`${m[1]} needs a ${sizes.iv}-byte IV in DEK-Info`);
  return { cipher, iv: Buffer.from(ivHex, 'hex') };
}

/** OpenSSL EVP_BytesToKey with MD5, one round, salt = the first 8 bytes of the IV. */
function bytesToKey(passphrase: Buffer, salt: Buffer, keyLength: number): Buffer {
  const parts: Buffer[] = [];
  let prev = Buffer.alloc(0);
  let have = 0;
  while (have < keyLength) {
    prev = createHash('md5').update(prev).update(passphrase).update(salt).digest();
    parts.push(prev);
    have += prev.length;
  }
  return Buffer.concat(parts).subarray(0, keyLength);
}

/**
 * Decrypts the body of a legacy encrypted PEM block. Resolves to the DER, or null when the
 * passphrase is wrong (bad padding, as Go's x509.DecryptPEMBlock reports it).
 */
export function legacyDecrypt(body: Buffer, dek: DekInfo, passphrase: Buffer): Buffer | null {
  const sizes = CIPHER_SIZES[dek.cipher]!;
  if (!getCiphers().includes(dek.cipher)) {
    throw new KeyFileError('UNSUPPORTED_ENCRYPTION', `legacy key cipher ${dek.cipher.toUpperCase()} is not available in this Node.js build`);
  }
  const blockSize = sizes.iv;
  if (body.length === 0 || body.length % blockSize !== 0) {
    throw bad('the encrypted key is truncated (its length is not a whole number of cipher blocks)');
  }
  const key = bytesToKey(passphrase, dek.iv.subarray(0, 8), sizes.key);
  let plain: Buffer;
  try {
    const d = createDecipheriv(dek.cipher, key, dek.iv);
    d.setAutoPadding(false);
    plain = Buffer.concat([d.update(body), d.final()]);
  } catch (e) {
    throw new KeyFileError('UNSUPPORTED_ENCRYPTION', `cannot use legacy key cipher ${dek.cipher.toUpperCase()}: ${(e as Error).message}`, {}, e);
  } finally {
    key.fill(0);
  }
  const n = plain[plain.length - 1]!;
  if (n < 1 || n > blockSize || !plain.subarray(plain.length - n).every((b) => b === n)) return null;
  return plain.subarray(0, plain.length - n);
}
