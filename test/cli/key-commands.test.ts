// `dtrust key ...`: notary's syntax, flags, outputs and argument errors (cli.md §9.13-9.19, §1.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { decodePemBlocks } from '../../src/crypto/pem.js';
import { keyBlockEncryption } from '../../src/crypto/keyfile.js';
import { delegationKeyFromPem } from '../../src/client/delegations.js';
import { DEFAULT_PASSPHRASE } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';
import { FIXTURE_PASSPHRASES, NO_PASSPHRASES, NOTARY07_KEYS, NOTARY07_TRUSTDIR, copyTrustDir, dtrustKey, keyFiles, newTrustDir, treeHash } from './key-helpers.js';

test('key list: notary table, root first, empty store message, --json', async () => {
  const empty = await newTrustDir();
  const r0 = await dtrustKey(empty, ['key', 'list']);
  assert.deepEqual([r0.code, r0.stdout, r0.stderr], [0, '\nNo signing keys found.\n\n', '']);
  assert.equal(existsSync(empty), false, 'listing creates nothing');

  const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
  const r = await dtrustKey(dir, ['key', 'list']);
  assert.equal(r.code, 0, r.stderr);
  const loc = join(dir, 'private');
  const shown = loc.length > 40 ? '...' + loc.slice(loc.length - 37) : loc;
  assert.equal(
    r.stdout,
    '\n' +
      'ROLE                GUN                  KEY ID                                                              LOCATION\n' +
      '----                ---                  ------                                                              --------\n' +
      `root                                     620ae0a536cd7a434ffc2e643e7acabdb685fcf177d2d7a4858ef95eb293dff0    ${shown}\n` +
      `root                                     aca456b2672ed089d93a17c014ee6e89f4adf0a9cfc04c792a600cd5c6029577    ${shown}\n` +
      `targets/releases                         8fae7a8fe8f183e0d16983d33c2500f688b1291823131bbf437bcffa3cbd9846    ${shown}\n` +
      `snapshot            example.com/test1    797c7f5d44da4f3fe1b37af3dd108f0b8370626ea5a7e4463dafac3e0ecdd0f2    ${shown}\n` +
      `targets             example.com/test1    0d219c843fb79edde87000fa68ee3317c9d4a79c5a6f62299e0475103c2444b7    ${shown}\n` +
      '\n',
  );
  const j = await dtrustKey(dir, ['key', 'list', '--json']);
  const parsed = JSON.parse(j.stdout) as { role: string; gun: string; keyId: string; location: string }[];
  assert.deepEqual(parsed.map((k) => k.keyId).sort(), Object.keys(NOTARY07_KEYS).sort());
  assert.equal(parsed[0]!.role, 'root');
  assert.equal(parsed[0]!.location, loc);
});

test('argument errors: usage on stdout, the exact fatal message, exit 1, before any config is read', async () => {
  const dir = await newTrustDir();
  const cases: [string[], string][] = [
    [['key', 'list', 'extra'], ''],
    [['key', 'generate', 'ecdsa', 'extra'], 'Please provide only one Algorithm as an argument to generate (rsa, ecdsa)'],
    [['key', 'remove'], 'must specify the key ID of the key to remove'],
    [['key', 'passwd'], 'must specify the key ID of the key to change the passphrase of'],
    [['key', 'import'], 'must specify at least one input file to import keys from'],
    [['key', 'export', 'extra'], 'export does not take any positional arguments'],
  ];
  for (const [args, msg] of cases) {
    // A broken config file is not read for argument errors.
    const r = await dtrustKey(dir, ['-c', '/nonexistent/config.json', ...args], { asNotary: true });
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stdout, /^Usage: notary key \w+/, args.join(' '));
    assert.ok(r.stdout.endsWith(`\n* fatal: ${msg}\n`), `${args.join(' ')}: ${JSON.stringify(r.stdout.slice(-120))}`);
  }
  // As dtrust, the fatal line goes to stderr.
  const d = await dtrustKey(dir, ['key', 'remove']);
  assert.equal(d.code, 1);
  assert.match(d.stderr, /\* fatal: must specify the key ID of the key to remove/);
  const g = await dtrustKey(dir, ['key', 'generate', 'dsa']);
  assert.equal(g.code, 1);
  assert.match(g.stderr, /\* fatal: Algorithm not allowed, possible values are: ECDSA, ED25519, RSA/);
  assert.equal(existsSync(dir), false);
  // The key group alone prints its help, exit 0.
  const k = await dtrustKey(dir, ['key']);
  assert.equal(k.code, 0);
  assert.match(k.stdout, /Operates on keys/);
});

test('key generate: ecdsa/ed25519/rsa into the store; -r; root passphrase from NOTARY_ROOT_PASSPHRASE', async () => {
  const dir = await newTrustDir();
  const r = await dtrustKey(dir, ['key', 'generate']);
  assert.equal(r.code, 0, r.stderr);
  const m = /^Generated new ecdsa root key with keyID: ([0-9a-f]{64})\n$/.exec(r.stdout);
  assert.ok(m, r.stdout);
  const e = await dtrustKey(dir, ['key', 'generate', 'ED25519', '-r', 'targets/releases']);
  assert.match(e.stdout, /^Generated new ed25519 targets\/releases key with keyID: [0-9a-f]{64}\n$/);
  const rs = await dtrustKey(dir, ['key', 'generate', 'rsa', '--role', 'alice']);
  assert.match(rs.stdout, /^Generated new rsa alice key with keyID: [0-9a-f]{64}\n$/);
  assert.equal(keyFiles(dir).length, 3);
  assert.equal(statSync(join(dir, 'private')).mode & 0o777, 0o700);
  const text = readFileSync(join(dir, 'private', `${m[1]}.key`), 'utf8');
  assert.match(text, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: root\n\n/);
  assert.equal(statSync(join(dir, 'private', `${m[1]}.key`)).mode & 0o777, 0o600);
  // ed25519 cannot be a root key (no certificate for it in notary).
  const bad = await dtrustKey(dir, ['key', 'generate', 'ed25519']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /ed25519 keys cannot be root keys/);
  // Without a variable and without a terminal: an immediate error that names the variable.
  const none = await dtrustKey(dir, ['key', 'generate', '-r', 'targets/x'], { env: NO_PASSPHRASES });
  assert.equal(none.code, 1);
  assert.match(none.stderr, /\* fatal: Failed to create a new targets\/x key: no passphrase for the new targets\/x key [0-9a-f]{7}: NOTARY_DELEGATION_PASSPHRASE is not set and stdin is not a terminal/);
  assert.equal(keyFiles(dir).length, 3);
  // A short variable is refused for new keys (quirk 27).
  const short = await dtrustKey(dir, ['key', 'generate'], { env: { NOTARY_ROOT_PASSPHRASE: 'short' } });
  assert.equal(short.code, 1);
  assert.match(short.stderr, /the passphrase in NOTARY_ROOT_PASSPHRASE is too short/);
  // An invalid role is refused before anything happens.
  const role = await dtrustKey(dir, ['key', 'generate', '-r', '../x y']);
  assert.equal(role.code, 1);
  assert.match(role.stderr, /invalid role name/);
  assert.equal(keyFiles(dir).length, 3);
});

test('key generate -o: two 0600 files, the role passphrase (quirk 6), paths printed, nothing stored, no overwrite', async () => {
  const home = await tempDir('key-gen-o-');
  const dir = join(home, 'trust');
  const r = await dtrustKey(dir, ['key', 'generate', '-r', 'root', '-o', 'alice'], {
    cwd: home,
    env: { NOTARY_ROOT_PASSPHRASE: 'root-only-pass', NOTARY_DELEGATION_PASSPHRASE: undefined },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Generated new ecdsa root key with keyID: [0-9a-f]{64}\\nPrivate key: ${home}/alice-key.pem\\nPublic key: ${home}/alice.pem\\n$`));
  assert.equal(existsSync(dir), false);
  for (const f of ['alice-key.pem', 'alice.pem']) assert.equal(statSync(join(home, f)).mode & 0o777, 0o600);
  const priv = decodePemBlocks(readFileSync(join(home, 'alice-key.pem'), 'utf8'))[0]!;
  const pub = decodePemBlocks(readFileSync(join(home, 'alice.pem'), 'utf8'))[0]!;
  assert.equal(priv.type, 'ENCRYPTED PRIVATE KEY');
  assert.deepEqual([...priv.headers], [['role', 'root']]);
  assert.equal(pub.type, 'PUBLIC KEY');
  assert.deepEqual([...pub.headers], [['role', 'root']]);
  const enc = keyBlockEncryption(priv);
  assert.ok(enc.scheme === 'pbes2' && enc.notaryReadable);
  // It imports with the root passphrase: the file was encrypted with it.
  const imp = await dtrustKey(dir, ['key', 'import', join(home, 'alice-key.pem')], { env: { NOTARY_ROOT_PASSPHRASE: 'root-only-pass' } });
  assert.equal(imp.code, 0, imp.stderr);
  // No overwrite, no missing directory, no symlink.
  const again = await dtrustKey(dir, ['key', 'generate', '-o', 'alice'], { cwd: home });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /alice-key.pem already exists/);
  const nodir = await dtrustKey(dir, ['key', 'generate', '-o', 'missing/bob'], { cwd: home });
  assert.equal(nodir.code, 1);
  assert.match(nodir.stderr, /open missing\/bob-key.pem: no such file or directory/);
  symlinkSync('/etc/passwd', join(home, 'carol-key.pem'));
  const link = await dtrustKey(dir, ['key', 'generate', '-o', 'carol'], { cwd: home });
  assert.equal(link.code, 1);
});

test('key export: all keys, --key, several --gun (quirk 7), -o 0600 over an existing file, mix refused', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
  const before = treeHash(dir);
  const all = await dtrustKey(dir, ['key', 'export']);
  assert.equal(all.code, 0, all.stderr);
  const blocks = decodePemBlocks(all.stdout);
  assert.deepEqual(blocks.map((b) => b.headers.get('path')), Object.keys(NOTARY07_KEYS).sort());
  const guns = await dtrustKey(dir, ['key', 'export', '--gun', 'example.com/test1', '--gun', 'other/gun']);
  assert.deepEqual(decodePemBlocks(guns.stdout).map((b) => b.headers.get('role')), ['targets', 'snapshot']);
  const keys = await dtrustKey(dir, ['key', 'export', '--key', '8fae7a8fe8f183e0d16983d33c2500f688b1291823131bbf437bcffa3cbd9846,620ae0a536cd7a434ffc2e643e7acabdb685fcf177d2d7a4858ef95eb293dff0']);
  assert.deepEqual(decodePemBlocks(keys.stdout).map((b) => b.headers.get('role')), ['root', 'targets/releases']);
  const mix = await dtrustKey(dir, ['key', 'export', '--gun', 'a', '--key', 'b']);
  assert.equal(mix.code, 1);
  assert.match(mix.stderr, /Only the --gun or --key flag may be provided, not a mix of the two flags/);
  const out = join(await tempDir('key-export-'), 'backup.pem');
  writeFileSync(out, 'old contents', { mode: 0o644 });
  const o = await dtrustKey(dir, ['key', 'export', '-o', out]);
  assert.deepEqual([o.code, o.stdout], [0, '']);
  assert.equal(readFileSync(out, 'utf8'), all.stdout);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  assert.equal(treeHash(dir), before);
});

test('key export --public: the public keys delegation add takes, with the stored key IDs; an unknown ID is an error', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
  const before = treeHash(dir);
  const releases = '8fae7a8fe8f183e0d16983d33c2500f688b1291823131bbf437bcffa3cbd9846';
  const r = await dtrustKey(dir, ['key', 'export', '--key', releases, '--public'], { env: FIXTURE_PASSPHRASES });
  assert.equal(r.code, 0, r.stderr);
  const blocks = decodePemBlocks(r.stdout);
  assert.deepEqual(blocks.map((b) => [b.type, b.headers.get('role')]), [['PUBLIC KEY', 'targets/releases']]);
  assert.equal(delegationKeyFromPem(r.stdout, 'stdout', Date.now()).canonicalId, releases);
  const gun = await dtrustKey(dir, ['key', 'export', '--gun', 'example.com/test1', '--public'], { env: FIXTURE_PASSPHRASES });
  assert.equal(gun.code, 0, gun.stderr);
  assert.deepEqual(decodePemBlocks(gun.stdout).map((b) => b.headers.get('role')).sort(), ['snapshot', 'targets']);
  const unknown = await dtrustKey(dir, ['key', 'export', '--key', 'ab'.repeat(32), '--public']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, new RegExp(`no key with ID ${'ab'.repeat(32)} is held here`));
  assert.match(unknown.stderr, /run `key list` to see the key IDs held here/);
  assert.equal(treeHash(dir), before);
});

test('key import: plain PEM encrypted with the role passphrase; no PEM block is an error (quirk 8)', async () => {
  const dir = await newTrustDir();
  const home = await tempDir('key-import-');
  const pem = join(home, 'key.pem');
  writeFileSync(pem, readFileSync(join(NOTARY07_TRUSTDIR, 'ec_pkcs8.pem')));
  const r = await dtrustKey(dir, ['key', 'import', pem, '-r', 'targets/releases']);
  assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
  assert.deepEqual(keyFiles(dir), ['8fae7a8fe8f183e0d16983d33c2500f688b1291823131bbf437bcffa3cbd9846']);
  const b = decodePemBlocks(readFileSync(join(dir, 'private', '8fae7a8fe8f183e0d16983d33c2500f688b1291823131bbf437bcffa3cbd9846.key'), 'utf8'))[0]!;
  assert.equal(b.type, 'ENCRYPTED PRIVATE KEY');
  assert.equal(b.headers.get('role'), 'targets/releases');
  const txt = join(home, 'notes.txt');
  writeFileSync(txt, 'just text\n');
  const before = treeHash(dir);
  const n = await dtrustKey(dir, ['key', 'import', txt]);
  assert.equal(n.code, 1);
  assert.match(n.stderr, /\* fatal: no keys found in .*notes.txt/);
  const missing = await dtrustKey(dir, ['key', 'import', join(home, 'nope.pem')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /open .*nope.pem: no such file or directory/);
  assert.equal(treeHash(dir), before);
  // Verbose mode says what was imported.
  const dir2 = await newTrustDir();
  const v = await dtrustKey(dir2, ['-v', 'key', 'import', pem]);
  assert.match(v.stderr, /imported delegation key 8fae7a8f/);
});

test('key remove: confirmation from stdin (yes / anything else), invalid and unknown IDs', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
  const id = '8fae7a8fe8f183e0d16983d33c2500f688b1291823131bbf437bcffa3cbd9846';
  const loc = join(dir, 'private');
  const no = await dtrustKey(dir, ['key', 'remove', id], { input: 'no\n' });
  assert.equal(no.code, 0);
  assert.equal(no.stdout, `\nAre you sure you want to remove ${id} (role targets/releases) from ${loc}?  (yes/no)  \nAborting action.\n\n`);
  const eof = await dtrustKey(dir, ['key', 'remove', id]);
  assert.equal(eof.code, 1);
  assert.match(eof.stderr, /pass --yes to remove the key without the question/);
  assert.ok(keyFiles(dir).includes(id));
  const yes = await dtrustKey(dir, ['key', 'remove', id], { input: 'YES\n' });
  assert.equal(yes.code, 0, yes.stderr);
  assert.equal(yes.stdout, `\nAre you sure you want to remove ${id} (role targets/releases) from ${loc}?  (yes/no)  \nDeleted ${id} (role targets/releases) from ${loc}.\n\n`);
  assert.ok(!keyFiles(dir).includes(id));
  const again = await dtrustKey(dir, ['key', 'remove', id], { input: 'yes\n' });
  assert.equal(again.code, 1);
  assert.match(again.stderr, new RegExp(`No key with ID ${id} found`));
  const short = await dtrustKey(dir, ['key', 'remove', 'abc']);
  assert.equal(short.code, 1);
  assert.match(short.stderr, /invalid key ID provided: abc/);
  const nothex = await dtrustKey(dir, ['key', 'remove', 'Z'.repeat(64)]);
  assert.equal(nothex.code, 1);
  assert.match(nothex.stderr, /invalid key ID provided/);
});

test('key passwd: new passphrase from DTRUST_NEW_PASSPHRASE, never the role variable (quirk 24); headers kept', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR);
  const id = '0d219c843fb79edde87000fa68ee3317c9d4a79c5a6f62299e0475103c2444b7';
  const before = treeHash(dir);
  // The role variable alone is not a new passphrase.
  const r0 = await dtrustKey(dir, ['key', 'passwd', id], { env: { NOTARY_TARGETS_PASSPHRASE: 'targetspass' } });
  assert.equal(r0.code, 1);
  assert.match(r0.stderr, /no passphrase for the new targets key 0d219c8: DTRUST_NEW_PASSPHRASE is not set and stdin is not a terminal/);
  assert.equal(treeHash(dir), before);
  const r = await dtrustKey(dir, ['key', 'passwd', id], { env: { NOTARY_TARGETS_PASSPHRASE: 'targetspass', DTRUST_NEW_PASSPHRASE: 'new-targets-pass' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `\nSuccessfully updated passphrase for key ID: ${id}\n`);
  const text = readFileSync(join(dir, 'private', `${id}.key`), 'utf8');
  assert.match(text, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: example.com\/test1\nrole: targets\n\n/);
  // The same passphrase again is accepted but reported.
  const same = await dtrustKey(dir, ['key', 'passwd', id], { env: { NOTARY_TARGETS_PASSPHRASE: 'new-targets-pass', DTRUST_NEW_PASSPHRASE: 'new-targets-pass' } });
  assert.equal(same.code, 0);
  assert.match(same.stderr, /the new passphrase of key 0d219c84[0-9a-f]+ is the same as the old one/);
  const unknown = await dtrustKey(dir, ['key', 'passwd', 'f'.repeat(64)]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /could not retrieve local key for key ID provided: f{64}: no such key/);
  assert.equal(DEFAULT_PASSPHRASE.length > 8, true);
});
