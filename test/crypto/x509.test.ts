// Certificates: reading notary's root certificates, generating identical ones, and the DER reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import {
  DerError,
  Tag,
  children,
  contentOf,
  contextTag,
  decodeInteger,
  decodeOid,
  decodeTime,
  derBitString,
  derBoolean,
  derExplicit,
  derInteger,
  derNull,
  derOctetString,
  derOid,
  derSequence,
  derSet,
  elementOf,
  readSingle,
  readTlv,
  type Tlv,
} from '../../src/crypto/der.js';
import {
  certificatesFromPem,
  goPemCertificates,
  inspectCertificate,
  isWeakSignatureAlgorithm,
} from '../../src/crypto/x509.js';
import { chainVerifies } from '../../src/crypto/x509chain.js';
import { CryptoError } from '../../src/crypto/signature.js';
import { FIXTURES } from '../helpers.js';

const ROOT_JSON = join(FIXTURES, 'notary07-trustdir/tuf/example.com/test1/metadata/root.json');
const GUN = 'example.com/test1';
const DAY = 86_400_000;
const ECDSA_SHA256 = '1.2.840.10045.4.3.2';

interface FixtureCert {
  keyid: string;
  pem: string;
  ders: Buffer[];
}

function fixtureCerts(): FixtureCert[] {
  const root = JSON.parse(readFileSync(ROOT_JSON, 'utf8')) as {
    signed: { keys: Record<string, { keytype: string; keyval: { public: string } }> };
  };
  const out: FixtureCert[] = [];
  for (const [keyid, key] of Object.entries(root.signed.keys)) {
    if (key.keytype !== 'ecdsa-x509') continue;
    const pem = Buffer.from(key.keyval.public, 'base64').toString('utf8');
    const { ders, allCertificates } = certificatesFromPem(pem);
    assert.ok(allCertificates, keyid);
    out.push({ keyid, pem, ders });
  }
  assert.ok(out.length >= 1, 'the fixture has x509 root keys');
  return out;
}

/** The tbsCertificate fields of a certificate. */
function tbsFields(der: Buffer): Tlv[] {
  const cert = readSingle(der, Tag.SEQUENCE);
  return children(der, children(der, cert)[0]!);
}

function openssl(der: Buffer): string {
  const r = spawnSync('openssl', ['x509', '-inform', 'DER', '-text', '-noout'], { input: der });
  assert.equal(r.status, 0, r.stderr.toString());
  return r.stdout.toString();
}

async function certgen(): Promise<typeof import('../../src/crypto/certgen.js')> {
  return import('../../src/crypto/certgen.js');
}

function p256(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

/** Whole seconds, as certificates store them. */
function secondsNow(): Date {
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}

async function newRoot(commonName: string, key = p256()): Promise<{ der: Buffer; notBefore: Date; notAfter: Date; key: typeof key }> {
  const { createRootCertificate } = await certgen();
  const notBefore = secondsNow();
  const notAfter = new Date(notBefore.getTime() + 3650 * DAY);
  const der = await createRootCertificate({ ...key, commonName, notBefore, notAfter });
  return { der, notBefore, notAfter, key };
}

/** Tag of the subject's CN value. */
function cnTag(der: Buffer): number {
  const subject = tbsFields(der)[5]!;
  const rdn = children(der, subject)[0]!;
  const atv = children(der, rdn)[0]!;
  const [type, value] = children(der, atv);
  assert.equal(decodeOid(contentOf(der, type!)), '2.5.4.3');
  return value!.tag;
}

test('notary 0.7 root certificates: inspect and Go PEM round trip', () => {
  for (const fx of fixtureCerts()) {
    assert.equal(fx.ders.length, 1, fx.keyid);
    const info = inspectCertificate(fx.ders[0]!);
    assert.equal(info.commonName, GUN);
    assert.equal(info.signatureAlgorithmOid, ECDSA_SHA256);
    assert.equal(isWeakSignatureAlgorithm(info.signatureAlgorithmOid), false);
    assert.equal(info.isCA, false);
    assert.equal(info.notAfter - info.notBefore, 3650 * DAY);
    assert.equal(info.rsaModulusBits, null);
    assert.equal(info.publicKey.asymmetricKeyType, 'ec');
    assert.equal(info.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(info.der.equals(fx.ders[0]!));
    assert.equal(goPemCertificates(fx.ders), fx.pem);
    // Agrees with OpenSSL's reading.
    const x = new X509Certificate(fx.ders[0]!);
    assert.equal(info.notBefore, Date.parse(x.validFrom));
    assert.equal(info.notAfter, Date.parse(x.validTo));
    assert.ok(x.verify(info.publicKey), 'self-signed');
  }
});

test('createRootCertificate (P-256) matches what notary generates', async () => {
  const { der, notBefore, notAfter, key } = await newRoot(GUN);
  const info = inspectCertificate(der);
  assert.equal(info.commonName, GUN);
  assert.equal(info.notBefore, notBefore.getTime());
  assert.equal(info.notAfter, notAfter.getTime());
  assert.equal(info.isCA, false);
  assert.equal(info.signatureAlgorithmOid, ECDSA_SHA256);
  assert.ok(info.publicKey.equals(key.publicKey));

  const text = openssl(der);
  assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
  assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
  assert.match(text, /X509v3 Extended Key Usage: ?\n\s+Code Signing\n/);
  assert.doesNotMatch(text, /Extended Key Usage: critical/);
  assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
  assert.doesNotMatch(text, /Subject Key Identifier|Authority Key Identifier/);
  assert.match(text, /Issuer: CN ?= ?example\.com\/test1\n/);
  assert.match(text, /Subject: CN ?= ?example\.com\/test1\n/);

  const serialT = tbsFields(der)[1]!;
  assert.equal(serialT.tag, Tag.INTEGER);
  const serial = decodeInteger(contentOf(der, serialT));
  assert.ok(serial > 0n && serial < 1n << 128n, `serial ${serial}`);

  const x = new X509Certificate(der);
  assert.ok(x.verify(key.publicKey));
  assert.ok(x.verify(info.publicKey));
  assert.equal(goPemCertificates([der]), x.toString().replace(/\r\n/g, '\n'));
});

test('generated certificates have the structure of notary 0.7 certificates', async () => {
  const fx = fixtureCerts()[0]!.ders[0]!;
  const { der } = await newRoot(GUN);
  const a = tbsFields(fx);
  const b = tbsFields(der);
  assert.deepEqual(
    b.map((t) => t.tag),
    a.map((t) => t.tag),
  );
  assert.deepEqual(
    a.map((t) => t.tag),
    [contextTag(0), Tag.INTEGER, Tag.SEQUENCE, Tag.SEQUENCE, Tag.SEQUENCE, Tag.SEQUENCE, Tag.SEQUENCE, contextTag(3)],
  );
  const same = (i: number, what: string): void =>
    assert.ok(elementOf(der, b[i]!).equals(elementOf(fx, a[i]!)), what);
  same(0, 'version');
  same(2, 'signature algorithm');
  same(3, 'issuer (same CN bytes, PrintableString)');
  same(5, 'subject');
  same(7, 'extensions: list, order, criticality and values');
  // Validity: two UTCTimes.
  assert.deepEqual(
    children(der, b[4]!).map((t) => t.tag),
    children(fx, a[4]!).map((t) => t.tag),
  );
  // SubjectPublicKeyInfo algorithm identifier (id-ecPublicKey, prime256v1).
  assert.ok(elementOf(der, children(der, b[6]!)[0]!).equals(elementOf(fx, children(fx, a[6]!)[0]!)));
  // Outer signature algorithm, and signature is a BIT STRING.
  const outer = (d: Buffer): Tlv[] => children(d, readSingle(d));
  assert.ok(elementOf(der, outer(der)[1]!).equals(elementOf(fx, outer(fx)[1]!)));
  assert.equal(outer(der)[2]!.tag, Tag.BIT_STRING);
  assert.equal(cnTag(fx), Tag.PRINTABLE_STRING);
  assert.equal(cnTag(der), Tag.PRINTABLE_STRING);
});

test('CN string type follows Go: PrintableString if possible, else UTF8String', async () => {
  const cases: [string, number][] = [
    ['example.com/test1', Tag.PRINTABLE_STRING],
    ["docker.io/Library/A-b (c)+d,e:f=g?h'", Tag.PRINTABLE_STRING],
    ['exämple.com/café', Tag.UTF8_STRING],
    ['docker.io/library/foo_bar', Tag.UTF8_STRING], // '_' is not printable
    ['example.com/*', Tag.UTF8_STRING], // Go's marshaller rejects '*' and '&' in PrintableString
    ['example.com/a&b', Tag.UTF8_STRING],
  ];
  const key = p256();
  for (const [cn, tag] of cases) {
    const { der } = await newRoot(cn, key);
    assert.equal(cnTag(der), tag, cn);
    assert.equal(inspectCertificate(der).commonName, cn);
  }
  // Go leaves an empty CommonName out of the Name: Subject = Issuer = empty SEQUENCE.
  const { der } = await newRoot('', key);
  assert.equal(elementOf(der, tbsFields(der)[3]!).toString('hex'), '3000');
  assert.equal(elementOf(der, tbsFields(der)[5]!).toString('hex'), '3000');
  assert.equal(inspectCertificate(der).commonName, null);
  await assert.rejects(newRoot('bad\ud800', key), CryptoError);
});

test('createRootCertificate with RSA and P-384 keys uses the algorithms Go picks', async () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const r = await newRoot(GUN, rsa);
  const info = inspectCertificate(r.der);
  assert.equal(info.signatureAlgorithmOid, '1.2.840.113549.1.1.11');
  assert.equal(info.rsaModulusBits, 2048);
  // Go writes sha256WithRSAEncryption with NULL parameters.
  assert.equal(elementOf(r.der, tbsFields(r.der)[2]!).toString('hex'), '300d06092a864886f70d01010b0500');
  assert.ok(new X509Certificate(r.der).verify(rsa.publicKey));

  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const e = await newRoot(GUN, p384);
  assert.equal(inspectCertificate(e.der).signatureAlgorithmOid, '1.2.840.10045.4.3.3');
  assert.ok(new X509Certificate(e.der).verify(p384.publicKey));

  const { createRootCertificate } = await certgen();
  const ed = generateKeyPairSync('ed25519');
  await assert.rejects(
    createRootCertificate({ ...ed, commonName: GUN, notBefore: new Date(0), notAfter: new Date(DAY) }),
    (err: unknown) => err instanceof CryptoError && err.code === 'UNSUPPORTED_KEY',
  );
});

test('ECDSA signatures in generated certificates are strict DER (minimal INTEGERs)', async () => {
  const key = p256();
  for (let i = 0; i < 40; i++) {
    const { der } = await newRoot(GUN, key);
    const sigT = children(der, readSingle(der))[2]!;
    const sig = contentOf(der, sigT);
    assert.equal(sig[0], 0, 'no unused bits');
    const inner = sig.subarray(1);
    const seq = readSingle(inner, Tag.SEQUENCE);
    const [r, s, ...rest] = children(inner, seq);
    assert.equal(rest.length, 0);
    assert.ok(decodeInteger(contentOf(inner, r!)) > 0n); // throws on non-minimal encodings
    assert.ok(decodeInteger(contentOf(inner, s!)) > 0n);
    const serial = decodeInteger(contentOf(der, tbsFields(der)[1]!));
    assert.ok(serial > 0n && serial < 1n << 128n);
  }
});

test('times: UTCTime before 2050, GeneralizedTime after, whole seconds', async () => {
  const { createRootCertificate } = await certgen();
  const key = p256();
  const notBefore = new Date(Date.UTC(2049, 11, 31, 23, 59, 59, 999));
  const notAfter = new Date(Date.UTC(2050, 0, 1, 0, 0, 0));
  const der = await createRootCertificate({ ...key, commonName: GUN, notBefore, notAfter });
  const [nb, na] = children(der, tbsFields(der)[4]!);
  assert.equal(nb!.tag, Tag.UTC_TIME);
  assert.equal(contentOf(der, nb!).toString(), '491231235959Z');
  assert.equal(na!.tag, Tag.GENERALIZED_TIME);
  assert.equal(contentOf(der, na!).toString(), '20500101000000Z');
  const info = inspectCertificate(der);
  assert.equal(info.notBefore, Date.UTC(2049, 11, 31, 23, 59, 59));
  assert.equal(info.notAfter, notAfter.getTime());
});

// A CA and a leaf it issued, made with @peculiar/x509 (tests only).
async function caAndLeaf(): Promise<{ ca: Buffer; leaf: Buffer; otherCa: Buffer }> {
  const x509 = await import('@peculiar/x509');
  const subtle = webcrypto.subtle;
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  type Keys = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];
  const gen = async (): Promise<Keys> => (await subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as Keys;
  const provider = webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0];
  x509.cryptoProvider.set(provider);
  const makeCa = async (keys: Keys, name: string): Promise<InstanceType<typeof x509.X509Certificate>> =>
    x509.X509CertificateGenerator.createSelfSigned(
      {
        keys,
        name,
        signingAlgorithm: alg,
        notBefore: new Date(Date.now() - DAY),
        notAfter: new Date(Date.now() + 365 * DAY),
        extensions: [
          new x509.BasicConstraintsExtension(true, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
        ],
      },
      provider,
    );
  const caKeys = await gen();
  const ca = await makeCa(caKeys, 'CN=test ca');
  const other = await makeCa(await gen(), 'CN=test ca');
  const leafKeys = await gen();
  const leaf = await x509.X509CertificateGenerator.create(
    {
      subject: 'CN=example.com/leaf',
      issuer: ca.subject,
      publicKey: leafKeys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: alg,
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 365 * DAY),
    },
    provider,
  );
  return { ca: Buffer.from(ca.rawData), leaf: Buffer.from(leaf.rawData), otherCa: Buffer.from(other.rawData) };
}

test('chainVerifies checks both the names and the signature; isCA, keyUsage, version', async () => {
  const { ca, leaf, otherCa } = await caAndLeaf();
  const [c, l, o] = [inspectCertificate(ca), inspectCertificate(leaf), inspectCertificate(otherCa)];
  assert.equal(c.isCA, true);
  assert.equal(c.basicConstraintsValid, true);
  assert.equal(c.keyUsage, 1 << 5, 'keyCertSign only');
  assert.equal(c.version, 3);
  assert.ok(l.rawIssuer.equals(c.rawSubject));
  assert.equal(l.isCA, false);
  assert.equal(l.commonName, 'example.com/leaf');
  assert.equal(chainVerifies(l, [], [c], Date.now()), true);
  assert.equal(chainVerifies(l, [], [o], Date.now()), false, 'same name, other key');
  assert.equal(chainVerifies(c, [], [l], Date.now()), false);
});

test('certificatesFromPem reports non-certificate blocks; goPemCertificates concatenates', () => {
  const fx = fixtureCerts();
  const ders = fx.map((f) => f.ders[0]!);
  const chain = goPemCertificates(ders);
  assert.equal(chain, fx.map((f) => f.pem).join(''));
  assert.deepEqual(certificatesFromPem(chain), { ders, allCertificates: true });
  const key = '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n';
  const mixed = certificatesFromPem(fx[0]!.pem + key);
  assert.equal(mixed.allCertificates, false);
  assert.equal(mixed.ders.length, 1);
  assert.deepEqual(certificatesFromPem('no pem here'), { ders: [], allCertificates: true });
  // 76-column / CRLF PEM reads the same DER and is re-encoded to Go's 64 columns.
  const b64 = ders[0]!.toString('base64').replace(/(.{76})/g, '$1\r\n');
  const odd = `-----BEGIN CERTIFICATE-----\r\n${b64}\r\n-----END CERTIFICATE-----\r\n`;
  const parsed = certificatesFromPem(odd);
  assert.ok(parsed.ders[0]!.equals(ders[0]!));
  assert.equal(goPemCertificates(parsed.ders), fx[0]!.pem);
});

test('isWeakSignatureAlgorithm', () => {
  for (const oid of ['1.2.840.113549.1.1.5', '1.3.14.3.2.29', '1.2.840.10040.4.3', '1.2.840.10045.4.1', '1.2.840.113549.1.1.4']) {
    assert.equal(isWeakSignatureAlgorithm(oid), true, oid);
  }
  for (const oid of [ECDSA_SHA256, '1.2.840.10045.4.3.3', '1.2.840.113549.1.1.11', '1.2.840.113549.1.1.10', '1.3.101.112']) {
    assert.equal(isWeakSignatureAlgorithm(oid), false, oid);
  }
});

// ---- DER ----

function assertDerError(fn: () => unknown, what: string): void {
  assert.throws(fn, (e: unknown) => e instanceof DerError && e.code === 'BAD_DER', what);
}

test('DER reader rejects truncated, overlong, indefinite and non-minimal input with DerError', () => {
  const bad: [string, number[]][] = [
    ['empty', []],
    ['tag only', [0x30]],
    ['truncated content', [0x30, 0x05, 0x02, 0x01]],
    ['truncated long length', [0x30, 0x82, 0x01]],
    ['length past the end', [0x04, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x00]],
    ['length of 5 bytes', [0x04, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00]],
    ['overlong length 0xff', [0x04, 0xff]],
    ['indefinite length', [0x30, 0x80, 0x00, 0x00]],
    ['non-minimal long length', [0x04, 0x81, 0x01, 0x00]],
    ['leading zero length byte', [0x04, 0x82, 0x00, 0x81, ...new Array<number>(0x81).fill(0)]],
    ['high tag number', [0x1f, 0x81, 0x00, 0x00]],
  ];
  for (const [what, bytes] of bad) assertDerError(() => readTlv(Buffer.from(bytes)), what);
  assertDerError(() => readSingle(Buffer.from([0x05, 0x00, 0x00])), 'trailing data');
  // A child running past its parent.
  const buf = Buffer.from([0x30, 0x03, 0x04, 0x05, 0x00, 0x00, 0x00, 0x00]);
  assertDerError(() => children(buf, readTlv(buf)), 'child past parent');
  assertDerError(() => children(Buffer.from([0x04, 0x00]), readTlv(Buffer.from([0x04, 0x00]))), 'primitive has no children');
  // Offsets beyond the buffer, and subarray views.
  assertDerError(() => readTlv(Buffer.from([0x05, 0x00]), 2), 'offset at end');
  assertDerError(() => readTlv(Buffer.from([0x05, 0x00]), 7), 'offset past end');
  const view = Buffer.from([0xaa, 0x04, 0x03, 0x01]).subarray(1);
  assertDerError(() => readTlv(view), 'view truncated');
});

test('DER primitive decoders are strict', () => {
  assertDerError(() => decodeInteger(Buffer.alloc(0)), 'empty INTEGER');
  assertDerError(() => decodeInteger(Buffer.from([0x00, 0x7f])), 'non-minimal positive');
  assertDerError(() => decodeInteger(Buffer.from([0xff, 0x80])), 'non-minimal negative');
  assertDerError(() => decodeOid(Buffer.alloc(0)), 'empty OID');
  assertDerError(() => decodeOid(Buffer.from([0x2a, 0x86])), 'truncated OID');
  assertDerError(() => decodeOid(Buffer.from([0x2a, 0x80, 0x01])), 'non-minimal OID arc');
  const t = (tag: number, s: string): number => decodeTime(tag, Buffer.from(s, 'latin1'));
  assert.equal(t(Tag.UTC_TIME, '491231235959Z'), Date.UTC(2049, 11, 31, 23, 59, 59));
  assert.equal(t(Tag.UTC_TIME, '500101000000Z'), Date.UTC(1950, 0, 1));
  assert.equal(t(Tag.UTC_TIME, '2611220155Z'), Date.UTC(2026, 10, 22, 1, 55));
  assert.equal(t(Tag.UTC_TIME, '261122015512+0100'), Date.UTC(2026, 10, 22, 0, 55, 12));
  assert.equal(t(Tag.GENERALIZED_TIME, '20361119015832Z'), Date.UTC(2036, 10, 19, 1, 58, 32));
  const year1 = new Date(0);
  year1.setUTCFullYear(1, 0, 1);
  assert.equal(t(Tag.GENERALIZED_TIME, '00010101000000Z'), year1.getTime());
  for (const s of ['261322015512Z', '261131015512Z', '261122245512Z', '261122015560Z', '2611220155120Z', '261122015512', '261122015512+0000', '26112201551Z', '']) {
    assertDerError(() => t(Tag.UTC_TIME, s), `UTCTime ${JSON.stringify(s)}`);
  }
  for (const s of ['20361119015832.5Z', '203611190158Z', '20361119015832']) {
    assertDerError(() => t(Tag.GENERALIZED_TIME, s), `GeneralizedTime ${s}`);
  }
  assertDerError(() => t(Tag.OCTET_STRING, '261122015512Z'), 'not a time tag');
});

test('DER writer round-trips through the reader', () => {
  for (const n of [0n, 1n, 127n, 128n, 255n, 256n, -1n, -128n, -129n, -256n, (1n << 128n) - 1n, -(1n << 127n)]) {
    const enc = derInteger(n);
    const t = readSingle(enc, Tag.INTEGER);
    assert.equal(decodeInteger(contentOf(enc, t)), n, `${n}`);
  }
  assert.equal(derInteger(128).toString('hex'), '02020080');
  assert.equal(derInteger(Buffer.from([0x00, 0x00, 0xff])).toString('hex'), '020200ff');
  for (const oid of ['1.2.840.10045.4.3.2', '2.5.29.19', '2.999.3', '0.0', '1.3.6.1.4.1.311.21.20', '1.2.2147483647', '2.2147483567']) {
    const enc = derOid(oid);
    assert.equal(decodeOid(contentOf(enc, readSingle(enc, Tag.OID))), oid);
  }
  // Arcs beyond 2^31-1 (a UUID OID) are refused on read, as Go's asn1 and cryptobyte refuse them.
  for (const oid of ['1.2.2147483648', '2.25.329800735698586629295641978511506172918']) {
    const enc = derOid(oid);
    assertDerError(() => decodeOid(contentOf(enc, readSingle(enc, Tag.OID))), oid);
  }
  assert.equal(derOid('1.2.840.10045.4.3.2').toString('hex'), '06082a8648ce3d040302');
  assert.throws(() => derOid('1.40'), DerError);
  assert.throws(() => derOid('3.1'), DerError);
  const big = Buffer.alloc(300, 7);
  const seq = derSequence(derInteger(5), derOctetString(big), derNull(), derBoolean(true), derBitString(Buffer.from([0xa0]), 5), derExplicit(0, derInteger(2)));
  const top = readSingle(seq, Tag.SEQUENCE);
  assert.equal(top.headerLength, 4);
  const kids = children(seq, top);
  assert.deepEqual(
    kids.map((k) => k.tag),
    [Tag.INTEGER, Tag.OCTET_STRING, Tag.NULL, Tag.BOOLEAN, Tag.BIT_STRING, contextTag(0)],
  );
  assert.ok(contentOf(seq, kids[1]!).equals(big));
  assert.equal(elementOf(seq, kids[4]!).toString('hex'), '030205a0');
  assert.equal(derSet(derInteger(2), derInteger(1)).toString('hex'), '3106020101020102');
});

test('malformed certificates throw CryptoError, never RangeError', () => {
  const der = fixtureCerts()[0]!.ders[0]!;
  const isCryptoError = (e: unknown): boolean => e instanceof CryptoError && e.code === 'BAD_CERTIFICATE';
  for (let n = 0; n < der.length; n++) {
    assert.throws(() => inspectCertificate(der.subarray(0, n)), isCryptoError, `prefix ${n}`);
  }
  assert.throws(() => inspectCertificate(Buffer.concat([der, Buffer.from([0])])), isCryptoError, 'trailing byte');
  // Random corruption: either still a certificate or a CryptoError.
  for (let i = 0; i < 2000; i++) {
    const bad = Buffer.from(der);
    const flips = 1 + (i % 3);
    for (let k = 0; k < flips; k++) {
      const at = randomBytes(2).readUInt16BE() % bad.length;
      bad[at] = randomBytes(1)[0]!;
    }
    try {
      inspectCertificate(bad);
    } catch (e) {
      assert.ok(isCryptoError(e), `unexpected ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
});
