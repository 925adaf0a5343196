// Crash safety of key writes (SEC-F1, SEC-C4): the process is SIGKILLed in the middle of
// `key passwd`, `key import` and the legacy migration, at every named write step (through the
// DTRUST_TEST_KILL_AT hook) and at random moments. Afterwards every key still decrypts (with the
// old or the new passphrase), no temp file survives the next run, and nothing else changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isTempName } from '../../src/fs/atomic.js';
import { FileKeyStore, PassphraseRetriever } from '../../src/keystore/index.js';
import { DTRUST_BIN, baseEnv, runProcess } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';
import { FIXTURE_PASSPHRASES, NOTARY01_TRUSTDIR, NOTARY07_KEYS, NOTARY07_TRUSTDIR, copyTrustDir, dtrustKey } from './key-helpers.js';

const TARGETS_ID = '0d219c843fb79edde87000fa68ee3317c9d4a79c5a6f62299e0475103c2444b7';
const SIGKILL_EXIT = 137;

/** Every key of the trust dir decrypts with one of the passphrases given per role. */
async function assertAllKeysLoad(trustDir: string, env: Record<string, string>, expectedIds: readonly string[]): Promise<void> {
  const store = await FileKeyStore.open({ trustDir, passphrases: new PassphraseRetriever({ env }), migrate: false });
  const recs = await store.list();
  assert.deepEqual(recs.map((r) => r.id).sort(), [...expectedIds].sort());
  for (const r of recs) await store.signer(r.id);
}

function temps(dir: string): string[] {
  return readdirSync(join(dir, 'private')).filter(isTempName);
}

test('SIGKILL at each step of key passwd: the key loads with the old or the new passphrase', async () => {
  const points = ['passwd:created', 'passwd:written', 'passwd:synced', 'passwd:renamed'];
  for (const point of points) {
    const dir = await copyTrustDir(NOTARY07_TRUSTDIR, 'key-crash-');
    const r = await dtrustKey(dir, ['key', 'passwd', TARGETS_ID], {
      env: { ...FIXTURE_PASSPHRASES, DTRUST_NEW_PASSPHRASE: 'new-targets-pass', DTRUST_TEST_KILL_AT: point },
    });
    assert.equal(r.code, SIGKILL_EXIT, `${point}: ${r.stdout}${r.stderr}`);
    // A kill before the rename leaves the dead writer's temp file (never read as a key).
    assert.equal(temps(dir).length, point === 'passwd:renamed' ? 0 : 1, point);
    // Old passphrase (NOTARY_) or new one (DOCKER_ repository variable): one of them works.
    const env = { ...FIXTURE_PASSPHRASES, DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'new-targets-pass' } as Record<string, string>;
    await assertAllKeysLoad(dir, env, Object.keys(NOTARY07_KEYS));
    const renamed = point === 'passwd:renamed';
    const withNew = FileKeyStore.open({ trustDir: dir, passphrases: new PassphraseRetriever({ env: { NOTARY_TARGETS_PASSPHRASE: renamed ? 'new-targets-pass' : 'targetspass' } }) });
    await (await withNew).signer(TARGETS_ID);
    // The next run (here: the store opened above, and any dtrust command) removes it.
    const list = await dtrustKey(dir, ['key', 'list']);
    assert.equal(list.code, 0);
    assert.deepEqual(temps(dir), [], point);
  }
});

test('SIGKILL at random moments of key passwd (slower KDF): every key always loads', async () => {
  const delays = [5, 60, 120, 180, 240, 300];
  for (const delay of delays) {
    const dir = await copyTrustDir(NOTARY07_TRUSTDIR, 'key-crash-rand-');
    const env = { ...baseEnv(dir), ...FIXTURE_PASSPHRASES, DTRUST_NEW_PASSPHRASE: 'new-targets-pass', DTRUST_KDF_ITERATIONS: '200000' };
    const child = runProcess('sh', ['-c', `exec "$0" "$1" -d "$2" key passwd "$3" & pid=$!; sleep ${delay / 1000}; kill -9 $pid 2>/dev/null; wait $pid`, process.execPath, DTRUST_BIN, dir, TARGETS_ID], { env, cwd: dir });
    const r = await child;
    assert.ok(r.code === 0 || r.code === SIGKILL_EXIT, `${delay} ms: ${r.code} ${r.stdout}${r.stderr}`);
    await assertAllKeysLoad(dir, { ...FIXTURE_PASSPHRASES, DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'new-targets-pass' } as Record<string, string>, Object.keys(NOTARY07_KEYS));
  }
});

test('SIGKILL during key import of several keys: each key is complete or absent; a rerun finishes', async () => {
  const home = await tempDir('key-crash-import-');
  const pems = Array.from({ length: 3 }, () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  const file = join(home, 'three.pem');
  writeFileSync(file, pems.join(''));
  const env = { NOTARY_DELEGATION_PASSPHRASE: 'import-passphrase' };
  for (const point of ['import:created@1', 'import:renamed@1', 'import:written@2', 'import:synced@3', 'import:renamed@3']) {
    const dir = join(await tempDir('key-crash-import-'), 'trust');
    const r = await dtrustKey(dir, ['key', 'import', file], { env: { ...env, DTRUST_TEST_KILL_AT: point } });
    assert.equal(r.code, SIGKILL_EXIT, `${point}: ${r.stdout}${r.stderr}`);
    const present = readdirSync(join(dir, 'private')).filter((f) => f.endsWith('.key')).map((f) => f.slice(0, -4));
    const n = Number(point.split('@')[1]);
    assert.equal(present.length, point.startsWith('import:renamed') ? n : n - 1, point);
    await assertAllKeysLoad(dir, env, present);
    const again = await dtrustKey(dir, ['key', 'import', file], { env });
    assert.equal(again.code, 0, again.stderr);
    const all = readdirSync(join(dir, 'private'));
    assert.equal(all.filter((f) => f.endsWith('.key')).length, 3);
    assert.deepEqual(all.filter(isTempName), []);
    await assertAllKeysLoad(dir, env, all.map((f) => f.slice(0, -4)));
  }
});

test('SIGKILL during the legacy migration: every key is in its old or its new place, and loads', async () => {
  const legacyEnv = { NOTARY_ROOT_PASSPHRASE: 'randompass', NOTARY_TARGETS_PASSPHRASE: 'randompass', NOTARY_SNAPSHOT_PASSPHRASE: 'randompass' };
  const ids = [
    'd0c623c8e70c70d42a8a8125c44a8598588b3f6e31d5c21a83cbc338dfde8a68',
    '7fc757801b9bab4ec9e35bfe7a6b61668ff6f4c81b5632af19e6c728ab799599',
    'a55ccf652b0be4b6c4d356cbb02d9ea432bb84a2571665be3df7c7396af8e8b8',
  ];
  for (const point of ['migrate:written@1', 'migrate:synced@2', 'migrate:renamed@2', 'migrate:renamed@3']) {
    const dir = await copyTrustDir(NOTARY01_TRUSTDIR, 'key-crash-migrate-');
    const r = await dtrustKey(dir, ['key', 'list'], { env: { DTRUST_TEST_KILL_AT: point } });
    assert.equal(r.code, SIGKILL_EXIT, point);
    // Without migrating further: both layouts together still hold every key.
    const store = await FileKeyStore.open({ trustDir: dir, passphrases: new PassphraseRetriever({ env: legacyEnv }), migrate: false });
    assert.deepEqual((await store.list()).map((k) => k.id).sort(), [...ids].sort(), point);
    for (const id of ids) await store.signer(id);
    // The next run completes the migration.
    const list = await dtrustKey(dir, ['key', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(readdirSync(join(dir, 'private')).sort(), ids.map((i) => `${i}.key`).sort());
    await assertAllKeysLoad(dir, legacyEnv, ids);
  }
});
