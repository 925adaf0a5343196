// Key encodings (src/crypto/keyfile.ts, pbes2.ts): every form notary reads, notary's exact
// written forms, PBES2 and legacy DEK-Info decryption, and malformed input.
import { test } from 'node:test';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodePemBlocks, encodePem, type PemBlock } from '../../src/crypto/pem.js';
import {
  KeyFileError,
  decodeKeyBlock,
  encodeKeyBlock,
  encodePublicKeyPem,
  generatePrivateKey,
  keyBlockEncryption,
  notaryPkcs8,
  parsePkcs8,
  tufPublicKey,
  type KeyAlgorithm,
} from '../../src/crypto/keyfile.js';
import { OID_PBES2, OID_PBKDF2, parseEncryptedPrivateKeyInfo, pbes2Decrypt } from '../../src/crypto/pbes2.js';
import { children, contentOf, decodeInteger, decodeOid, derInteger, derOctetString, derOid, derSequence, readSingle } from '../../src/crypto/der.js';
import { verifySignature } from '../../src/crypto/signature.js';
import { PublicKey } from '../../src/tuf/keys.js';
import { keyIdOf, makeSigner } from '../../src/keystore/signer.js';
import { NOTARY01_TRUSTDIR, NOTARY03_TRUSTDIR, NOTARY07_KEYS, NOTARY07_TRUSTDIR, openssl } from './helpers.js';

const FIXTURE_PASS: Record<string, string> = { root: 'rootpass123', targets: 'targetspass', snapshot: 'snappass', 'targets/releases': 'delegpass' };

function block(text: string): PemBlock {
  const b = decodePemBlocks(text)[0];
  assert.ok(b, 'a PEM block');
  return b;
}

test('every notary 0.7 fixture key decrypts with its documented passphrase, to the ID of its file', async () => {
  const dir = join(NOTARY07_TRUSTDIR, 'private');
  const files = readdirSync(dir).sort();
  assert.equal(files.length, 5);
  for (const f of files) {
    const b = block(readFileSync(join(dir, f), 'utf8'));
    const role = b.headers.get('role')!;
    assert.equal(role, NOTARY07_KEYS[f.slice(0, -4)]!.role);
    const key = await decodeKeyBlock(b, Buffer.from(FIXTURE_PASS[role]!));
    assert.ok(key, f);
    assert.equal(keyIdOf(key) + '.key', f);
    // The wrong passphrase is a wrong passphrase (null), not an error.
    assert.equal(await decodeKeyBlock(b, Buffer.from('not-the-passphrase')), null);
    assert.equal(await decodeKeyBlock(b, null), null);
    // notary's plaintext is exactly what dtrust writes for the same key.
    const plain = await pbes2Decrypt(parseEncryptedPrivateKeyInfo(b.bytes), Buffer.from(FIXTURE_PASS[role]!));
    assert.deepEqual(notaryPkcs8(key), plain);
    const enc = keyBlockEncryption(b);
    assert.equal(enc.scheme, 'pbes2');
    if (enc.scheme === 'pbes2') {
      assert.deepEqual([enc.params.prf, enc.params.prfExplicit, enc.params.iterations, enc.params.salt.length, enc.params.cipher, enc.notaryReadable], ['sha1', false, 2048, 8, 'aes-256-cbc', true]);
    }
  }
});

test('the key generate -o fixture and the OpenSSL PKCS#8 fixture load', async () => {
  const priv = block(readFileSync(join(NOTARY07_TRUSTDIR, 'deleg1-key.pem'), 'utf8'));
  const pub = block(readFileSync(join(NOTARY07_TRUSTDIR, 'deleg1.pem'), 'utf8'));
  const key = await decodeKeyBlock(priv, Buffer.from('delegpass'));
  assert.ok(key);
  assert.deepEqual(key.publicKey.export({ format: 'der', type: 'spki' }), pub.bytes);
  const plain = await decodeKeyBlock(block(readFileSync(join(NOTARY07_TRUSTDIR, 'ec_pkcs8.pem'), 'utf8')), null);
  assert.ok(plain);
  assert.equal(keyIdOf(plain), '8fae7a8fe8f183e0d16983d33c2500f688b1291823131bbf437bcffa3cbd9846');
});

test('notary 0.1 legacy keys (DEK-Info AES-256-CBC) decrypt with randompass; the 0.3 fixtures do not (formats.md §4.5)', async () => {
  const files = [
    'root_keys/d0c623c8e70c70d42a8a8125c44a8598588b3f6e31d5c21a83cbc338dfde8a68_root.key',
    'tuf_keys/docker.com/notary0.1/samplerepo/7fc757801b9bab4ec9e35bfe7a6b61668ff6f4c81b5632af19e6c728ab799599_targets.key',
    'tuf_keys/docker.com/notary0.1/samplerepo/a55ccf652b0be4b6c4d356cbb02d9ea432bb84a2571665be3df7c7396af8e8b8_snapshot.key',
  ];
  for (const f of files) {
    const b = block(readFileSync(join(NOTARY01_TRUSTDIR, 'private', f), 'utf8'));
    assert.equal(b.type, 'EC PRIVATE KEY');
    const enc = keyBlockEncryption(b);
    assert.deepEqual(enc, { scheme: 'legacy', cipher: 'aes-256-cbc', notaryReadable: true });
    const key = await decodeKeyBlock(b, Buffer.from('randompass'));
    assert.ok(key, f);
    assert.equal(keyIdOf(key), f.split('/').pop()!.split('_')[0]);
    assert.equal(await decodeKeyBlock(b, Buffer.from('wrongpass')), null);
  }
  const b03 = block(readFileSync(join(NOTARY03_TRUSTDIR, 'private', 'root_keys', 'f4eaf871a74aa3b3a0ff95cef2455a1e4d461639f5625418e76756fc5c948690.key'), 'utf8'));
  assert.equal(await decodeKeyBlock(b03, Buffer.from('randompass')), null);
});

function pkcs8Shape(der: Buffer): { version: bigint; algs: string[]; hasNull: boolean; innerLength: number } {
  const top = readSingle(der);
  const [v, alg, priv] = children(der, top);
  const algs: string[] = [];
  let hasNull = false;
  for (const c of children(der, alg!)) {
    if (c.tag === 0x06) algs.push(decodeOid(contentOf(der, c)));
    if (c.tag === 0x05) hasNull = true;
  }
  return { version: decodeInteger(contentOf(der, v!)), algs, hasNull, innerLength: contentOf(der, priv!).length };
}

test("dtrust writes notary's exact PKCS#8 forms (formats.md §4.3)", () => {
  const ec = pkcs8Shape(notaryPkcs8(generatePrivateKey('ecdsa')));
  assert.deepEqual([ec.version, ec.algs, ec.hasNull], [1n, ['1.2.840.10045.2.1', '1.2.840.10045.3.1.7'], false]);
  const rsa = pkcs8Shape(notaryPkcs8(generatePrivateKey('rsa', 2048)));
  assert.deepEqual([rsa.version, rsa.algs, rsa.hasNull], [0n, ['1.2.840.113549.1.1.1'], false]);
  const ed = generatePrivateKey('ed25519');
  const edDer = notaryPkcs8(ed);
  const shape = pkcs8Shape(edDer);
  assert.deepEqual([shape.version, shape.algs, shape.hasNull, shape.innerLength], [0n, ['1.3.6.1.4.1.11591.15.1'], false, 96]);
  // public ‖ seed ‖ public
  const inner = edDer.subarray(edDer.length - 96);
  const pub = tufPublicKey(ed).pub;
  assert.deepEqual(inner.subarray(0, 32), pub);
  assert.deepEqual(inner.subarray(64), pub);
});

for (const alg of ['ecdsa', 'ed25519', 'rsa'] as KeyAlgorithm[]) {
  test(`${alg}: encode → decode round trip, signatures verify, 16-byte salt, no PRF field`, async () => {
    const key = generatePrivateKey(alg, 2048);
    const pem = await encodeKeyBlock(key, { role: 'targets', gun: 'example.com/app', passphrase: Buffer.from('correct horse'), iterations: 4096, saltLength: 16 });
    assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: example.com\/app\nrole: targets\n\n/);
    const b = block(pem);
    const enc = keyBlockEncryption(b);
    assert.ok(enc.scheme === 'pbes2');
    assert.deepEqual([enc.params.prf, enc.params.prfExplicit, enc.params.iterations, enc.params.salt.length, enc.params.keyLength, enc.notaryReadable], ['sha1', false, 4096, 16, undefined, true]);
    const back = await decodeKeyBlock(b, Buffer.from('correct horse'));
    assert.ok(back);
    assert.equal(keyIdOf(back), keyIdOf(key));
    const { keytype, pub } = tufPublicKey(back);
    const pk = new PublicKey(keytype, pub);
    const signer = makeSigner(back, { id: pk.id, role: 'targets', gun: '', location: 'test' });
    const msg = Buffer.from('{"signed":"data"}');
    const { method, sig } = await signer.sign(msg);
    assert.equal(verifySignature(keytype, pk.keyObject(), method, msg, sig), true);
    // Unencrypted form: PRIVATE KEY, readable without a passphrase.
    const plain = await encodeKeyBlock(key, { role: 'root', gun: '', passphrase: null, iterations: 4096, saltLength: 16 });
    assert.match(plain, /^-----BEGIN PRIVATE KEY-----\nrole: root\n\n/);
    assert.equal(keyIdOf((await decodeKeyBlock(block(plain), null))!), keyIdOf(key));
  });
}

test('the public key PEM of key generate -o: PUBLIC KEY with a role header', () => {
  const key = generatePrivateKey('ecdsa');
  const pem = encodePublicKeyPem(key, 'targets/releases');
  const b = block(pem);
  assert.equal(b.type, 'PUBLIC KEY');
  assert.equal(b.headers.get('role'), 'targets/releases');
  assert.equal(b.bytes.length, 91);
});

test('OpenSSL forms: SEC1, PKCS#1, PKCS#8 (plain, AES-128, hmacWithSHA256, DES3), legacy DEK-Info, RFC 8410 Ed25519', async () => {
  const ec = await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  const ecKey = await decodeKeyBlock(block(ec), null);
  assert.ok(ecKey);
  const id = keyIdOf(ecKey);
  const sec1 = await openssl(['ec'], ec);
  assert.match(sec1, /BEGIN EC PRIVATE KEY/);
  assert.equal(keyIdOf((await decodeKeyBlock(block(sec1), null))!), id);
  const forms: [string[], string, boolean][] = [
    [['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA1', '-passout', 'pass:secret-pass'], 'ENCRYPTED PRIVATE KEY', true],
    [['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-passout', 'pass:secret-pass'], 'ENCRYPTED PRIVATE KEY', false],
    [['pkcs8', '-topk8', '-v2', 'aes-128-cbc', '-v2prf', 'hmacWithSHA512', '-passout', 'pass:secret-pass'], 'ENCRYPTED PRIVATE KEY', false],
    [['pkcs8', '-topk8', '-v2', 'des3', '-passout', 'pass:secret-pass'], 'ENCRYPTED PRIVATE KEY', false],
    [['ec', '-aes128', '-passout', 'pass:secret-pass'], 'EC PRIVATE KEY', true],
    [['ec', '-des3', '-passout', 'pass:secret-pass'], 'EC PRIVATE KEY', true],
  ];
  for (const [args, type, notaryReadable] of forms) {
    const out = await openssl(args, ec);
    const b = block(out);
    assert.equal(b.type, type, args.join(' '));
    const enc = keyBlockEncryption(b);
    assert.notEqual(enc.scheme, 'none');
    assert.equal('notaryReadable' in enc && enc.notaryReadable, notaryReadable, args.join(' '));
    const k = await decodeKeyBlock(b, Buffer.from('secret-pass'));
    assert.ok(k, args.join(' '));
    assert.equal(keyIdOf(k), id, args.join(' '));
    assert.equal(await decodeKeyBlock(b, Buffer.from('other-pass')), null, args.join(' '));
  }
  const rsa = await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
  const rsaId = keyIdOf((await decodeKeyBlock(block(rsa), null))!);
  const pkcs1 = await openssl(['rsa', '-traditional'], rsa);
  assert.match(pkcs1, /BEGIN RSA PRIVATE KEY/);
  assert.equal(keyIdOf((await decodeKeyBlock(block(pkcs1), null))!), rsaId);
  const ed = await openssl(['genpkey', '-algorithm', 'ED25519']);
  const edKey = await decodeKeyBlock(block(ed), null);
  assert.equal(edKey?.algorithm, 'ed25519');
});

test('unsupported key types and sizes are UNSUPPORTED_KEY, not a crash', async () => {
  const pkcs8 = (k: KeyObject): string => k.export({ format: 'pem', type: 'pkcs8' }).toString();
  const cases: [string, string][] = [
    ['DSA', pkcs8(generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).privateKey)],
    ['X25519', pkcs8(generateKeyPairSync('x25519').privateKey)],
    ['Ed448', pkcs8(generateKeyPairSync('ed448').privateKey)],
    ['secp256k1', pkcs8(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey)],
    ['secp256k1 SEC1', generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ format: 'pem', type: 'sec1' }).toString()],
    ['RSA 1024', pkcs8(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey)],
  ];
  for (const [name, pem] of cases) {
    await assert.rejects(decodeKeyBlock(block(pem), null), (e: unknown) => e instanceof KeyFileError && e.code === 'UNSUPPORTED_KEY', name);
  }
  await assert.rejects(decodeKeyBlock(block(encodePem({ type: 'CERTIFICATE', bytes: Buffer.from([0x30, 0]) })), null), (e: unknown) => e instanceof KeyFileError && e.code === 'UNSUPPORTED_KEY');
});

test('corrupt and truncated key files are BAD_KEY_FILE (never a wrong passphrase)', async () => {
  const text = readFileSync(join(NOTARY07_TRUSTDIR, 'private', '0d219c843fb79edde87000fa68ee3317c9d4a79c5a6f62299e0475103c2444b7.key'), 'utf8');
  const b = block(text);
  const pass = Buffer.from('targetspass');
  const truncated: PemBlock = { ...b, bytes: b.bytes.subarray(0, b.bytes.length - 20) };
  await assert.rejects(decodeKeyBlock(truncated, pass), (e: unknown) => e instanceof KeyFileError && e.code === 'BAD_KEY_FILE');
  const shortData: PemBlock = { ...b, bytes: b.bytes.subarray(0, 40) };
  await assert.rejects(decodeKeyBlock(shortData, pass), (e: unknown) => e instanceof KeyFileError && e.code === 'BAD_KEY_FILE');
  // A flipped byte inside the ciphertext: the key does not decrypt to a valid key (null) or
  // decrypts to garbage that fails the checks; it never yields a different key silently.
  for (let i = b.bytes.length - 40; i < b.bytes.length; i += 7) {
    const bytes = Buffer.from(b.bytes);
    bytes[i] = bytes[i]! ^ 0x55;
    const r = await decodeKeyBlock({ ...b, bytes }, pass).catch((e: unknown) => e);
    assert.ok(r === null || r instanceof KeyFileError, `byte ${i}`);
  }
  // Unencrypted garbage.
  await assert.rejects(decodeKeyBlock({ type: 'PRIVATE KEY', headers: new Map(), bytes: Buffer.from('30030201', 'hex') }, null), (e: unknown) => e instanceof KeyFileError && e.code === 'BAD_KEY_FILE');
  await assert.rejects(decodeKeyBlock({ type: 'EC PRIVATE KEY', headers: new Map(), bytes: Buffer.alloc(50, 1) }, null), (e: unknown) => e instanceof KeyFileError && e.code === 'BAD_KEY_FILE');
  // An ed25519 block whose public halves do not match its seed.
  const ed = notaryPkcs8(generatePrivateKey('ed25519'));
  ed[ed.length - 1] = ed[ed.length - 1]! ^ 1;
  assert.throws(() => parsePkcs8(ed), (e: unknown) => e instanceof KeyFileError && e.code === 'BAD_KEY_FILE');
});

test('a hostile iteration count is refused before any work (cap 10^7)', () => {
  const build = (iterations: number): Buffer =>
    derSequence(
      derSequence(
        derOid(OID_PBES2),
        derSequence(
          derSequence(derOid(OID_PBKDF2), derSequence(derOctetString(Buffer.alloc(8, 1)), derInteger(iterations))),
          derSequence(derOid('2.16.840.1.101.3.4.1.42'), derOctetString(Buffer.alloc(16, 2))),
        ),
      ),
      derOctetString(Buffer.alloc(160, 3)),
    );
  assert.equal(parseEncryptedPrivateKeyInfo(build(10_000_000)).params.iterations, 10_000_000);
  const t0 = Date.now();
  assert.throws(() => parseEncryptedPrivateKeyInfo(build(2 ** 31 - 1)), (e: unknown) => e instanceof KeyFileError && e.code === 'ITERATIONS_TOO_HIGH');
  assert.throws(() => parseEncryptedPrivateKeyInfo(build(0)), (e: unknown) => e instanceof KeyFileError && e.code === 'BAD_KEY_FILE');
  assert.ok(Date.now() - t0 < 1000);
});
