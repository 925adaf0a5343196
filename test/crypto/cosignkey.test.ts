// cosign's key files: a key cosign wrote is read, dtrust's own round-trip, and what must be refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { cosignPublicPem, decryptCosignKey, encryptCosignKey, readCosignPublicKey } from '../../src/crypto/cosignkey.js';
import { KeyFileError } from '../../src/crypto/pbes2.js';
import { REPO_ROOT } from '../rig/notary.js';

const COSIGN_WRITTEN = readFileSync(join(REPO_ROOT, 'fixtures', 'cosign', 'conforma-empty-passphrase.key'), 'utf8');

function envelopeOf(pemText: string): Record<string, unknown> {
  const body = pemText.split('\n').filter((l) => !l.startsWith('-----')).join('');
  return JSON.parse(Buffer.from(body, 'base64').toString('utf8')) as Record<string, unknown>;
}

function rewrap(env: unknown): string {
  const b64 = Buffer.from(JSON.stringify(env)).toString('base64');
  return `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${b64}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`;
}

test('a key file cosign wrote decrypts to a P-256 private key that signs', async () => {
  const key = await decryptCosignKey(COSIGN_WRITTEN, '');
  assert.equal(key.asymmetricKeyType, 'ec');
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const sig = sign('sha256', Buffer.from('x'), key);
  assert.ok(verify('sha256', Buffer.from('x'), createPublicKey(key), sig));
});

test('a wrong passphrase is refused as BAD_PASSPHRASE', async () => {
  await assert.rejects(decryptCosignKey(COSIGN_WRITTEN, 'not-it'), (e: unknown) => e instanceof KeyFileError && e.code === 'WRONG_PASSPHRASE');
});

test('round trip: dtrust writes the envelope cosign reads (field names, scrypt parameters, sizes)', async () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const text = await encryptCosignKey(privateKey, 'pw');
  assert.match(text, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
  const env = envelopeOf(text);
  assert.deepEqual(Object.keys(env), ['kdf', 'cipher', 'ciphertext']);
  const kdf = env['kdf'] as { name: string; params: Record<string, number>; salt: string };
  assert.equal(kdf.name, 'scrypt');
  assert.deepEqual(kdf.params, { N: 32768, r: 8, p: 1 });
  assert.equal(Buffer.from(kdf.salt, 'base64').length, 32);
  const cipher = env['cipher'] as { name: string; nonce: string };
  assert.equal(cipher.name, 'nacl/secretbox');
  assert.equal(Buffer.from(cipher.nonce, 'base64').length, 24);
  const back = await decryptCosignKey(text, 'pw');
  assert.equal(cosignPublicPem(back), cosignPublicPem(privateKey));
  assert.equal(readCosignPublicKey(cosignPublicPem(privateKey)).asymmetricKeyType, 'ec');
});

test('the older ENCRYPTED COSIGN PRIVATE KEY block is read too', async () => {
  const legacy = COSIGN_WRITTEN.replaceAll('ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY');
  assert.equal((await decryptCosignKey(legacy, '')).asymmetricKeyType, 'ec');
});

test('a tampered ciphertext, another KDF or cipher, and an excessive cost are refused', async () => {
  const env = envelopeOf(COSIGN_WRITTEN);
  const ct = Buffer.from(env['ciphertext'] as string, 'base64');
  ct[5] = ct[5]! ^ 1;
  await assert.rejects(decryptCosignKey(rewrap({ ...env, ciphertext: ct.toString('base64') }), ''), (e: unknown) => e instanceof KeyFileError && e.code === 'WRONG_PASSPHRASE');
  await assert.rejects(decryptCosignKey(rewrap({ ...env, kdf: { ...(env['kdf'] as object), name: 'pbkdf2' } }), ''), (e: unknown) => e instanceof KeyFileError && e.code === 'UNSUPPORTED_ENCRYPTION');
  await assert.rejects(decryptCosignKey(rewrap({ ...env, cipher: { ...(env['cipher'] as object), name: 'aes-gcm' } }), ''), (e: unknown) => e instanceof KeyFileError && e.code === 'UNSUPPORTED_ENCRYPTION');
  const kdf = env['kdf'] as { params: object };
  await assert.rejects(decryptCosignKey(rewrap({ ...env, kdf: { ...kdf, params: { N: 1 << 24, r: 8, p: 1 } } }), ''), (e: unknown) => e instanceof KeyFileError && e.code === 'UNSUPPORTED_ENCRYPTION');
  await assert.rejects(decryptCosignKey('-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n', ''), (e: unknown) => e instanceof KeyFileError && e.code === 'BAD_KEY_FILE');
  assert.throws(() => readCosignPublicKey(COSIGN_WRITTEN), (e: unknown) => e instanceof KeyFileError && e.code === 'BAD_KEY_FILE');
});
