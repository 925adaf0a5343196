// A root key on a token is usable by both tools, checked with the REAL notary 0.7 binary.
//
// notary only loads a PKCS#11 library from fixed YubiKey paths (trustmanager/yubikey/
// pkcs11_linux.go); the last is /usr/local/lib/libykcs11.so. Each notary run here gets a private
// mount namespace in which that path is the token library (nothing outside the run sees it).
// notary logs in with the YubiKey defaults (user PIN 123456, SO PIN = the PIV management key),
// then asks its retriever with alias "yubikey", i.e. NOTARY_DELEGATION_PASSPHRASE.
//
// What was found and is pinned below:
//  - notary reads and signs with a key dtrust put on a plain SoftHSM2 token;
//  - notary cannot write to a plain SoftHSM2 token: its certificate template lacks
//    CKA_CERTIFICATE_TYPE/CKA_SUBJECT (CKR_TEMPLATE_INCOMPLETE), its objects are session objects,
//    and it writes as SO; it then keeps the key on disk. A YubiKey accepts all of that. So the
//    notary -> token -> dtrust direction runs on the test shim in YubiKey mode
//    (test/keystore/fixtures/pkcs11-shim.c), which gives SoftHSM2 those YubiKey behaviours and
//    leaves notary's bytes alone: notary's real write path, dtrust reads what it wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PublicKey } from '../../src/tuf/keys.js';
import { NotaryClient, baseEnv, describeFailure, runDtrust, type RunResult } from '../rig/notary.js';
import { useNotaryServer } from '../rig/server.js';
import { tempDir } from '../rig/tmp.js';
import { SOFTHSM_MODULE, TEST_PIN, TEST_SO_PIN, notaryWithToken, shimModule, softToken, tokenEnv } from '../keystore/pkcs11-helpers.js';

const server = useNotaryServer();

function must(what: string, args: readonly string[], r: RunResult): RunResult {
  if (r.code !== 0) assert.fail(describeFailure(what, args, r));
  return r;
}

async function rootKeyOnServer(gun: string): Promise<string[]> {
  const fresh = await NotaryClient.create({ serverUrl: server().url, home: await tempDir('p11-fresh-') });
  await fresh.runOk(['list', gun]);
  const root = JSON.parse(readFileSync(join(fresh.trustDir, 'tuf', gun, 'metadata', 'root.json'), 'utf8')) as {
    signed: { roles: { root: { keyids: string[] } }; keys: Record<string, { keytype: string; keyval: { public: string } }> };
  };
  return root.signed.roles.root.keyids.map((id) => {
    const k = root.signed.keys[id]!;
    return new PublicKey(k.keytype, Buffer.from(k.keyval.public, 'base64')).canonicalId;
  });
}

test('dtrust -> token -> notary: notary lists the root key dtrust put on the token as `yubikey` and signs root metadata with it', async () => {
  const t = await softToken('dt2notary');
  const home = await tempDir('p11-dt2n-');
  const trust = join(home, 'trust');
  const gun = 'example.com/p11/dt2notary';
  const env = { DTRUST_KDF_ITERATIONS: '2048', ...tokenEnv(t) };
  const args = ['-s', server().url, '-d', trust, 'init', gun, '-p'];
  must('dtrust', args, await runDtrust(args, { env, home }));
  const rootId = (await rootKeyOnServer(gun))[0]!;

  // notary's trust dir: dtrust's, without the disk copy of the root key (only the token has it).
  const ntrust = join(home, 'notary-trust');
  cpSync(trust, ntrust, { recursive: true });
  rmSync(join(ntrust, 'private', `${rootId}.key`));
  const nenv = { ...baseEnv(home), SOFTHSM2_CONF: t.conf };
  const list = must('notary', ['key', 'list'], await notaryWithToken(SOFTHSM_MODULE, ['-d', ntrust, 'key', 'list'], nenv));
  assert.match(list.stdout, new RegExp(`root\\s+${rootId}\\s+yubikey`));
  // A targets rotation makes notary sign a new root version: on the token (it prints its notice).
  const rot = must('notary', ['key', 'rotate'], await notaryWithToken(SOFTHSM_MODULE, ['-s', server().url, '-d', ntrust, 'key', 'rotate', gun, 'targets'], nenv));
  assert.match(rot.stdout, /Please touch the attached Yubikey to perform signing\./);
  assert.match(rot.stdout, /Successfully rotated targets key/);
  assert.deepEqual(await rootKeyOnServer(gun), [rootId]);
});

test('notary cannot write to a plain SoftHSM2 token (CKR_TEMPLATE_INCOMPLETE) and keeps the key on disk', async () => {
  const t = await softToken('plain');
  const home = await tempDir('p11-n-plain-');
  const trust = join(home, 'trust');
  // The SO login succeeds (its PIN through alias "yubikey"); then the object templates fail.
  const nenv = { ...baseEnv(home), SOFTHSM2_CONF: t.conf, NOTARY_DELEGATION_PASSPHRASE: TEST_SO_PIN };
  const gen = must('notary', ['key', 'generate'], await notaryWithToken(SOFTHSM_MODULE, ['-D', '-d', trust, 'key', 'generate', 'ecdsa'], nenv));
  assert.match(gen.stderr, /Failed to add key to yubikey: error importing: pkcs11: 0xD0: CKR_TEMPLATE_INCOMPLETE/);
  const id = /keyID: ([0-9a-f]{64})/.exec(gen.stdout)![1]!;
  const r = await runDtrust(['-d', trust, 'key', 'list', '--json'], { env: tokenEnv(t), home });
  assert.deepEqual((JSON.parse(must('dtrust', ['key', 'list'], r).stdout) as { keyId: string; location: string }[]).map((k) => [k.keyId, k.location]), [
    [id, join(trust, 'private')],
  ]);
});

test('notary -> token -> dtrust: a root key notary generated onto a (emulated) YubiKey is listed by dtrust as `yubikey` and signs a repository dtrust creates', async () => {
  const t = await softToken('n2dt');
  const shim = await shimModule();
  const home = await tempDir('p11-n2dt-');
  const trust = join(home, 'trust');
  const state = join(t.dir, 'tries');
  const yk = { SOFTHSM2_CONF: t.conf, SHIM_YUBIKEY: '1', SHIM_STATE: state };
  // notary: default SO PIN refused -> asks alias "yubikey" -> NOTARY_DELEGATION_PASSPHRASE.
  const nenv = { ...baseEnv(home), ...yk, NOTARY_DELEGATION_PASSPHRASE: TEST_PIN };
  const gen = must('notary', ['key', 'generate'], await notaryWithToken(shim, ['-d', trust, 'key', 'generate', 'ecdsa'], nenv));
  const id = /keyID: ([0-9a-f]{64})/.exec(gen.stdout)![1]!;
  const nlist = must('notary', ['key', 'list'], await notaryWithToken(shim, ['-d', trust, 'key', 'list'], nenv));
  assert.match(nlist.stdout, new RegExp(`root\\s+${id}\\s+yubikey`), 'notary put it on the token (and a backup on disk)');

  const denv = { DTRUST_KDF_ITERATIONS: '2048', ...yk, DTRUST_PKCS11_MODULE: shim, DTRUST_PKCS11_PIN: TEST_PIN, DTRUST_PKCS11_SO_PIN: TEST_PIN };
  const dlist = must('dtrust', ['key', 'list'], await runDtrust(['-d', trust, 'key', 'list'], { env: denv, home }));
  assert.match(dlist.stdout, new RegExp(`root\\s+${id}\\s+yubikey`));
  // Only the token has the key now; dtrust's init finds it and signs the root on the token.
  rmSync(join(trust, 'private', `${id}.key`));
  const gun = 'example.com/p11/n2dt';
  const args = ['-s', server().url, '-d', trust, 'init', gun, '-p'];
  const init = must('dtrust', args, await runDtrust(args, { env: denv, home }));
  assert.match(init.stdout, new RegExp(`Root key found, using: ${id}`));
  assert.match(init.stderr, /Please touch the attached Yubikey to perform signing\./, 'touch notice on a YubiKey');
  assert.deepEqual(await rootKeyOnServer(gun), [id]);
});
