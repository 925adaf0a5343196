// Private key encodings, as notary 0.7 reads and writes them (formats.md §4.2-4.5):
//  - PKCS#8, including notary's non-standard forms: ECDSA with version 1 and an algorithm
//    field that is a SEQUENCE of bare OIDs; RSA without the NULL parameter; Ed25519 under the
//    custom OID 1.3.6.1.4.1.11591.15.1 holding 96 raw bytes (public ‖ seed ‖ public);
//  - legacy SEC1 `EC PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` and `ED25519 PRIVATE KEY` blocks,
//    optionally with RFC 1423 encryption;
//  - encrypted PKCS#8 (see pbes2.ts).
// Node's parsers refuse PEM with headers and the Ed25519 form, so every block is taken apart
// here and handed to node:crypto as standard DER.

import {
  createECDH,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as nodeSign,
  verify as nodeVerify,
  constants,
  type KeyObject,
} from 'node:crypto';
import {
  DerError,
  Tag,
  children,
  contentOf,
  contextTag,
  decodeBitString,
  decodeInteger,
  decodeOid,
  derBitString,
  derExplicit,
  derInteger,
  derOctetString,
  derOid,
  derSequence,
  expectTag,
  readSingle,
  type Tlv,
} from './der.js';
import {
  KeyFileError,
  legacyDecrypt,
  notaryCanDecrypt,
  parseDekInfo,
  parseEncryptedPrivateKeyInfo,
  pbes2Decrypt,
  pbes2Encrypt,
  type Pbes2Params,
} from './pbes2.js';
import { encodePem, type PemBlock } from './pem.js';

export { KeyFileError } from './pbes2.js';
export type { KeyFileErrorCode } from './pbes2.js';

export type KeyAlgorithm = 'ecdsa' | 'rsa' | 'ed25519';

/** A usable private key: the node:crypto objects and the TUF key type of its public half. */
export interface PrivateKeyData {
  algorithm: KeyAlgorithm;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_RSA = '1.2.840.113549.1.1.1';
export const OID_ED25519_NOTARY = '1.3.6.1.4.1.11591.15.1';
export const OID_ED25519 = '1.3.101.112';

const CURVES: Record<string, { name: string; bytes: number; jwk: string }> = {
  '1.2.840.10045.3.1.7': { name: 'prime256v1', bytes: 32, jwk: 'P-256' },
  '1.3.132.0.34': { name: 'secp384r1', bytes: 48, jwk: 'P-384' },
  '1.3.132.0.35': { name: 'secp521r1', bytes: 66, jwk: 'P-521' },
};
const CURVE_OID_BY_NAME: Record<string, string> = Object.fromEntries(Object.entries(CURVES).map(([oid, c]) => [c.name, oid]));

const KNOWN_UNSUPPORTED: Record<string, string> = {
  '1.2.840.10040.4.1': 'DSA',
  '1.3.101.110': 'X25519',
  '1.3.101.111': 'X448',
  '1.3.101.113': 'Ed448',
  '1.2.840.113549.1.1.10': 'RSA-PSS',
  '1.2.840.10046.2.1': 'DH',
};

/** Smallest RSA modulus that notary's verifier accepts. */
export const MIN_RSA_BITS = 2048;

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function bad(message: string, cause?: unknown): KeyFileError {
  return new KeyFileError('BAD_KEY_FILE', message, {}, cause);
}

function unsupported(message: string): KeyFileError {
  return new KeyFileError('UNSUPPORTED_KEY', message);
}

function wrapDer<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof KeyFileError) throw e;
    if (e instanceof DerError) throw bad(`the ${what} is truncated or corrupt (${e.message})`, e);
    throw bad(`unreadable ${what}: ${(e as Error).message}`, e);
  }
}

// ---- generating ----

/** A fresh key: ECDSA P-256 (notary's only choice), Ed25519, or RSA (default 3072 bits). */
export function generatePrivateKey(algorithm: KeyAlgorithm, rsaBits = 3072): PrivateKeyData {
  switch (algorithm) {
    case 'ecdsa': {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      return { algorithm, privateKey, publicKey };
    }
    case 'ed25519': {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      return { algorithm, privateKey, publicKey };
    }
    case 'rsa': {
      if (rsaBits < MIN_RSA_BITS) throw unsupported(`RSA keys need at least ${MIN_RSA_BITS} bits`);
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: rsaBits, publicExponent: 65537 });
      return { algorithm, privateKey, publicKey };
    }
  }
}

/** Wraps a node private key, checking that dtrust (and notary) can sign with it. */
export function fromKeyObject(privateKey: KeyObject): PrivateKeyData {
  const publicKey = createPublicKey(privateKey);
  switch (privateKey.asymmetricKeyType) {
    case 'ec': {
      const curve = privateKey.asymmetricKeyDetails?.namedCurve ?? '';
      if (!CURVE_OID_BY_NAME[curve]) throw unsupported(`unsupported elliptic curve ${curve || '(unnamed)'}: use P-256, P-384 or P-521`);
      return { algorithm: 'ecdsa', privateKey, publicKey };
    }
    case 'rsa': {
      const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) throw unsupported(`RSA key of ${bits} bits is too small: notary accepts only ${MIN_RSA_BITS} bits or more`);
      return { algorithm: 'rsa', privateKey, publicKey };
    }
    case 'ed25519':
      return { algorithm: 'ed25519', privateKey, publicKey };
    default:
      throw unsupported(`unsupported key type ${privateKey.asymmetricKeyType}`);
  }
}

// ---- reading DER ----

interface Sec1 {
  d: Buffer;
  curveOid: string | undefined;
  pub: Buffer | undefined;
}

function parseSec1(der: Buffer): Sec1 {
  return wrapDer('EC private key', () => {
    const top = readSingle(der, Tag.SEQUENCE);
    const f = children(der, top);
    const version = f[0];
    const d = f[1];
    if (!version || !d) throw bad('EC private key is incomplete');
    expectTag(version, Tag.INTEGER, 'version');
    if (decodeInteger(contentOf(der, version), version.start) !== 1n) throw bad('unsupported EC private key version');
    expectTag(d, Tag.OCTET_STRING, 'privateKey');
    let curveOid: string | undefined;
    let pub: Buffer | undefined;
    for (const t of f.slice(2)) {
      if (t.tag === contextTag(0)) {
        const inner = children(der, t)[0];
        if (!inner) throw bad('empty EC parameters');
        expectTag(inner, Tag.OID, 'namedCurve');
        curveOid = decodeOid(contentOf(der, inner), inner.start);
      } else if (t.tag === contextTag(1)) {
        const inner = children(der, t)[0];
        if (!inner) throw bad('empty EC public key');
        expectTag(inner, Tag.BIT_STRING, 'publicKey');
        pub = Buffer.from(decodeBitString(contentOf(der, inner), inner.start).bytes);
      } else {
        throw bad('unexpected field in EC private key');
      }
    }
    return { d: Buffer.from(contentOf(der, d)), curveOid, pub };
  });
}

function ecFromSec1(sec1: Sec1, outerCurve: string | undefined): PrivateKeyData {
  const curveOid = outerCurve ?? sec1.curveOid;
  if (curveOid === undefined) throw bad('EC private key without a named curve');
  if (outerCurve !== undefined && sec1.curveOid !== undefined && outerCurve !== sec1.curveOid) {
    throw bad('EC private key names two different curves');
  }
  const curve = CURVES[curveOid];
  if (!curve) throw unsupported(`unsupported elliptic curve ${curveOid}: use P-256, P-384 or P-521`);
  // Go accepts short scalars (it left-pads them); so do we.
  let d = sec1.d;
  while (d.length > curve.bytes && d[0] === 0) d = d.subarray(1);
  if (d.length === 0 || d.length > curve.bytes) throw bad('EC private key scalar has the wrong size');
  if (d.length < curve.bytes) d = Buffer.concat([Buffer.alloc(curve.bytes - d.length), d]);
  let derivedPub: Buffer;
  try {
    const ecdh = createECDH(curve.name);
    ecdh.setPrivateKey(d);
    derivedPub = ecdh.getPublicKey();
  } catch (e) {
    throw bad(`invalid EC private key: ${(e as Error).message}`, e);
  }
  if (sec1.pub !== undefined && !sec1.pub.equals(derivedPub)) {
    throw bad('the EC private key does not match the public key stored with it');
  }
  const x = derivedPub.subarray(1, 1 + curve.bytes);
  const y = derivedPub.subarray(1 + curve.bytes);
  const privateKey = createPrivateKey({
    key: { kty: 'EC', crv: curve.jwk, d: d.toString('base64url'), x: x.toString('base64url'), y: y.toString('base64url') },
    format: 'jwk',
  });
  return fromKeyObject(privateKey);
}

function rsaFromPkcs1(der: Buffer): PrivateKeyData {
  const privateKey = wrapDer('RSA private key', () => {
    readSingle(der, Tag.SEQUENCE);
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs1' });
  });
  const key = fromKeyObject(privateKey);
  // A file with damaged CRT parameters still loads; make sure it signs what it verifies.
  const probe = Buffer.from('dtrust key self-test');
  const opts = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
  let ok = false;
  try {
    ok = nodeVerify('sha256', probe, { key: key.publicKey, ...opts }, nodeSign('sha256', probe, { key: key.privateKey, ...opts }));
  } catch {
    ok = false;
  }
  if (!ok) throw bad('the RSA private key is inconsistent (its self-test signature does not verify)');
  return key;
}

/** notary's Ed25519 private key bytes: public(32) ‖ seed(32) ‖ public(32). */
export function ed25519FromNotaryBytes(raw: Buffer): PrivateKeyData {
  if (raw.length !== 96) throw bad(`malformed ed25519 private key: ${raw.length} bytes, expected 96`);
  const seed = raw.subarray(32, 64);
  const key = ed25519FromSeed(seed);
  const pub = key.publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  if (!pub.equals(raw.subarray(0, 32)) || !pub.equals(raw.subarray(64, 96))) {
    throw bad('the ed25519 private key does not match the public key stored with it');
  }
  return key;
}

function ed25519FromSeed(seed: Buffer): PrivateKeyData {
  if (seed.length !== 32) throw bad(`malformed ed25519 private key: seed of ${seed.length} bytes`);
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  return fromKeyObject(privateKey);
}

/**
 * Any unencrypted PKCS#8 PrivateKeyInfo: the standard form, notary's forms (ECDSA version 1,
 * algorithm as a SEQUENCE of OIDs, RSA without NULL, Ed25519 custom OID with 96 bytes), and
 * RFC 8410 Ed25519 (which notary itself cannot read, but dtrust re-encodes in notary's form).
 */
export function parsePkcs8(der: Buffer): PrivateKeyData {
  const { oid, param, inner } = wrapDer('PKCS#8 private key', () => {
    const top = readSingle(der, Tag.SEQUENCE);
    const f = children(der, top);
    const version = f[0];
    const alg = f[1];
    const priv = f[2];
    if (!version || !alg || !priv) throw bad('PKCS#8 private key is incomplete');
    expectTag(version, Tag.INTEGER, 'version');
    const v = decodeInteger(contentOf(der, version), version.start);
    if (v !== 0n && v !== 1n) throw bad(`unsupported PKCS#8 version ${v}`);
    expectTag(alg, Tag.SEQUENCE, 'privateKeyAlgorithm');
    expectTag(priv, Tag.OCTET_STRING, 'privateKey');
    for (const t of f.slice(3)) {
      if (t.tag !== contextTag(0) && t.tag !== contextTag(1, false) && t.tag !== contextTag(1)) throw bad('unexpected field in PKCS#8 private key');
    }
    const a = children(der, alg);
    const oidTlv = a[0];
    if (!oidTlv) throw bad('empty PKCS#8 algorithm');
    expectTag(oidTlv, Tag.OID, 'algorithm');
    if (a.length > 2) throw bad('unexpected field in PKCS#8 algorithm');
    const p: Tlv | undefined = a[1];
    let param: string | null | undefined | { other: number };
    if (p === undefined) param = undefined;
    else if (p.tag === Tag.NULL) param = null;
    else if (p.tag === Tag.OID) param = decodeOid(contentOf(der, p), p.start);
    else param = { other: p.tag };
    return { oid: decodeOid(contentOf(der, oidTlv), oidTlv.start), param, inner: Buffer.from(contentOf(der, priv)) };
  });
  switch (oid) {
    case OID_EC_PUBLIC_KEY:
      if (param === null) throw bad('EC key without a named curve');
      if (typeof param === 'object') throw unsupported('EC keys with explicit curve parameters are not supported: use a named curve (P-256)');
      return ecFromSec1(parseSec1(inner), param);
    case OID_RSA:
      if (param !== null && param !== undefined) throw bad('unexpected RSA algorithm parameters');
      return rsaFromPkcs1(inner);
    case OID_ED25519_NOTARY:
      return ed25519FromNotaryBytes(inner);
    case OID_ED25519: {
      const seed = wrapDer('Ed25519 private key', () => {
        const t = readSingle(inner, Tag.OCTET_STRING);
        return Buffer.from(contentOf(inner, t));
      });
      return ed25519FromSeed(seed);
    }
    default:
      throw unsupported(`unsupported private key type ${KNOWN_UNSUPPORTED[oid] ?? oid}: dtrust and notary use ECDSA, RSA and Ed25519 keys`);
  }
}

// ---- writing DER (notary's exact forms, formats.md §4.3) ----

/** PKCS#8 as notary writes it. */
export function notaryPkcs8(key: PrivateKeyData): Buffer {
  switch (key.algorithm) {
    case 'ecdsa': {
      const jwk = key.privateKey.export({ format: 'jwk' });
      const curveName = key.privateKey.asymmetricKeyDetails?.namedCurve ?? '';
      const curveOid = CURVE_OID_BY_NAME[curveName];
      if (!curveOid || !jwk.d || !jwk.x || !jwk.y) throw unsupported(`cannot encode an EC key on curve ${curveName}`);
      const size = CURVES[curveOid]!.bytes;
      const pad = (b: Buffer): Buffer => (b.length >= size ? b : Buffer.concat([Buffer.alloc(size - b.length), b]));
      const d = pad(Buffer.from(jwk.d, 'base64url'));
      const point = Buffer.concat([Buffer.from([4]), pad(Buffer.from(jwk.x, 'base64url')), pad(Buffer.from(jwk.y, 'base64url'))]);
      const sec1 = derSequence(derInteger(1), derOctetString(d), derExplicit(0, derOid(curveOid)), derExplicit(1, derBitString(point)));
      d.fill(0);
      return derSequence(derInteger(1), derSequence(derOid(OID_EC_PUBLIC_KEY), derOid(curveOid)), derOctetString(sec1));
    }
    case 'rsa': {
      const pkcs1 = key.privateKey.export({ format: 'der', type: 'pkcs1' });
      return derSequence(derInteger(0), derSequence(derOid(OID_RSA)), derOctetString(pkcs1));
    }
    case 'ed25519': {
      const pkcs8 = key.privateKey.export({ format: 'der', type: 'pkcs8' });
      const seed = pkcs8.subarray(pkcs8.length - 32);
      const pub = ed25519Public(key.publicKey);
      return derSequence(derInteger(0), derSequence(derOid(OID_ED25519_NOTARY)), derOctetString(Buffer.concat([pub, seed, pub])));
    }
  }
}

/** The 32 raw bytes of an Ed25519 public key. */
function ed25519Public(pub: KeyObject): Buffer {
  return pub.export({ format: 'der', type: 'spki' }).subarray(12);
}

/** The TUF view of the public half: keytype and the bytes of `keyval.public` (formats.md §3.1). */
export function tufPublicKey(key: PrivateKeyData): { keytype: KeyAlgorithm; pub: Buffer } {
  if (key.algorithm === 'ed25519') return { keytype: 'ed25519', pub: ed25519Public(key.publicKey) };
  return { keytype: key.algorithm, pub: key.publicKey.export({ format: 'der', type: 'spki' }) };
}

// ---- PEM blocks ----

const LEGACY_TYPES = new Set(['EC PRIVATE KEY', 'RSA PRIVATE KEY', 'ED25519 PRIVATE KEY']);
export const PRIVATE_KEY_BLOCK_TYPES: readonly string[] = ['ENCRYPTED PRIVATE KEY', 'PRIVATE KEY', ...LEGACY_TYPES];

/** How a key block is protected. */
export type KeyBlockEncryption =
  | { scheme: 'none' }
  | { scheme: 'pbes2'; params: Pbes2Params; notaryReadable: boolean }
  | { scheme: 'legacy'; cipher: string; notaryReadable: boolean };

/** True for the PEM block types notary treats as private keys. */
export function isPrivateKeyBlock(block: PemBlock): boolean {
  return PRIVATE_KEY_BLOCK_TYPES.includes(block.type);
}

/**
 * Inspects a block's encryption without a passphrase, validating its structure. Throws
 * KeyFileError for blocks that are not private keys or are malformed.
 */
export function keyBlockEncryption(block: PemBlock): KeyBlockEncryption {
  if (block.type === 'ENCRYPTED PRIVATE KEY') {
    const info = parseEncryptedPrivateKeyInfo(block.bytes);
    return { scheme: 'pbes2', params: info.params, notaryReadable: notaryCanDecrypt(info.params) };
  }
  if (block.type === 'PRIVATE KEY') return { scheme: 'none' };
  if (LEGACY_TYPES.has(block.type)) {
    if (block.headers.get('Proc-Type')?.includes('ENCRYPTED')) {
      const dek = block.headers.get('DEK-Info');
      if (dek === undefined) throw bad('encrypted legacy key without a DEK-Info header');
      const { cipher } = parseDekInfo(dek);
      return { scheme: 'legacy', cipher, notaryReadable: true };
    }
    return { scheme: 'none' };
  }
  throw new KeyFileError('UNSUPPORTED_KEY', blockTypeMessage(block.type));
}

function blockTypeMessage(type: string): string {
  if (type === 'PUBLIC KEY' || type === 'CERTIFICATE' || type === 'RSA PUBLIC KEY') {
    return `the PEM block is a ${type}, not a private key`;
  }
  return `unsupported PEM block type ${JSON.stringify(type)}`;
}

/**
 * Decodes a private key block. `passphrase` is used only when the block is encrypted. Resolves to
 * null when the passphrase is wrong (or missing for an encrypted block); throws KeyFileError
 * when the block itself is unusable.
 */
export async function decodeKeyBlock(block: PemBlock, passphrase: Buffer | null): Promise<PrivateKeyData | null> {
  const enc = keyBlockEncryption(block);
  if (block.type === 'ENCRYPTED PRIVATE KEY') {
    if (passphrase === null) return null;
    const plain = await pbes2Decrypt(parseEncryptedPrivateKeyInfo(block.bytes), passphrase);
    if (plain === null) return null;
    try {
      return parsePkcs8(plain);
    } catch (e) {
      // Garbage that happens to look like DER after decryption with a wrong key.
      if (e instanceof KeyFileError && e.code === 'BAD_KEY_FILE') return null;
      throw e;
    } finally {
      plain.fill(0);
    }
  }
  if (enc.scheme === 'legacy') {
    if (passphrase === null) return null;
    const plain = legacyDecrypt(block.bytes, parseDekInfo(block.headers.get('DEK-Info')!), passphrase);
    if (plain === null) return null;
    try {
      return decodeLegacy(block.type, plain);
    } catch (e) {
      if (e instanceof KeyFileError && e.code === 'BAD_KEY_FILE') return null;
      throw e;
    } finally {
      plain.fill(0);
    }
  }
  if (block.type === 'PRIVATE KEY') return parsePkcs8(block.bytes);
  return decodeLegacy(block.type, block.bytes);
}

function decodeLegacy(type: string, der: Buffer): PrivateKeyData {
  switch (type) {
    case 'EC PRIVATE KEY':
      return ecFromSec1(parseSec1(der), undefined);
    case 'RSA PRIVATE KEY':
      return rsaFromPkcs1(der);
    case 'ED25519 PRIVATE KEY':
      return ed25519FromNotaryBytes(der);
    default:
      throw new KeyFileError('UNSUPPORTED_KEY', blockTypeMessage(type));
  }
}

export interface EncodeKeyOptions {
  /** Header `role` (omitted when empty). */
  role: string;
  /** Header `gun` (omitted when empty). */
  gun: string;
  /** null or empty: an unencrypted `PRIVATE KEY` block (never used for key files by dtrust). */
  passphrase: Buffer | null;
  iterations: number;
  saltLength: number;
  /** Further headers (e.g. `path` in exports). */
  extraHeaders?: Record<string, string>;
}

/** A key as a PEM block in notary's form (formats.md §4.2-4.4). */
export async function encodeKeyBlock(key: PrivateKeyData, opts: EncodeKeyOptions): Promise<string> {
  const plain = notaryPkcs8(key);
  const headers = new Map<string, string>();
  if (opts.role !== '') headers.set('role', opts.role);
  if (opts.gun !== '') headers.set('gun', opts.gun);
  for (const [k, v] of Object.entries(opts.extraHeaders ?? {})) headers.set(k, v);
  try {
    if (opts.passphrase === null || opts.passphrase.length === 0) {
      return encodePem({ type: 'PRIVATE KEY', headers, bytes: plain });
    }
    const der = await pbes2Encrypt(plain, opts.passphrase, { iterations: opts.iterations, saltLength: opts.saltLength });
    return encodePem({ type: 'ENCRYPTED PRIVATE KEY', headers, bytes: der });
  } finally {
    plain.fill(0);
  }
}

/** The `PUBLIC KEY` PEM notary writes next to `key generate -o` output (DER SPKI, `role` header). */
export function encodePublicKeyPem(key: PrivateKeyData, role: string): string {
  const headers = new Map<string, string>();
  if (role !== '') headers.set('role', role);
  return encodePem({ type: 'PUBLIC KEY', headers, bytes: key.publicKey.export({ format: 'der', type: 'spki' }) });
}
