// Root keys on a PKCS#11 token through the CLI, on a SoftHSM2 token created per test (its own
// SOFTHSM2_CONF), against the real notary-server, checked by the real notary client:
// init with the root on the token + publish, root rotation onto the token, import of a file root
// key to the token, key list / key remove, non-root keys never on the token, and the failures
// (driver missing, wrong PIN, locked PIN, full token) with clear messages and no key lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PublicKey } from '../../src/tuf/keys.js';
import { NotaryClient, describeFailure, runDtrust, type RunResult } from '../rig/notary.js';
import { useNotaryServer } from '../rig/server.js';
import { tempDir } from '../rig/tmp.js';
import { SOFTHSM_MODULE, shimModule, softToken, tokenEnv, type SoftToken } from '../keystore/pkcs11-helpers.js';

const server = useNotaryServer();
const FAST = { DTRUST_KDF_ITERATIONS: '2048' };

interface Ctx {
  home: string;
  trust: string;
  token: SoftToken;
  env: Record<string, string | undefined>;
}

async function setup(label: string): Promise<Ctx> {
  const token = await softToken(label);
  const home = await tempDir(`p11-cli-${label}-`);
  return { home, trust: join(home, 'trust'), token, env: { ...FAST, ...tokenEnv(token) } };
}

function dtrust(c: Ctx, args: readonly string[], o: { env?: Record<string, string | undefined>; input?: string } = {}): Promise<RunResult> {
  return runDtrust(['-s', server().url, '-d', c.trust, ...args], { env: { ...c.env, ...o.env }, input: o.input, home: c.home });
}

async function ok(c: Ctx, args: readonly string[], o: { env?: Record<string, string | undefined>; input?: string } = {}): Promise<RunResult> {
  const r = await dtrust(c, args, o);
  if (r.code !== 0) assert.fail(describeFailure('dtrust', args, r));
  return r;
}

async function fails(c: Ctx, args: readonly string[], o: { env?: Record<string, string | undefined>; input?: string } = {}): Promise<RunResult> {
  const r = await dtrust(c, args, o);
  if (r.code !== 1) assert.fail(`expected exit 1\n${describeFailure('dtrust', args, r)}`);
  return r;
}

/** `key list --json` rows. */
async function keys(c: Ctx, env: Record<string, string | undefined> = {}): Promise<{ role: string; gun: string; keyId: string; location: string }[]> {
  return JSON.parse((await ok(c, ['key', 'list', '--json'], { env })).stdout) as { role: string; gun: string; keyId: string; location: string }[];
}

function keyFiles(trust: string): string[] {
  try {
    return readdirSync(join(trust, 'private')).filter((f) => f.endsWith('.key')).sort();
  } catch {
    return [];
  }
}

/** A fresh real notary client checks the published repository (it verifies the root). */
async function notaryVerifies(gun: string): Promise<{ rootKeyIds: string[] }> {
  const fresh = await NotaryClient.create({ serverUrl: server().url, home: await tempDir('p11-fresh-notary-') });
  await fresh.runOk(['list', gun]);
  const root = JSON.parse(readFileSync(join(fresh.trustDir, 'tuf', gun, 'metadata', 'root.json'), 'utf8')) as {
    signed: { roles: { root: { keyids: string[] } }; keys: Record<string, { keytype: string; keyval: { public: string } }> };
  };
  return {
    rootKeyIds: root.signed.roles.root.keyids.map((id) => {
      const k = root.signed.keys[id]!;
      return new PublicKey(k.keytype, Buffer.from(k.keyval.public, 'base64')).canonicalId;
    }),
  };
}

test('init puts the root key on the token (backup on disk, said so), publishes, and the real notary verifies; later root signatures come from the token alone', async () => {
  const c = await setup('init');
  const gun = 'example.com/p11/init';
  const init = await ok(c, ['init', gun, '-p']);
  const m = /Root key ([0-9a-f]{64}) was generated on token "init" \(slot 9c\); an encrypted backup copy is in (\S+): keep it offline/.exec(init.stderr);
  assert.ok(m, `backup notice on stderr:\n${init.stderr}`);
  const rootId = m[1]!;
  assert.equal(m[2], join(c.trust, 'private'));
  const list = await keys(c);
  const onToken = list.filter((k) => k.location === 'pkcs11:token=init');
  assert.deepEqual(onToken.map((k) => [k.role, k.keyId]), [['root', rootId]], 'only the root key is on the token');
  assert.deepEqual(list.filter((k) => k.location !== 'pkcs11:token=init').map((k) => k.role).sort(), ['root', 'snapshot', 'targets']);
  assert.deepEqual((await notaryVerifies(gun)).rootKeyIds, [rootId]);

  // The table shows the token as the key's location.
  const table = (await ok(c, ['key', 'list'])).stdout;
  assert.match(table, new RegExp(`root\\s+${rootId}\\s+pkcs11:token=init`));

  // Without the disk copy, root metadata is still signed: by the token.
  rmSync(join(c.trust, 'private', `${rootId}.key`));
  await ok(c, ['key', 'rotate', gun, 'targets']);
  assert.deepEqual((await notaryVerifies(gun)).rootKeyIds, [rootId]);
});

test('key rotate <gun> root with a token present puts the new root key on the token; the real notary follows the rotation', async () => {
  const c = await setup('rotate');
  const gun = 'example.com/p11/rotate';
  await ok(c, ['--pkcs11-module', 'none', 'init', gun, '-p']);
  const before = await keys(c);
  assert.ok(before.every((k) => !k.location.startsWith('pkcs11:')));
  const oldRoot = before.find((k) => k.role === 'root')!.keyId;
  const r = await ok(c, ['key', 'rotate', gun, 'root', '-y']);
  assert.match(r.stdout, new RegExp(`Successfully rotated root key for repository ${gun.replace(/[/.]/g, '\\$&')}`));
  const after = await keys(c);
  const tokenRoot = after.find((k) => k.location === 'pkcs11:token=rotate');
  assert.ok(tokenRoot, `a root key on the token:\n${JSON.stringify(after)}`);
  assert.notEqual(tokenRoot.keyId, oldRoot);
  assert.deepEqual((await notaryVerifies(gun)).rootKeyIds, [tokenRoot.keyId]);
});

test('key import copies a file root key to the token; key list shows both copies; key remove takes it off the token only', async () => {
  const c = await setup('import');
  // A root key file made without the token.
  const gen = await ok(c, ['--pkcs11-module', 'none', 'key', 'generate', 'ecdsa', '-o', join(c.home, 'rootk')]);
  const id = /keyID: ([0-9a-f]{64})/.exec(gen.stdout)![1]!;
  assert.deepEqual(keyFiles(c.trust), []);
  const imp = await ok(c, ['key', 'import', join(c.home, 'rootk-key.pem')]);
  assert.match(imp.stderr, new RegExp(`Root key ${id} was copied to token "import" \\(slot 9c\\); its encrypted copy stays in ${join(c.trust, 'private').replace(/[/.]/g, '\\$&')}\\.`));
  assert.deepEqual(
    (await keys(c)).map((k) => [k.role, k.keyId, k.location]),
    [
      ['root', id, join(c.trust, 'private')],
      ['root', id, 'pkcs11:token=import'],
    ],
  );
  // Two matches: the token is offered first.
  const rm = await ok(c, ['key', 'remove', id], { input: '1\nyes\n' });
  assert.match(rm.stdout, /Found the following matching keys:\n\t1\. [0-9a-f]{64}: root \(pkcs11:token=import\)\n\t2\. [0-9a-f]{64}: root \(\/.*\/private\)\n/);
  assert.match(rm.stdout, new RegExp(`Deleted ${id} \\(role root\\) from pkcs11:token=import\\.`));
  assert.deepEqual((await keys(c)).map((k) => k.location), [join(c.trust, 'private')]);
  assert.deepEqual(keyFiles(c.trust), [`${id}.key`], 'the disk copy is kept');
});

test('a non-root key never reaches the token, and importing one with a token present prints no error or warning', async () => {
  const c = await setup('nonroot');
  const gen = await ok(c, ['--pkcs11-module', 'none', 'key', 'generate', 'ecdsa', '-r', 'targets/releases', '-o', join(c.home, 'deleg')]);
  const id = /keyID: ([0-9a-f]{64})/.exec(gen.stdout)![1]!;
  const imp = await ok(c, ['key', 'import', join(c.home, 'deleg-key.pem')]);
  assert.equal(imp.stderr, '', 'nothing alarming (notary logs an error here: cli.md §12 item 1)');
  await ok(c, ['key', 'generate', 'ecdsa', '-r', 'targets/qa']);
  const list = await keys(c);
  assert.ok(list.some((k) => k.keyId === id));
  assert.deepEqual(list.filter((k) => k.location.startsWith('pkcs11:')), []);
  assert.equal(list.length, 2);
});

test('a missing driver: key commands work with file keys after a clear warning; a new root key is refused with a way out; nothing is lost', async () => {
  const c = await setup('nodriver');
  const missing = '/nonexistent/lib/libykcs11.so';
  await ok(c, ['--pkcs11-module', 'none', 'key', 'generate', 'ecdsa', '-r', 'targets/releases']);
  const env = { DTRUST_PKCS11_MODULE: missing };
  const list = await ok(c, ['key', 'list'], { env });
  assert.match(list.stderr, new RegExp(`PKCS#11 \\(DTRUST_PKCS11_MODULE\\): the PKCS#11 module ${missing} does not exist; using the keys in \\S+ only`));
  assert.match(list.stdout, /targets\/releases/);
  // The same through the flag and through the config file.
  const viaFlag = await ok(c, ['--pkcs11-module', missing, 'key', 'list'], { env: { DTRUST_PKCS11_MODULE: undefined } });
  assert.match(viaFlag.stderr, /PKCS#11 \(--pkcs11-module\): the PKCS#11 module \/nonexistent\/lib\/libykcs11\.so does not exist/);
  const cfg = join(c.home, 'config.json');
  writeFileSync(cfg, JSON.stringify({ pkcs11: { module: missing } }));
  const viaConfig = await ok(c, ['-c', cfg, 'key', 'list'], { env: { DTRUST_PKCS11_MODULE: undefined } });
  assert.match(viaConfig.stderr, /PKCS#11 \(the config file \(pkcs11\.module\)\): the PKCS#11 module \/nonexistent\/lib\/libykcs11\.so does not exist/);

  const before = keyFiles(c.trust);
  const gen = await fails(c, ['key', 'generate', 'ecdsa'], { env });
  assert.match(gen.stderr, /\* fatal: Failed to create a new root key: no root key was created: the PKCS#11 module \/nonexistent\/lib\/libykcs11\.so does not exist/);
  assert.match(gen.stderr, /hint: .*run with --pkcs11-module none/);
  const init = await fails(c, ['init', 'example.com/p11/nodriver'], { env });
  assert.match(init.stderr, /no root key was created: the PKCS#11 module \/nonexistent\/lib\/libykcs11\.so does not exist/);
  assert.deepEqual(keyFiles(c.trust), before, 'no key created, none lost');
  // The way out works.
  await ok(c, ['--pkcs11-module', 'none', 'key', 'generate', 'ecdsa'], { env });
});

test('a wrong PIN: clear message, exit 1, no key created and the token key still there', async () => {
  const c = await setup('wrongpin');
  const gun = 'example.com/p11/wrongpin';
  await ok(c, ['init', gun, '-p']);
  const rootId = (await keys(c)).find((k) => k.location === 'pkcs11:token=wrongpin')!.keyId;
  const before = keyFiles(c.trust);
  const env = { DTRUST_PKCS11_PIN: '000000' };
  const gen = await fails(c, ['key', 'generate', 'ecdsa'], { env });
  assert.match(gen.stderr, /\* fatal: Failed to create a new root key: the PIN in DTRUST_PKCS11_PIN was refused by token "wrongpin"/);
  assert.match(gen.stderr, /hint: set DTRUST_PKCS11_PIN to the token's user PIN; a PIN from the environment is tried once only/);
  const rot = await fails(c, ['key', 'rotate', gun, 'targets'], { env });
  assert.match(rot.stderr, /the PIN in DTRUST_PKCS11_PIN was refused by token "wrongpin"/);
  assert.deepEqual(keyFiles(c.trust), before);
  assert.ok((await keys(c)).some((k) => k.keyId === rootId && k.location === 'pkcs11:token=wrongpin'));
  // The right PIN still works: nothing was locked or lost.
  await ok(c, ['key', 'rotate', gun, 'targets']);
  assert.deepEqual((await notaryVerifies(gun)).rootKeyIds, [rootId]);
});

test('a locked PIN (YubiKey-like retry counter): clear message naming the unblock path, exit 1, keys intact', async () => {
  const c = await setup('locked');
  const shim = await shimModule();
  const state = join(c.token.dir, 'tries');
  c.env = { ...c.env, DTRUST_PKCS11_MODULE: shim, SHIM_STATE: state };
  const gun = 'example.com/p11/locked';
  await ok(c, ['init', gun, '-p']);
  const rootId = (await keys(c)).find((k) => k.location === 'pkcs11:token=locked')!.keyId;
  const before = keyFiles(c.trust);
  writeFileSync(state, '0\n'); // three wrong PINs were typed somewhere
  const r = await fails(c, ['key', 'rotate', gun, 'targets']);
  assert.match(r.stderr, /\* fatal: .*the user PIN of token "locked" is locked after too many wrong PINs/);
  assert.match(r.stderr, /hint: unblock it with the token's SO PIN .*no key was changed/);
  assert.deepEqual(keyFiles(c.trust), before);
  assert.ok((await keys(c)).some((k) => k.keyId === rootId && k.location === 'pkcs11:token=locked'));
});

test('a full token: the fifth root key is refused with what to do, and is not written anywhere', async () => {
  const c = await setup('full');
  for (let i = 0; i < 4; i++) await ok(c, ['key', 'generate', 'ecdsa']);
  const before = keyFiles(c.trust);
  assert.equal(before.length, 4);
  const r = await fails(c, ['key', 'generate', 'ecdsa']);
  assert.match(r.stderr, /\* fatal: Failed to create a new root key: token "full" has no free key slot: all 4 slots notary uses \(9a, 9c, 9d, 9e\) are taken/);
  assert.match(r.stderr, /hint: remove a root key you no longer use from the token/);
  assert.deepEqual(keyFiles(c.trust), before);
  assert.equal((await keys(c)).filter((k) => k.location === 'pkcs11:token=full').length, 4);
});

test('a touch-required token gets a notice before each signature (DTRUST_PKCS11_TOUCH=1; on by default for a YubiKey)', async () => {
  const c = await setup('touch');
  const r = await ok(c, ['init', 'example.com/p11/touch', '-p'], { env: { DTRUST_PKCS11_TOUCH: '1' } });
  assert.match(r.stderr, /Please touch the attached Yubikey to perform signing\./);
  const quiet = await ok(c, ['key', 'rotate', 'example.com/p11/touch', 'targets']);
  assert.doesNotMatch(quiet.stderr, /Please touch/);
  assert.equal(SOFTHSM_MODULE, c.env['DTRUST_PKCS11_MODULE']);
});
