// bin/dtrust's V8 code cache: made once per command and build, reused, refused when broken, never
// changing what a command prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DTRUST_BIN, runProcess, type RunResult } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';

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
