// Delegation commands against the real notary-server, cross-checked with the real notary 0.7
// client in both directions (cli.md §9.20-§9.23, formats.md §2.5, §3.6, §7.6):
//  - dtrust adds / removes / purges delegations, and notary's `delegation list` and `list` agree;
//  - notary stages delegation changes, dtrust publishes and reads them (and the reverse);
//  - nested roles, with path restrictions enforced on reads (both clients) and on writes (dtrust);
//  - `delegation list` byte-identical to notary's table, and `--json`.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useNotaryServer } from '../rig/server.js';
import { DtrustClient, NotaryClient } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';
import { FAST_KDF, delegations, fails, fatalOf, file, hintOf, keyFiles, listed, ok, party, type Party } from './delegation-helpers.js';

const server = useNotaryServer();
const T = { timeout: 120_000 };

let gunCounter = 0;
const newGun = (what: string): string => `example.com/deleg/${what}-${++gunCounter}`;

/** The repository owner: `init -p` with dtrust, and the snapshot key handed to the server so that collaborators can publish. */
async function owner(gun: string): Promise<Party> {
  const o = await party(server().url, 'owner');
  await ok(o.dt, ['init', gun, '-p']);
  await ok(o.dt, ['key', 'rotate', gun, 'snapshot', '-r']);
  return o;
}

/** A collaborator with their own trust directory holding the private key of `keys`. */
async function collaborator(name: string): Promise<Party & { keys: Awaited<ReturnType<typeof keyFiles>> }> {
  const p = await party(server().url, name);
  const keys = await keyFiles(p.home, name);
  const r = await ok(p.dt, ['key', 'import', keys.key]);
  assert.doesNotMatch(r.stdout + r.stderr, /fatal/);
  return { ...p, keys };
}

/** Fresh readers (nothing cached) of both implementations. */
async function readers(): Promise<{ nt: NotaryClient; dt: DtrustClient }> {
  const home = await tempDir('deleg-reader-');
  return {
    nt: await NotaryClient.create({ serverUrl: server().url, home, trustDir: `${home}/notary` }),
    dt: await DtrustClient.create({ serverUrl: server().url, home, trustDir: `${home}/dtrust`, env: FAST_KDF }),
  };
}

/** `list` by both readers: same table, byte for byte; returns its "name role" rows. */
async function listBoth(gun: string, extra: string[] = []): Promise<string[]> {
  const r = await readers();
  const n = await ok(r.nt, ['list', gun, ...extra]);
  const d = await ok(r.dt, ['list', gun, ...extra]);
  assert.equal(d.stdout, n.stdout, 'dtrust list prints what notary list prints');
  return listed(n.stdout);
}

/** `delegation list` by notary and dtrust on the same trust dir: identical output; parsed. */
async function delegationListBoth(p: Party, gun: string): Promise<ReturnType<typeof delegations>> {
  const n = await ok(p.nt, ['delegation', 'list', gun]);
  const d = await ok(p.dt, ['delegation', 'list', gun]);
  assert.equal(d.stdout, n.stdout, 'dtrust delegation list prints notary\'s table');
  return delegations(n.stdout);
}

describe('delegations, cross-checked with the real notary', { concurrency: 3 }, () => {
  test('dtrust adds, removes and purges; notary delegation list and list agree', T, async () => {
    const gun = newGun('crud');
    const o = await owner(gun);
    const alice = await collaborator('alice');
    const bob = await keyFiles(o.home, 'bob');

    // A certificate and a public key in one command; paths as CSV and repeated.
    let r = await ok(o.dt, ['delegation', 'add', gun, 'targets/releases', alice.keys.cert, bob.pub, '--paths', 'rel/,v', '--paths', 'beta/', '-p']);
    assert.equal(
      r.stdout,
      `\nAddition of delegation role targets/releases with keys [${alice.keys.id} ${bob.id}], with paths [rel/, v, beta/], to repository "${gun}" staged for next publish.\n\n` +
        `Auto-publishing changes to ${gun}\nSuccessfully published changes for repository ${gun}\n`,
    );
    await ok(o.dt, ['delegation', 'add', gun, 'targets/qa', alice.keys.cert, '--all-paths', '-p']);
    let d = await delegationListBoth(o, gun);
    assert.deepEqual([...d.keys()], ['targets/qa', 'targets/releases']);
    assert.deepEqual(d.get('targets/releases'), { paths: ['beta/', 'rel/', 'v'], keys: [alice.keys.id, bob.id], threshold: '1' });
    assert.deepEqual(d.get('targets/qa'), { paths: ['"" <all paths>'], keys: [alice.keys.id], threshold: '1' });

    // The collaborator publishes into both roles; readers of both implementations see the same.
    const payload = await file(alice.home, 'payload', 'release one\n');
    await ok(alice.dt, ['add', gun, 'rel/1', payload, '-r', 'targets/releases']);
    await ok(alice.dt, ['add', gun, 'qa1', payload, '-r', 'targets/qa', '-p']);
    assert.deepEqual(await listBoth(gun), ['qa1 targets/qa', 'rel/1 targets/releases']);
    assert.deepEqual(await listBoth(gun, ['-r', 'targets/releases']), ['rel/1 targets/releases']);

    // remove a key and a path
    r = await ok(o.dt, ['delegation', 'remove', gun, 'targets/releases', bob.id, '--paths', 'beta/', '-p']);
    assert.match(r.stdout, new RegExp(`^\\nRemoval of delegation role targets/releases with keys \\[${bob.id}\\], with paths \\[beta/\\], to repository "${gun.replace(/\./g, '\\.')}" staged for next publish\\.\\n\\n`));
    d = await delegationListBoth(o, gun);
    assert.deepEqual(d.get('targets/releases'), { paths: ['rel/', 'v'], keys: [alice.keys.id], threshold: '1' });

    // purge alice's key from every delegation: both roles keep their paths but have no key left
    r = await ok(o.dt, ['delegation', 'purge', gun, '--key', alice.keys.id, '-p']);
    assert.ok(r.stdout.startsWith(`Removal of the following keys from all delegations in ${gun} staged for next publish:\n\t- ${alice.keys.id}\n`), r.stdout);
    d = await delegationListBoth(o, gun);
    assert.deepEqual(d.get('targets/releases'), { paths: ['rel/', 'v'], keys: [], threshold: '1' });
    assert.deepEqual(d.get('targets/qa'), { paths: ['"" <all paths>'], keys: [], threshold: '1' });
    // Roles without keys are skipped by both readers (their files are no longer signed by a listed key).
    assert.deepEqual(await listBoth(gun), []);

    // remove a whole role
    r = await ok(o.dt, ['delegation', 'remove', gun, 'targets/qa', '-y', '-p']);
    assert.ok(
      r.stdout.startsWith(
        `\nAre you sure you want to remove all data for this delegation? (yes/no)\nConfirmed \`yes\` from flag\n\nForced removal (including all keys and paths) of delegation role targets/qa to repository "${gun}" staged for next publish.\n\n`,
      ),
      r.stdout,
    );
    d = await delegationListBoth(o, gun);
    assert.deepEqual([...d.keys()], ['targets/releases']);
  });

  test('notary stages delegation changes, dtrust publishes and reads them (and the reverse)', T, async () => {
    const gun = newGun('staged');
    const o = await owner(gun);
    const a = await keyFiles(o.home, 'a');
    const b = await keyFiles(o.home, 'b');
    // The owner also signs releases itself: its key imported with the real notary.
    await ok(o.nt, ['key', 'import', b.key, '-r', 'targets/releases']);

    await ok(o.nt, ['delegation', 'add', gun, 'targets/releases', a.cert, b.cert, '--paths', 'rel/']);
    await ok(o.nt, ['delegation', 'add', gun, 'targets/qa', a.pub, '--all-paths']);
    const payload = await file(o.home, 'payload', 'staged by notary\n');
    await ok(o.nt, ['add', gun, 'rel/n1', payload, '-r', 'targets/releases']);
    const st = await ok(o.dt, ['status', gun]);
    assert.equal(st.stdout, (await ok(o.nt, ['status', gun])).stdout, 'dtrust status shows notary\'s staged changes as notary does');
    assert.match(st.stdout, /0 {4}create {4}targets\/releases {4}delegation/);

    await ok(o.dt, ['publish', gun]);
    assert.match((await ok(o.nt, ['status', gun])).stdout, /^No unpublished changes for /);
    let d = await delegationListBoth(o, gun);
    assert.deepEqual(d.get('targets/releases'), { paths: ['rel/'], keys: [a.id, b.id], threshold: '1' });
    assert.deepEqual(d.get('targets/qa'), { paths: ['"" <all paths>'], keys: [a.id], threshold: '1' });
    assert.deepEqual(await listBoth(gun), ['rel/n1 targets/releases']);

    // notary stages a key removal, a purge and a role removal; dtrust publishes them.
    await ok(o.nt, ['delegation', 'remove', gun, 'targets/releases', a.id]);
    await ok(o.nt, ['delegation', 'purge', gun, '--key', a.id]);
    await ok(o.nt, ['delegation', 'remove', gun, 'targets/qa', '-y']);
    await ok(o.dt, ['publish', gun]);
    d = await delegationListBoth(o, gun);
    assert.deepEqual([...d.keys()], ['targets/releases']);
    assert.deepEqual(d.get('targets/releases'), { paths: ['rel/'], keys: [b.id], threshold: '1' });
    assert.deepEqual(await listBoth(gun), ['rel/n1 targets/releases']);

    // The reverse: dtrust stages, notary publishes.
    await ok(o.dt, ['delegation', 'add', gun, 'targets/releases', '--paths', 'v2/']);
    await ok(o.dt, ['add', gun, 'v2/x', payload, '-r', 'targets/releases']);
    await ok(o.nt, ['publish', gun]);
    d = await delegationListBoth(o, gun);
    assert.deepEqual(d.get('targets/releases')?.paths, ['rel/', 'v2/']);
    assert.deepEqual(await listBoth(gun), ['rel/n1 targets/releases', 'v2/x targets/releases']);
  });

  test('nested roles: paths restricted by the parent on reads (both clients) and on writes (dtrust)', T, async () => {
    const gun = newGun('nested');
    const o = await owner(gun);
    const alice = await collaborator('alice'); // signs targets/releases
    const nina = await collaborator('nina'); // signs targets/releases/nightly
    await ok(o.dt, ['delegation', 'add', gun, 'targets/releases', alice.keys.cert, '--paths', 'rel/', '-p']);

    // The parent's key holder delegates further; a path outside the parent's is refused.
    let r = await fails(alice.dt, ['delegation', 'add', gun, 'targets/releases/nightly', nina.keys.cert, '--paths', 'other/', '-p']);
    assert.match(fatalOf(r), /invalid role targets\/releases\/nightly\. invalid paths to add to role/);
    assert.match(hintOf(r), /targets\/releases may delegate only paths starting with: "rel\/"/);
    await ok(alice.dt, ['reset', gun, '--all']);
    await ok(alice.dt, ['delegation', 'add', gun, 'targets/releases/nightly', nina.keys.cert, '--paths', 'rel/nightly/', '-p']);
    const d = await delegationListBoth(o, gun);
    assert.deepEqual(d.get('targets/releases/nightly'), { paths: ['rel/nightly/'], keys: [nina.keys.id], threshold: '1' });

    const payload = await file(nina.home, 'payload', 'nightly\n');
    await ok(nina.dt, ['add', gun, 'rel/nightly/n1', payload, '-r', 'targets/releases/nightly', '-p']);
    await ok(alice.dt, ['add', gun, 'rel/stable/s1', payload, '-r', 'targets/releases', '-p']);
    assert.deepEqual(await listBoth(gun), ['rel/nightly/n1 targets/releases/nightly', 'rel/stable/s1 targets/releases']);

    // Writes: a target outside the role's paths is refused with a message naming name, role and paths.
    r = await fails(nina.dt, ['add', gun, 'rel/stable/evil', payload, '-r', 'targets/releases/nightly', '-p']);
    assert.equal(fatalOf(r), 'Could not add all targets: "rel/stable/evil" is outside the paths delegated to targets/releases/nightly');
    assert.equal(hintOf(r), 'the role may sign only names starting with: "rel/nightly/"');
    await ok(nina.dt, ['reset', gun, '--all']);

    // Reads: the owner narrows targets/releases to rel/stable/; the nightly file still holds
    // rel/nightly/n1, but it is now outside its parent's paths: neither client lists it.
    await ok(o.dt, ['delegation', 'remove', gun, 'targets/releases', '--paths', 'rel/']);
    await ok(o.dt, ['delegation', 'add', gun, 'targets/releases', '--paths', 'rel/stable/', '-p']);
    assert.deepEqual(await listBoth(gun), ['rel/stable/s1 targets/releases']);
    assert.deepEqual(await listBoth(gun, ['-r', 'targets/releases/nightly']), []);
    const rd = await readers();
    const lookup = await rd.dt.run(['lookup', gun, 'rel/nightly/n1']);
    assert.equal(lookup.code, 1);
    assert.equal(fatalOf(lookup), 'No valid trust data for rel/nightly/n1');
    assert.equal(fatalOf(await rd.nt.run(['lookup', gun, 'rel/nightly/n1'])), 'No valid trust data for rel/nightly/n1');
    // And dtrust no longer lets nina sign there at all (the role's effective paths are empty).
    r = await fails(nina.dt, ['add', gun, 'rel/nightly/n2', payload, '-r', 'targets/releases/nightly', '-p']);
    assert.match(fatalOf(r), /outside the paths delegated to targets\/releases\/nightly/);
    assert.equal(hintOf(r), 'the role may sign only names starting with: (no paths)');
  });

  test('delegation list: notary\'s exact table (also when empty, and invoked as notary); --json', T, async () => {
    const gun = newGun('table');
    const o = await owner(gun);
    const empty = await ok(o.dt, ['delegation', 'list', gun]);
    assert.equal(empty.stdout, '\n\nNo delegations present in this repository.\n\n\n');
    assert.equal(empty.stdout, (await ok(o.nt, ['delegation', 'list', gun])).stdout);
    assert.equal((await ok(o.dt, ['delegation', 'list', gun, '--json'])).stdout, '[]\n');

    const k1 = await keyFiles(o.home, 'k1');
    const k2 = await keyFiles(o.home, 'k2');
    const k3 = await keyFiles(o.home, 'k3');
    await ok(o.dt, ['delegation', 'add', gun, 'targets/dev', k1.cert, k2.pub, k3.cert, '--paths', 'tmp/,dev/']);
    await ok(o.dt, ['delegation', 'add', gun, 'targets/releases', k1.cert, '--all-paths']);
    await ok(o.dt, ['delegation', 'add', gun, 'targets/keysonly', k2.pub, '--threshold', '1']);
    await ok(o.dt, ['delegation', 'add', gun, 'targets/a-very-long-role-name_with_underscores', k3.pub, '--paths', 'x/', '-p']);

    const n = await ok(o.nt, ['delegation', 'list', gun]);
    const asDtrust = await ok(o.dt, ['delegation', 'list', gun]);
    const dn = await DtrustClient.create({ serverUrl: server().url, home: o.home, trustDir: o.trustDir, env: FAST_KDF, invokeAs: 'notary' });
    const asNotary = await ok(dn, ['delegation', 'list', gun]);
    assert.equal(asDtrust.stdout, n.stdout);
    assert.equal(asNotary.stdout, n.stdout);
    // The layout itself (cli.md §9.20): blank line, header, dashes, continuation rows, blank line.
    const lines = n.stdout.split('\n');
    assert.equal(lines[0], '');
    assert.match(lines[1]!, /^ROLE {4,}PATHS {4,}KEY IDS {4,}THRESHOLD$/);
    assert.match(n.stdout, new RegExp(`\\ntargets/dev +dev/ +${k1.id} +1\\n +tmp/ +${k2.id} +\\n +${k3.id} +\\n`));
    assert.match(n.stdout, new RegExp(`\\ntargets/keysonly {4,}${k2.id} +1\\n`));
    assert.ok(n.stdout.endsWith('\n\n'));

    const json = JSON.parse((await ok(o.dt, ['delegation', 'list', gun, '--json'])).stdout) as unknown;
    assert.deepEqual(json, [
      { role: 'targets/a-very-long-role-name_with_underscores', paths: ['x/'], keyIds: [k3.id], threshold: 1 },
      { role: 'targets/dev', paths: ['dev/', 'tmp/'], keyIds: [k1.id, k2.id, k3.id], threshold: 1 },
      { role: 'targets/keysonly', paths: [], keyIds: [k2.id], threshold: 1 },
      { role: 'targets/releases', paths: [''], keyIds: [k1.id], threshold: 1 },
    ]);
  });

  test('argument errors and staging messages as notary prints them; dtrust warnings beyond notary', T, async () => {
    const gun = newGun('args');
    const o = await party(server().url, 'args');
    const k = await keyFiles(o.home, 'k');
    const dn = await DtrustClient.create({ serverUrl: server().url, home: o.home, trustDir: o.trustDir, env: FAST_KDF, invokeAs: 'notary' });
    const same = async (args: string[]): Promise<string> => {
      const n = await o.nt.run(args);
      const d = await o.dt.run(args);
      assert.equal(n.code, 1, `notary ${args.join(' ')}`);
      assert.equal(d.code, 1, `dtrust ${args.join(' ')}`);
      assert.equal(fatalOf(d), fatalOf(n), `fatal line of ${args.join(' ')}`);
      return fatalOf(d);
    };
    await same(['delegation', 'list']);
    await same(['delegation', 'list', gun, 'extra']);
    await same(['delegation', 'add', gun, 'targets/x']);
    await same(['delegation', 'add', gun, 'releases', k.cert, '--all-paths']);
    await same(['delegation', 'add', gun, 'targets/x', '/nonexistent/cert.pem']);
    await same(['delegation', 'remove', gun]);
    await same(['delegation', 'remove', gun, 'releases', '-y']);
    await same(['delegation', 'purge', gun]);
    await same(['delegation', 'purge']);

    // Staging messages: several paths are joined by a newline as notary, by ", " as dtrust.
    const asNotary = await ok(dn, ['delegation', 'add', gun, 'targets/x', k.cert, '--paths', 'a/,b/']);
    const real = await ok(o.nt, ['delegation', 'add', gun, 'targets/x', k.cert, '--paths', 'a/,b/']);
    assert.equal(asNotary.stdout, real.stdout);
    const asDtrust = await ok(o.dt, ['delegation', 'add', gun, 'targets/x', k.cert, '--paths', 'a/,b/']);
    assert.equal(asDtrust.stdout, real.stdout.replace('a/\nb/', 'a/, b/'));
    assert.equal((await ok(o.dt, ['delegation', 'purge', gun, '--key', k.id])).stdout, (await ok(o.nt, ['delegation', 'purge', gun, '--key', k.id])).stdout);
    assert.equal(
      (await ok(o.dt, ['delegation', 'remove', gun, 'targets/x', k.id, '--paths', 'a/'])).stdout,
      (await ok(o.nt, ['delegation', 'remove', gun, 'targets/x', k.id, '--paths', 'a/'])).stdout,
    );

    // cli.md §12 #26: keys without paths on a role not known to have paths → a warning (notary: silent).
    const keysOnly = await ok(o.dt, ['delegation', 'add', gun, 'targets/y', k.cert]);
    assert.match(keysOnly.stderr, /role targets\/y has no paths yet, so it cannot sign any target; add them with --paths or --all-paths/);
    // --threshold above the number of keys: a warning at staging.
    const th = await ok(o.dt, ['delegation', 'add', gun, 'targets/z', k.cert, '--all-paths', '--threshold', '2']);
    assert.match(th.stderr, /role targets\/z needs 2 signatures but only 1 key is being added/);
    const bad = await o.dt.run(['delegation', 'add', gun, 'targets/z', '--threshold', '0']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid argument "0" for "--threshold" flag/);
  });
});
