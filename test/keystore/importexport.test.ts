// key import / key export semantics at the library level (notary's, with its quirks fixed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodePemBlocks } from '../../src/crypto/pem.js';
import { keyBlockEncryption } from '../../src/crypto/keyfile.js';
import { KeyStoreError, PassphraseRetriever, exportKeys, importKeys, sortKeyRecords } from '../../src/keystore/index.js';
import { NO_TERMINAL } from '../../src/cli/prompt.js';
import { FIXTURE_PASSPHRASES, NOTARY07_TRUSTDIR, copyTrustDir, openStore, openssl, treeHash } from './helpers.js';
import { tempDir } from '../rig/tmp.js';

const DELEG_ID = '8fae7a8fe8f183e0d16983d33c2500f688b1291823131bbf437bcffa3cbd9846';

function isErr(code: string, re?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => e instanceof KeyStoreError && e.code === code && (re === undefined || re.test(e.message));
}

async function emptyStore(env = { NOTARY_DELEGATION_PASSPHRASE: 'import-pass-1', NOTARY_ROOT_PASSPHRASE: 'root-pass-1', NOTARY_TARGETS_PASSPHRASE: 'targets-pass-1' }) {
  const dir = join(await tempDir('ks-import-'), 'trust');
  const passphrases = new PassphraseRetriever({ env, prompt: NO_TERMINAL });
  return { dir, passphrases, store: await openStore(dir, { env }) };
}

test('export of the fixture: every block still encrypted, with path headers (gun, path, role order)', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
  const store = await openStore(dir);
  const all = await exportKeys(store);
  const blocks = decodePemBlocks(all);
  assert.equal(blocks.length, 5);
  const ids = readdirSync(join(dir, 'private')).map((f) => f.slice(0, -4)).sort();
  assert.deepEqual(blocks.map((b) => b.headers.get('path')), ids);
  assert.ok(blocks.every((b) => b.type === 'ENCRYPTED PRIVATE KEY'));
  assert.match(all, /-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: example.com\/test1\npath: 0d219c84[0-9a-f]{56}\nrole: targets\n\n/);
  // The encrypted bytes are those of the files.
  const file = decodePemBlocks(readFileSync(join(dir, 'private', `${ids[0]}.key`), 'utf8'))[0]!;
  assert.deepEqual(blocks[0]!.bytes, file.bytes);
  // --gun (several, quirk 7) and --key filters.
  const byGun = decodePemBlocks(await exportKeys(store, { guns: ['example.com/test1', 'nope'] }));
  assert.deepEqual(byGun.map((b) => b.headers.get('role')), ['targets', 'snapshot']);
  assert.equal(decodePemBlocks(await exportKeys(store, { guns: ['nope'] })).length, 0);
  const byKey = decodePemBlocks(await exportKeys(store, { ids: [DELEG_ID, 'f'.repeat(64)] }));
  assert.deepEqual(byKey.map((b) => b.headers.get('path')), [DELEG_ID]);
  await assert.rejects(exportKeys(store, { ids: [DELEG_ID], guns: ['x'] }), /Only the --gun or --key flag may be provided/);
});

test('export → import into an empty store: same keys, roles, GUNs, bytes; no passphrase needed', async () => {
  const src = await copyTrustDir(NOTARY07_TRUSTDIR);
  const bundle = await exportKeys(await openStore(src));
  const { dir, store, passphrases } = await emptyStore({} as never);
  const r = await importKeys(store, [{ name: 'bundle.pem', text: bundle }], { passphrases });
  assert.deepEqual(r.rejected, []);
  assert.equal(r.imported.length, 5);
  for (const f of readdirSync(join(src, 'private'))) {
    assert.equal(readFileSync(join(dir, 'private', f), 'utf8'), readFileSync(join(src, 'private', f), 'utf8'), f);
  }
  // Importing the same bundle again changes nothing.
  const before = treeHash(dir);
  const again = await importKeys(store, [{ name: 'bundle.pem', text: bundle }], { passphrases });
  assert.deepEqual([again.imported.length, again.unchanged.length, again.rejected.length], [0, 5, 0]);
  assert.equal(treeHash(dir), before);
});

test('plain PEM keys (PKCS#8, SEC1, PKCS#1, RFC 8410 Ed25519) are encrypted on import with the role passphrase', async () => {
  const { dir, store, passphrases } = await emptyStore();
  const ec = await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  const sec1 = await openssl(['ec'], ec);
  const rsa = await openssl(['rsa', '-traditional'], await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']));
  const ed = await openssl(['genpkey', '-algorithm', 'ED25519']);
  const r = await importKeys(
    store,
    [
      { name: 'ec.pem', text: ec },
      { name: 'sec1.pem', text: sec1 },
      { name: 'rsa.pem', text: rsa },
      { name: 'ed.pem', text: ed },
    ],
    { passphrases, role: 'targets/releases' },
  );
  assert.deepEqual(r.rejected, []);
  // The PKCS#8 and SEC1 forms of one key are one key.
  assert.equal(r.imported.length, 3);
  assert.equal(r.unchanged.length, 0);
  for (const rec of r.imported) {
    const text = readFileSync(join(dir, 'private', `${rec.id}.key`), 'utf8');
    const b = decodePemBlocks(text)[0]!;
    assert.equal(b.type, 'ENCRYPTED PRIVATE KEY', 'never stored unencrypted');
    assert.equal(b.headers.get('role'), 'targets/releases');
    assert.equal(b.headers.has('gun'), false);
    const enc = keyBlockEncryption(b);
    assert.ok(enc.scheme === 'pbes2' && enc.notaryReadable);
  }
  const fresh = await openStore(dir, { env: { NOTARY_DELEGATION_PASSPHRASE: 'import-pass-1' } });
  for (const rec of r.imported) await fresh.signer(rec.id, { role: 'targets/releases' });
});

test('role and GUN fallbacks: default role delegation; GUN only for targets/snapshot/timestamp; a targets key needs a GUN', async () => {
  const { store, passphrases } = await emptyStore();
  const k1 = await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  const k2 = await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  const k3 = await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  const r1 = await importKeys(store, [{ name: 'k1', text: k1 }], { passphrases, gun: 'example.com/ignored' });
  assert.deepEqual(r1.imported.map((r) => [r.role, r.gun]), [['delegation', '']]);
  const r2 = await importKeys(store, [{ name: 'k2', text: k2 }], { passphrases, role: 'targets', gun: 'example.com/app' });
  assert.deepEqual(r2.imported.map((r) => [r.role, r.gun]), [['targets', 'example.com/app']]);
  const r3 = await importKeys(store, [{ name: 'k3', text: k3 }], { passphrases, role: 'snapshot' });
  assert.equal(r3.imported.length, 0);
  assert.match(r3.rejected[0]!.reason, /a snapshot key needs a GUN/);
  // A header wins over the flags.
  const withHeader = k3.replace('-----BEGIN PRIVATE KEY-----\n', '-----BEGIN PRIVATE KEY-----\nrole: root\n\n');
  const r4 = await importKeys(store, [{ name: 'k3h', text: withHeader }], { passphrases, role: 'targets/x' });
  assert.deepEqual(r4.imported.map((r) => r.role), ['root']);
  assert.deepEqual(sortKeyRecords(await store.list()).map((r) => r.role), ['root', 'delegation', 'targets']);
});

test('bad input: no PEM block, only non-key blocks, invalid role or GUN, bad path header; nothing written', async () => {
  const { dir, store, passphrases } = await emptyStore();
  const ec = await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  await assert.rejects(importKeys(store, [{ name: 'ok.pem', text: ec }, { name: 'notes.txt', text: 'hello\n' }], { passphrases }), isErr('NO_KEYS_IN_FILE', /no keys found in notes.txt/));
  await assert.rejects(importKeys(store, [{ name: 'k', text: ec }], { passphrases, gun: '../../escape', role: 'targets' }), isErr('INVALID_GUN'));
  await assert.rejects(importKeys(store, [{ name: 'k', text: ec }], { passphrases, role: 'bad role\nx' }), isErr('INVALID_ROLE'));
  const cert = readFileSync(join(NOTARY07_TRUSTDIR, 'deleg_cert.pem'), 'utf8');
  const pub = readFileSync(join(NOTARY07_TRUSTDIR, 'deleg1.pem'), 'utf8');
  const r = await importKeys(store, [{ name: 'cert.pem', text: cert + pub }], { passphrases });
  assert.deepEqual(r.rejected.map((x) => x.reason), ['the PEM block is a CERTIFICATE, not a private key', 'the PEM block is a PUBLIC KEY, not a private key']);
  const badGunHeader = ec.replace('-----BEGIN PRIVATE KEY-----\n', '-----BEGIN PRIVATE KEY-----\ngun: ../../x\nrole: targets\n\n');
  const badPath = ec.replace('-----BEGIN PRIVATE KEY-----\n', '-----BEGIN PRIVATE KEY-----\npath: ../../../etc/cron.d/x\n\n');
  const wrongPath = ec.replace('-----BEGIN PRIVATE KEY-----\n', `-----BEGIN PRIVATE KEY-----\npath: ${'a'.repeat(64)}\n\n`);
  const r2 = await importKeys(store, [{ name: 'bad.pem', text: badGunHeader + badPath + wrongPath }], { passphrases });
  assert.equal(r2.imported.length, 0);
  assert.deepEqual(r2.rejected.map((x) => x.code), ['INVALID_GUN', 'INVALID_KEY_ID', 'KEY_ID_MISMATCH']);
  assert.equal(readdirSyncSafe(dir).length, 0);
});

function readdirSyncSafe(dir: string): string[] {
  try {
    return readdirSync(join(dir, 'private'));
  } catch {
    return [];
  }
}

test('encrypted keys: notary-readable with path stored as is; without path or with hmacWithSHA256 decrypted and re-encrypted', async () => {
  const { dir, store } = await emptyStore();
  const ec = await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  const sha256 = await openssl(['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-passout', 'pass:their-pass'], ec);
  // Without a terminal and with a wrong variable: nothing written, a clear error.
  const wrong = new PassphraseRetriever({ env: { NOTARY_DELEGATION_PASSPHRASE: 'not-theirs' }, prompt: NO_TERMINAL });
  await assert.rejects(importKeys(store, [{ name: 'enc.pem', text: sha256 }], { passphrases: wrong }), isErr('WRONG_PASSPHRASE', /NOTARY_DELEGATION_PASSPHRASE does not decrypt the encrypted delegation key/));
  const none = new PassphraseRetriever({ env: {}, prompt: NO_TERMINAL });
  await assert.rejects(importKeys(store, [{ name: 'enc.pem', text: sha256 }], { passphrases: none }), isErr('NO_PASSPHRASE'));
  assert.equal(readdirSyncSafe(dir).length, 0);
  // With the right passphrase: stored in notary's form, same passphrase.
  const right = new PassphraseRetriever({ env: { NOTARY_DELEGATION_PASSPHRASE: 'their-pass' }, prompt: NO_TERMINAL });
  const r = await importKeys(store, [{ name: 'enc.pem', text: sha256 }], { passphrases: right });
  assert.equal(r.imported.length, 1);
  const b = decodePemBlocks(readFileSync(join(dir, 'private', `${r.imported[0]!.id}.key`), 'utf8'))[0]!;
  const enc = keyBlockEncryption(b);
  assert.ok(enc.scheme === 'pbes2' && enc.notaryReadable && enc.params.prf === 'sha1');
  await (await openStore(dir, { env: { NOTARY_DELEGATION_PASSPHRASE: 'their-pass' } })).signer(r.imported[0]!.id);
});

test('legacy path headers: tuf_keys/<gun>/<id>_<role> gives the GUN, the ID and the role', async () => {
  const { store, passphrases } = await emptyStore({} as never);
  const src = readFileSync(join(NOTARY07_TRUSTDIR, 'private', '0d219c843fb79edde87000fa68ee3317c9d4a79c5a6f62299e0475103c2444b7.key'), 'utf8');
  const legacy = src.replace('gun: example.com/test1\nrole: targets\n', 'path: tuf_keys/example.com/test1/0d219c843fb79edde87000fa68ee3317c9d4a79c5a6f62299e0475103c2444b7_targets\n');
  const r = await importKeys(store, [{ name: 'old-export.pem', text: legacy }], { passphrases });
  assert.deepEqual(r.rejected, []);
  assert.deepEqual(r.imported.map((x) => [x.id.slice(0, 8), x.role, x.gun]), [['0d219c84', 'targets', 'example.com/test1']]);
  const fresh = await openStore(join(store.privateDir, '..'), { env: FIXTURE_PASSPHRASES });
  await fresh.signer(r.imported[0]!.id, { role: 'targets', gun: 'example.com/test1' });
});
