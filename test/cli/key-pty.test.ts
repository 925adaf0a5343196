// Passphrase prompts on a real pseudo-terminal: entry without echo, confirmation mismatch,
// too-short passphrases, retries after a wrong passphrase, the root warning, end of input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileKeyStore, PassphraseRetriever } from '../../src/keystore/index.js';
import { DTRUST_BIN } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';
import { NOTARY07_TRUSTDIR, copyTrustDir, keyFiles, newTrustDir, treeHash } from './key-helpers.js';
import { runOnPty, type PtyStep } from './key-pty-driver.js';

const DELEG_ID = '8fae7a8fe8f183e0d16983d33c2500f688b1291823131bbf437bcffa3cbd9846';

async function onPty(trustDir: string, args: string[], steps: PtyStep[], env: Record<string, string> = {}) {
  const home = await tempDir('key-pty-home-');
  const r = await runOnPty([process.execPath, DTRUST_BIN, '-d', trustDir, ...args], steps, {
    env: { PATH: process.env['PATH'], HOME: home, DTRUST_KDF_ITERATIONS: '2048', TERM: 'dumb', ...env },
    cwd: home,
  });
  assert.equal(r.stuckAt, undefined, `waited for ${r.stuckAt}; output:\n${r.output}`);
  return r;
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

test('pty: new passphrase: too short, confirmation mismatch, then accepted; nothing echoed', async () => {
  const dir = await newTrustDir();
  const r = await onPty(dir, ['key', 'generate', '-r', 'targets/releases'], [
    { expect: 'Enter passphrase for new targets/releases key with ID [0-9a-f]{7}: ', send: 'tiny1\r' },
    { expect: 'Passphrase is too short\\. Please use a password manager to generate and store a good random passphrase\\.', send: '' },
    { expect: 'Enter passphrase for new targets/releases key with ID [0-9a-f]{7}: ', send: 'first-secret-1\r' },
    { expect: 'Repeat passphrase for new targets/releases key with ID [0-9a-f]{7}: ', send: 'other-secret-2\r' },
    { expect: 'Passphrases do not match\\. Please retry\\.', send: '' },
    { expect: 'Enter passphrase for new targets/releases key with ID [0-9a-f]{7}: ', send: 'final-secret-3\r' },
    { expect: 'Repeat passphrase for new targets/releases key with ID [0-9a-f]{7}: ', send: 'final-secret-3\r' },
    { expect: 'Generated new ecdsa targets/releases key with keyID: [0-9a-f]{64}', send: '' },
  ]);
  assert.equal(r.code, 0, r.output);
  for (const secret of ['tiny1', 'first-secret-1', 'other-secret-2', 'final-secret-3']) assert.ok(!r.output.includes(secret), `${secret} echoed:\n${r.output}`);
  const [id] = keyFiles(dir);
  const store = await FileKeyStore.open({ trustDir: dir, passphrases: new PassphraseRetriever({ env: { NOTARY_DELEGATION_PASSPHRASE: 'final-secret-3' } }) });
  await store.signer(id!);
});

test('pty: a new root key shows the warning paragraph first', async () => {
  const dir = await newTrustDir();
  const r = await onPty(dir, ['key', 'generate'], [
    { expect: 'You are about to create a new root signing key passphrase\\.', send: '' },
    { expect: 'Enter passphrase for new root key with ID [0-9a-f]{7}: ', send: 'root-secret-1\r' },
    { expect: 'Repeat passphrase for new root key with ID [0-9a-f]{7}: ', send: 'root-secret-1\r' },
    { expect: 'Generated new ecdsa root key', send: '' },
  ]);
  assert.equal(r.code, 0, r.output);
  assert.equal(count(r.output, 'You are about to create a new root signing key passphrase.'), 1);
  assert.match(r.output, /There will be no\r?\nway to recover this key\. You can find the key in your config directory\./);
});

test('pty: key passwd: three wrong passphrases, the right one, then the new one twice', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR, 'key-pty-');
  const r = await onPty(dir, ['key', 'passwd', DELEG_ID], [
    { expect: 'Enter passphrase for targets/releases key with ID 8fae7a8: ', send: 'wrong-1\r' },
    { expect: 'Passphrase incorrect\\. Please retry\\.', send: '' },
    { expect: 'Enter passphrase for targets/releases key with ID 8fae7a8: ', send: 'wrong-2\r' },
    { expect: 'Enter passphrase for targets/releases key with ID 8fae7a8: ', send: 'wrong-3\r' },
    { expect: 'Enter passphrase for targets/releases key with ID 8fae7a8: ', send: 'delegpass\r' },
    { expect: 'Enter passphrase for new targets/releases key with ID 8fae7a8: ', send: 'changed-on-pty\r' },
    { expect: 'Repeat passphrase for new targets/releases key with ID 8fae7a8: ', send: 'changed-on-pty\r' },
    { expect: `Successfully updated passphrase for key ID: ${DELEG_ID}`, send: '' },
  ]);
  assert.equal(r.code, 0, r.output);
  assert.equal(count(r.output, 'Passphrase incorrect. Please retry.'), 3);
  assert.ok(!r.output.includes('delegpass') && !r.output.includes('changed-on-pty'));
  const store = await FileKeyStore.open({ trustDir: dir, passphrases: new PassphraseRetriever({ env: { NOTARY_DELEGATION_PASSPHRASE: 'changed-on-pty' } }) });
  await store.signer(DELEG_ID);
});

test('pty: four wrong passphrases give up with a clear error; the key file is untouched', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR, 'key-pty-');
  const before = treeHash(dir);
  const steps: PtyStep[] = [];
  for (let i = 0; i < 4; i++) steps.push({ expect: 'Enter passphrase for targets/releases key with ID 8fae7a8: ', send: `nope-${i}\r` });
  steps.push({ expect: 'wrong passphrase for the targets/releases key 8fae7a8 \\(4 attempts\\)', send: '' });
  const r = await onPty(dir, ['key', 'passwd', DELEG_ID], steps);
  assert.equal(r.code, 1, r.output);
  assert.equal(count(r.output, 'Enter passphrase'), 4);
  assert.equal(treeHash(dir), before);
});

test('pty: a wrong variable is reported and the terminal is asked; end of input aborts', async () => {
  const dir = await copyTrustDir(NOTARY07_TRUSTDIR, 'key-pty-');
  const r = await onPty(
    dir,
    ['key', 'passwd', DELEG_ID],
    [
      { expect: 'The passphrase in NOTARY_DELEGATION_PASSPHRASE does not decrypt the targets/releases key 8fae7a8\\.', send: '' },
      { expect: 'Enter passphrase for targets/releases key with ID 8fae7a8: ', send: 'delegpass\r' },
      { expect: 'Enter passphrase for new targets/releases key with ID 8fae7a8: ', send: '\x04' },
      { expect: 'no passphrase entered for the targets/releases key 8fae7a8 \\(end of input\\)', send: '' },
    ],
    { NOTARY_DELEGATION_PASSPHRASE: 'not-the-one' },
  );
  assert.equal(r.code, 1, r.output);
  assert.equal(readFileSync(join(dir, 'private', `${DELEG_ID}.key`), 'utf8'), readFileSync(join(NOTARY07_TRUSTDIR, 'private', `${DELEG_ID}.key`), 'utf8'));
});

test('pty: key import of a plain key asks for a new passphrase for its role', async () => {
  const dir = await newTrustDir();
  const home = await tempDir('key-pty-in-');
  const pem = join(home, 'k.pem');
  writeFileSync(pem, readFileSync(join(NOTARY07_TRUSTDIR, 'ec_pkcs8.pem')));
  const r = await onPty(dir, ['key', 'import', pem, '-r', 'targets/releases'], [
    { expect: 'Enter passphrase for new targets/releases key with ID 8fae7a8: ', send: 'imported-pass\r' },
    { expect: 'Repeat passphrase for new targets/releases key with ID 8fae7a8: ', send: 'imported-pass\r' },
  ]);
  assert.equal(r.code, 0, r.output);
  const store = await FileKeyStore.open({ trustDir: dir, passphrases: new PassphraseRetriever({ env: { NOTARY_DELEGATION_PASSPHRASE: 'imported-pass' } }) });
  await store.signer(DELEG_ID);
});
