// The key-derivation work factor dtrust writes (SEC-F5), proven with the REAL notary 0.7 binary:
// notary decrypts dtrust's default files (1,000,000 PBKDF2-HMAC-SHA1 iterations, 16-byte salt,
// no PRF field) for every key type, and both unlock times are measured on this machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodePemBlocks } from '../../src/crypto/pem.js';
import { generatePrivateKey, keyBlockEncryption, type KeyAlgorithm } from '../../src/crypto/keyfile.js';
import { DEFAULT_KDF_ITERATIONS, DEFAULT_SALT_LENGTH, FileKeyStore, PassphraseRetriever } from '../../src/keystore/index.js';
import { NOTARY_BIN, runProcess } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';

const PASS = 'kdf-proof-passphrase';

test('default KDF: 1M iterations, 16-byte salt; the real notary decrypts ecdsa, ed25519 and rsa keys; unlock ≤ ~1 s', async (t) => {
  assert.equal(DEFAULT_KDF_ITERATIONS, 1_000_000);
  assert.equal(DEFAULT_SALT_LENGTH, 16);
  const home = await tempDir('ks-kdf-');
  const trustDir = join(home, 'trust');
  const env = { NOTARY_ROOT_PASSPHRASE: PASS, NOTARY_TARGETS_PASSPHRASE: PASS, NOTARY_DELEGATION_PASSPHRASE: PASS };
  const store = await FileKeyStore.open({ trustDir, passphrases: new PassphraseRetriever({ env }) });
  const roles: Record<KeyAlgorithm, string> = { ecdsa: 'root', ed25519: 'targets', rsa: 'targets/releases' };
  const report: string[] = [];
  for (const alg of ['ecdsa', 'ed25519', 'rsa'] as KeyAlgorithm[]) {
    const rec = await store.add(generatePrivateKey(alg, 2048), { role: roles[alg], gun: 'example.com/kdf' });
    const file = join(trustDir, 'private', `${rec.id}.key`);
    const enc = keyBlockEncryption(decodePemBlocks(readFileSync(file, 'utf8'))[0]!);
    assert.ok(enc.scheme === 'pbes2');
    assert.deepEqual(
      [enc.params.iterations, enc.params.salt.length, enc.params.prf, enc.params.prfExplicit, enc.params.keyLength, enc.params.cipher],
      [1_000_000, 16, 'sha1', false, undefined, 'aes-256-cbc'],
    );
    // dtrust: a fresh process-like store unlocks the key once.
    const fresh = await FileKeyStore.open({ trustDir, passphrases: new PassphraseRetriever({ env }) });
    const t0 = performance.now();
    await fresh.signer(rec.id);
    const dtrustMs = performance.now() - t0;
    // notary: `key passwd` decrypts the file (then re-encrypts it with its own 2048 iterations).
    const t1 = performance.now();
    const r = await runProcess(NOTARY_BIN, ['-d', trustDir, 'key', 'passwd', rec.id], { env: { PATH: process.env['PATH'], HOME: home, ...env } });
    const notaryMs = performance.now() - t1;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, `\nSuccessfully updated passphrase for key ID: ${rec.id}\n`);
    // notary rewrote it in its weak form, which dtrust still reads.
    const after = keyBlockEncryption(decodePemBlocks(readFileSync(file, 'utf8'))[0]!);
    assert.ok(after.scheme === 'pbes2' && after.params.iterations === 2048 && after.params.salt.length === 8);
    await (await FileKeyStore.open({ trustDir, passphrases: new PassphraseRetriever({ env }) })).signer(rec.id);
    report.push(`${alg}: dtrust unlock ${dtrustMs.toFixed(0)} ms, notary key passwd (decrypt + 2048-iteration re-encrypt + start-up) ${notaryMs.toFixed(0)} ms`);
    // Timings are reported, not asserted: `npm run bench` is where speed is measured.
  }
  t.diagnostic(report.join('\n'));
});
