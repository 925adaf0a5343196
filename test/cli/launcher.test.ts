// bin/dtrust: the bundle it runs for a command, and its V8 code cache: made once per command and
// build, reused, refused when broken, never changing what a command prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DTRUST_BIN, runProcess, type RunResult } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';
import { STAGING_WORDS } from '../../src/cli/stage-args.js';

const BUILD_ID = /\/\/# dtrust-build ([0-9a-f]{16})\n$/.exec(readFileSync(join(DTRUST_BIN, '..', '..', 'dist', 'dtrust.cjs'), 'latin1'))?.[1];

async function dtrust(home: string, cache: string, args: string[]): Promise<RunResult> {
  return runProcess(process.execPath, [DTRUST_BIN, ...args], { env: { PATH: process.env['PATH'], HOME: home, DTRUST_CODE_CACHE: cache }, cwd: home });
}

test('the bundle names its build', () => {
  assert.match(BUILD_ID ?? '', /^[0-9a-f]{16}$/);
});

test('code cache: one file per command, written once, reused, same output as without it', async () => {
  const home = await tempDir('launcher-');
  const cache = join(home, 'cache');
  const off = await dtrust(home, 'off', ['-d', join(home, 'trust'), 'key', 'list']);
  assert.equal(off.code, 0, off.stderr);
  assert.equal(readdirSync(home).includes('cache'), false);

  const first = await dtrust(home, cache, ['-d', join(home, 'trust'), 'key', 'list']);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(readdirSync(cache), [`${BUILD_ID}-key-list.v8`]);
  const file = join(cache, `${BUILD_ID}-key-list.v8`);
  const written = statSync(file);
  assert.ok(written.size > 0);
  assert.equal(written.mode & 0o777, 0o600);

  const second = await dtrust(home, cache, ['-d', join(home, 'trust'), 'key', 'list']);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(statSync(file).mtimeMs, written.mtimeMs, 'a cache V8 accepted is not rewritten');
  assert.equal(second.stdout, off.stdout);
  assert.equal(first.stdout, off.stdout);

  await dtrust(home, cache, ['version']);
  assert.deepEqual(readdirSync(cache).sort(), [`${BUILD_ID}-key-list.v8`, `${BUILD_ID}-version.v8`]);
});

test('code cache: a broken file is refused and replaced; files of other builds are removed', async () => {
  const home = await tempDir('launcher-');
  const cache = join(home, 'cache');
  mkdirSync(cache);
  const file = join(cache, `${BUILD_ID}-version.v8`);
  writeFileSync(file, Buffer.alloc(4096, 0x5a));
  writeFileSync(join(cache, '0123456789abcdef-version.v8'), 'old build');
  const r = await dtrust(home, cache, ['version']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Version:/);
  assert.notDeepEqual(readFileSync(file), Buffer.alloc(4096, 0x5a));
  assert.deepEqual(readdirSync(cache), [`${BUILD_ID}-version.v8`]);
});

test('code cache: an unwritable cache directory changes nothing but speed', async () => {
  const home = await tempDir('launcher-');
  const notADir = join(home, 'file');
  writeFileSync(notADir, '');
  const r = await dtrust(home, join(notADir, 'cache'), ['version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.deepEqual(readdirSync(home), ['file']);
});

// The staging commands run from dist/stage.cjs (src/cli/stage.ts), the rest from dist/dtrust.cjs.

const SHA = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
/** Runs dist/dtrust.cjs for any command, staging ones included, as bin/dtrust loads it. */
const WHOLE = `const vm = require('node:vm'), fs = require('node:fs'), path = require('node:path');
const [file, name, ...args] = process.argv.slice(1);
const m = { exports: {} };
new vm.Script(fs.readFileSync(file, 'latin1'), { filename: file }).runInThisContext()(m.exports, require, m, file, path.dirname(file));
m.exports.main(args, name).then((code) => { process.exitCode = code; });`;

test("bin/dtrust's staging words are stage-args.ts's", () => {
  const set = /const STAGING = new Set\(\[([^\]]*)\]\);/.exec(readFileSync(DTRUST_BIN, 'utf8'))?.[1];
  assert.deepEqual(set?.split(',').map((w) => w.trim().replace(/^'|'$/g, '')), [...STAGING_WORDS]);
});

test('staging commands run from the staging bundle, -p and help from the whole program', async () => {
  const home = await tempDir('launcher-');
  const cache = join(home, 'cache');
  const trust = join(home, 'trust');
  assert.equal(/\/\/# dtrust-build ([0-9a-f]{16})\n$/.exec(readFileSync(join(DTRUST_BIN, '..', '..', 'dist', 'stage.cjs'), 'latin1'))?.[1], BUILD_ID, 'one build id for both bundles');
  const staged = await dtrust(home, cache, ['-d', trust, 'addhash', 'example.com/app', 't', '3', '--sha256', SHA]);
  assert.equal(staged.code, 0, staged.stderr);
  assert.deepEqual(readdirSync(cache), [`${BUILD_ID}-addhash.stage.v8`]);
  // -p needs keys and a server: the whole program runs it (here it fails to connect, as it must).
  const published = await dtrust(home, cache, ['-d', trust, '-s', 'http://127.0.0.1:9', 'addhash', 'example.com/app', 'u', '3', '--sha256', SHA, '-p']);
  assert.equal(published.code, 1);
  assert.match(published.stdout, /Auto-publishing changes to example.com\/app/);
  assert.deepEqual(readdirSync(cache).sort(), [`${BUILD_ID}-addhash.stage.v8`, `${BUILD_ID}-addhash.v8`]);
  // A line passed on makes no staging cache: it would hold little of the command.
  const fresh = join(home, 'fresh');
  const help = await dtrust(home, fresh, ['addhash', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: dtrust addhash \[ GUN \] <target> <byte size> <hashes> \[flags\]/);
  assert.deepEqual(readdirSync(fresh), [`${BUILD_ID}-addhash.v8`]);
});

test('the staging bundle prints what the whole program prints, errors and usage included', async () => {
  const home = await tempDir('launcher-');
  const env = { PATH: process.env['PATH'], HOME: home, DTRUST_CODE_CACHE: 'off' };
  const whole = join(DTRUST_BIN, '..', '..', 'dist', 'dtrust.cjs');
  symlinkSync(DTRUST_BIN, join(home, 'notary'));
  const lines = (trust: string): string[][] => [
    ['-d', trust, 'addhash', 'example.com/app', 't', '3', '--sha256', SHA, '-r', 'targets/a,targets/b'],
    ['-d', trust, 'addhash', 'example.com/app'],
    ['-d', trust, 'addhash', 'example.com/app', 't', 'x', '--sha256', SHA],
    ['-d', trust, 'addhash', 'bad//gun', 't', '3', '--sha256', SHA],
    ['-d', trust, 'add', 'example.com/app', 'f', join(home, 'missing')],
    ['-d', trust, 'add', 'example.com/app', '--from', join(home, 'missing')],
    ['-d', trust, 'remove', 'example.com/app', 't'],
    ['-d', trust, 'witness', 'example.com/app', 'targets', 'root'],
    ['-d', trust, 'witness', 'example.com/app'],
    ['-d', trust, 'status', 'example.com/app'],
  ];
  for (const name of ['dtrust', 'notary']) {
    const viaStage = lines(join(home, `stage-${name}`));
    const viaWhole = lines(join(home, `whole-${name}`));
    for (let i = 0; i < viaStage.length; i++) {
      const a = await runProcess(process.execPath, [name === 'notary' ? join(home, 'notary') : DTRUST_BIN, ...viaStage[i]!], { env, cwd: home });
      const b = await runProcess(process.execPath, ['-e', WHOLE, whole, name, ...viaWhole[i]!], { env, cwd: home });
      const same = (s: string): string => s.replaceAll(`whole-${name}`, `stage-${name}`).replace(/^time="[^"]+"/gm, 'time=T');
      assert.deepEqual({ code: a.code, stdout: a.stdout, stderr: same(a.stderr) }, { code: b.code, stdout: same(b.stdout), stderr: same(b.stderr) }, `${name} ${viaStage[i]!.slice(2).join(' ')}`);
    }
  }
});
