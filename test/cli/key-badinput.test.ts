// Bad input to the key commands: each case is a clear error, exit 1, and the key directory (and
// everything around it) is byte-identical afterwards (tree hash before/after).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, chownSync, cpSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtrustForOtherUsers, runProcess, type RunResult } from '../rig/notary.js';
import { makeTempDir, removeTempDir, tempDir } from '../rig/tmp.js';
import { NO_PASSPHRASES, NOTARY07_TRUSTDIR, copyTrustDir, dtrustKey, treeHash, type KeyRunOptions } from './key-helpers.js';

const TARGETS_ID = '0d219c843fb79edde87000fa68ee3317c9d4a79c5a6f62299e0475103c2444b7';
const DELEG_ID = '8fae7a8fe8f183e0d16983d33c2500f688b1291823131bbf437bcffa3cbd9846';

interface Case {
  name: string;
  args: (home: string, trust: string) => string[];
  /** Prepares the trust dir copy / input files before the hash is taken. */
  setup?: (home: string, trust: string) => void;
  opts?: KeyRunOptions;
  message: RegExp;
}

const pkcs8 = (k: { export(o: { format: 'pem'; type: 'pkcs8' }): string | Buffer }): string => k.export({ format: 'pem', type: 'pkcs8' }).toString();

const CASES: Case[] = [
  {
    name: 'wrong passphrase in the variable (passwd)',
    args: (_h, t) => ['-d', t, 'key', 'passwd', TARGETS_ID],
    opts: { env: { NOTARY_TARGETS_PASSPHRASE: 'wrong-passphrase', DTRUST_NEW_PASSPHRASE: 'new-passphrase' } },
    message: /\* fatal: the passphrase in NOTARY_TARGETS_PASSPHRASE does not decrypt the targets key 0d219c8\n  hint: /,
  },
  {
    name: 'wrong passphrase for an encrypted key without a path header (import)',
    setup: (h) => writeFileSync(join(h, 'enc.pem'), readFileSync(join(NOTARY07_TRUSTDIR, 'deleg1-key.pem'))),
    args: (h, t) => ['-d', t, 'key', 'import', join(h, 'enc.pem')],
    opts: { env: { NOTARY_DELEGATION_PASSPHRASE: 'not-delegpass' } },
    message: /the passphrase in NOTARY_DELEGATION_PASSPHRASE does not decrypt the encrypted targets\/releases key/,
  },
  {
    name: 'no terminal and no variable (passwd: old passphrase)',
    args: (_h, t) => ['-d', t, 'key', 'passwd', DELEG_ID],
    opts: { env: { ...NO_PASSPHRASES, DTRUST_NEW_PASSPHRASE: 'new-passphrase' } },
    message: /no passphrase for the targets\/releases key 8fae7a8: NOTARY_DELEGATION_PASSPHRASE is not set and stdin is not a terminal\n  hint: set NOTARY_DELEGATION_PASSPHRASE or DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE/,
  },
  {
    name: 'no terminal and no variable (generate)',
    args: (_h, t) => ['-d', t, 'key', 'generate', '-r', 'targets/ci'],
    opts: { env: NO_PASSPHRASES },
    message: /NOTARY_DELEGATION_PASSPHRASE is not set and stdin is not a terminal/,
  },
  {
    name: 'no terminal and no variable (import of a plain key)',
    setup: (h) => writeFileSync(join(h, 'plain.pem'), pkcs8(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey)),
    args: (h, t) => ['-d', t, 'key', 'import', join(h, 'plain.pem'), '-r', 'root'],
    opts: { env: NO_PASSPHRASES },
    message: /no passphrase for the new root key [0-9a-f]{7}: NOTARY_ROOT_PASSPHRASE is not set/,
  },
  {
    name: 'corrupt key file',
    setup: (_h, t) => writeFileSync(join(t, 'private', `${TARGETS_ID}.key`), 'garbage\n'),
    args: (_h, t) => ['-d', t, 'key', 'passwd', TARGETS_ID],
    opts: { env: { DTRUST_NEW_PASSPHRASE: 'new-passphrase' } },
    message: /holds no PEM block: the key file is corrupt or truncated/,
  },
  {
    name: 'truncated key file',
    setup: (_h, t) => {
      const p = join(t, 'private', `${TARGETS_ID}.key`);
      const text = readFileSync(p, 'utf8');
      writeFileSync(p, text.replace(/\n[^\n]+\n-----END/, '\n-----END'));
    },
    args: (_h, t) => ['-d', t, 'key', 'passwd', TARGETS_ID],
    opts: { env: { NOTARY_TARGETS_PASSPHRASE: 'targetspass', DTRUST_NEW_PASSPHRASE: 'new-passphrase' } },
    message: /key 0d219c8\): the encrypted private key is truncated or corrupt/,
  },
  {
    name: 'key file renamed to another ID',
    setup: (_h, t) => cpSync(join(t, 'private', `${TARGETS_ID}.key`), join(t, 'private', `${'b'.repeat(64)}.key`)),
    args: (_h, t) => ['-d', t, 'key', 'passwd', 'b'.repeat(64)],
    opts: { env: { NOTARY_TARGETS_PASSPHRASE: 'targetspass', DTRUST_NEW_PASSPHRASE: 'new-passphrase' } },
    message: /has ID 0d219c84[0-9a-f]+, not b{64} as its file name says/,
  },
  ...(
    [
      ['DSA', () => pkcs8(generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).privateKey), /unsupported private key type DSA/],
      ['X25519', () => pkcs8(generateKeyPairSync('x25519').privateKey), /unsupported private key type X25519/],
      ['secp256k1', () => pkcs8(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey), /unsupported elliptic curve 1.3.132.0.10/],
      ['RSA 1024', () => pkcs8(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey), /RSA key of 1024 bits is too small/],
      ['a certificate', () => readFileSync(join(NOTARY07_TRUSTDIR, 'deleg_cert.pem'), 'utf8'), /the PEM block is a CERTIFICATE, not a private key/],
    ] as [string, () => string, RegExp][]
  ).map(
    ([what, make, re]): Case => ({
      name: `unsupported key type: ${what}`,
      setup: (h) => writeFileSync(join(h, 'k.pem'), make()),
      args: (h, t) => ['-d', t, 'key', 'import', join(h, 'k.pem')],
      message: new RegExp(`failed to import all keys: 1 of 1 key blocks could not be imported \\(.*k.pem, block 1: ${re.source}`),
    }),
  ),
  {
    name: 'a GUN that would escape the trust directory (flag)',
    setup: (h) => writeFileSync(join(h, 'plain.pem'), pkcs8(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey)),
    args: (h, t) => ['-d', t, 'key', 'import', join(h, 'plain.pem'), '-r', 'targets', '-g', '../../escape'],
    message: /invalid GUN "..\/..\/escape": it has a ".." part/,
  },
  {
    name: 'a GUN that would escape the trust directory (PEM header)',
    setup: (h) => writeFileSync(join(h, 'hdr.pem'), pkcs8(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey).replace('-----BEGIN PRIVATE KEY-----\n', '-----BEGIN PRIVATE KEY-----\ngun: /etc/../../x\nrole: snapshot\n\n')),
    args: (h, t) => ['-d', t, 'key', 'import', join(h, 'hdr.pem')],
    message: /invalid GUN "\/etc\/..\/..\/x"/,
  },
  {
    name: 'a role that would escape (generate -r)',
    args: (_h, t) => ['-d', t, 'key', 'generate', '-r', '../../../tmp/x'],
    message: /invalid role name/,
  },
  {
    name: 'a path header that would escape (import)',
    setup: (h) => {
      const text = readFileSync(join(NOTARY07_TRUSTDIR, 'private', `${TARGETS_ID}.key`), 'utf8');
      writeFileSync(join(h, 'path.pem'), text.replace('gun: example.com/test1\n', 'gun: example.com/test1\npath: ../../../../tmp/evil\n'));
    },
    args: (h, t) => ['-d', t, 'key', 'import', join(h, 'path.pem')],
    message: /the path header "evil" is not a key ID/,
  },
  {
    name: 'a key ID that would escape (passwd)',
    args: (_h, t) => ['-d', t, 'key', 'passwd', '../../../../../../../../../../../../../../../../../../../etc/pass'],
    message: /invalid key ID provided: \.\.\//,
  },
  {
    name: 'export -o through a symbolic link',
    setup: (h) => symlinkSync(join(h, 'elsewhere.pem'), join(h, 'link.pem')),
    args: (h, t) => ['-d', t, 'key', 'export', '-o', join(h, 'link.pem')],
    message: /refusing to write through the symbolic link .*link.pem/,
  },
  {
    name: 'a private dir other users can write (generate)',
    setup: (_h, t) => chmodSync(join(t, 'private'), 0o775),
    args: (_h, t) => ['-d', t, 'key', 'generate', '-r', 'targets/x'],
    message: /refusing to write private keys: .*private is writable by other users \(mode 0775\)\n  hint: run: chmod 700/,
  },
  {
    name: 'a trust dir other users can write (import)',
    setup: (h, t) => {
      chmodSync(t, 0o777);
      writeFileSync(join(h, 'plain.pem'), pkcs8(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey));
    },
    args: (h, t) => ['-d', t, 'key', 'import', join(h, 'plain.pem'), '-r', 'targets/x'],
    message: /refusing to write private keys: .*trust is writable by other users \(mode 0777\)\n  hint: run: chmod 700/,
  },
  {
    name: 'a private dir that is a symbolic link (generate)',
    setup: (h, t) => {
      renameSync(join(t, 'private'), join(h, 'elsewhere'));
      symlinkSync(join(h, 'elsewhere'), join(t, 'private'));
    },
    args: (_h, t) => ['-d', t, 'key', 'generate', '-r', 'targets/x'],
    message: /refusing to write keys through the symbolic link .*trust\/private\n/,
  },
  {
    name: 'a file without keys (import)',
    setup: (h) => writeFileSync(join(h, 'readme.txt'), 'nothing here\n'),
    args: (h, t) => ['-d', t, 'key', 'import', join(h, 'readme.txt')],
    message: /no keys found in .*readme.txt/,
  },
];

for (const c of CASES) {
  test(`bad input: ${c.name}`, async () => {
    const trust = await copyTrustDir(NOTARY07_TRUSTDIR, 'key-bad-');
    const home = join(trust, '..');
    c.setup?.(home, trust);
    const before = treeHash(home);
    const args = c.args(home, trust);
    const r = await dtrustKey(args[1]!, args.slice(2), c.opts);
    assert.equal(r.code, 1, `${c.name}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, c.message, r.stderr);
    assert.equal(treeHash(home), before, 'the trust dir and its surroundings are unchanged');
  });
}

/**
 * Runs dtrust as the unprivileged user nobody (permission checks mean nothing for root), from a
 * copy nobody can reach wherever the checkout lives.
 */
async function asNobody(args: string[], home: string): Promise<RunResult> {
  return runProcess('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, await dtrustForOtherUsers(), ...args], {
    env: { PATH: process.env['PATH'], HOME: home, NOTARY_TARGETS_PASSPHRASE: 'targetspass', DTRUST_NEW_PASSPHRASE: 'new-passphrase', DTRUST_KDF_ITERATIONS: '2048' },
    cwd: home,
  });
}

test('bad input: unreadable key file and unreadable import file (as an unprivileged user)', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to switch to the user nobody');
    return;
  }
  // Node itself or the temp dir (TMPDIR) may still be out of nobody's reach.
  const probe = await asNobody(['--version'], '/');
  if (probe.code !== 0) {
    const why = probe.stderr.split('\n').find((l) => /Error/.test(l)) ?? probe.stderr.trim();
    t.skip(`the user nobody cannot run dtrust (node ${process.execPath}, temp dir ${tmpdir()}): ${why}`);
    return;
  }
  // A directory nobody can reach: mode 0711 on our temp dir, the trust dir owned by nobody.
  const outer = await makeTempDir('key-perm-');
  t.after(() => removeTempDir(outer));
  chmodSync(outer, 0o711);
  const home = mkdtempSync(join(outer, 'home-'));
  const trust = join(home, 'trust');
  cpSync(NOTARY07_TRUSTDIR, trust, { recursive: true });
  const chownAll = (p: string): void => {
    chownSync(p, 65534, 65534);
  };
  for (const p of [home, trust, join(trust, 'private'), join(trust, 'tuf')]) chownAll(p);
  chmodSync(home, 0o700);
  chmodSync(trust, 0o700);
  chmodSync(join(trust, 'private'), 0o700);
  const keyPath = join(trust, 'private', `${TARGETS_ID}.key`);
  chownAll(keyPath);
  chmodSync(keyPath, 0o000);
  const unreadable = join(home, 'unreadable.pem');
  writeFileSync(unreadable, readFileSync(join(NOTARY07_TRUSTDIR, 'ec_pkcs8.pem')), { mode: 0o000 });
  chownAll(unreadable);
  const before = treeHash(home);
  const r = await asNobody(['-d', trust, 'key', 'passwd', TARGETS_ID], home);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /cannot read .*0d219c84[0-9a-f]+\.key: permission denied\n  hint: check the owner and mode/);
  const i = await asNobody(['-d', trust, 'key', 'import', unreadable], home);
  assert.equal(i.code, 1, i.stdout + i.stderr);
  assert.match(i.stderr, /open .*unreadable.pem: permission denied/);
  // A trust dir owned by someone else (root) is not written to.
  const rootOwned = join(home, 'root-owned');
  cpSync(NOTARY07_TRUSTDIR, rootOwned, { recursive: true });
  chmodSync(rootOwned, 0o755);
  chmodSync(join(rootOwned, 'private'), 0o700);
  const before2 = treeHash(home);
  const g = await asNobody(['-d', rootOwned, 'key', 'generate', '-r', 'targets/x'], home);
  assert.equal(g.code, 1);
  assert.match(g.stderr, /is owned by user 0, not by you \(65534\)/);
  assert.equal(treeHash(home), before2);
  assert.notEqual(before, before2);
});

test('bad input: nothing is created outside the trust dir for escaping names (notary would)', async () => {
  const outer = await tempDir('key-escape-');
  const trust = join(outer, 'a', 'b', 'trust');
  const before = treeHash(outer);
  const plain = join(await tempDir('key-escape-in-'), 'p.pem');
  writeFileSync(plain, pkcs8(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey));
  for (const args of [
    ['key', 'import', plain, '-r', 'targets', '-g', '../../../escape'],
    ['key', 'import', plain, '-r', 'targets', '-g', 'ok/../../../escape'],
    ['key', 'generate', '-r', '../escape'],
  ]) {
    const r = await dtrustKey(trust, args);
    assert.equal(r.code, 1, args.join(' '));
  }
  assert.equal(treeHash(outer), before);
});
