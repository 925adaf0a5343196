// The PKCS#11 key store on a real SoftHSM2 token, one token per test (its own SOFTHSM2_CONF):
// notary's layout on the token, root keys only, backups and no orphans, slots, PINs, errors.
// A module is initialised per test (process.env.SOFTHSM2_CONF is read at C_Initialize) and
// finalised at its end, so tests of this file run one after the other.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { createRequire } from 'node:module';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePrivateKey } from '../../src/crypto/keyfile.js';
import { createRootCertificateWithSigner } from '../../src/crypto/certgen.js';
import { inspectCertificate } from '../../src/crypto/x509.js';
import { verifySignature } from '../../src/crypto/signature.js';
import { Pkcs11KeyStore, type Pkcs11StoreOptions, type BackupStore } from '../../src/keystore/pkcs11.js';
import {
  CKA_CLASS,
  CKA_EC_POINT,
  CKA_ID,
  CKA_TOKEN,
  CKA_VALUE,
  CKO_CERTIFICATE,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  type Pkcs11Api,
} from '../../src/keystore/pkcs11-api.js';
import { unloadPkcs11Module } from '../../src/keystore/pkcs11-loader.js';
import { resolvePkcs11Module, NOTARY_PKCS11_LIBS_LINUX } from '../../src/keystore/pkcs11-module.js';
import { KeyService, KeyStoreError, keyIdOf, publicKeyOf } from '../../src/keystore/index.js';
import { PublicKey } from '../../src/tuf/keys.js';
import { REPO_ROOT } from '../helpers.js';
import { tempDir } from '../rig/tmp.js';
import { ScriptedPrompt, openStore } from './helpers.js';
import { SOFTHSM_MODULE, TEST_PIN, initToken, requirePkcs11Tools, shimModule, softToken, softhsmConf, type SoftToken } from './pkcs11-helpers.js';

const used = new Set<string>();
afterEach(() => {
  for (const m of used) unloadPkcs11Module(m);
  used.clear();
});

async function open(t: SoftToken, o: Partial<Pkcs11StoreOptions> = {}): Promise<{ store: Pkcs11KeyStore; notices: string[] }> {
  process.env['SOFTHSM2_CONF'] = t.conf;
  const module = o.module ?? SOFTHSM_MODULE;
  used.add(module);
  const notices: string[] = [];
  const store = await Pkcs11KeyStore.open({
    module,
    env: { DTRUST_PKCS11_PIN: t.pin },
    notice: (l) => notices.push(l),
    ...o,
  });
  return { store, notices };
}

/** Raw pkcs11js on the same (initialised) module, logged in, for looking at the objects. */
function raw(store: Pkcs11KeyStore): { api: Pkcs11Api; session: Buffer } {
  const PKCS11 = (createRequire(join(REPO_ROOT, 'package.json'))('pkcs11js') as { PKCS11: new () => Pkcs11Api }).PKCS11;
  const api = new PKCS11();
  api.load(SOFTHSM_MODULE); // the same library handle: already initialised
  const slot = api.C_GetSlotList(true).find((s) => api.C_GetTokenInfo(s).label.trim() === store.label)!;
  const session = api.C_OpenSession(slot, 6);
  return { api, session };
}

/** Logs the application in (a login is per application: the store may have done it already). */
function loginRaw(api: Pkcs11Api, session: Buffer): void {
  try {
    api.C_Login(session, 1, TEST_PIN);
  } catch (e) {
    if ((e as { code?: number }).code !== 0x100) throw e;
  }
}

function objects(api: Pkcs11Api, session: Buffer, cls: number): { id: Buffer; value?: Buffer; point?: Buffer }[] {
  api.C_FindObjectsInit(session, [
    { type: CKA_TOKEN, value: true },
    { type: CKA_CLASS, value: cls },
  ]);
  const hs = api.C_FindObjects(session, 100);
  api.C_FindObjectsFinal(session);
  return hs.map((h) => {
    const [id] = api.C_GetAttributeValue(session, h, [{ type: CKA_ID }]);
    const out: { id: Buffer; value?: Buffer; point?: Buffer } = { id: id!.value as Buffer };
    if (cls === CKO_CERTIFICATE) out.value = api.C_GetAttributeValue(session, h, [{ type: CKA_VALUE }])[0]!.value as Buffer;
    if (cls === CKO_PUBLIC_KEY) out.point = api.C_GetAttributeValue(session, h, [{ type: CKA_EC_POINT }])[0]!.value as Buffer;
    return out;
  });
}

test('pkcs11js loads and SoftHSM2 is installed (the other tests need both; nothing is skipped)', () => {
  requirePkcs11Tools();
});

test("a root key goes to the token in notary's layout, signs there, and is backed up encrypted on disk", async () => {
  const t = await softToken('layout');
  const trust = join(await tempDir('p11-ks-'), 'trust');
  const files = await openStore(trust, { env: { NOTARY_ROOT_PASSPHRASE: 'rootpass123' } });
  const { store, notices } = await open(t, { backup: files });
  assert.equal(store.name, 'pkcs11:token=layout');
  assert.ok(store.accepts('root'));
  for (const r of ['targets', 'snapshot', 'timestamp', 'targets/releases', 'delegation']) assert.equal(store.accepts(r), false);

  const key = generatePrivateKey('ecdsa');
  const id = keyIdOf(key);
  const rec = await store.add(key, { role: 'root' });
  assert.deepEqual(rec, { id, role: 'root', gun: '', location: 'pkcs11:token=layout' });
  assert.equal(store.slotOf(id), '9c', "notary's first slot is byte 2 (PIV 9c)");
  assert.match(notices.join('\n'), new RegExp(`Root key ${id} was generated on token "layout" \\(slot 9c\\); an encrypted backup copy is in ${trust.replace(/[/]/g, '\\/')}`));
  // The backup: an encrypted root key file, same ID.
  const backup = await files.get(id);
  assert.deepEqual(backup, { id, role: 'root', gun: '', location: join(trust, 'private') });

  // On the token: certificate (CN=root, 10 years, the key's public key) + private key + public key, CKA_ID = [2].
  const { api, session } = raw(store);
  const certs = objects(api, session, CKO_CERTIFICATE);
  assert.equal(certs.length, 1);
  assert.deepEqual([...certs[0]!.id], [2]);
  const info = inspectCertificate(certs[0]!.value!);
  assert.equal(info.commonName, 'root');
  const years = (info.notAfter - info.notBefore) / (365.25 * 86_400_000);
  assert.ok(years > 9.99 && years < 10.01, `10 years of validity, got ${years}`);
  assert.equal(new PublicKey('ecdsa', info.publicKey.export({ format: 'der', type: 'spki' })).id, id);
  const pubs = objects(api, session, CKO_PUBLIC_KEY);
  assert.equal(pubs.length, 1);
  assert.deepEqual([...pubs[0]!.id], [2]);
  // DER OCTET STRING of the uncompressed point: what notary's getECDSAKey slices ([3:35], [35:]).
  const spki = key.publicKey.export({ format: 'der', type: 'spki' });
  assert.deepEqual(pubs[0]!.point, Buffer.concat([Buffer.from([0x04, 0x41]), spki.subarray(26)]));
  loginRaw(api, session);
  assert.equal(objects(api, session, CKO_PRIVATE_KEY).length, 1);
  api.C_CloseSession(session);

  // Signing happens on the token: raw r||s that verifies with the public key.
  const signer = await store.signer(id, { role: 'root' });
  assert.equal(signer.privateKeyObject, undefined);
  const data = Buffer.from('{"signed":"root"}');
  const { method, sig } = await signer.sign(data);
  assert.equal(method, 'ecdsa');
  assert.equal(sig.length, 64);
  assert.ok(verifySignature('ecdsa', key.publicKey, 'ecdsa', data, sig));
  await assert.rejects(store.signer(id, { role: 'targets' }), (e: unknown) => e instanceof KeyStoreError && e.code === 'ROLE_MISMATCH');

  // A root certificate for a repository, signed by the token (notary's profile).
  const der = await createRootCertificateWithSigner({
    publicKey: key.publicKey,
    sign: async (tbs) => (await signer.sign(tbs)).sig,
    commonName: 'example.com/p11',
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2036-01-01T00:00:00Z'),
  });
  const x = new X509Certificate(der);
  assert.ok(x.verify(key.publicKey));
  assert.equal(x.subject, 'CN=example.com/p11');
  assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.3']);
  const certKey = new PublicKey('ecdsa-x509', Buffer.from(`-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`));
  assert.equal(certKey.canonicalId, id);
  const s2 = signer.withPublicKey(certKey);
  assert.equal(s2.publicKey, certKey);
  assert.ok(verifySignature('ecdsa', key.publicKey, 'ecdsa', data, (await s2.sign(data)).sig));

  // Same key again: a no-op.
  assert.deepEqual(await store.add(key, { role: 'root' }), rec);
  assert.equal((await store.list()).length, 1);
});

test('non-root keys never reach the token: KeyService puts them on disk, silently', async () => {
  const t = await softToken('roots-only');
  const trust = join(await tempDir('p11-ks-'), 'trust');
  const logs: string[] = [];
  const files = await openStore(trust, { env: { NOTARY_TARGETS_PASSPHRASE: 'targetspass', NOTARY_DELEGATION_PASSPHRASE: 'delegpass', NOTARY_ROOT_PASSPHRASE: 'rootpass123' }, logs });
  const { store, notices } = await open(t, { backup: files, log: (l, m) => logs.push(`${l}: ${m}`) });
  const service = new KeyService([store, files]);
  const targets = await service.create({ role: 'targets', gun: 'example.com/a' });
  const deleg = await service.create({ role: 'targets/releases' });
  assert.equal(targets.record.location, join(trust, 'private'));
  assert.equal(deleg.record.location, join(trust, 'private'));
  assert.deepEqual(await store.list(), []);
  await assert.rejects(store.add(generatePrivateKey('ecdsa'), { role: 'targets' }), (e: unknown) => e instanceof KeyStoreError && e.code === 'NOT_SUPPORTED');
  assert.deepEqual(logs, [], 'no error or warning for keys the token does not take');
  assert.deepEqual(notices, []);
  // An RSA root key stays on disk (the layout holds P-256 keys).
  const rsa = await service.create({ role: 'root', algorithm: 'rsa' });
  assert.equal(rsa.record.location, join(trust, 'private'));
  assert.deepEqual(await store.list(), []);
});

test("slots are used in notary's order 9c, 9e, 9d, 9a; a full token is a clear error and nothing is written", async () => {
  const t = await softToken('full');
  const trust = join(await tempDir('p11-ks-'), 'trust');
  const files = await openStore(trust, { env: { NOTARY_ROOT_PASSPHRASE: 'rootpass123' } });
  const { store } = await open(t, { backup: files });
  const slots: string[] = [];
  for (let i = 0; i < 4; i++) {
    const k = generatePrivateKey('ecdsa');
    await store.add(k, { role: 'root' });
    slots.push(store.slotOf(keyIdOf(k))!);
  }
  assert.deepEqual(slots, ['9c', '9e', '9d', '9a']);
  const fifth = generatePrivateKey('ecdsa');
  await assert.rejects(store.add(fifth, { role: 'root' }), (e: unknown) => {
    assert.ok(e instanceof KeyStoreError && e.code === 'TOKEN_FULL', String(e));
    assert.match(e.message, /token "full" has no free key slot: all 4 slots notary uses \(9a, 9c, 9d, 9e\) are taken/);
    assert.match(e.hint!, /key remove/);
    return true;
  });
  assert.equal(await files.get(keyIdOf(fifth)), undefined, 'no backup for a key that is not on the token');
  // Removing one frees its slot for the next key.
  const first = (await store.list()).find((r) => store.slotOf(r.id) === '9e')!;
  await store.remove(first.id);
  await store.add(fifth, { role: 'root' });
  assert.equal(store.slotOf(keyIdOf(fifth)), '9e');
  assert.equal((await store.list()).length, 4);
});

test('a backup that cannot be written takes the key off the token again (no orphans, SEC-F8)', async () => {
  const t = await softToken('orphan');
  const failing: BackupStore = {
    name: '/nowhere/private',
    get: async () => undefined,
    add: async () => {
      throw new KeyStoreError('INSECURE_PERMISSIONS', 'refusing to write private keys: /nowhere is accessible by other users', { hint: 'run chmod 700' });
    },
    remove: async () => undefined,
  };
  const { store } = await open(t, { backup: failing });
  await assert.rejects(store.add(generatePrivateKey('ecdsa'), { role: 'root' }), (e: unknown) => {
    assert.ok(e instanceof KeyStoreError && e.code === 'BACKUP_FAILED', String(e));
    assert.match(e.message, /^Failed to backup private key to: \/nowhere\/private: refusing to write .*; the key was removed from the token again$/);
    return true;
  });
  assert.deepEqual(await store.list(), []);
  const { api, session } = raw(store);
  loginRaw(api, session);
  for (const cls of [CKO_CERTIFICATE, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY]) assert.deepEqual(objects(api, session, cls), []);
  api.C_CloseSession(session);
});

test('PINs: DTRUST_PKCS11_PIN is tried once; a prompt retries and warns; no PIN source is a clear error', async () => {
  const t = await softToken('pins');
  const key = generatePrivateKey('ecdsa');
  const id = keyIdOf(key);
  {
    const { store } = await open(t);
    await store.add(key, { role: 'root' });
  }
  unloadPkcs11Module(SOFTHSM_MODULE);
  // Wrong PIN in the environment, no terminal.
  {
    const { store } = await open(t, { env: { DTRUST_PKCS11_PIN: '000000' } });
    const s = await store.signer(id);
    await assert.rejects(s.sign(Buffer.from('x')), (e: unknown) => {
      assert.ok(e instanceof KeyStoreError && e.code === 'WRONG_PIN', String(e));
      assert.match(e.message, /^the PIN in DTRUST_PKCS11_PIN was refused by token "pins"/);
      assert.match(e.hint!, /tried once only, so that a wrong value cannot lock the token/);
      return true;
    });
  }
  unloadPkcs11Module(SOFTHSM_MODULE);
  // No PIN at all, no terminal.
  {
    const { store } = await open(t, { env: {} });
    await assert.rejects((await store.signer(id)).sign(Buffer.from('x')), (e: unknown) => {
      assert.ok(e instanceof KeyStoreError && e.code === 'NO_PIN', String(e));
      assert.equal(e.message, 'no User Pin for token "pins": DTRUST_PKCS11_PIN is not set and stdin is not a terminal');
      return true;
    });
  }
  unloadPkcs11Module(SOFTHSM_MODULE);
  // A terminal: wrong, then right.
  {
    const prompt = new ScriptedPrompt(['111111', TEST_PIN]);
    const { store } = await open(t, { env: {}, prompt });
    const { sig } = await (await store.signer(id)).sign(Buffer.from('x'));
    assert.ok(verifySignature('ecdsa', key.publicKey, 'ecdsa', Buffer.from('x'), sig));
    assert.equal(prompt.output, 'Enter the User Pin for token "pins": \nWrong PIN. Please retry.\nEnter the User Pin for token "pins": \n');
    // Logged in once per process: the next signature asks nothing.
    await (await store.signer(id)).sign(Buffer.from('y'));
    assert.equal(prompt.remaining, 0);
  }
});

test('a locked PIN (shim with a YubiKey-like retry counter) is reported as locked, before and after the last try', async () => {
  const t = await softToken('locky');
  const shim = await shimModule();
  const state = join(t.dir, 'tries');
  process.env['SHIM_STATE'] = state;
  try {
    const key = generatePrivateKey('ecdsa');
    const id = keyIdOf(key);
    {
      const { store } = await open(t, { module: shim });
      await store.add(key, { role: 'root' });
    }
    unloadPkcs11Module(shim);
    const prompt = new ScriptedPrompt(['000001', '000002', '000003']);
    const { store } = await open(t, { module: shim, env: {}, prompt });
    await assert.rejects((await store.signer(id)).sign(Buffer.from('x')), (e: unknown) => {
      assert.ok(e instanceof KeyStoreError && e.code === 'PIN_LOCKED', String(e));
      assert.equal(e.message, 'the user PIN of token "locky" is locked after too many wrong PINs');
      assert.match(e.hint!, /no key was changed/);
      return true;
    });
    assert.equal(prompt.output, [
      'Enter the User Pin for token "locky": ',
      'Wrong PIN. Please retry.',
      'Enter the User Pin for token "locky": ',
      'Wrong PIN. One attempt is left before the token locks its PIN.',
      'Enter the User Pin for token "locky": ',
      '',
    ].join('\n'));
    // Even the right PIN is refused now, without a login attempt; the key is still listed.
    unloadPkcs11Module(shim);
    const again = await open(t, { module: shim });
    await assert.rejects((await again.store.signer(id)).sign(Buffer.from('x')), (e: unknown) => e instanceof KeyStoreError && e.code === 'PIN_LOCKED');
    assert.deepEqual((await again.store.list()).map((r) => r.id), [id]);
  } finally {
    delete process.env['SHIM_STATE'];
  }
});

test("a token written with notary's templates (YubiKey emulation) is read and signed with; removal deletes the certificate as notary does", async () => {
  const t = await softToken('yk');
  const shim = await shimModule();
  process.env['SHIM_YUBIKEY'] = '1';
  process.env['SHIM_STATE'] = join(t.dir, 'tries');
  try {
    const trust = join(await tempDir('p11-ks-'), 'trust');
    const files = await openStore(trust, { env: { NOTARY_ROOT_PASSPHRASE: 'rootpass123' } });
    const { store, notices } = await open(t, { module: shim, backup: files, env: { DTRUST_PKCS11_PIN: TEST_PIN, DTRUST_PKCS11_SO_PIN: TEST_PIN } });
    assert.equal(store.yubikey, true);
    assert.equal(store.name, 'yubikey', "notary's location name");
    const key = generatePrivateKey('ecdsa');
    const id = keyIdOf(key);
    await store.add(key, { role: 'root' });
    const data = Buffer.from('payload');
    const { sig } = await (await store.signer(id)).sign(data);
    assert.ok(verifySignature('ecdsa', key.publicKey, 'ecdsa', data, sig));
    assert.ok(notices.includes('Please touch the attached Yubikey to perform signing.'), 'touch notice before signing on a YubiKey');
    await store.remove(id);
    assert.deepEqual(await store.list(), []);
    const { api, session } = raw(store);
    assert.deepEqual(objects(api, session, CKO_CERTIFICATE), []);
    api.C_CloseSession(session);
  } finally {
    delete process.env['SHIM_YUBIKEY'];
    delete process.env['SHIM_STATE'];
  }
});

test('a token pulled out in the middle of a command is a clear error (shim: CKR_DEVICE_REMOVED), and nothing is deleted', async () => {
  const t = await softToken('unplug');
  const shim = await shimModule();
  const flag = join(t.dir, 'unplugged');
  process.env['SHIM_UNPLUGGED'] = flag;
  try {
    const { store } = await open(t, { module: shim });
    const key = generatePrivateKey('ecdsa');
    const id = keyIdOf(key);
    await store.add(key, { role: 'root' });
    const signer = await store.signer(id);
    writeFileSync(flag, '');
    await assert.rejects(signer.sign(Buffer.from('x')), (e: unknown) => {
      assert.ok(e instanceof KeyStoreError && e.code === 'TOKEN_REMOVED', String(e));
      assert.equal(e.message, 'the token "unplug" was removed or stopped answering while signing (CKR_DEVICE_REMOVED)');
      assert.match(e.hint!, /plug the token back in and run the command again/);
      return true;
    });
    await assert.rejects(store.remove(id), (e: unknown) => e instanceof KeyStoreError && e.code === 'TOKEN_REMOVED');
    rmSync(flag);
    // Back in: the key is still there and signs.
    const { sig } = await (await store.signer(id)).sign(Buffer.from('x'));
    assert.ok(verifySignature('ecdsa', key.publicKey, 'ecdsa', Buffer.from('x'), sig));
  } finally {
    delete process.env['SHIM_UNPLUGGED'];
  }
});

test('token choice: DTRUST_PKCS11_TOKEN picks a token by label; uninitialised slots are skipped; missing token or driver is TOKEN_UNAVAILABLE', async () => {
  requirePkcs11Tools();
  const { dir, conf } = await softhsmConf();
  const t1: SoftToken = { dir, conf, label: 'first', pin: TEST_PIN };
  // No token yet: SoftHSM2 shows one uninitialised slot only.
  await assert.rejects(open(t1), (e: unknown) => {
    assert.ok(e instanceof KeyStoreError && e.code === 'TOKEN_UNAVAILABLE', String(e));
    assert.equal(e.message, `no token found through ${SOFTHSM_MODULE}`);
    return true;
  });
  unloadPkcs11Module(SOFTHSM_MODULE);
  await initToken(conf, 'first');
  await initToken(conf, 'second');
  // Without a label: the first initialised token in the module's slot order (SoftHSM2 orders its
  // slots by a random ID, so either).
  assert.ok(['first', 'second'].includes((await open(t1)).store.label));
  unloadPkcs11Module(SOFTHSM_MODULE);
  assert.equal((await open(t1, { tokenLabel: 'second' })).store.label, 'second');
  unloadPkcs11Module(SOFTHSM_MODULE);
  await assert.rejects(open(t1, { tokenLabel: 'third' }), (e: unknown) => {
    assert.ok(e instanceof KeyStoreError && e.code === 'TOKEN_UNAVAILABLE');
    assert.match(e.message, /^no token labelled "third" found through \/usr\/lib\/softhsm\/libsofthsm2\.so \(tokens present: ("first", "second"|"second", "first")\)$/);
    return true;
  });
  await assert.rejects(open(t1, { module: '/nonexistent/libykcs11.so' }), (e: unknown) => {
    assert.ok(e instanceof KeyStoreError && e.code === 'TOKEN_UNAVAILABLE');
    assert.equal(e.message, 'the PKCS#11 module /nonexistent/libykcs11.so does not exist');
    return true;
  });
  await assert.rejects(open(t1, { module: conf }), (e: unknown) => {
    assert.ok(e instanceof KeyStoreError && e.code === 'TOKEN_UNAVAILABLE');
    assert.match(e.message, new RegExp(`^cannot load the PKCS#11 module ${conf}: `));
    return true;
  });
  // pkcs11js itself missing (the optional dependency was not built).
  let asked = 0;
  await assert.rejects(
    open(t1, {
      module: await shimModule(),
      factory: async () => {
        asked++;
        throw new KeyStoreError('TOKEN_UNAVAILABLE', 'PKCS#11 support is not installed: the optional package pkcs11js could not be loaded (x)');
      },
    }),
    (e: unknown) => e instanceof KeyStoreError && e.code === 'TOKEN_UNAVAILABLE' && /pkcs11js could not be loaded/.test(e.message),
  );
  assert.equal(asked, 1);
});

test("module choice: flag, DTRUST_PKCS11_MODULE, config, then notary's search paths; none turns it off", () => {
  const none = (): boolean => false;
  assert.equal(resolvePkcs11Module({ env: {}, exists: none }), undefined);
  assert.deepEqual(resolvePkcs11Module({ env: {}, platform: 'linux', exists: (p) => p === '/usr/local/lib/libykcs11.so' }), { path: '/usr/local/lib/libykcs11.so', from: 'search' });
  assert.deepEqual(resolvePkcs11Module({ env: {}, platform: 'linux', exists: () => true }), { path: NOTARY_PKCS11_LIBS_LINUX[0], from: 'search' });
  assert.deepEqual(resolvePkcs11Module({ env: {}, config: '/c.so', exists: none }), { path: '/c.so', from: 'config' });
  assert.deepEqual(resolvePkcs11Module({ env: { DTRUST_PKCS11_MODULE: '/e.so' }, config: '/c.so', exists: none }), { path: '/e.so', from: 'env' });
  assert.deepEqual(resolvePkcs11Module({ flag: '/f.so', env: { DTRUST_PKCS11_MODULE: '/e.so' }, config: '/c.so' }), { path: '/f.so', from: 'flag' });
  assert.equal(resolvePkcs11Module({ flag: 'none', env: { DTRUST_PKCS11_MODULE: '/e.so' }, exists: () => true }), undefined);
  assert.equal(resolvePkcs11Module({ env: { DTRUST_PKCS11_MODULE: 'off' }, exists: () => true }), undefined);
  assert.equal(resolvePkcs11Module({ env: {}, config: 'none', exists: () => true }), undefined);
});

test('public key helpers agree with the token key ID', () => {
  const k = generatePrivateKey('ecdsa');
  assert.equal(publicKeyOf(k).id, new PublicKey('ecdsa', createPublicKey(k.privateKey).export({ format: 'der', type: 'spki' })).id);
});
