// PEM, DER, PKCS#8 / PBES2 key files and X.509 certificates: real notary key files and
// certificates, mutated, are refused only with the parsers' own errors (never a TypeError or a
// RangeError, also not as the cause of a wrapped error); what parses re-serialises stably; DER
// integers and OIDs round-trip; every parser is linear in its input.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import {
  DerError,
  Tag,
  children,
  contentOf,
  decodeBitString,
  decodeBoolean,
  decodeInteger,
  decodeOid,
  decodeTime,
  derInteger,
  derOctetString,
  derOid,
  derSequence,
  derSet,
  derTlv,
  readSingle,
  readTlv,
  type Tlv,
} from '../../src/crypto/der.js';
import { KeyFileError, decodeKeyBlock, generatePrivateKey, isPrivateKeyBlock, keyBlockEncryption, notaryPkcs8, parsePkcs8 } from '../../src/crypto/keyfile.js';
import { legacyDecrypt, parseDekInfo, parseEncryptedPrivateKeyInfo, pbes2Decrypt } from '../../src/crypto/pbes2.js';
import { decodePemBlocks, encodePem, type PemBlock } from '../../src/crypto/pem.js';
import { CryptoError, spkiDer } from '../../src/crypto/signature.js';
import { certificatesFromPem, inspectCertificate } from '../../src/crypto/x509.js';
import { parseEnvelope } from '../../src/tuf/envelope.js';
import { isJsonObject } from '../../src/tuf/json.js';
import { property } from './budget.js';
import { assertPrototypesUntouched, outcome, outcomeAsync, typedAs } from './checks.js';
import { certificatePems, notaryKeyFiles, notaryMetadata } from './corpus.js';
import { applyMutations, fileArb, mutatedFileArb, mutationsArb } from './mutate.js';
import { assertLinear } from './timing.js';

/** Fails when an error, or any error in its `cause` chain, is a JavaScript engine error. */
function assertNoProgrammingError(e: unknown): void {
  for (let x: unknown = e, depth = 0; x !== undefined && depth < 10; x = (x as { cause?: unknown }).cause, depth++) {
    if (x instanceof TypeError || x instanceof RangeError || x instanceof ReferenceError || x instanceof SyntaxError) {
      assert.fail(`a programming error escaped the parser: ${(x as Error).stack}`);
    }
  }
}

const keyError = typedAs(KeyFileError);
const certError = typedAs(CryptoError);
const derError = typedAs(DerError);

// ---------------------------------------------------------------------------------------------
// Inputs

const KEY_FILES = notaryKeyFiles();

/** Certificates as PEM text: notary's TLS fixtures, delegation certificates, x509 keys of the real metadata. */
const CERT_PEMS = (() => {
  const out = certificatePems();
  for (const f of notaryMetadata()) {
    if (f.role !== 'root' && f.role !== 'targets') continue;
    const signed = parseEnvelope(f.bytes, f.role).signed;
    const keys = f.role === 'root' ? signed['keys'] : isJsonObject(signed['delegations']) ? signed['delegations']['keys'] : undefined;
    if (!isJsonObject(keys)) continue;
    for (const [id, k] of Object.entries(keys)) {
      if (!isJsonObject(k) || !String(k['keytype']).endsWith('-x509') || !isJsonObject(k['keyval'])) continue;
      out.push({ id: `${f.id}#${id.slice(0, 8)}`, text: Buffer.from(String(k['keyval']['public']), 'base64').toString('latin1') });
    }
  }
  return out;
})();

const CERT_DERS = CERT_PEMS.flatMap((p) => decodePemBlocks(p.text).map((b, i) => ({ id: `${p.id}[${i}]`, bytes: b.bytes })));

interface DerSample {
  id: string;
  bytes: Buffer;
  /** The PEM block type it is read as. */
  type: string;
}

/** Plaintext key DER (PKCS#8, SEC1, PKCS#1) and EncryptedPrivateKeyInfo DER of the key files. */
const { PLAIN_DERS, ENCRYPTED_DERS } = await (async () => {
  const plain: DerSample[] = [];
  const encrypted: DerSample[] = [];
  for (const f of KEY_FILES) {
    for (const [i, b] of decodePemBlocks(f.text).entries()) {
      const id = `${f.id}[${i}]`;
      const pass = Buffer.from(f.passphrase ?? '');
      if (b.type === 'ENCRYPTED PRIVATE KEY') {
        encrypted.push({ id, bytes: b.bytes, type: b.type });
        const der = await pbes2Decrypt(parseEncryptedPrivateKeyInfo(b.bytes), pass);
        if (der) plain.push({ id: `${id} decrypted`, bytes: der, type: 'PRIVATE KEY' });
      } else if (b.headers.get('Proc-Type')?.includes('ENCRYPTED')) {
        const der = legacyDecrypt(b.bytes, parseDekInfo(b.headers.get('DEK-Info')!), pass);
        if (der) plain.push({ id: `${id} decrypted`, bytes: der, type: b.type });
      } else if (isPrivateKeyBlock(b)) plain.push({ id, bytes: b.bytes, type: b.type });
    }
  }
  // notary's Ed25519 form (its custom OID, 96 bytes) and RFC 8410, which notary cannot make itself.
  plain.push({ id: 'ed25519 in notary form', bytes: notaryPkcs8(generatePrivateKey('ed25519')), type: 'PRIVATE KEY' });
  plain.push({ id: 'ed25519 RFC 8410', bytes: generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }), type: 'PRIVATE KEY' });
  return { PLAIN_DERS: plain, ENCRYPTED_DERS: encrypted };
})();

assert.ok(PLAIN_DERS.length >= 10 && ENCRYPTED_DERS.length >= 8 && CERT_DERS.length >= 10, 'the corpus has keys and certificates');

// ---------------------------------------------------------------------------------------------
// PEM

const pemType = fc.stringMatching(/^[A-Z0-9][A-Z0-9 ]{0,20}[A-Z0-9]$/);
const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,15}$/);
const headerValue = fc.string({ unit: fc.constantFrom(...'abcXYZ019 ,./=+-_<>&:é'), maxLength: 30 }).map((s) => s.trim());

const pemBlockArb: fc.Arbitrary<PemBlock> = fc.record({
  type: pemType,
  headers: fc.uniqueArray(fc.tuple(headerName, headerValue), { selector: ([n]) => n, maxLength: 4 }).map((e) => new Map(e)),
  bytes: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
});

/** Text between blocks: anything without a BEGIN line. */
const between = fc.string({ unit: fc.constantFrom('a', ' ', '\n', '-', ':', '=', 'E', 'N', 'D'), maxLength: 20 }).filter((s) => !s.includes('-----'));

property(
  'keys/pem-round-trip',
  fc.property(fc.array(fc.tuple(between, pemBlockArb), { minLength: 1, maxLength: 3 }), between, (blocks, tail) => {
    const text = blocks.map(([junk, b]) => junk + (junk === '' || junk.endsWith('\n') ? '' : '\n') + encodePem(b)).join('') + tail;
    const back = decodePemBlocks(text);
    assert.equal(back.length, blocks.length);
    back.forEach((b, i) => {
      const want = blocks[i]![1];
      assert.equal(b.type, want.type);
      assert.deepEqual([...b.headers].sort(), [...want.headers].sort());
      assert.deepEqual(b.bytes, want.bytes);
      assert.equal(encodePem(b), encodePem(want), 'encode(decode(encode(b))) = encode(b)');
    });
  }),
);

const PEM_TEXTS = [...KEY_FILES.map((f) => ({ id: f.id, bytes: Buffer.from(f.text, 'latin1') })), ...CERT_PEMS.map((c) => ({ id: c.id, bytes: Buffer.from(c.text, 'latin1') }))];

property(
  'keys/mutated-pem-text',
  fc.property(mutatedFileArb(PEM_TEXTS), ({ file, mutations }) => {
    const text = applyMutations(file.bytes, mutations).toString('latin1');
    for (const b of decodePemBlocks(text)) {
      if (isPrivateKeyBlock(b)) outcome(() => keyBlockEncryption(b), keyError);
      if (b.type === 'CERTIFICATE') {
        const r = outcome(() => inspectCertificate(b.bytes), certError);
        if (!r.ok) assertNoProgrammingError(r.error);
      }
    }
    certificatesFromPem(text);
    assertPrototypesUntouched();
  }),
);

// ---------------------------------------------------------------------------------------------
// Key files

/** PBKDF2 counts above this are not decrypted here (a mutation can ask for 10 million). */
const MAX_ITERATIONS_TRIED = 10_000;

function spki(k: { publicKey: KeyObject }): Buffer {
  return spkiDer(k.publicKey);
}

property(
  'keys/mutated-key-files',
  fc.asyncProperty(mutatedFileArb(KEY_FILES.map((f) => ({ ...f, bytes: Buffer.from(f.text, 'latin1') }))), async ({ file, mutations }) => {
    const text = applyMutations(file.bytes, mutations).toString('latin1');
    for (const b of decodePemBlocks(text)) {
      if (!isPrivateKeyBlock(b)) continue;
      const enc = outcome(() => keyBlockEncryption(b), keyError);
      if (!enc.ok) {
        assertNoProgrammingError(enc.error);
        continue;
      }
      if (enc.value.scheme === 'pbes2' && enc.value.params.iterations > MAX_ITERATIONS_TRIED) continue;
      const key = await outcomeAsync(() => decodeKeyBlock(b, file.passphrase === null ? null : Buffer.from(file.passphrase)), keyError);
      if (!key.ok) assertNoProgrammingError(key.error);
      else if (key.value) {
        const again = parsePkcs8(notaryPkcs8(key.value));
        assert.deepEqual(spki(again), spki(key.value), 'a decoded key re-encodes to the same key');
      }
    }
    assertPrototypesUntouched();
  }),
);

property(
  'keys/mutated-pkcs8-der',
  fc.asyncProperty(mutatedFileArb(PLAIN_DERS), async ({ file, mutations }) => {
    const bytes = applyMutations(file.bytes, mutations);
    const r = await outcomeAsync(() => decodeKeyBlock({ type: file.type, headers: new Map(), bytes }, null), keyError);
    if (!r.ok) assertNoProgrammingError(r.error);
    else if (r.value) {
      const der = notaryPkcs8(r.value);
      assert.deepEqual(notaryPkcs8(parsePkcs8(der)), der, 'serialise(parse(x)) is stable');
    }
    assertPrototypesUntouched();
  }),
);

property(
  'keys/mutated-encrypted-pkcs8-der',
  fc.property(mutatedFileArb(ENCRYPTED_DERS), ({ file, mutations }) => {
    const r = outcome(() => parseEncryptedPrivateKeyInfo(applyMutations(file.bytes, mutations)), keyError);
    if (!r.ok) assertNoProgrammingError(r.error);
    else {
      assert.ok(r.value.params.iterations >= 1 && r.value.params.iterations <= 10_000_000);
      assert.ok(r.value.encrypted.length > 0);
    }
  }),
);

// ---------------------------------------------------------------------------------------------
// DER

/** Reads every element of a DER tree and decodes the primitives it knows; only DerErrors. */
function walkDer(buf: Uint8Array, t: Tlv, depth: number): void {
  if (depth > 64) return;
  const c = contentOf(buf, t);
  const tryDecode = (f: () => unknown): void => void outcome(f, derError);
  if (t.tag === Tag.INTEGER) tryDecode(() => decodeInteger(c, t.start));
  else if (t.tag === Tag.OID) tryDecode(() => decodeOid(c, t.start));
  else if (t.tag === Tag.BOOLEAN) tryDecode(() => decodeBoolean(c, t.start));
  else if (t.tag === Tag.BIT_STRING) tryDecode(() => decodeBitString(c, t.start));
  else if (t.tag === Tag.UTC_TIME || t.tag === Tag.GENERALIZED_TIME) tryDecode(() => decodeTime(t.tag, c, t.start));
  if (t.constructed) {
    const kids = outcome(() => children(buf, t), derError);
    if (kids.ok) for (const k of kids.value) walkDer(buf, k, depth + 1);
  }
}

const oidArb = fc
  .tuple(fc.integer({ min: 0, max: 2 }), fc.nat({ max: 2 ** 31 - 81 }), fc.array(fc.nat({ max: 2 ** 31 - 1 }), { maxLength: 8 }))
  .map(([a, b, rest]) => [a, a < 2 ? b % 40 : b, ...rest].join('.'));

property(
  'keys/der-integer-oid-round-trip',
  fc.property(
    fc.oneof(fc.bigInt({ min: -(1n << 520n), max: 1n << 520n }), fc.bigInt({ min: -300n, max: 300n })),
    oidArb,
    fileArb([...PLAIN_DERS, ...ENCRYPTED_DERS, ...CERT_DERS]),
    mutationsArb(),
    (n, oid, file, mutations) => {
      const i = derInteger(n);
      assert.equal(decodeInteger(contentOf(i, readSingle(i, Tag.INTEGER))), n);
      const o = derOid(oid);
      assert.equal(decodeOid(contentOf(o, readSingle(o, Tag.OID))), oid);
      const bytes = applyMutations(file.bytes, mutations);
      const top = outcome(() => readTlv(bytes), derError);
      if (top.ok) walkDer(bytes, top.value, 0);
    },
  ),
);

// ---------------------------------------------------------------------------------------------
// Certificates

property(
  'keys/mutated-certificates',
  fc.property(mutatedFileArb(CERT_DERS), ({ file, mutations }) => {
    const r = outcome(() => inspectCertificate(applyMutations(file.bytes, mutations)), certError);
    if (!r.ok) assertNoProgrammingError(r.error);
    assertPrototypesUntouched();
  }),
);

// ---------------------------------------------------------------------------------------------
// Linear time: each parser on long repetitions in the places it loops over.

const oid = (content: Buffer): Buffer => derTlv(Tag.OID, content);
const repeat = (unit: Buffer, n: number): Buffer => Buffer.alloc(Math.max(unit.length, Math.floor(n / unit.length) * unit.length), unit);
const utc = derTlv(Tag.UTC_TIME, Buffer.from('250101000000Z'));

/** A certificate with the given signature algorithm OID content, subject and extensions. */
function certificate(algOid: Buffer, subject: Buffer = derSequence(), extensions?: Buffer): Buffer {
  const alg = derSequence(oid(algOid));
  const fields = [derInteger(1), alg, derSequence(), derSequence(utc, utc), subject, derSequence()];
  if (extensions) fields.push(derTlv(0xa3, derSequence(extensions)));
  return derSequence(derSequence(...fields), alg, derTlv(Tag.BIT_STRING, Buffer.from([0])));
}

interface Target {
  name: string;
  make(n: number, unit: Buffer): Buffer | string;
  run(input: Buffer | string): void;
}

const quiet = (f: () => unknown): void => {
  try {
    f();
  } catch (e) {
    assertNoProgrammingError(e);
  }
};
const asBuffer = (x: Buffer | string): Buffer => (typeof x === 'string' ? Buffer.from(x, 'latin1') : x);
const asText = (x: Buffer | string): string => (typeof x === 'string' ? x : x.toString('latin1'));

const TARGETS: Target[] = [
  { name: 'decodePemBlocks', make: (n, u) => repeat(u, n).toString('latin1'), run: (x) => void decodePemBlocks(asText(x)) },
  {
    name: 'decodePemBlocks inside a block',
    make: (n, u) => `-----BEGIN A-----\n${repeat(u, n).toString('latin1')}\n-----END A-----\n`,
    run: (x) => void decodePemBlocks(asText(x)),
  },
  { name: 'decodeOid', make: (n, u) => Buffer.concat([repeat(u, n), Buffer.from([1])]), run: (x) => quiet(() => decodeOid(asBuffer(x))) },
  { name: 'decodeInteger', make: (n, u) => Buffer.concat([Buffer.from([0x11]), repeat(u, n)]), run: (x) => quiet(() => decodeInteger(asBuffer(x))) },
  { name: 'DER walk', make: (n, u) => derSequence(repeat(u, n)), run: (x) => quiet(() => walkDer(asBuffer(x), readTlv(asBuffer(x)), 0)) },
  {
    name: 'parsePkcs8 (algorithm OID)',
    make: (n, u) => derSequence(derInteger(0), derSequence(oid(Buffer.concat([repeat(u, n), Buffer.from([1])]))), derOctetString(Buffer.alloc(4))),
    run: (x) => quiet(() => parsePkcs8(asBuffer(x))),
  },
  {
    name: 'parsePkcs8 (version INTEGER)',
    make: (n, u) => derSequence(derTlv(Tag.INTEGER, Buffer.concat([Buffer.from([0x11]), repeat(u, n)])), derSequence(oid(Buffer.from([0x2a]))), derOctetString(Buffer.alloc(4))),
    run: (x) => quiet(() => parsePkcs8(asBuffer(x))),
  },
  {
    name: 'parseEncryptedPrivateKeyInfo (PBES2 OID)',
    make: (n, u) => derSequence(derSequence(oid(Buffer.concat([repeat(u, n), Buffer.from([1])])), derSequence()), derOctetString(Buffer.alloc(16))),
    run: (x) => quiet(() => parseEncryptedPrivateKeyInfo(asBuffer(x))),
  },
  { name: 'inspectCertificate (signature algorithm OID)', make: (n, u) => certificate(Buffer.concat([repeat(u, n), Buffer.from([1])])), run: (x) => quiet(() => inspectCertificate(asBuffer(x))) },
  {
    name: 'inspectCertificate (subject)',
    make: (n, u) => {
      const rdn = derSet(derSequence(oid(Buffer.from([0x55, 4, 3])), derTlv(Tag.UTF8_STRING, u)));
      return certificate(Buffer.from([0x2a, 0x86, 0x48, 0xce, 0x3d, 4, 3, 2]), derSequence(...Array.from({ length: Math.max(1, Math.floor(n / (rdn.length || 1))) }, () => rdn)));
    },
    run: (x) => quiet(() => inspectCertificate(asBuffer(x))),
  },
  {
    name: 'inspectCertificate (extensions)',
    make: (n, u) => {
      const count = Math.max(1, Math.floor(n / 16));
      const exts = Array.from({ length: count }, (_, i) => derSequence(derOid(`1.2.${i}`), derOctetString(u)));
      return certificate(Buffer.from([0x2a, 0x86, 0x48, 0xce, 0x3d, 4, 3, 2]), derSequence(), Buffer.concat(exts));
    },
    run: (x) => quiet(() => inspectCertificate(asBuffer(x))),
  },
];

const UNITS = ['\xff', '\x81', '\x80', '\x01', '\x7f', '\x00', '\x05\x00', '\x30\x00', '\x06\x01\x2a', '\x02\x01\x01', '-----BEGIN ', '-----BEGIN A-----\n', 'a: b\n', ' \n', 'AAAA', '-', '\r\n', '====', '-----END A-----\n'];

property(
  'keys/linear-time',
  fc.property(fileArb(TARGETS.map((t) => ({ ...t, id: t.name }))), fc.oneof(fc.constantFrom(...UNITS), fc.string({ minLength: 1, maxLength: 4 })), (target, unitText) => {
    const unit = Buffer.from(unitText, 'latin1');
    assertLinear(target.name, (n) => target.make(n, unit), (x) => target.run(x));
  }),
);
