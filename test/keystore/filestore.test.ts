// The encrypted-file key store on copies of real notary trust directories: listing, signing,
// passphrases, role/ID checks, bad files, permissions, symlinks, legacy migration, writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePemBlocks } from '../../src/crypto/pem.js';
import { generatePrivateKey, keyBlockEncryption } from '../../src/crypto/keyfile.js';
import { verifySignature } from '../../src/crypto/signature.js';
import { PublicKey } from '../../src/tuf/keys.js';
import {
  FileKeyStore,
  KeyService,
  KeyStoreError,
  MemoryKeyStore,
  PassphraseRetriever,
  keyIdOf,
  sortKeyRecords,
  type KeyRecord,
} from '../../src/keystore/index.js';
import { NO_TERMINAL } from '../../src/cli/prompt.js';
import {
  FIXTURE_PASSPHRASES,
  LEGACY_PASSPHRASES,
  NOTARY01_TRUSTDIR,
  NOTARY03_TRUSTDIR,
  NOTARY07_KEYS,
  NOTARY07_TRUSTDIR,
  ScriptedPrompt,
  copyTrustDir,
  listTree,
  mode,
  openStore,
  treeHash,
} from './helpers.js';
import { tempDir } from '../rig/tmp.js';

const TARGETS_ID = '0d219c843fb79edde87000fa68ee3317c9d4a79c5a6f62299e0475103c2444b7';
const ROOT_ID = 'aca456b2672ed089d93a17c014ee6e89f4adf0a9cfc04c792a600cd5c6029577';
const DELEG_ID = '8fae7a8fe8f183e0d16983d33c2500f688b1291823131bbf437bcffa3cbd9846';

function isErr(code: string, re?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => e instanceof KeyStoreError && e.code === code && (re === undefined || re.test(e.message));
}

/** Public keys listed in the fixture's metadata, by canonical ID. */
function metadataKeys(trustDir: string): Map<string, PublicKey> {
  const out = new Map<string, PublicKey>();
  const md = join(trustDir, 'tuf', 'example.com', 'test1', 'metadata');
  for (const f of ['root.json', 'targets.json']) {
    const j = JSON.parse(readFileSync(join(md, f), 'utf8')) as { signed: { keys?: Record<string, { keytype: string; keyval: { public: string } }>; delegations?: { keys: Record<string, { keytype: string; keyval: { public: string } }> } } };
    const keys = { ...(j.signed.keys ?? {}), ...(j.signed.delegations?.keys ?? {}) };
    for (const k of Object.values(keys)) {
      const pk = new PublicKey(k.keytype, Buffer.from(k.keyval.public, 'base64'));
      out.set(pk.canonicalId, pk);
    }
  }
  return out;
}

test('the notary 0.7 fixture lists identically to notary and every key signs what its metadata key verifies', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
  const store = await openStore(dir, { env: FIXTURE_PASSPHRASES });
  const list = sortKeyRecords(await store.list());
  const expected: KeyRecord[] = sortKeyRecords(
    Object.entries(NOTARY07_KEYS).map(([id, v]) => ({ id, role: v.role, gun: v.gun, location: join(dir, 'private') })),
  );
  assert.deepEqual(list, expected);
  assert.deepEqual(
    list.map((r) => r.role),
    ['root', 'root', 'targets/releases', 'snapshot', 'targets'],
  );
  const published = metadataKeys(dir);
  const msg = Buffer.from('{"_type":"Targets"}');
  let verified = 0;
  for (const rec of list) {
    const signer = await store.signer(rec.id, { role: rec.role, gun: 'example.com/test1' });
    assert.equal(signer.publicKey.id, rec.id);
    const meta = published.get(rec.id);
    if (!meta) continue; // the old root key of the rotation is still listed in root.json; the other may not be
    const s = meta.isX509 ? signer.withPublicKey(meta) : signer;
    const { method, sig } = await s.sign(msg);
    assert.equal(verifySignature(meta.keytype, meta.keyObject(), method, msg, sig), true, rec.role);
    verified++;
  }
  assert.ok(verified >= 4, `verified ${verified}`);
});

test('a wrong passphrase is WRONG_PASSPHRASE for that key (not "not found"); nothing changes on disk', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
  const before = treeHash(dir);
  const store = await openStore(dir, { env: { NOTARY_TARGETS_PASSPHRASE: 'wrong-passphrase' }, prompt: NO_TERMINAL });
  await assert.rejects(store.signer(TARGETS_ID), isErr('WRONG_PASSPHRASE', /NOTARY_TARGETS_PASSPHRASE does not decrypt the targets key 0d219c8/));
  await assert.rejects(store.signer(ROOT_ID), isErr('NO_PASSPHRASE', /NOTARY_ROOT_PASSPHRASE is not set/));
  const s2 = await openStore(dir, { env: {}, prompt: new ScriptedPrompt(['a', 'b', 'c', 'd']) });
  await assert.rejects(s2.signer(DELEG_ID), isErr('WRONG_PASSPHRASE', /4 attempts/));
  await assert.rejects(store.signer('f'.repeat(64)), isErr('KEY_NOT_FOUND'));
  await assert.rejects(store.signer('../../etc/passwd'), isErr('INVALID_KEY_ID'));
  assert.equal(treeHash(dir), before);
});

test('prepare: unlocks in the background with what needs no typing, never prompts, leaves failures to signer()', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
  const open = async (env: Record<string, string>, prompt: ScriptedPrompt): Promise<{ store: FileKeyStore; quiet: number[] }> => {
    const passphrases = new PassphraseRetriever({ env, prompt });
    const quiet: number[] = [];
    const unlock = passphrases.unlock.bind(passphrases);
    passphrases.unlock = (req, attempt, opts) => {
      quiet.push(opts?.prompt === false ? 1 : 0);
      return unlock(req, attempt, opts);
    };
    return { store: await FileKeyStore.open({ trustDir: dir, passphrases, iterations: 2048 }), quiet };
  };

  // From the environment: decrypted by prepare, signer() finds it ready.
  const silent = new ScriptedPrompt([]);
  const a = await open({ NOTARY_TARGETS_PASSPHRASE: FIXTURE_PASSPHRASES['NOTARY_TARGETS_PASSPHRASE']! }, silent);
  a.store.prepare(TARGETS_ID, { role: 'targets' });
  a.store.prepare(TARGETS_ID, { role: 'targets' });
  await a.store.signer(TARGETS_ID, { role: 'targets' });
  assert.deepEqual(a.quiet, [1], 'one quiet unlock, none by signer()');
  assert.equal(silent.output, '');

  // Nothing in the environment: prepare asks nothing; signer() prompts as before.
  const typed = new ScriptedPrompt([FIXTURE_PASSPHRASES['NOTARY_TARGETS_PASSPHRASE']!]);
  const b = await open({}, typed);
  b.store.prepare(TARGETS_ID, { role: 'targets' });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(typed.output, '', 'prepare never prompts');
  await b.store.signer(TARGETS_ID, { role: 'targets' });
  assert.match(typed.output, /^Enter passphrase for targets key with ID 0d219c8: \n$/);

  // A wrong passphrase in the environment: prepare says nothing; signer() reports and prompts.
  const retry = new ScriptedPrompt([FIXTURE_PASSPHRASES['NOTARY_TARGETS_PASSPHRASE']!]);
  const c = await open({ NOTARY_TARGETS_PASSPHRASE: 'wrong-passphrase' }, retry);
  c.store.prepare(TARGETS_ID, { role: 'targets' });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(retry.output, '');
  await c.store.signer(TARGETS_ID, { role: 'targets' });
  assert.match(retry.output, /does not decrypt the targets key 0d219c8/);

  // The role check still belongs to signer().
  const d = await open(FIXTURE_PASSPHRASES as Record<string, string>, new ScriptedPrompt([]));
  d.store.prepare(ROOT_ID, { role: 'targets' });
  await assert.rejects(d.store.signer(ROOT_ID, { role: 'targets' }), isErr('ROLE_MISMATCH'));
});

test('a key is only used for its role and GUN; a renamed file is KEY_ID_MISMATCH', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
  const store = await openStore(dir, { env: FIXTURE_PASSPHRASES });
  await assert.rejects(store.signer(ROOT_ID, { role: 'targets' }), isErr('ROLE_MISMATCH', /root key and cannot sign for targets/));
  await assert.rejects(store.signer(TARGETS_ID, { role: 'targets/releases' }), isErr('ROLE_MISMATCH'));
  await assert.rejects(store.signer(DELEG_ID, { role: 'snapshot' }), isErr('ROLE_MISMATCH'));
  await assert.rejects(store.signer(TARGETS_ID, { role: 'targets', gun: 'example.com/other' }), isErr('ROLE_MISMATCH', /belongs to example.com\/test1/));
  // Delegation keys sign for any delegation (docker signers sign targets/<name> and targets/releases).
  await store.signer(DELEG_ID, { role: 'targets/qa' });
  const fake = 'e'.repeat(64);
  renameSync(join(dir, 'private', `${ROOT_ID}.key`), join(dir, 'private', `${fake}.key`));
  const fresh = await openStore(dir, { env: FIXTURE_PASSPHRASES });
  await assert.rejects(fresh.signer(fake), isErr('KEY_ID_MISMATCH', new RegExp(`has ID ${ROOT_ID}`)));
});

test('corrupt, truncated, empty and non-key files: clear errors, listing skips them, nothing changes', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
  const priv = join(dir, 'private');
  const text = readFileSync(join(priv, `${TARGETS_ID}.key`), 'utf8');
  const ids = { truncated: '1'.repeat(64), garbage: '2'.repeat(64), empty: '3'.repeat(64), cert: '4'.repeat(64), cutpem: '5'.repeat(64) };
  writeFileSync(join(priv, `${ids.truncated}.key`), text.replace(/\n[^\n]+\n-----END/, '\n-----END'), { mode: 0o600 });
  writeFileSync(join(priv, `${ids.garbage}.key`), 'this is not a key\n', { mode: 0o600 });
  writeFileSync(join(priv, `${ids.empty}.key`), '', { mode: 0o600 });
  writeFileSync(join(priv, `${ids.cert}.key`), readFileSync(join(NOTARY07_TRUSTDIR, 'deleg_cert.pem')), { mode: 0o600 });
  writeFileSync(join(priv, `${ids.cutpem}.key`), text.slice(0, 200), { mode: 0o600 });
  const before = treeHash(dir);
  const logs: string[] = [];
  const store = await openStore(dir, { env: FIXTURE_PASSPHRASES, logs });
  const listed = (await store.list()).map((r) => r.id).sort();
  assert.deepEqual(listed, Object.keys(NOTARY07_KEYS).sort().concat([ids.truncated]).sort());
  assert.equal(logs.filter((l) => l.startsWith('error: skipping')).length, 4, logs.join('\n'));
  await assert.rejects(store.signer(ids.truncated), isErr('BAD_KEY_FILE', /truncated/));
  await assert.rejects(store.signer(ids.garbage), isErr('BAD_KEY_FILE', /no PEM block/));
  await assert.rejects(store.signer(ids.empty), isErr('BAD_KEY_FILE'));
  await assert.rejects(store.signer(ids.cert), isErr('UNSUPPORTED_KEY', /not a private key file/));
  await assert.rejects(store.signer(ids.cutpem), isErr('BAD_KEY_FILE'));
  // add() never overwrites a damaged file that has the same name.
  assert.equal(treeHash(dir), before);
});

test('permissions: a private dir other users can write is reported and keys are not written there', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
  chmodSync(join(dir, 'private'), 0o775);
  const before = treeHash(dir);
  const logs: string[] = [];
  const store = await openStore(dir, { env: { ...FIXTURE_PASSPHRASES, NOTARY_DELEGATION_PASSPHRASE: 'delegpass' }, logs });
  assert.deepEqual(
    logs.filter((l) => l.startsWith('warning:')),
    [`warning: ${join(dir, 'private')} is writable by other users (mode 0775): dtrust will not write or use private keys there; run chmod 700 on it (and make sure you own it)`],
  );
  // A key there is not used (another user could have planted it)...
  await assert.rejects(store.signer(DELEG_ID), isErr('INSECURE_PERMISSIONS', /refusing to use private keys: .* is writable by other users \(mode 0775\)/));
  assert.equal((await store.list()).length > 0, true, 'listing still works');
  // ...nor written.
  await assert.rejects(store.add(generatePrivateKey('ecdsa'), { role: 'targets/x' }), isErr('INSECURE_PERMISSIONS', /refusing to write private keys: .* is writable by other users \(mode 0775\)/));
  await assert.rejects(store.changePassphrase(DELEG_ID, new PassphraseRetriever({ env: { X: 'new-passphrase' } }), { variables: ['X'] }), isErr('INSECURE_PERMISSIONS'));
  await assert.rejects(store.remove(DELEG_ID), isErr('INSECURE_PERMISSIONS'));
  assert.equal(treeHash(dir), before);
  // A key file readable by others gets a warning.
  chmodSync(join(dir, 'private'), 0o700);
  chmodSync(join(dir, 'private', `${ROOT_ID}.key`), 0o644);
  const logs2: string[] = [];
  const s2 = await openStore(dir, { env: FIXTURE_PASSPHRASES, logs: logs2 });
  await s2.signer(ROOT_ID);
  assert.ok(logs2.some((l) => l.includes(`${ROOT_ID}.key is accessible by other users (mode 0644)`)), logs2.join('\n'));
});

test('permissions: which modes refuse writing keys and which only warn', async () => {
  const cases: { trust: number; priv: number; refused?: RegExp; warning?: RegExp }[] = [
    { trust: 0o700, priv: 0o700 },
    // mkdir'ed trust dirs: others can read or traverse, keys stay protected by private/ and the files.
    { trust: 0o755, priv: 0o700, warning: /^warning: other users can access \S+ \(mode 0755\); the private keys stay protected: key files are mode 0600, in \S+\/private \(mode 0700\)$/ },
    { trust: 0o711, priv: 0o700, warning: /other users can access \S+ \(mode 0711\)/ },
    { trust: 0o750, priv: 0o750, warning: /other users can access \S+ \(mode 0750\) and \S+\/private \(mode 0750\); the private keys stay protected: key files are mode 0600$/ },
    // Sticky: others cannot remove or rename what is ours.
    { trust: 0o1777, priv: 0o700, warning: /other users can access \S+ \(mode 1777\)/ },
    { trust: 0o775, priv: 0o700, refused: /\S+ is writable by other users \(mode 0775\)$/ },
    { trust: 0o757, priv: 0o700, refused: /is writable by other users \(mode 0757\)/ },
    { trust: 0o700, priv: 0o770, refused: /private is writable by other users \(mode 0770\)/ },
  ];
  for (const c of cases) {
    const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
    chmodSync(dir, c.trust);
    chmodSync(join(dir, 'private'), c.priv);
    const logs: string[] = [];
    const store = await openStore(dir, { env: { ...FIXTURE_PASSPHRASES, NOTARY_DELEGATION_PASSPHRASE: 'delegpass' }, logs });
    const what = `trust ${c.trust.toString(8)}, private ${c.priv.toString(8)}`;
    const warnings = logs.filter((l) => l.startsWith('warning:'));
    if (c.warning) {
      assert.equal(warnings.length, 1, `${what}: one warning\n${logs.join('\n')}`);
      assert.match(warnings[0]!, c.warning, what);
    } else if (!c.refused) assert.deepEqual(warnings, [], what);
    const use = store.signer(DELEG_ID);
    if (c.refused) await assert.rejects(use, isErr('INSECURE_PERMISSIONS', /refusing to use private keys/), what);
    else await use;
    const add = store.add(generatePrivateKey('ecdsa'), { role: 'targets/x' });
    if (c.refused) await assert.rejects(add, isErr('INSECURE_PERMISSIONS', c.refused), what);
    else {
      const rec = await add;
      assert.equal(mode(join(dir, 'private', `${rec.id}.key`)), 0o600, what);
      assert.equal(mode(join(dir, 'private')), c.priv, `${what}: modes of existing directories are left alone`);
    }
  }
  // A fresh trust dir made with mkdir (0755): private/ is created 0700.
  const fresh = join(await tempDir('ks-mkdir-'), 'trust');
  mkdirSync(fresh, { mode: 0o755 });
  chmodSync(fresh, 0o755);
  const store = await openStore(fresh, { env: FIXTURE_PASSPHRASES });
  const rec = await store.add(generatePrivateKey('ecdsa'), { role: 'root' });
  assert.equal(mode(join(fresh, 'private')), 0o700);
  assert.equal(mode(join(fresh, 'private', `${rec.id}.key`)), 0o600);
});

test('symbolic links: not listed, not read, not written through', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
  const priv = join(dir, 'private');
  const outside = join(await tempDir('ks-outside-'), 'victim.key');
  writeFileSync(outside, readFileSync(join(priv, `${ROOT_ID}.key`)));
  const linkId = '9'.repeat(64);
  symlinkSync(outside, join(priv, `${linkId}.key`));
  const before = treeHash(dir);
  const outsideBefore = readFileSync(outside);
  const store = await openStore(dir, { env: FIXTURE_PASSPHRASES });
  assert.ok(!(await store.list()).some((r) => r.id === linkId));
  await assert.rejects(store.signer(linkId), isErr('SYMLINK'));
  // A link where a new key would be written is refused (the key's own name is the link).
  const key = generatePrivateKey('ecdsa');
  const id = keyIdOf(key);
  symlinkSync(outside, join(priv, `${id}.key`));
  await assert.rejects(store.add(key, { role: 'targets/x' }), isErr('SYMLINK'));
  assert.deepEqual(readFileSync(outside), outsideBefore);
  assert.equal(existsSync(join(priv, `${id}.key`)), true);
  assert.notEqual(treeHash(dir), before); // only our planted link differs
});

test('add, list, sign, change passphrase, remove: notary headers, 0600/0700, atomic, no temp files', async () => {
  const home = await tempDir('ks-new-');
  const dir = join(home, 'trust');
  const prompt = new ScriptedPrompt(['targets-pass-1', 'targets-pass-1']);
  const store = await FileKeyStore.open({
    trustDir: dir,
    passphrases: new PassphraseRetriever({ env: { NOTARY_ROOT_PASSPHRASE: 'root-pass-123', NOTARY_DELEGATION_PASSPHRASE: 'deleg-pass-1' }, prompt }),
    iterations: 4096,
  });
  assert.equal(existsSync(dir), false, 'opening creates nothing');
  const keys = { root: generatePrivateKey('ecdsa'), targets: generatePrivateKey('ed25519'), deleg: generatePrivateKey('rsa', 2048) };
  const r1 = await store.add(keys.root, { role: 'root', gun: 'ignored/for/root' });
  const r2 = await store.add(keys.targets, { role: 'targets', gun: 'example.com/app' });
  const r3 = await store.add(keys.deleg, { role: 'targets/releases', gun: 'ignored' });
  assert.deepEqual([r1.gun, r2.gun, r3.gun], ['', 'example.com/app', '']);
  assert.equal(prompt.remaining, 0);
  assert.deepEqual(listTree(dir), [`private/ 700`, ...[r1, r2, r3].map((r) => `private/${r.id}.key 600`).sort()]);
  assert.equal(mode(dir), 0o700);
  const headerOf = (id: string): string => readFileSync(join(dir, 'private', `${id}.key`), 'utf8').split('\n\n')[0]!;
  assert.equal(headerOf(r1.id), '-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: root');
  assert.equal(headerOf(r2.id), '-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: example.com/app\nrole: targets');
  assert.equal(headerOf(r3.id), '-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: targets/releases');
  // Same key, same role: no-op. Same key, other role: refused.
  assert.deepEqual(await store.add(keys.root, { role: 'root' }), r1);
  await assert.rejects(store.add(keys.root, { role: 'targets/x' }), isErr('KEY_EXISTS', /already exists for role root/));

  // A second process (fresh store) needs the passphrases.
  const reopened = await openStore(dir, { env: { NOTARY_TARGETS_PASSPHRASE: 'targets-pass-1' } });
  await reopened.signer(r2.id);
  // Change the passphrase of the targets key: headers kept, old passphrase gone, KDF as configured.
  const before = readFileSync(join(dir, 'private', `${r2.id}.key`), 'utf8');
  await reopened.changePassphrase(r2.id, new PassphraseRetriever({ env: { DTRUST_NEW_PASSPHRASE: 'changed-pass-9' } }), { variables: ['DTRUST_NEW_PASSPHRASE'] });
  const after = readFileSync(join(dir, 'private', `${r2.id}.key`), 'utf8');
  assert.notEqual(after, before);
  assert.equal(headerOf(r2.id), '-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: example.com/app\nrole: targets');
  assert.equal(mode(join(dir, 'private', `${r2.id}.key`)), 0o600);
  const enc = keyBlockEncryption(decodePemBlocks(after)[0]!);
  assert.ok(enc.scheme === 'pbes2' && enc.params.iterations === 2048);
  await assert.rejects((await openStore(dir, { env: { NOTARY_TARGETS_PASSPHRASE: 'targets-pass-1' } })).signer(r2.id), isErr('WRONG_PASSPHRASE'));
  await (await openStore(dir, { env: { NOTARY_TARGETS_PASSPHRASE: 'changed-pass-9' } })).signer(r2.id);

  await reopened.remove(r3.id);
  await assert.rejects(reopened.remove(r3.id), isErr('KEY_NOT_FOUND'));
  assert.deepEqual(readdirSync(join(dir, 'private')).sort(), [r1.id, r2.id].map((i) => `${i}.key`).sort());
});

test('a failure at any step of a write leaves the old key and no temp file', async () => {
  for (const point of ['passwd:created', 'passwd:written', 'passwd:synced']) {
    const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
    const before = treeHash(dir);
    const store = await FileKeyStore.open({
      trustDir: dir,
      passphrases: new PassphraseRetriever({ env: FIXTURE_PASSPHRASES }),
      iterations: 2048,
      fault: (p) => {
        if (p === point) throw new Error(`injected at ${p}`);
      },
    });
    await assert.rejects(store.changePassphrase(TARGETS_ID, new PassphraseRetriever({ env: { N: 'new-pass-word' } }), { variables: ['N'] }), /injected/);
    assert.equal(treeHash(dir), before, point);
  }
});

test('notary 0.1 legacy layout: migrated on open (copy first, then delete), headers set, keys decrypt', async () => {
  const dir = await copyTrustDir(NOTARY01_TRUSTDIR);
  const logs: string[] = [];
  const store = await openStore(dir, { env: LEGACY_PASSPHRASES, logs });
  const ids = {
    root: 'd0c623c8e70c70d42a8a8125c44a8598588b3f6e31d5c21a83cbc338dfde8a68',
    targets: '7fc757801b9bab4ec9e35bfe7a6b61668ff6f4c81b5632af19e6c728ab799599',
    snapshot: 'a55ccf652b0be4b6c4d356cbb02d9ea432bb84a2571665be3df7c7396af8e8b8',
  };
  assert.deepEqual(readdirSync(join(dir, 'private')).sort(), Object.values(ids).map((i) => `${i}.key`).sort());
  // The top-level trusted_certificates/ of 0.1 is left alone.
  assert.ok(existsSync(join(dir, 'trusted_certificates')));
  const gun = 'docker.com/notary0.1/samplerepo';
  assert.deepEqual(sortKeyRecords(await store.list()), sortKeyRecords([
    { id: ids.root, role: 'root', gun: '', location: join(dir, 'private') },
    { id: ids.targets, role: 'targets', gun, location: join(dir, 'private') },
    { id: ids.snapshot, role: 'snapshot', gun, location: join(dir, 'private') },
  ]));
  const targetsText = readFileSync(join(dir, 'private', `${ids.targets}.key`), 'utf8');
  assert.match(targetsText, /^-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,[0-9a-f]{32}\ngun: docker.com\/notary0.1\/samplerepo\nrole: targets\n\n/);
  for (const [role, id] of Object.entries(ids)) await store.signer(id, { role, gun });
  assert.equal(logs.filter((l) => l.startsWith('info: migrated')).length, 3);
  assert.deepEqual(listTree(join(dir, 'private')), Object.values(ids).map((i) => `${i}.key 600`).sort());
});

test('notary 0.3 legacy layout: migrated with roles from headers and GUNs from directories', async () => {
  const dir = await copyTrustDir(NOTARY03_TRUSTDIR);
  const store = await openStore(dir, { env: LEGACY_PASSPHRASES });
  const list = sortKeyRecords(await store.list()).map((r) => `${r.role}|${r.gun}|${r.id.slice(0, 8)}`);
  assert.deepEqual(list, ['root||f4eaf871', 'targets/releases||fa842f66', 'snapshot|docker.com/notary0.3/tst|85559599', 'targets|docker.com/notary0.3/tst|041b64da']);
  assert.deepEqual(readdirSync(join(dir, 'private')).length, 4);
  // As formats.md §4.5 says, these fixtures do not decrypt with the documented passphrase.
  const rootRec = (await store.list()).find((r) => r.role === 'root')!;
  await assert.rejects(store.signer(rootRec.id), isErr('WRONG_PASSPHRASE'));
});

test('migration never overwrites: a conflicting copy keeps the legacy file in place and still lists the key', async () => {
  const dir = await copyTrustDir(NOTARY01_TRUSTDIR);
  const id = 'd0c623c8e70c70d42a8a8125c44a8598588b3f6e31d5c21a83cbc338dfde8a68';
  writeFileSync(join(dir, 'private', `${id}.key`), 'something else\n', { mode: 0o600 });
  const logs: string[] = [];
  await openStore(dir, { env: LEGACY_PASSPHRASES, logs });
  assert.ok(existsSync(join(dir, 'private', 'root_keys', `${id}_root.key`)));
  assert.equal(readFileSync(join(dir, 'private', `${id}.key`), 'utf8'), 'something else\n');
  assert.ok(logs.some((l) => l.includes('already exists with other contents')), logs.join('\n'));
  // A private dir other users can write: migration is skipped with a warning, the legacy keys are listed but not used.
  const dir2 = await copyTrustDir(NOTARY01_TRUSTDIR);
  chmodSync(join(dir2, 'private'), 0o775);
  const logs2: string[] = [];
  const s2 = await openStore(dir2, { env: LEGACY_PASSPHRASES, logs: logs2 });
  assert.ok(logs2.some((l) => l.includes('not migrating the legacy key directories')));
  const recs = await s2.list();
  assert.equal(recs.length, 3);
  await assert.rejects(s2.signer(id, { role: 'root' }), isErr('INSECURE_PERMISSIONS', /refusing to use private keys/));
});

test('memory store and the key service: root-only stores never receive other keys', async () => {
  const token = new MemoryKeyStore('yubikey', (role) => role === 'root');
  const mem = new MemoryKeyStore();
  const svc = new KeyService([token, mem]);
  const root = await svc.create({ role: 'root' });
  const targets = await svc.create({ role: 'targets', gun: 'example.com/x' });
  assert.equal(root.record.location, 'yubikey');
  assert.equal(targets.record.location, 'memory');
  assert.deepEqual((await token.list()).map((r) => r.role), ['root']);
  const signer = await svc.signer(targets.record.id, { role: 'targets' });
  const { method, sig } = await signer.sign(Buffer.from('x'));
  assert.equal(verifySignature('ecdsa', targets.publicKey.keyObject(), method, Buffer.from('x'), sig), true);
  await assert.rejects(svc.signer('0'.repeat(64)), isErr('KEY_NOT_FOUND'));
  await assert.rejects(token.add(generatePrivateKey('ecdsa'), { role: 'targets' }), isErr('NOT_SUPPORTED'));
  const again = generatePrivateKey('ecdsa');
  await svc.add(again, { role: 'targets/a' });
  await assert.rejects(svc.add(again, { role: 'targets/b' }), isErr('KEY_EXISTS'));
});
