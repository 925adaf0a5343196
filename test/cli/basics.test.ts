import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDtrust } from '../rig/notary.js';

test('--version prints one line and exits 0', async () => {
  const r = await runDtrust(['--version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^dtrust Version: \d+\.\d+\.\d+, Git commit: \S*, Node version: v\d+/);
});

test('version prints the four-line block', async () => {
  const r = await runDtrust(['version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^dtrust\n Version:    \d+\.\d+\.\d+\n Git commit: \S*\n Node version: v\d+/);
});

test('--help lists the commands on stdout', async () => {
  const r = await runDtrust(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: dtrust/);
  assert.match(r.stdout, /version/);
});

test('through a symlink named notary, the program calls itself notary', async () => {
  const r = await runDtrust(['--version'], { invokeAs: 'notary' });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^notary Version: /);
});

test('an unknown command is a fatal error with exit 1, on stderr', async () => {
  const r = await runDtrust(['bogus']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, '\n* fatal: unknown command "bogus" for "dtrust"\n');
});

test('invoked as notary, errors are printed on stdout as notary does', async () => {
  const r = await runDtrust(['--bogus'], { invokeAs: 'notary' });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '\n* fatal: unknown flag: --bogus\n');
});

test('pflag forms: -d=DIR is accepted', async () => {
  const r = await runDtrust(['-d=/tmp/x', 'version']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});
