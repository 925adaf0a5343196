// Root certificate generation, as notary does it (cryptoservice.GenerateCertificate with the
// template of utils.NewCertificate, signed by Go's x509.CreateCertificate). This file loads
// @peculiar/x509, which is slow to load: import it lazily (`await import('../crypto/certgen.js')`).

import { X509Certificate, generateKeyPairSync, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { children, derBitString, derInteger, derSequence, elementOf, readTlv } from './der.js';
import { CryptoError } from './signature.js';

type LibCrypto = Parameters<typeof x509.cryptoProvider.set>[0];
type LibCreateParams = Extract<Parameters<typeof x509.X509CertificateGenerator.create>[0], { signingKey: unknown }>;

export interface RootCertificateOptions {
  privateKey: KeyObject;
  publicKey: KeyObject;
  commonName: string;
  notBefore: Date;
  notAfter: Date;
}

// Go picks the ECDSA hash from the curve, and SHA-256 for RSA.
const EC_CURVES: Record<string, { namedCurve: string; hash: string }> = {
  prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
  secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
};

/**
 * A self-signed certificate exactly as notary generates it: random positive serial below 2^128,
 * Subject = Issuer = CN=<commonName> only (PrintableString when possible, else UTF8String, as
 * Go's asn1 does; an empty name gives an empty Subject), KeyUsage critical
 * digitalSignature+keyEncipherment, ExtKeyUsage codeSigning, BasicConstraints critical CA:FALSE,
 * no SKI/AKI, times in whole seconds (UTCTime before 2050). Returns the DER.
 */
export async function createRootCertificate(opts: RootCertificateOptions): Promise<Buffer> {
  const { privateKey, publicKey } = opts;
  if (/\p{Surrogate}/u.test(opts.commonName)) {
    throw new CryptoError('BAD_CERTIFICATE', 'the certificate common name is not valid UTF-8');
  }
  let importAlg: { name: string; namedCurve?: string; hash?: string };
  let signingAlgorithm: { name: string; hash: string };
  switch (privateKey.asymmetricKeyType) {
    case 'ec': {
      const curve = EC_CURVES[privateKey.asymmetricKeyDetails?.namedCurve ?? ''];
      if (!curve) {
        throw new CryptoError('UNSUPPORTED_KEY', `unsupported curve ${privateKey.asymmetricKeyDetails?.namedCurve} for a certificate`);
      }
      importAlg = { name: 'ECDSA', namedCurve: curve.namedCurve };
      signingAlgorithm = { name: 'ECDSA', hash: curve.hash };
      break;
    }
    case 'rsa':
      importAlg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
      signingAlgorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
      break;
    default:
      throw new CryptoError('UNSUPPORTED_KEY', `key type not supported for Certificate generation: ${privateKey.asymmetricKeyType}`);
  }
  if (publicKey.asymmetricKeyType !== privateKey.asymmetricKeyType) {
    throw new CryptoError('BAD_PUBLIC_KEY', 'the public key does not match the private key type');
  }

  const subtle = webcrypto.subtle;
  x509.cryptoProvider.set(webcrypto as unknown as LibCrypto);
  const signingKey = await subtle.importKey(
    'pkcs8',
    privateKey.export({ format: 'der', type: 'pkcs8' }),
    importAlg,
    false,
    ['sign'],
  );
  const certPublicKey = await subtle.importKey(
    'spki',
    publicKey.export({ format: 'der', type: 'spki' }),
    importAlg,
    true,
    ['verify'],
  );

  // rand.Int(rand.Reader, 2^128): uniform in [0, 2^128). The library strips leading zero bytes
  // and adds a 0x00 when the top bit is set, giving the minimal positive INTEGER. (It would
  // replace an all-zero serial with another random one; Go would write 0, which is fine to avoid.)
  const serialNumber = randomBytes(16).toString('hex');
  const name = opts.commonName === '' ? [] : [{ CN: [opts.commonName] }];
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber,
      subject: name,
      issuer: name,
      notBefore: opts.notBefore,
      notAfter: opts.notAfter,
      publicKey: certPublicKey as unknown as LibCreateParams['publicKey'],
      signingKey: signingKey as unknown as LibCreateParams['signingKey'],
      signingAlgorithm,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning], false),
        new x509.BasicConstraintsExtension(false, undefined, true),
      ],
    },
    webcrypto as unknown as LibCrypto,
  );
  return Buffer.from(cert.rawData);
}

export interface SignerCertificateOptions {
  /** The public key to certify (ECDSA P-256: what a PKCS#11 token holds). */
  publicKey: KeyObject;
  /**
   * Signs `tbs` (the DER TBSCertificate) with the private half of `publicKey`: ECDSA over
   * SHA-256, the signature as raw r‖s (what a token's CKM_ECDSA gives over the digest).
   */
  sign(tbs: Buffer): Promise<Buffer>;
  commonName: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * The same certificate as createRootCertificate for a key whose private half is out of reach
 * (a token key): the TBSCertificate is built by the library with a throwaway signing key of the
 * same curve (the TBS names the signature algorithm and the certified key, never the signer's
 * key, so it is byte for byte what notary's template gives), then signed by `sign` and wrapped:
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, BIT STRING (ECDSA-Sig-Value) }.
 * The result is checked against `publicKey` before it is returned.
 */
export async function createRootCertificateWithSigner(opts: SignerCertificateOptions): Promise<Buffer> {
  const { publicKey } = opts;
  if (publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new CryptoError('UNSUPPORTED_KEY', 'a certificate signed through a token needs an ECDSA P-256 key');
  }
  const throwaway = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const draft = await createRootCertificate({ privateKey: throwaway, publicKey, commonName: opts.commonName, notBefore: opts.notBefore, notAfter: opts.notAfter });
  const cert = readTlv(draft);
  const [tbsTlv, algTlv] = children(draft, cert);
  if (!tbsTlv || !algTlv) throw new CryptoError('BAD_CERTIFICATE', 'internal error: malformed draft certificate');
  const tbs = elementOf(draft, tbsTlv);
  const alg = elementOf(draft, algTlv);
  const raw = await opts.sign(tbs);
  if (raw.length !== 64) throw new CryptoError('BAD_CERTIFICATE', `the token returned a ${raw.length}-byte ECDSA signature (64 expected)`);
  const sigDer = derSequence(derInteger(raw.subarray(0, 32)), derInteger(raw.subarray(32)));
  const der = derSequence(tbs, alg, derBitString(sigDer));
  if (!new X509Certificate(der).verify(publicKey)) {
    throw new CryptoError('BAD_CERTIFICATE', 'the certificate signature made by the token does not verify with its public key');
  }
  return der;
}
