// Progress on long work (issue 18 item 3): encrypting a key with notary's million PBKDF2 rounds
// takes over 300 ms, so a terminal is told what is happening; a pipe never is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DTRUST_BIN, runDtrust } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';
import { runOnPty } from './key-pty-driver.js';

const PASS = { NOTARY_TARGETS_PASSPHRASE: 'progress-pass-1' };

test('a terminal sees "Encrypting the targets key..." once it takes longer than 300 ms', async () => {
  const home = await tempDir('progress-pty-');
  const r = await runOnPty([process.execPath, DTRUST_BIN, '-d', join(home, 'trust'), 'key', 'generate', '-r', 'targets'], [
    { expect: 'Generated new ecdsa targets key with keyID: [0-9a-f]{64}', send: '' },
  ], { env: { PATH: process.env['PATH'], HOME: home, TERM: 'dumb', ...PASS }, cwd: home });
  assert.equal(r.stuckAt, undefined, r.output);
  assert.match(r.output, /^Encrypting the targets key\.\.\.\r\nGenerated new ecdsa targets key with keyID: [0-9a-f]{64}\r\n$/);
});

test('a pipe never gets a progress line', async () => {
  const home = await tempDir('progress-pipe-');
  const r = await runDtrust(['-d', join(home, 'trust'), 'key', 'generate', '-r', 'targets'], { env: { ...PASS, DTRUST_KDF_ITERATIONS: undefined } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^Generated new ecdsa targets key with keyID: [0-9a-f]{64}\n$/);
});
