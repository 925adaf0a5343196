// cosign's key files. The private key is a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY` (cosign
// before 2.0 wrote `ENCRYPTED COSIGN PRIVATE KEY`, read too) whose bytes are the JSON envelope of
// go-securesystemslib's `encrypted` package:
//   {"kdf":{"name":"scrypt","params":{"N":…,"r":8,"p":1},"salt":"<b64>"},
//    "cipher":{"name":"nacl/secretbox","nonce":"<b64>"},"ciphertext":"<b64>"}
// The key is scrypt(passphrase, salt, N, r, p) of 32 bytes, the ciphertext NaCl's secretbox
// (XSalsa20-Poly1305) of the PKCS#8 DER of the private key. The public key is a PKIX `PUBLIC KEY`
// PEM. scrypt comes from node:crypto and secretbox from @noble/ciphers (loaded on first use).

import { createPrivateKey, createPublicKey, randomBytes, scrypt, type KeyObject } from 'node:crypto';
import { KeyFileError } from './pbes2.js';

export const COSIGN_PEM_TYPE = 'ENCRYPTED SIGSTORE PRIVATE KEY';
const LEGACY_PEM_TYPE = 'ENCRYPTED COSIGN PRIVATE KEY';

/** What `cosign generate-key-pair` uses (go-securesystemslib's scrypt defaults). */
const WRITE_PARAMS = { N: 32768, r: 8, p: 1 } as const;
/** Refuse cost factors beyond what any cosign writes (2^20 costs 1 GiB and seconds). */
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;
const SALT_BYTES = 32;
const NONCE_BYTES = 24;

interface Envelope {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  nonce: Buffer;
  ciphertext: Buffer;
}

async function secretbox(key: Uint8Array, nonce: Uint8Array): Promise<{ encrypt(p: Uint8Array): Uint8Array; decrypt(c: Uint8Array): Uint8Array }> {
  const { xsalsa20poly1305 } = await import('@noble/ciphers/salsa.js');
  return xsalsa20poly1305(key, nonce);
}

function deriveKey(passphrase: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem: scrypt needs 128 * N * r bytes, above node's 32 MiB default from N = 32768, r = 8.
    scrypt(Buffer.from(passphrase, 'utf8'), salt, 32, { N, r, p, maxmem: 256 * N * r + (1 << 20) }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function pemBlock(text: string): { type: string; der: Buffer } {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)\r?\n?-----END \1-----/.exec(text);
  if (!m) throw new KeyFileError('BAD_KEY_FILE', 'no PEM block found', { hint: 'give a cosign key file (cosign.key) or a PEM public key (cosign.pub)' });
  const body = m[2]!.split(/\r?\n/).filter((l) => l !== '' && !l.includes(':'));
  return { type: m[1]!, der: Buffer.from(body.join(''), 'base64') };
}

function b64(v: unknown, what: string, length?: number): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw bad(`${what} is not base64`);
  const out = Buffer.from(v, 'base64');
  if (length !== undefined && out.length !== length) throw bad(`${what} has ${out.length} bytes, not ${length}`);
  return out;
}

function bad(detail: string): KeyFileError {
  return new KeyFileError('BAD_KEY_FILE', `not a cosign private key: ${detail}`, { hint: 'give the cosign.key written by cosign generate-key-pair or dtrust migrate key generate' });
}

function field(o: unknown, name: string): unknown {
  return typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Record<string, unknown>)[name] : undefined;
}

function positiveInt(v: unknown, what: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad(`scrypt ${what} is not a positive integer`);
  if (v > max) throw new KeyFileError('UNSUPPORTED_ENCRYPTION', `the cosign key's scrypt ${what} (${v}) is above ${max}`, { hint: 'dtrust reads keys encrypted with the cost cosign uses; re-encrypt the key with cosign' });
  return v;
}

function parseEnvelope(der: Buffer): Envelope {
  let v: unknown;
  try {
    v = JSON.parse(der.toString('utf8'));
  } catch {
    throw bad('the PEM body is not JSON');
  }
  const kdf = field(v, 'kdf');
  const cipher = field(v, 'cipher');
  if (field(kdf, 'name') !== 'scrypt') throw new KeyFileError('UNSUPPORTED_ENCRYPTION', `cosign key KDF ${JSON.stringify(field(kdf, 'name'))} is not supported (scrypt is)`, {});
  if (field(cipher, 'name') !== 'nacl/secretbox') throw new KeyFileError('UNSUPPORTED_ENCRYPTION', `cosign key cipher ${JSON.stringify(field(cipher, 'name'))} is not supported (nacl/secretbox is)`, {});
  const params = field(kdf, 'params');
  const N = positiveInt(field(params, 'N'), 'N', MAX_N);
  if ((N & (N - 1)) !== 0 || N < 2) throw bad('scrypt N is not a power of two');
  return {
    N,
    r: positiveInt(field(params, 'r'), 'r', MAX_R),
    p: positiveInt(field(params, 'p'), 'p', MAX_P),
    salt: b64(field(kdf, 'salt'), 'salt'),
    nonce: b64(field(cipher, 'nonce'), 'nonce', NONCE_BYTES),
    ciphertext: b64(field(v, 'ciphertext'), 'ciphertext'),
  };
}

/** True when the text holds an encrypted cosign private key block. */
export function isCosignPrivateKey(text: string): boolean {
  return text.includes(`-----BEGIN ${COSIGN_PEM_TYPE}-----`) || text.includes(`-----BEGIN ${LEGACY_PEM_TYPE}-----`);
}

/** Decrypts a cosign private key file. A wrong passphrase is `BAD_PASSPHRASE`. */
export async function decryptCosignKey(text: string, passphrase: string): Promise<KeyObject> {
  const block = pemBlock(text);
  if (block.type !== COSIGN_PEM_TYPE && block.type !== LEGACY_PEM_TYPE) throw bad(`the PEM block is ${block.type}, not ${COSIGN_PEM_TYPE}`);
  const env = parseEnvelope(block.der);
  const key = await deriveKey(passphrase, env.salt, env.N, env.r, env.p);
  let der: Uint8Array;
  try {
    der = (await secretbox(key, env.nonce)).decrypt(env.ciphertext);
  } catch (e) {
    throw new KeyFileError('WRONG_PASSPHRASE', 'could not decrypt the cosign private key: wrong passphrase (or a damaged file)', { hint: 'set COSIGN_PASSWORD to the passphrase the key was generated with' }, e);
  }
  try {
    return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw bad(`the decrypted key is not PKCS#8 (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** The cosign private key file (PEM text) for `key`, encrypted under `passphrase`. */
export async function encryptCosignKey(key: KeyObject, passphrase: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const { N, r, p } = WRITE_PARAMS;
  const box = await secretbox(await deriveKey(passphrase, salt, N, r, p), nonce);
  const der = key.export({ format: 'der', type: 'pkcs8' });
  const ciphertext = Buffer.from(box.encrypt(der));
  const json = JSON.stringify({
    kdf: { name: 'scrypt', params: { N, r, p }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: ciphertext.toString('base64'),
  });
  return pem(COSIGN_PEM_TYPE, Buffer.from(json, 'utf8'));
}

function pem(type: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

/** The public key as cosign writes cosign.pub (PKIX PEM). */
export function cosignPublicPem(key: KeyObject): string {
  return pem('PUBLIC KEY', createPublicKey(key).export({ format: 'der', type: 'spki' }));
}

/** Reads cosign.pub (a PKIX `PUBLIC KEY` PEM). */
export function readCosignPublicKey(text: string): KeyObject {
  const block = pemBlock(text);
  if (block.type !== 'PUBLIC KEY') {
    throw new KeyFileError('BAD_KEY_FILE', `the PEM block is ${block.type}, not PUBLIC KEY`, { hint: 'give the public key file (cosign.pub), not the private key' });
  }
  try {
    return createPublicKey({ key: block.der, format: 'der', type: 'spki' });
  } catch (e) {
    throw new KeyFileError('BAD_KEY_FILE', 'the PUBLIC KEY block is not a PKIX public key', {}, e);
  }
}
