// dtrust without pkcs11js (the optional native dependency could not be built):
//  - `npm ci` succeeds when the native build fails (and builds pkcs11js, without a prompt, when
//    it can: allowScripts in package.json);
//  - every non-PKCS#11 command works, and asking for a token gives one clear warning (or, for a
//    new root key, a clear refusal with a way out).
// The package is installed in a temp dir from package.json + package-lock.json, with dist/ and
// bin/ copied in: what `npm install` of the published package gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers.js';
import { baseEnv, describeFailure, runProcess, type RunResult } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';
import { SOFTHSM_MODULE, softToken, tokenEnv } from '../keystore/pkcs11-helpers.js';

function must(what: string, r: RunResult): RunResult {
  if (r.code !== 0) assert.fail(describeFailure(what, [], r));
  return r;
}

/**
 * A copy of the CLI (bin, dist, package.json, package-lock.json). The package's own prepare and
 * prepack scripts (the build from source) are left out: npm does not run them when it installs
 * the published tarball, and the copy has no sources to build.
 */
async function installCopy(prefix: string): Promise<string> {
  const dir = await tempDir(prefix);
  for (const f of ['bin', 'dist']) cpSync(join(REPO_ROOT, f), join(dir, f), { recursive: true });
  cpSync(join(REPO_ROOT, 'package-lock.json'), join(dir, 'package-lock.json'));
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  delete manifest.scripts['prepare'];
  delete manifest.scripts['prepack'];
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  return dir;
}

function dtrustIn(dir: string, home: string, args: readonly string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  return runProcess(process.execPath, [join(dir, 'bin', 'dtrust'), '-d', join(home, 'trust'), ...args], {
    env: { ...baseEnv(home), DTRUST_KDF_ITERATIONS: '2048', ...env },
    cwd: home,
  });
}

async function checkWithoutPkcs11js(dir: string): Promise<void> {
  assert.equal(existsSync(join(dir, 'node_modules', 'pkcs11js')), false);
  const home = await tempDir('p11-nojs-home-');
  const t = await softToken('nojs');
  // Non-PKCS#11 commands, no module configured: pkcs11js is never asked for.
  must('version', await dtrustIn(dir, home, ['version']));
  const gen = must('key generate', await dtrustIn(dir, home, ['key', 'generate', 'ecdsa', '-r', 'targets/releases']));
  assert.equal(gen.stderr, '');
  const root = must('key generate root', await dtrustIn(dir, home, ['key', 'generate', 'ecdsa']));
  assert.match(root.stdout, /Generated new ecdsa root key/);
  // With a module configured: one clear warning; file keys still listed.
  const env = tokenEnv(t);
  const list = must('key list', await dtrustIn(dir, home, ['key', 'list'], env));
  assert.match(list.stderr, /PKCS#11 \(DTRUST_PKCS11_MODULE\): PKCS#11 support is not installed: the optional package pkcs11js could not be loaded/);
  assert.match(list.stderr, /reinstall dtrust where npm can build native addons/);
  assert.equal(list.stdout.match(/\/trust\/private/g)?.length, 2);
  // A new root key is refused (the token was asked for), with the way out, which works.
  const refused = await dtrustIn(dir, home, ['key', 'generate', 'ecdsa'], env);
  assert.equal(refused.code, 1, describeFailure('key generate', [], refused));
  assert.match(refused.stderr, /\* fatal: Failed to create a new root key: no root key was created: PKCS#11 support is not installed/);
  assert.match(refused.stderr, /run with --pkcs11-module none/);
  must('key generate --pkcs11-module none', await dtrustIn(dir, home, ['--pkcs11-module', 'none', 'key', 'generate', 'ecdsa'], env));
  assert.equal(readdirSync(join(home, 'trust', 'private')).length, 3);
  assert.equal(env.DTRUST_PKCS11_MODULE, SOFTHSM_MODULE);
}

test('pkcs11js hidden from the installed package: the CLI works with file keys and says why the token is not used', async () => {
  const dir = await installCopy('p11-hidden-');
  const nm = join(dir, 'node_modules');
  // Every installed package but pkcs11js, linked (node resolves their own dependencies from there).
  const real = realpathSync(join(REPO_ROOT, 'node_modules'));
  mkdirSync(nm);
  for (const name of readdirSync(real)) {
    if (name === 'pkcs11js' || name.startsWith('.')) continue;
    symlinkSync(join(real, name), join(nm, name));
  }
  await checkWithoutPkcs11js(dir);
  // And with the package linked back in, the same copy uses the token.
  symlinkSync(join(real, 'pkcs11js'), join(nm, 'pkcs11js'));
  const home = await tempDir('p11-nojs-home2-');
  const t = await softToken('back');
  const r = must('key generate', await dtrustIn(dir, home, ['key', 'generate', 'ecdsa'], tokenEnv(t)));
  assert.match(r.stderr, /was generated on token "back"/);
});

test('npm ci: pkcs11js is built without a prompt when it can be, and skipped (install still succeeds) when its build fails', async () => {
  // Builds: the allowScripts approval in package.json lets npm run pkcs11js's node-gyp build.
  const good = await installCopy('p11-npmci-');
  const npmEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'] };
  const ci = ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'];
  const built = must('npm ci', await runProcess('npm', ci, { cwd: good, env: npmEnv, timeoutMs: 240_000 }));
  assert.doesNotMatch(built.stderr, /install-scripts .*not yet covered by allowScripts/);
  assert.ok(existsSync(join(good, 'node_modules', 'pkcs11js', 'build', 'Release', 'pkcs11.node')), 'pkcs11js was built');
  // A machine where the native build fails (no working C/C++ compiler).
  const bad = await installCopy('p11-npmci-bad-');
  must('npm ci (failing native build)', await runProcess('npm', ci, { cwd: bad, env: { ...npmEnv, CC: 'false', CXX: 'false' }, timeoutMs: 240_000 }));
  await checkWithoutPkcs11js(bad);
});
