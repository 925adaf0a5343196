// X.509 certificates as notary reads them: a strict DER walk for the fields notary checks
// (subject CN, validity, basicConstraints cA, signature algorithm, and what chain building needs)
// and node's X509Certificate for the public key and signature checks. Certificates are written
// back as Go PEM.

import { X509Certificate, type KeyObject } from 'node:crypto';
import {
  DerError,
  Tag,
  children,
  contentOf,
  contextTag,
  decodeBitString,
  decodeBoolean,
  decodeInteger,
  decodeOid,
  decodeTime,
  elementOf,
  expectTag,
  readSingle,
  type Tlv,
} from './der.js';
import { decodePemBlocks, encodePem } from './pem.js';
import { CryptoError } from './signature.js';

export interface CertInfo {
  der: Buffer;
  commonName: string | null;
  notBefore: number;
  notAfter: number;
  isCA: boolean;
  signatureAlgorithmOid: string;
  publicKey: KeyObject;
  rsaModulusBits: number | null;
  /** 1, 2 or 3. */
  version: number;
  /** The issuer and subject Names as encoded (chains link them byte for byte, as Go does). */
  rawIssuer: Buffer;
  rawSubject: Buffer;
  rawPublicKeyInfo: Buffer;
  /** The basicConstraints extension is present. */
  basicConstraintsValid: boolean;
  /** basicConstraints pathLenConstraint, -1 when absent. */
  maxPathLen: number;
  /** keyUsage bits as Go numbers them (digitalSignature = 1, keyCertSign = 1 << 5); 0 when absent. */
  keyUsage: number;
  /** extendedKeyUsage OIDs; empty when absent. */
  extKeyUsage: string[];
  hasNameConstraints: boolean;
  hasSubjectAltName: boolean;
  /** A critical extension Go's parser does not handle (Go then refuses the certificate in chains). */
  unhandledCritical: boolean;
}

const OID_COMMON_NAME = '2.5.4.3';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_NAME_CONSTRAINTS = '2.5.29.30';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
/** Extensions Go 1.19's parser handles (crypto/x509 processExtensions). */
const HANDLED_EXTENSIONS = new Set([
  OID_KEY_USAGE,
  OID_BASIC_CONSTRAINTS,
  OID_SUBJECT_ALT_NAME,
  OID_NAME_CONSTRAINTS,
  '2.5.29.31', // CRL distribution points
  '2.5.29.35', // authority key identifier
  OID_EXT_KEY_USAGE,
  '2.5.29.14', // subject key identifier
  '2.5.29.32', // certificate policies
  '1.3.6.1.5.5.7.1.1', // authority information access
]);

/** Parses a DER certificate. Throws CryptoError('BAD_CERTIFICATE') when it is malformed. */
export function inspectCertificate(der: Buffer): CertInfo {
  try {
    return inspect(der);
  } catch (e) {
    if (e instanceof CryptoError) throw e;
    throw new CryptoError('BAD_CERTIFICATE', `cannot parse the certificate: ${(e as Error).message}`, {}, e);
  }
}

function inspect(der: Buffer): CertInfo {
  const cert = readSingle(der, Tag.SEQUENCE);
  const [tbs, sigAlg, sig, ...extra] = children(der, cert);
  if (!tbs || !sigAlg || !sig || extra.length > 0) throw new DerError('BAD_DER', 'certificate is not a 3-element SEQUENCE', { offset: cert.start });
  expectTag(tbs, Tag.SEQUENCE, 'tbsCertificate');
  expectTag(sigAlg, Tag.SEQUENCE, 'signatureAlgorithm');
  expectTag(sig, Tag.BIT_STRING, 'signature');

  const fields = children(der, tbs);
  let i = 0;
  const next = (what: string): Tlv => {
    const f = fields[i++];
    if (!f) throw new DerError('BAD_DER', `tbsCertificate has no ${what}`, { offset: tbs.end });
    return f;
  };
  let version = 1;
  if (fields[0]?.tag === contextTag(0)) {
    const tagged = contentOf(der, fields[0]);
    const v = readSingle(tagged, Tag.INTEGER);
    version = Number(decodeInteger(contentOf(tagged, v), v.start)) + 1;
    i++;
  }
  expectTag(next('serialNumber'), Tag.INTEGER, 'serialNumber');
  const innerSigAlg = expectTag(next('signature'), Tag.SEQUENCE, 'signature');
  if (!elementOf(der, innerSigAlg).equals(elementOf(der, sigAlg))) {
    throw new CryptoError('BAD_CERTIFICATE', 'inner and outer signature algorithm identifiers differ');
  }
  const issuer = expectTag(next('issuer'), Tag.SEQUENCE, 'issuer');
  const validity = expectTag(next('validity'), Tag.SEQUENCE, 'validity');
  const subject = expectTag(next('subject'), Tag.SEQUENCE, 'subject');
  const spki = expectTag(next('subjectPublicKeyInfo'), Tag.SEQUENCE, 'subjectPublicKeyInfo');

  let extensions: Tlv | undefined;
  for (; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.tag === contextTag(3)) extensions = f;
  }

  const [nb, na, ...moreTimes] = children(der, validity);
  if (!nb || !na || moreTimes.length > 0) throw new DerError('BAD_DER', 'validity is not two times', { offset: validity.start });
  const notBefore = decodeTime(nb.tag, contentOf(der, nb), nb.start);
  const notAfter = decodeTime(na.tag, contentOf(der, na), na.start);

  const algFields = children(der, sigAlg);
  const algOid = algFields[0];
  if (!algOid) throw new DerError('BAD_DER', 'empty AlgorithmIdentifier', { offset: sigAlg.start });
  expectTag(algOid, Tag.OID, 'signature algorithm');
  const signatureAlgorithmOid = decodeOid(contentOf(der, algOid), algOid.start);

  const commonName = subjectCommonName(der, subject);
  const ext = extensions ? readExtensions(der, extensions) : NO_EXTENSIONS;

  let x: X509Certificate;
  try {
    x = new X509Certificate(der);
  } catch (e) {
    throw new CryptoError('BAD_CERTIFICATE', `cannot parse the certificate: ${(e as Error).message}`, {}, e);
  }
  const publicKey = x.publicKey;
  const rsaModulusBits = publicKey.asymmetricKeyType === 'rsa' ? (publicKey.asymmetricKeyDetails?.modulusLength ?? null) : null;

  return {
    der: Buffer.from(der),
    commonName,
    notBefore,
    notAfter,
    signatureAlgorithmOid,
    publicKey,
    rsaModulusBits,
    version,
    rawIssuer: elementOf(der, issuer),
    rawSubject: elementOf(der, subject),
    rawPublicKeyInfo: elementOf(der, spki),
    ...ext,
  };
}

/** The last commonName of the subject (as Go's pkix.Name does), or null if it has none. */
function subjectCommonName(der: Buffer, subject: Tlv): string | null {
  let cn: string | null = null;
  for (const rdn of children(der, subject)) {
    expectTag(rdn, Tag.SET, 'RelativeDistinguishedName');
    for (const atv of children(der, rdn)) {
      expectTag(atv, Tag.SEQUENCE, 'AttributeTypeAndValue');
      const [type, value, ...rest] = children(der, atv);
      if (!type || !value || rest.length > 0) throw new DerError('BAD_DER', 'invalid AttributeTypeAndValue', { offset: atv.start });
      expectTag(type, Tag.OID, 'attribute type');
      // Go decodes every attribute value as a string and rejects the name otherwise.
      const s = decodeDirectoryString(value.tag, contentOf(der, value), value.start);
      if (decodeOid(contentOf(der, type), type.start) === OID_COMMON_NAME) cn = s;
    }
  }
  return cn;
}

function isPrintableByte(b: number): boolean {
  return (
    (b >= 0x61 && b <= 0x7a) || // a-z
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x30 && b <= 0x39) || // 0-9
    (b >= 0x27 && b <= 0x29) || // ' ( )
    (b >= 0x2b && b <= 0x2f) || // + , - . /
    b === 0x20 ||
    b === 0x3a ||
    b === 0x3d ||
    b === 0x3f ||
    b === 0x2a || // '*', accepted when parsing (wildcards)
    b === 0x26 // '&', accepted when parsing
  );
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** A directory string value, with the rules of Go's x509 parser. */
function decodeDirectoryString(tag: number, c: Buffer, offset: number): string {
  switch (tag) {
    case Tag.T61_STRING:
      return c.toString('utf8');
    case Tag.PRINTABLE_STRING:
      if (!c.every(isPrintableByte)) throw new DerError('BAD_DER', 'invalid PrintableString', { offset });
      return c.toString('latin1');
    case Tag.UTF8_STRING:
      try {
        return utf8Strict.decode(c);
      } catch {
        throw new DerError('BAD_DER', 'invalid UTF8String', { offset });
      }
    case Tag.BMP_STRING: {
      if (c.length % 2 !== 0) throw new DerError('BAD_DER', 'invalid BMPString', { offset });
      let b = c;
      if (b.length >= 2 && b[b.length - 1] === 0 && b[b.length - 2] === 0) b = b.subarray(0, b.length - 2);
      let s = '';
      for (let i = 0; i < b.length; i += 2) s += String.fromCharCode((b[i]! << 8) | b[i + 1]!);
      return s.replace(/\p{Surrogate}/gu, '\uFFFD');
    }
    case Tag.IA5_STRING:
      if (!c.every((b) => b < 0x80)) throw new DerError('BAD_DER', 'invalid IA5String', { offset });
      return c.toString('latin1');
    case Tag.NUMERIC_STRING:
      if (!c.every((b) => (b >= 0x30 && b <= 0x39) || b === 0x20)) throw new DerError('BAD_DER', 'invalid NumericString', { offset });
      return c.toString('latin1');
    default:
      throw new DerError('BAD_DER', `unsupported string type 0x${tag.toString(16)}`, { offset });
  }
}

type Extensions = Pick<
  CertInfo,
  'isCA' | 'basicConstraintsValid' | 'maxPathLen' | 'keyUsage' | 'extKeyUsage' | 'hasNameConstraints' | 'hasSubjectAltName' | 'unhandledCritical'
>;

const NO_EXTENSIONS: Extensions = {
  isCA: false,
  basicConstraintsValid: false,
  maxPathLen: -1,
  keyUsage: 0,
  extKeyUsage: [],
  hasNameConstraints: false,
  hasSubjectAltName: false,
  unhandledCritical: false,
};

/** What notary and Go's chain building read from the extensions. */
function readExtensions(der: Buffer, extsTagged: Tlv): Extensions {
  const [exts, ...rest] = children(der, extsTagged);
  if (!exts || rest.length > 0) throw new DerError('BAD_DER', 'invalid extensions', { offset: extsTagged.start });
  expectTag(exts, Tag.SEQUENCE, 'extensions');
  const out: Extensions = { ...NO_EXTENSIONS, extKeyUsage: [] };
  const seen = new Set<string>();
  for (const ext of children(der, exts)) {
    expectTag(ext, Tag.SEQUENCE, 'extension');
    const parts = children(der, ext);
    const oidT = parts[0];
    if (!oidT) throw new DerError('BAD_DER', 'empty extension', { offset: ext.start });
    expectTag(oidT, Tag.OID, 'extension id');
    const oid = decodeOid(contentOf(der, oidT), oidT.start);
    if (seen.has(oid)) throw new CryptoError('BAD_CERTIFICATE', `certificate contains duplicate extension ${oid}`);
    seen.add(oid);
    let k = 1;
    let critical = false;
    if (parts[k]?.tag === Tag.BOOLEAN) {
      critical = decodeBoolean(contentOf(der, parts[k]!), parts[k]!.start);
      k++;
    }
    const value = parts[k];
    if (!value || parts.length !== k + 1) throw new DerError('BAD_DER', 'invalid extension', { offset: ext.start });
    expectTag(value, Tag.OCTET_STRING, 'extension value');
    if (critical && !HANDLED_EXTENSIONS.has(oid)) out.unhandledCritical = true;
    const inner = contentOf(der, value);
    switch (oid) {
      case OID_BASIC_CONSTRAINTS: {
        out.basicConstraintsValid = true;
        const bc = readSingle(inner, Tag.SEQUENCE);
        for (const f of children(inner, bc)) {
          if (f.tag === Tag.BOOLEAN) out.isCA = decodeBoolean(contentOf(inner, f), f.start);
          else if (f.tag === Tag.INTEGER) out.maxPathLen = Number(decodeInteger(contentOf(inner, f), f.start));
        }
        break;
      }
      case OID_KEY_USAGE: {
        const { bytes } = decodeBitString(contentOf(inner, readSingle(inner, Tag.BIT_STRING)));
        for (let bit = 0; bit < 9; bit++) {
          if (((bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0) out.keyUsage |= 1 << bit;
        }
        break;
      }
      case OID_EXT_KEY_USAGE: {
        const seq = readSingle(inner, Tag.SEQUENCE);
        for (const f of children(inner, seq)) out.extKeyUsage.push(decodeOid(contentOf(inner, expectTag(f, Tag.OID, 'key purpose')), f.start));
        break;
      }
      case OID_NAME_CONSTRAINTS:
        out.hasNameConstraints = true;
        break;
      case OID_SUBJECT_ALT_NAME:
        out.hasSubjectAltName = true;
        break;
    }
  }
  return out;
}

const WEAK_SIGNATURE_ALGORITHMS = new Set([
  '1.2.840.113549.1.1.5', // sha1WithRSAEncryption (Go SHA1WithRSA)
  '1.3.14.3.2.29', // sha1WithRSASignature, OIW (also SHA1WithRSA in Go)
  '1.2.840.10040.4.3', // dsa-with-sha1
  '1.2.840.10045.4.1', // ecdsa-with-SHA1
  '1.2.840.113549.1.1.4', // md5WithRSAEncryption
  '1.2.840.113549.1.1.2', // md2WithRSAEncryption
]);

/** Signature algorithms refused for root and delegation certificates (SHA-1 and MD5/MD2). */
export function isWeakSignatureAlgorithm(oid: string): boolean {
  return WEAK_SIGNATURE_ALGORITHMS.has(oid);
}

/** Go PEM (`pem.Encode`) of each certificate, concatenated. */
export function goPemCertificates(ders: Buffer[]): string {
  return ders.map((bytes) => encodePem({ type: 'CERTIFICATE', bytes })).join('');
}

/**
 * The DER of every CERTIFICATE block in the PEM text, in order. `allCertificates` is false when
 * some block has another type (those blocks are left out of `ders`).
 */
export function certificatesFromPem(text: string): { ders: Buffer[]; allCertificates: boolean } {
  const ders: Buffer[] = [];
  let allCertificates = true;
  for (const block of decodePemBlocks(text)) {
    if (block.type === 'CERTIFICATE') ders.push(block.bytes);
    else allCertificates = false;
  }
  return { ders, allCertificates };
}
