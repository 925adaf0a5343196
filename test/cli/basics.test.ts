import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NOTARY_BIN, runDtrust, runProcess } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';

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

test('a negative number where an argument goes is an unknown flag, as pflag reads it; after -- it is an argument', async () => {
  const hash = ['--sha256', '00'.repeat(32)];
  const home = await tempDir('basics-negative-');
  const notary = await runProcess(NOTARY_BIN, ['-d', home, 'addhash', 'example.com/app', 't', '-5', ...hash], { env: { PATH: process.env['PATH'] ?? '', HOME: home } });
  assert.equal(notary.code, 1);
  assert.equal(notary.stdout, "\n* fatal: unknown shorthand flag: '5' in -5\n");
  const r = await runDtrust(['-d', home, 'addhash', 'example.com/app', 't', '-5', ...hash]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, notary.stdout);
  const after = await runDtrust(['-d', home, 'addhash', 'example.com/app', 't', ...hash, '--', '-5']);
  assert.equal(after.code, 1);
  assert.match(after.stderr, /parsing "-5": the byte size cannot be negative/);
});
