// The package installs (issue 12 item 8): a fresh clone of HEAD, `npm pack` (prepack builds
// dist/), `npm install -g --prefix DIR ./dtrust-*.tgz`, then DIR/bin/dtrust and a `notary` symlink
// to it run. No network: the tarball's dependencies come from a registry on 127.0.0.1 that serves
// the packages installed in this checkout's node_modules (test/rig/npm-registry.ts).
// pkcs11js (optional, native) is left out of the install (--omit=optional: node-gyp would need a
// compiler and Node's headers, which it may try to download); that it resolves from the installed
// package is checked by linking this checkout's build of it there.
// Installing from a git URL needs the real registry (npm installs the dev packages from the
// lockfile's tarballs): it is not tested here; see the README's Install section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { cp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT, runProcess, type RunResult } from '../rig/notary.js';
import { serveInstalledPackages } from '../rig/npm-registry.js';
import { tempDir } from '../rig/tmp.js';

const SOFTHSM = '/usr/lib/softhsm/libsofthsm2.so';

function show(r: RunResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

async function must(what: string, p: Promise<RunResult>): Promise<RunResult> {
  const r = await p;
  assert.equal(r.code, 0, `${what}\n${show(r)}`);
  return r;
}

interface PackResult {
  filename: string;
  size: number;
  entryCount: number;
  files: { path: string }[];
}

test('npm pack of a fresh clone installs with npm install -g and runs as dtrust and as notary', async (t) => {
  if (!existsSync(join(REPO_ROOT, '.git'))) {
    t.skip(`${REPO_ROOT} is not a git checkout: nothing to clone`);
    return;
  }
  const tmp = await tempDir('package-');
  const home = join(tmp, 'home');
  await mkdir(home);
  const env = { PATH: process.env['PATH'], HOME: home };
  const clone = join(tmp, 'clone');
  await must('git clone', runProcess('git', ['clone', '-q', REPO_ROOT, clone], { env }));

  // Unbuilt, the launcher says what to run, in one line.
  const unbuilt = await runProcess(process.execPath, [join(clone, 'bin', 'dtrust'), '--help'], { env, cwd: home });
  assert.equal(unbuilt.code, 1, show(unbuilt));
  assert.equal(unbuilt.stdout, '');
  assert.equal(unbuilt.stderr, `dtrust: not built: run "npm install" (or "npm run build") in ${clone}\n`);

  // npm pack builds dist/ first (prepack); the packages come from this checkout.
  await symlink(realpathSync(join(REPO_ROOT, 'node_modules')), join(clone, 'node_modules'));
  let started = Date.now();
  const packed = await must('npm pack', runProcess('npm', ['pack', '--json', '--pack-destination', tmp], { env, cwd: clone, timeoutMs: 120_000 }));
  const pack = (JSON.parse(packed.stdout) as PackResult[])[0]!;
  const files = pack.files.map((f) => f.path).sort();
  t.diagnostic(`${pack.filename}: ${pack.size} bytes, ${pack.entryCount} files; npm pack took ${Date.now() - started} ms`);
  for (const f of ['bin/dtrust', 'dist/dtrust.cjs', 'dist/stage.cjs', 'LICENSE', 'README.md', 'package.json', 'docs/configuration.md', 'docs/commands/sign.md']) {
    assert.ok(files.includes(f), `${f} is in the tarball: ${files.join(' ')}`);
  }
  for (const f of files) assert.match(f, /^(bin|dist|docs)\/|^(LICENSE|README\.md|package\.json)$/, `${f} does not belong in the tarball`);
  assert.ok(!files.some((f) => f.startsWith('dist/.v8-cache')));

  const manifest = JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8')) as {
    license: string;
    dependencies: Record<string, string>;
    optionalDependencies: Record<string, string>;
  };
  assert.equal(manifest.license, 'Apache-2.0');
  assert.match(readFileSync(join(clone, 'LICENSE'), 'utf8'), /^\s*Apache License\s+Version 2\.0, January 2004\s+http:\/\/www\.apache\.org\/licenses\//);
  // Runtime dependencies are exactly the packages the bundle loads at run time: what esbuild
  // bundled (commander) is not one, and nothing the bundle requires is missing.
  const bundle = readFileSync(join(clone, 'dist', 'dtrust.cjs'), 'latin1');
  const packageOf = (n: string): string => n.split('/').slice(0, n.startsWith('@') ? 2 : 1).join('/');
  const required = new Set([...bundle.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!).filter((n) => !n.startsWith('node:')).map(packageOf));
  // @sigstore/oci 0.6 requires promise-retry without declaring it: a dependency of ours so that it is installed.
  const undeclared = ['promise-retry'];
  assert.deepEqual([...required, ...undeclared].sort(), Object.keys(manifest.dependencies).sort());
  assert.deepEqual(Object.keys(manifest.optionalDependencies), ['pkcs11js']);
  assert.match(bundle, /\)\("pkcs11js"\)/, 'pkcs11js is loaded at run time, not bundled');

  started = Date.now();
  const registry = await serveInstalledPackages(REPO_ROOT, [...Object.keys(manifest.dependencies), ...Object.keys(manifest.optionalDependencies)], await tempDir('package-registry-'));
  const prefix = join(tmp, 'prefix');
  try {
    await must(
      'npm install -g',
      runProcess('npm', ['install', '-g', '--prefix', prefix, '--registry', registry.url, '--cache', join(tmp, 'npm-cache'), '--omit=optional', '--no-audit', '--no-fund', `./${pack.filename}`], {
        env,
        cwd: tmp,
        timeoutMs: 120_000,
      }),
    );
  } finally {
    await registry.close();
  }
  t.diagnostic(`dependencies packed and npm install -g done in ${Date.now() - started} ms`);

  const dtrust = join(prefix, 'bin', 'dtrust');
  const version = await must('dtrust --version', runProcess(dtrust, ['--version'], { env, cwd: home }));
  assert.match(version.stdout, /^dtrust Version: \d+\.\d+\.\d+, Git commit: [0-9a-f]+, Node version: v\d+/);
  const help = await must('dtrust --help', runProcess(dtrust, ['--help'], { env, cwd: home }));
  assert.match(help.stdout, /^Usage: dtrust \[command\] \[flags\]\n\ndtrust allows the creation and management of collections of signed targets/);

  const notary = join(prefix, 'bin', 'notary');
  await symlink(dtrust, notary);
  assert.match((await must('notary --version', runProcess(notary, ['--version'], { env, cwd: home }))).stdout, /^notary Version: /);
  assert.match((await must('notary --help', runProcess(notary, ['--help'], { env, cwd: home }))).stdout, /^Usage: notary \[command\] \[flags\]\n\nNotary allows/);
  const keys = await must('notary key list', runProcess(notary, ['key', 'list'], { env, cwd: home }));
  assert.match(keys.stdout, /No signing keys found/);

  // pkcs11js resolves from the installed package once it is there.
  if (existsSync(SOFTHSM)) {
    const conf = join(tmp, 'softhsm2.conf');
    await mkdir(join(tmp, 'tokens'));
    await writeFile(conf, `directories.tokendir = ${join(tmp, 'tokens')}\nobjectstore.backend = file\n`);
    const withToken = ['--pkcs11-module', SOFTHSM, 'key', 'list'];
    const without = await must('key list without pkcs11js', runProcess(dtrust, withToken, { env: { ...env, SOFTHSM2_CONF: conf }, cwd: home }));
    assert.match(without.stderr, /the optional package pkcs11js could not be loaded/);
    await symlink(realpathSync(join(REPO_ROOT, 'node_modules', 'pkcs11js')), join(prefix, 'lib', 'node_modules', 'dtrust', 'node_modules', 'pkcs11js'));
    const withIt = await must('key list with pkcs11js', runProcess(dtrust, withToken, { env: { ...env, SOFTHSM2_CONF: conf }, cwd: home }));
    assert.doesNotMatch(withIt.stderr, /pkcs11js/);
    assert.match(withIt.stderr, /no token found through/);
  } else {
    t.diagnostic(`${SOFTHSM} is missing: the pkcs11js resolution check is skipped`);
  }

  // The bundle needs no node_modules for commands that create no certificate.
  const bare = join(tmp, 'bare');
  for (const d of ['bin', 'dist']) await cp(join(prefix, 'lib', 'node_modules', 'dtrust', d), join(bare, d), { recursive: true });
  await must('bare --version', runProcess(process.execPath, [join(bare, 'bin', 'dtrust'), '--version'], { env, cwd: home }));
  const bareKeys = await must('bare key list', runProcess(process.execPath, [join(bare, 'bin', 'dtrust'), '-d', join(tmp, 'trust'), 'key', 'list'], { env, cwd: home }));
  assert.match(bareKeys.stdout, /No signing keys found/);
});
