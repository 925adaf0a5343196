// Delegation keys from files (formats.md §3.6): the first PEM block of a certificate or a public
// key, as notary's `delegation add` reads them.

import { createPublicKey } from 'node:crypto';
import { decodePemBlocks } from '../crypto/pem.js';
import { spkiDer } from '../crypto/signature.js';
import { goPemCertificates, inspectCertificate, isWeakSignatureAlgorithm } from '../crypto/x509.js';
import { TrustError } from '../tuf/errors.js';
import { PublicKey } from '../tuf/keys.js';

/** The delegation key in a PEM file: an x509 key from a certificate, or a plain ecdsa/rsa key. */
export function delegationKeyFromPem(text: string, file: string, nowMs: number): PublicKey {
  const block = decodePemBlocks(text)[0];
  const invalid = (why: string, hint?: string): never => {
    throw new TrustError('BAD_KEY', `unable to parse valid public key certificate from PEM file ${file}: ${why}`, { hint });
  };
  if (!block) return invalid('no valid public key found', 'pass a PEM certificate (cert.pem) or public key (key.pub)');
  if (block.type === 'CERTIFICATE') {
    let cert;
    try {
      cert = inspectCertificate(block.bytes);
    } catch (e) {
      return invalid((e as Error).message);
    }
    if (nowMs > cert.notAfter || cert.notBefore > nowMs + 86_400_000) {
      invalid(`the certificate is not valid now (valid from ${new Date(cert.notBefore).toISOString()} to ${new Date(cert.notAfter).toISOString()})`, 'create a new certificate for the key');
    }
    if (isWeakSignatureAlgorithm(cert.signatureAlgorithmOid)) invalid('the certificate uses a SHA-1 or weaker signature');
    if (cert.rsaModulusBits !== null && cert.rsaModulusBits < 2048) invalid('RSA keys must have at least 2048 bits');
    const keytype = cert.publicKey.asymmetricKeyType === 'rsa' ? 'rsa-x509' : cert.publicKey.asymmetricKeyType === 'ec' ? 'ecdsa-x509' : '';
    if (keytype === '') invalid(`unsupported ${cert.publicKey.asymmetricKeyType} certificate key`);
    return new PublicKey(keytype, Buffer.from(goPemCertificates([block.bytes]), 'latin1'));
  }
  if (block.type === 'PUBLIC KEY') {
    let key;
    try {
      key = createPublicKey({ key: block.bytes, format: 'der', type: 'spki' });
    } catch (e) {
      return invalid((e as Error).message);
    }
    if (key.asymmetricKeyType === 'ec') return new PublicKey('ecdsa', spkiDer(key));
    if (key.asymmetricKeyType === 'rsa') {
      if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) invalid('RSA keys must have at least 2048 bits');
      return new PublicKey('rsa', spkiDer(key));
    }
    return invalid('unknown public key format', 'notary reads ECDSA and RSA public keys only');
  }
  return invalid('no valid public key found', `the first PEM block is a ${block.type}, not a CERTIFICATE or PUBLIC KEY`);
}
