// Root certificate generation, as notary does it (cryptoservice.GenerateCertificate with the
// template of utils.NewCertificate, signed by Go's x509.CreateCertificate). This file loads
// @peculiar/x509, which is slow to load: import it lazily (`await import('../crypto/certgen.js')`).

import { randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
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
