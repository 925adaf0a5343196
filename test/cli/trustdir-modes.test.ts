// A trust directory made with mkdir (0755), as CI scripts and many users pass to -d: every
// key-writing notary command line works under both program names with one warning, keys keep
// their private modes, and the real notary 0.7 client reads (and signs with) what dtrust wrote
// (SEC-F2, docs/configuration.md "Trust directory modes"). Directories other users can write stay
// refused (key-badinput.test.ts, test/keystore/filestore.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useNotaryServer } from '../rig/server.js';
import { DtrustClient, NotaryClient, describeFailure, type RunResult } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';
import { FAST_KDF, keyIdsOf, tableRows } from './repo-helpers.js';

const server = useNotaryServer();
const T = { timeout: 180_000 };

const mode = (p: string): number => statSync(p).mode & 0o7777;

/** Every directory and file below `dir` with its mode, relative. */
function modes(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const r = rel === '' ? name : `${rel}/${name}`;
    const st = statSync(join(dir, r));
    out.push(`${r} ${st.isDirectory() ? 'dir' : 'file'} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) out.push(...modes(dir, r));
  }
  return out;
}

for (const invokeAs of ['dtrust', 'notary'] as const) {
  test(`a 0755 trust dir (mkdir): init, key generate/import, delegation, rotation, add -p and list work as ${invokeAs}`, T, async () => {
    const home = await tempDir(`modes-${invokeAs}-`);
    const trust = join(home, 'trust');
    mkdirSync(trust);
    chmodSync(trust, 0o755);
    const gun = `example.com/modes/${invokeAs}`;
    const dt = await DtrustClient.create({ serverUrl: server().url, home, trustDir: trust, env: FAST_KDF, invokeAs });
    const warning = new RegExp(`other users can access ${trust} \\(mode 0755\\); the private keys stay protected: key files are mode 0600, in ${trust}/private \\(mode 0700\\)`);
    const run = async (args: string[]): Promise<RunResult> => {
      const r = await dt.run(args);
      if (r.code !== 0) assert.fail(describeFailure(invokeAs, args, r));
      const warnings = r.stderr.split('\n').filter((l) => /level=warning|^warning/.test(l));
      assert.ok(warnings.length <= 1, `at most one warning: ${args.join(' ')}\n${r.stderr}`);
      for (const w of warnings) assert.match(w, warning, args.join(' '));
      assert.doesNotMatch(r.stderr + r.stdout, /refusing|not protected/);
      return r;
    };
    const f = join(home, 'payload.txt');
    writeFileSync(f, 'payload\n');

    const init = await run(['init', gun]);
    assert.match(init.stderr, warning, 'the one warning is shown');
    await run(['key', 'generate', 'ecdsa', '--role', 'targets/releases', '-o', join(home, 'rel')]);
    await run(['key', 'import', join(home, 'rel-key.pem'), '--role', 'targets/releases']);
    await run(['key', 'generate', 'ecdsa', '--role', 'targets/other']);
    await run(['delegation', 'add', gun, 'targets/releases', join(home, 'rel.pem'), '--all-paths']);
    await run(['publish', gun]);
    await run(['key', 'rotate', gun, 'targets']);
    await run(['add', '-p', gun, 'top', f]);
    await run(['add', '-p', gun, 'rel/one', f, '--roles', 'targets/releases']);
    const list = await run(['list', gun]);
    assert.deepEqual(tableRows(list.stdout).map((r) => [r[0], r[3]]), [['rel/one', 'targets/releases'], ['top', 'targets']]);

    // The trust dir keeps its mode; everything dtrust made is private.
    assert.equal(mode(trust), 0o755);
    const all = modes(trust);
    assert.ok(all.some((e) => e.endsWith('.key file 600')) && all.some((e) => e.endsWith('.json file 600')));
    for (const entry of all) assert.match(entry, / (dir 700|file 600)$/, entry);
    const keyList = await run(['key', 'list']);
    const ids = ['root', 'targets', 'snapshot', 'targets/releases', 'targets/other'].map((role) => {
      const found = keyIdsOf(keyList.stdout, role);
      assert.equal(found.length, 1, `one ${role} key\n${keyList.stdout}`);
      return found[0]!;
    });
    assert.deepEqual(readdirSync(join(trust, 'private')).sort(), ids.map((id) => `${id}.key`).sort());

    // The real notary reads what dtrust wrote, and signs with its keys in the same directory.
    const nt = await NotaryClient.create({ serverUrl: server().url, home, trustDir: trust });
    const nlist = await nt.runOk(['list', gun]);
    assert.deepEqual(tableRows(nlist.stdout).map((r) => r[0]), ['rel/one', 'top']);
    const nkeys = await nt.runOk(['key', 'list']);
    for (const id of ids) assert.match(nkeys.stdout, new RegExp(id));
    await nt.runOk(['add', '-p', gun, 'rel/two', f, '--roles', 'targets/releases']);
    await nt.runOk(['add', '-p', gun, 'top2', f]);
    const after = await run(['list', gun]);
    assert.deepEqual(tableRows(after.stdout).map((r) => r[0]), ['rel/one', 'rel/two', 'top', 'top2']);
  });
}

test('a trust dir other users can write: its keys are listed but never used to sign, the staged change is kept', T, async () => {
  const home = await tempDir('modes-unsafe-');
  const trust = join(home, 'trust');
  const gun = 'example.com/modes/unsafe';
  const dt = await DtrustClient.create({ serverUrl: server().url, home, trustDir: trust, env: FAST_KDF });
  const f = join(home, 'payload.txt');
  writeFileSync(f, 'payload\n');
  await dt.runOk(['init', '-p', gun]);
  chmodSync(trust, 0o777);
  const staged = await dt.run(['add', gun, 'one', f]);
  assert.equal(staged.code, 0, describeFailure('dtrust', ['add'], staged));
  const r = await dt.run(['publish', gun]);
  assert.equal(r.code, 1, describeFailure('dtrust', ['publish', gun], r));
  assert.match(r.stdout + r.stderr, new RegExp(`refusing to use private keys: ${trust} is writable by other users \\(mode 0777\\)`));
  assert.match(r.stdout + r.stderr, /hint: run: chmod 700/);
  const keys = await dt.run(['key', 'list']);
  assert.equal(keys.code, 0, 'key list still works');
  assert.equal(keyIdsOf(keys.stdout, 'root').length, 1);
  const status = await dt.runOk(['status', gun]);
  assert.match(status.stdout, /create\s+targets\s+target\s+one/, 'the change stays staged');
  chmodSync(trust, 0o700);
  await dt.runOk(['publish', gun]);
});
