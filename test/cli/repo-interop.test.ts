// Repository commands against the REAL notary 0.7 client, both directions, on one notary-server:
//  - what dtrust init/add/addhash/remove/witness/publish writes, notary lists, looks up and verifies;
//  - what notary writes (published and staged), dtrust lists, looks up, verifies and shows in status;
//  - both clients on the SAME trust directory, alternating publishes with each other's keys,
//    delegations and `-r`;
//  - `delete` and `delete --remote`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from '../rig/notary.js';
import { useNotaryServer } from '../rig/server.js';
import { cachedVersion, clients, fails, fatal, file, freshDtrust, freshNotary, ok, tableRows } from './repo-helpers.js';

const server = useNotaryServer();

const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');
const sha512 = (b: string | Buffer): string => createHash('sha512').update(b).digest('hex');

interface ListJson {
  name: string;
  digest: string;
  size: number;
  role: string;
  hashes: Record<string, string>;
}

test('dtrust init/add/addhash/remove/witness/publish: the real notary lists, looks up and verifies it', async () => {
  const url = server().url;
  const { home, dtrust } = await clients(url, { prefix: 'repo-d2n-' });
  const gun = 'example.com/interop/dtrust-writes';
  const hello = 'hello\n';
  const bin = Buffer.from([0, 1, 2, 0xff, 0x0a]);
  const helloFile = file(home, 'hello.txt', hello);
  const binFile = file(home, 'bin.dat', bin);
  const d = async (...args: string[]) => ok('dtrust', args, await dtrust.run(args));

  assert.equal((await d('init', gun)).stdout, '', 'a first init with no root key prints nothing');
  assert.equal((await d('add', gun, 'my file', helloFile)).stdout, `Addition of target "my file" to repository "${gun}" staged for next publish.\n`);
  await d('add', gun, 'ü<&>', binFile);
  assert.equal(
    (await d('addhash', gun, 'by-sha512', '6', '--sha512', sha512(hello))).stdout,
    `Addition of target "by-sha512" by sha512 hash to repository "${gun}" staged for next publish.\n`,
  );
  assert.equal(
    (await d('addhash', gun, 'both', '0x6', '--sha512', sha512(hello), '--sha256', sha256(hello))).stdout,
    `Addition of target "both" by sha256, sha512 hash to repository "${gun}" staged for next publish.\n`,
    'the algorithms are listed in a fixed order (cli.md §12 #21)',
  );
  await d('add', gun, 'doomed', helloFile);
  assert.equal((await d('publish', gun)).stdout, `Pushing changes to ${gun}\nSuccessfully published changes for repository ${gun}\n`);
  assert.equal((await d('remove', gun, 'doomed')).stdout, `Removal of doomed from ${gun} staged for next publish.\n`);
  await d('publish', gun);
  assert.equal((await d('status', gun)).stdout, `No unpublished changes for ${gun}\n`);

  // A notary client that has never seen the repository.
  const notary = await freshNotary(url);
  const nl = ok('notary', ['list'], await notary.run(['list', gun]));
  assert.deepEqual(tableRows(nl.stdout), [
    ['both', sha256(hello), '6', 'targets'],
    ['by-sha512', '', '6', 'targets'],
    ['my file', sha256(hello), '6', 'targets'],
    ['ü<&>', sha256(bin), '5', 'targets'],
  ]);
  assert.equal((await d('list', gun)).stdout, nl.stdout, 'dtrust prints the same table');

  for (const name of ['both', 'by-sha512', 'my file', 'ü<&>']) {
    const nlk = ok('notary', ['lookup', name], await notary.run(['lookup', gun, name]));
    assert.equal((await d('lookup', gun, name)).stdout, nlk.stdout);
  }
  assert.equal((await notary.run(['lookup', gun, 'by-sha512'])).stdout, 'by-sha512 sha256: 6\n');

  // notary verifies content against what dtrust signed: stdin, -i, -q; sha512-only targets too.
  assert.equal(ok('notary', ['verify'], await notary.run(['verify', gun, 'my file'], { input: hello })).stdout, hello);
  assert.equal(ok('notary', ['verify'], await notary.run(['verify', gun, 'ü<&>', '-i', binFile, '-q'])).stdout, '');
  assert.equal(ok('notary', ['verify'], await notary.run(['verify', gun, 'by-sha512'], { input: hello })).stdout, hello);
  const bad = fails('notary', ['verify'], await notary.run(['verify', gun, 'my file'], { input: 'tampered\n' }));
  assert.match(fatal(bad.stdout), /^data not present in the trusted collection, sha(256|512) checksum for my file did not match: expected [0-9a-f]+$/);

  // --json of list and lookup: the same entries as notary's table and lookup line.
  const json = JSON.parse((await d('list', gun, '--json')).stdout) as ListJson[];
  assert.deepEqual(
    json.map((e) => [e.name, e.digest, String(e.size), e.role]),
    tableRows(nl.stdout),
  );
  assert.deepEqual(json.find((e) => e.name === 'by-sha512')!.hashes, { sha512: sha512(hello) });
  const lk = JSON.parse((await d('lookup', gun, 'ü<&>', '--json')).stdout) as ListJson;
  assert.deepEqual(lk, { name: 'ü<&>', digest: sha256(bin), size: 5, role: 'targets', hashes: { sha256: sha256(bin), sha512: sha512(bin) } });

  // witness targets -p re-signs targets: version bumped, content unchanged, notary accepts it.
  const before = cachedVersion(notary.trustDir, gun, 'targets');
  const w = await d('witness', gun, 'targets', '-p');
  assert.equal(
    w.stdout,
    `The following roles were successfully marked for witnessing on the next publish:\n\t- targets\nAuto-publishing changes to ${gun}\nSuccessfully published changes for repository ${gun}\n`,
  );
  const nl2 = ok('notary', ['list'], await notary.run(['list', gun]));
  assert.equal(nl2.stdout, nl.stdout);
  assert.equal(cachedVersion(notary.trustDir, gun, 'targets'), before + 1);
});

test('notary init/add/addhash/publish: dtrust lists, looks up, verifies it and shows notary\'s staged changes', async () => {
  const url = server().url;
  const { home, notary } = await clients(url, { prefix: 'repo-n2d-' });
  const gun = 'example.com/interop/notary-writes';
  const n = async (...args: string[]) => ok('notary', args, await notary.run(args));
  const content = 'notary content\n';
  const f = file(home, 'c.txt', content);

  await n('init', gun, '-p');
  const dtrust = await freshDtrust(url);
  const d = async (...args: string[]) => ok('dtrust', args, await dtrust.run(args));
  const empty = await d('list', gun);
  assert.equal(empty.stdout, '\nNo targets present in this repository.\n\n');
  assert.equal(empty.stdout, (await n('list', gun)).stdout);

  await n('add', gun, 'v1', f);
  await n('add', gun, 'with space', f);
  await n('addhash', gun, 'hashed', String(content.length), '--sha512', sha512(content));
  await n('publish', gun);
  const nl = await n('list', gun);
  assert.equal((await d('list', gun)).stdout, nl.stdout);
  for (const name of ['v1', 'with space', 'hashed']) assert.equal((await d('lookup', gun, name)).stdout, (await n('lookup', gun, name)).stdout);

  // verify: stdin, -i with -o (file mode 0600), -q; wrong content and unknown target fail.
  assert.equal((await dtrust.run(['verify', gun, 'v1'], { input: content })).stdout, content);
  const out = join(home, 'out.txt');
  assert.equal((await d('verify', gun, 'with space', '-i', f, '-o', out)).stdout, '');
  assert.equal(readFileSync(out, 'utf8'), content);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  assert.equal((await d('verify', gun, 'hashed', '-i', f, '-q')).stdout, '');
  const wrong = fails('dtrust', ['verify'], await dtrust.run(['verify', gun, 'hashed'], { input: 'other\n' }));
  assert.equal(wrong.stdout, '');
  assert.equal(fatal(wrong.stderr), `data not present in the trusted collection, sha512 checksum for hashed did not match: expected ${sha512(content)}`);
  const missing = fails('dtrust', ['verify'], await dtrust.run(['verify', gun, 'nope', '-i', f]));
  const nMissing = fails('notary', ['verify'], await notary.run(['verify', gun, 'nope', '-i', f]));
  assert.equal(fatal(missing.stderr), fatal(nMissing.stdout));

  // Staged (unpublished) by notary: dtrust's status on notary's trust dir shows the same rows.
  await n('add', gun, 'staged one', f);
  await n('remove', gun, 'v1');
  await n('addhash', gun, 'ü<&>', '3', '--sha256', sha256('abc'));
  const onNotaryDir = await freshDtrust(url);
  const dn = (args: string[]) => onNotaryDir.run(['-d', notary.trustDir, ...args], { noGlobalFlags: true });
  const ns = await n('status', gun);
  assert.match(ns.stdout, /^Unpublished changes for /);
  assert.equal(ok('dtrust', ['status'], await dn(['status', gun])).stdout, ns.stdout);
  const sj = JSON.parse(ok('dtrust', ['status', '--json'], await dn(['status', gun, '--json'])).stdout) as { index: number; action: string; scope: string; type: string; path: string }[];
  assert.deepEqual(
    sj.map((c) => [String(c.index), c.action, c.scope, c.type, c.path]),
    tableRows(ns.stdout),
  );
  // dtrust reset on notary's changelist; notary sees the rest and publishes it.
  assert.equal(ok('dtrust', ['reset'], await dn(['reset', gun, '-n', '1'])).stdout, `Successfully reset specified changes for repository ${gun}\n`);
  assert.deepEqual(tableRows((await n('status', gun)).stdout).map((r) => r[4]), ['staged one', 'ü<&>']);
  await n('publish', gun);
  assert.deepEqual(tableRows((await d('list', gun)).stdout).map((r) => r[0]), ['hashed', 'staged one', 'v1', 'with space', 'ü<&>']);
});

test('one trust directory, both clients: alternating publishes with each other\'s keys', async () => {
  const url = server().url;
  const { home, notary, dtrust } = await clients(url, { shared: true, prefix: 'repo-shared-' });
  const f = file(home, 'f.txt', 'shared\n');
  const n = async (...args: string[]) => ok('notary', args, await notary.run(args));
  const d = async (...args: string[]) => ok('dtrust', args, await dtrust.run(args));

  // notary's keys, used by dtrust.
  const g1 = 'example.com/shared/one';
  await n('init', g1);
  await d('add', g1, 'd1', f, '-p');
  await n('add', g1, 'n1', f, '-p');
  await d('addhash', g1, 'd2', '7', '--sha256', sha256('shared\n'));
  assert.equal((await n('status', g1)).stdout, (await d('status', g1)).stdout);
  await d('publish', g1);
  // dtrust's keys, used by notary.
  const g2 = 'example.com/shared/two';
  const init2 = await d('init', g2);
  const keyList = await n('key', 'list');
  const rootId = /Root key found, using: ([0-9a-f]{64})/.exec(init2.stdout)![1]!;
  assert.match(keyList.stdout, new RegExp(rootId), 'dtrust reused the root key notary made');
  await n('add', g2, 'n1', f, '-p');
  await d('add', g2, 'd1', f, '-p');
  await d('add', g2, 'gone', f);
  await n('publish', g2);
  await d('remove', g2, 'gone');
  await n('publish', g2);

  const fresh = await freshNotary(url);
  const rows1 = tableRows(ok('notary', ['list'], await fresh.run(['list', g1])).stdout).map((r) => r[0]);
  assert.deepEqual(rows1, ['d1', 'd2', 'n1']);
  const rows2 = tableRows(ok('notary', ['list'], await fresh.run(['list', g2])).stdout).map((r) => r[0]);
  assert.deepEqual(rows2, ['d1', 'n1']);
  assert.equal((await d('list', g2)).stdout, (await n('list', g2)).stdout);

  // Delegations: notary imports a key and delegates; dtrust signs for the delegation with it.
  const key = join(home, 'releases-key.pem');
  const cert = join(home, 'releases.pem');
  const ssl = await runProcess('openssl', ['req', '-new', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '365', '-subj', '/CN=releases']);
  assert.equal(ssl.code, 0, ssl.stderr);
  await n('key', 'import', key, '-r', 'targets/releases');
  await n('delegation', 'add', g1, 'targets/releases', cert, '--all-paths', '-p');
  await d('add', g1, 'rel-d', f, '-r', 'targets/releases', '-p');
  await n('add', g1, 'rel-n', f, '--roles', 'targets/releases', '-p');
  await d('add', g1, 'both-roles', f, '-r', 'targets,targets/releases', '-p');
  for (const args of [[], ['-r', 'targets/releases'], ['-r', 'targets'], ['-r', 'targets/unknown'], ['-r', 'targets/releases', '-r', 'targets']]) {
    const want = await n('list', g1, ...args);
    assert.equal((await d('list', g1, ...args)).stdout, want.stdout, `list ${args.join(' ')}`);
  }
  const rel = tableRows((await d('list', g1, '-r', 'targets/releases')).stdout);
  assert.deepEqual(rel.map((r) => [r[0], r[3]]), [
    ['both-roles', 'targets/releases'],
    ['rel-d', 'targets/releases'],
    ['rel-n', 'targets/releases'],
  ]);
  const relJson = JSON.parse((await d('list', g1, '-r', 'targets/releases', '--json')).stdout) as ListJson[];
  assert.deepEqual(relJson.map((e) => [e.name, e.digest, String(e.size), e.role]), rel);
  await d('remove', g1, 'rel-n', '-r', 'targets/releases', '-p');
  assert.deepEqual(tableRows((await n('list', g1, '-r', 'targets/releases')).stdout).map((r) => r[0]), ['both-roles', 'rel-d']);
  assert.equal((await d('lookup', g1, 'rel-d')).stdout, (await n('lookup', g1, 'rel-d')).stdout);
});

test('delete keeps keys and the server copy; delete --remote asks the server first, then notary sees no trust data', async () => {
  const url = server().url;
  const { home, dtrust, notary } = await clients(url, { prefix: 'repo-delete-' });
  const gun = 'example.com/interop/delete';
  const f = file(home, 'f.txt', 'x\n');
  const d = async (...args: string[]) => ok('dtrust', args, await dtrust.run(args));
  await d('init', gun, '-p');
  await d('add', gun, 'v', f);
  const gunDir = join(dtrust.trustDir, 'tuf', gun);
  const keysBefore = readdirSync(join(dtrust.trustDir, 'private')).sort();

  // Local delete: cache and staged change gone, keys kept, server untouched.
  assert.equal((await d('delete', gun)).stdout, `Deleting trust data for repository ${gun}\nSuccessfully deleted local trust data for repository ${gun}\n`);
  assert.equal(existsSync(gunDir), false);
  assert.deepEqual(readdirSync(join(dtrust.trustDir, 'private')).sort(), keysBefore);
  ok('notary', ['list'], await notary.run(['list', gun]));

  // --remote with the server unreachable: fails, and the local data is still there (cli.md §12 #9).
  await d('list', gun);
  const cached = readdirSync(join(gunDir, 'metadata')).sort();
  const offline = fails('dtrust', ['delete', '--remote'], await dtrust.run(['-s', 'http://127.0.0.1:1', '-d', dtrust.trustDir, 'delete', gun, '--remote'], { noGlobalFlags: true }));
  assert.match(offline.stderr, /\* fatal: /);
  assert.deepEqual(readdirSync(join(gunDir, 'metadata')).sort(), cached);

  // --remote: server and local data gone; a notary client now finds no trust data.
  assert.equal(
    (await d('delete', gun, '--remote')).stdout,
    `Deleting trust data for repository ${gun}\nSuccessfully deleted local and remote trust data for repository ${gun}\n`,
  );
  assert.equal(existsSync(gunDir), false);
  const host = new URL(url).host;
  const nGone = fails('notary', ['list'], await (await freshNotary(url)).run(['list', gun]));
  assert.equal(fatal(nGone.stdout), `${host} does not have trust data for ${gun}`);
  const dGone = fails('dtrust', ['list'], await dtrust.run(['list', gun]));
  assert.equal(fatal(dGone.stderr), `${host} does not have trust data for ${gun}`);

  // The other direction: notary deletes a repository dtrust can read; dtrust then sees none.
  await d('init', gun, '-p');
  const notary2 = await freshNotary(url);
  ok('notary', ['list'], await notary2.run(['list', gun]));
  ok('notary', ['delete'], await notary2.run(['delete', gun, '--remote']));
  const dGone2 = fails('dtrust', ['list'], await (await freshDtrust(url)).run(['list', gun]));
  assert.equal(fatal(dGone2.stderr), `${host} does not have trust data for ${gun}`);
});

test('a GUN with a space: dtrust init -p stores its keys and publishes; the real notary lists it, and the other way round', async () => {
  const url = server().url;
  const { home, notary, dtrust } = await clients(url, { prefix: 'repo-space-' });
  const gun = 'example.com/interop/with space';
  const f = file(home, 'v1.txt', 'v1\n');
  ok('dtrust', ['init'], await dtrust.run(['init', gun, '-p']));
  ok('dtrust', ['add'], await dtrust.run(['add', gun, 'v1', f, '-p']));
  const keys = ok('dtrust', ['key', 'list'], await dtrust.run(['key', 'list'])).stdout;
  assert.match(keys, /^targets +\.\.\.com\/interop\/with space +[0-9a-f]{64}/m);
  assert.deepEqual(tableRows(ok('notary', ['list'], await (await freshNotary(url)).run(['list', gun])).stdout).map((r) => r[0]), ['v1']);

  const gun2 = 'example.com/interop/notary space';
  ok('notary', ['init'], await notary.run(['init', gun2, '-p']));
  ok('notary', ['add'], await notary.run(['add', gun2, 'v1', f, '-p']));
  assert.deepEqual(tableRows(ok('dtrust', ['list'], await (await freshDtrust(url)).run(['list', gun2])).stdout).map((r) => r[0]), ['v1']);
});
