// scripts/setup.sh (issue 18 item 6): when the optional pkcs11js cannot be built, node_modules is
// installed once per lockfile, not on every `npm test`, `demo` and `bench`. npm is a stub here
// that records each call and installs nothing, so pkcs11js never loads (as when the build fails).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT, runProcess } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';

const STUB_NPM = `#!/bin/sh
echo "npm $*" >>"$NPM_CALLS"
rm -rf node_modules && mkdir node_modules && cp package-lock.json node_modules/.package-lock.json
`;

test('setup.sh tries a failing pkcs11js build once per lockfile', async () => {
  const dir = await tempDir('dtrust-setup-');
  await mkdir(join(dir, 'scripts'));
  await mkdir(join(dir, 'bin'));
  await copyFile(join(REPO_ROOT, 'scripts', 'setup.sh'), join(dir, 'scripts', 'setup.sh'));
  await writeFile(join(dir, 'package-lock.json'), '{"lockfileVersion":3}\n');
  await writeFile(join(dir, 'bin', 'npm'), STUB_NPM);
  await chmod(join(dir, 'bin', 'npm'), 0o755);
  const calls = join(dir, 'npm-calls');
  const env = { ...process.env, PATH: `${join(dir, 'bin')}:${process.env['PATH']}`, NPM_CALLS: calls };
  const setup = () => runProcess('bash', [join(dir, 'scripts', 'setup.sh')], { cwd: dir, env });

  const first = await setup();
  assert.equal(first.code, 0, first.stderr);
  assert.equal(
    first.stdout,
    'setup: installing npm packages (npm ci, about 30 s)\n' +
      'setup: pkcs11js (optional, for PKCS#11 tokens) could not be built; not retried until package-lock.json changes (needs python3, make, g++)\n',
  );
  const again = await setup();
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, '');
  assert.equal(await readFile(calls, 'utf8'), 'npm ci --no-audit --no-fund\n');

  // A new lockfile is a new chance for the build.
  await writeFile(join(dir, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}\n');
  const changed = await setup();
  assert.equal(changed.stdout.split('\n')[0], 'setup: installing npm packages (npm ci, about 30 s)');
  assert.equal(await readFile(calls, 'utf8'), 'npm ci --no-audit --no-fund\n'.repeat(2));
});
