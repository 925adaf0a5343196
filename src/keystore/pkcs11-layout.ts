// notary 0.7's layout of root keys on a token (trustmanager/yubikey/yubikeystore.go): four slots,
// the one-byte CKA_ID 0..3 taken in notary's order; in each, a certificate (CN = the role,
// self-signed, 10 years) and an EC P-256 private key, plus, except on a YubiKey (which makes its
// own), the public key object notary reads. The object templates are notary's exact ones on a
// YubiKey, and carry the attributes PKCS#11 asks for elsewhere (SoftHSM2, ...).

import { children, elementOf, readSingle } from '../crypto/der.js';
import type { PrivateKeyData } from '../crypto/keyfile.js';
import { KeyStoreError } from './errors.js';
import {
  CKA_CERTIFICATE_TYPE,
  CKA_CLASS,
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_EXTRACTABLE,
  CKA_ID,
  CKA_KEY_TYPE,
  CKA_LABEL,
  CKA_PRIVATE,
  CKA_SENSITIVE,
  CKA_SIGN,
  CKA_SUBJECT,
  CKA_TOKEN,
  CKA_VALUE,
  CKA_VENDOR_DEFINED,
  CKA_VERIFY,
  CKC_X_509,
  CKK_EC,
  CKO_CERTIFICATE,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  type P11Attribute,
} from './pkcs11-api.js';

/** DER of the prime256v1 OID (CKA_EC_PARAMS), as notary writes it. */
export const P256_EC_PARAMS = Buffer.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);

/** notary's 4 slots and its order of preference (yubikeystore.go slotIDs). */
export const TOKEN_SLOTS = 4;
export const SLOT_ORDER: readonly number[] = [2, 1, 3, 0];
/** PIV names of notary's slot bytes (for messages). */
export const PIV_SLOT_NAMES: Readonly<Record<number, string>> = { 0: '9a', 1: '9e', 2: '9c', 3: '9d' };
/** notary's key mode for generated YubiKey keys: touch and PIN once (yubikeystore.go). */
const YUBIKEY_KEYMODE = 1 | 2;
/** notary's certificate on the token: 10 years from now (utils.NewCertificate, AddDate(10,0,0)). */
const TOKEN_CERT_YEARS = 10;

/** The DER certificate notary puts beside a key: CN = the role, self-signed, valid 10 years from now. */
export async function tokenCertificate(key: PrivateKeyData, role: string): Promise<Buffer> {
  const { createRootCertificate } = await import('../crypto/certgen.js');
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const until = new Date(now);
  until.setUTCFullYear(until.getUTCFullYear() + TOKEN_CERT_YEARS);
  return createRootCertificate({ privateKey: key.privateKey, publicKey: key.publicKey, commonName: role, notBefore: now, notAfter: until });
}

/**
 * The objects of one key in `slot`, in creation order: certificate, private key and (except on a
 * YubiKey) public key. The caller zeroes `secret` (the private scalar) once they are created.
 */
export function keyObjectTemplates(key: PrivateKeyData, role: string, slot: number, certDer: Buffer, yubikey: boolean): { templates: P11Attribute[][]; secret: Buffer } {
  const jwk = key.privateKey.export({ format: 'jwk' });
  const d = leftPad(Buffer.from(jwk.d!, 'base64url'), 32);
  const ckaId = Buffer.from([slot]);
  if (yubikey) {
    // notary's addECDSAKey, attribute for attribute.
    return {
      secret: d,
      templates: [
        [
          { type: CKA_CLASS, value: CKO_CERTIFICATE },
          { type: CKA_VALUE, value: certDer },
          { type: CKA_ID, value: ckaId },
        ],
        [
          { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
          { type: CKA_KEY_TYPE, value: CKK_EC },
          { type: CKA_ID, value: ckaId },
          { type: CKA_EC_PARAMS, value: P256_EC_PARAMS },
          { type: CKA_VALUE, value: d },
          { type: CKA_VENDOR_DEFINED, value: YUBIKEY_KEYMODE },
        ],
      ],
    };
  }
  const x = leftPad(Buffer.from(jwk.x!, 'base64url'), 32);
  const y = leftPad(Buffer.from(jwk.y!, 'base64url'), 32);
  return {
    secret: d,
    templates: [
      [
        { type: CKA_CLASS, value: CKO_CERTIFICATE },
        { type: CKA_CERTIFICATE_TYPE, value: CKC_X_509 },
        { type: CKA_TOKEN, value: true },
        { type: CKA_PRIVATE, value: false },
        { type: CKA_LABEL, value: role },
        { type: CKA_ID, value: ckaId },
        { type: CKA_SUBJECT, value: subjectOf(certDer) },
        { type: CKA_VALUE, value: certDer },
      ],
      [
        { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
        { type: CKA_KEY_TYPE, value: CKK_EC },
        { type: CKA_TOKEN, value: true },
        { type: CKA_PRIVATE, value: true },
        { type: CKA_SENSITIVE, value: true },
        { type: CKA_EXTRACTABLE, value: false },
        { type: CKA_SIGN, value: true },
        { type: CKA_LABEL, value: role },
        { type: CKA_ID, value: ckaId },
        { type: CKA_EC_PARAMS, value: P256_EC_PARAMS },
        { type: CKA_VALUE, value: d },
      ],
      [
        { type: CKA_CLASS, value: CKO_PUBLIC_KEY },
        { type: CKA_KEY_TYPE, value: CKK_EC },
        { type: CKA_TOKEN, value: true },
        { type: CKA_PRIVATE, value: false },
        { type: CKA_VERIFY, value: true },
        { type: CKA_LABEL, value: role },
        { type: CKA_ID, value: ckaId },
        { type: CKA_EC_PARAMS, value: P256_EC_PARAMS },
        { type: CKA_EC_POINT, value: Buffer.concat([Buffer.from([0x04, 0x41, 0x04]), x, y]) },
      ],
    ],
  };
}

function leftPad(b: Buffer, n: number): Buffer {
  if (b.length >= n) return b;
  return Buffer.concat([Buffer.alloc(n - b.length), b]);
}

/** The DER subject Name of a certificate (CKA_SUBJECT). */
function subjectOf(der: Buffer): Buffer {
  // TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serial, signature, issuer, validity, subject, ... }
  const [tbs] = children(der, readSingle(der));
  const fields = tbs ? children(der, tbs) : [];
  const subject = fields[(fields[0]?.tag === 0xa0 ? 1 : 0) + 4];
  if (!subject) throw new KeyStoreError('TOKEN_ERROR', 'internal error: malformed certificate');
  return Buffer.from(elementOf(der, subject));
}
