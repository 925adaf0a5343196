// The delegation workflows end to end against the real notary-server, checked with the real
// notary 0.7 client (docs/workflows.md):
//  (a) owner + one collaborator; the owner later adds its own key to the role with exactly the
//      commands dtrust's error message names; (a2) with a key it already holds for the role;
//  (b) an operator delegates targets/releases and targets/qa to two collaborators at once;
//  threshold 2: one signature is not enough for readers, two are (co-signing); one key listed
//  under two key IDs does not count twice (it does for notary 0.7).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { useNotaryServer, httpGet } from '../rig/server.js';
import { DtrustClient, NotaryClient } from '../rig/notary.js';
import { tempDir } from '../rig/tmp.js';
import { MemRepo, ecdsaKey } from '../support/memrepo.js';
import { TrustedCollectionBuilder } from '../../src/tuf/builder.js';
import { PublicKey } from '../../src/tuf/keys.js';
import { keyObjectSigner } from '../../src/tuf/sign.js';
import { goPemCertificates } from '../../src/crypto/x509.js';
import { parseEnvelope } from '../../src/tuf/envelope.js';
import { FAST_KDF, delegations, fails, fatalOf, file, hintOf, keyFiles, listed, ok, party, type KeyFiles, type Party } from './delegation-helpers.js';

const server = useNotaryServer();
const T = { timeout: 120_000 };

let gunCounter = 0;
const newGun = (what: string): string => `example.com/workflow/${what}-${++gunCounter}`;

async function owner(gun: string): Promise<Party> {
  const o = await party(server().url, 'owner');
  await ok(o.dt, ['init', gun, '-p']);
  // Collaborators can publish a delegation only when the server signs the snapshot (as notary).
  await ok(o.dt, ['key', 'rotate', gun, 'snapshot', '-r']);
  return o;
}

type Collaborator = Party & { keys: KeyFiles };

/** A collaborator: own trust directory, own key pair; the private key imported with dtrust. */
async function collaborator(name: string, role = 'targets/releases'): Promise<Collaborator> {
  const p = await party(server().url, name);
  const keys = await keyFiles(p.home, name);
  await ok(p.dt, ['key', 'import', keys.key, '-r', role]);
  return { ...p, keys };
}

/** `list` by fresh readers of both implementations (nothing cached): same output; rows. */
async function listBoth(gun: string): Promise<{ rows: string[]; dtStderr: string; ntStderr: string }> {
  const home = await tempDir('workflow-reader-');
  const nt = await NotaryClient.create({ serverUrl: server().url, home, trustDir: join(home, 'n') });
  const dt = await DtrustClient.create({ serverUrl: server().url, home, trustDir: join(home, 'd'), env: FAST_KDF });
  const n = await ok(nt, ['list', gun]);
  const d = await ok(dt, ['list', gun]);
  assert.equal(d.stdout, n.stdout, 'dtrust and notary list the same');
  return { rows: listed(n.stdout), dtStderr: d.stderr, ntStderr: n.stderr };
}

/** The pending file a below-threshold publish leaves (cli.md beyond notary). */
function pendingPath(p: Party, gun: string, role: string): string {
  return join(p.trustDir, 'tuf', gun, 'pending', `${role}.json`);
}

describe('delegation workflows', { concurrency: 3 }, () => {
  test('(a) owner delegates targets/releases; a collaborator publishes; the owner adds its own key as told', T, async () => {
    const gun = newGun('a');
    const o = await owner(gun);
    const collab = await collaborator('collab');

    await ok(o.dt, ['delegation', 'add', gun, 'targets/releases', collab.keys.cert, '--all-paths', '-p']);
    const v1 = await file(collab.home, 'v1.bin', 'version 1\n');
    await ok(collab.dt, ['add', gun, 'v1', v1, '-r', 'targets/releases', '-p']);
    // The owner sees it with the real notary.
    assert.deepEqual(listed((await ok(o.nt, ['list', gun])).stdout), ['v1 targets/releases']);

    // The owner holds no targets/releases key: the error names the role, the allowed key IDs
    // and the exact commands that add the owner's own key.
    const v2 = await file(o.home, 'v2.bin', 'version 2\n');
    await ok(o.dt, ['add', gun, 'v2', v2, '-r', 'targets/releases']);
    const r = await fails(o.dt, ['publish', gun]);
    assert.equal(fatalOf(r), `could not find necessary signing keys, at least one of these keys must be available: ${collab.keys.id}`);
    const hint = hintOf(r);
    // The commands keep the owner's -s and -d, and say where the key files go.
    const pre = `dtrust -s ${o.dt.serverUrl} -d ${o.dt.trustDir}`;
    const commands =
      `${pre} key generate ecdsa -r targets/releases -o ./targets-releases && ${pre} key import ./targets-releases-key.pem && ` +
      `${pre} delegation add ${gun} targets/releases ./targets-releases.pem --publish`;
    assert.equal(
      hint,
      `targets/releases accepts only those keys; import one of them (${pre} key import <key.pem> -r targets/releases), ` +
        `or add a key of your own to the role (the files ./targets-releases-key.pem and ./targets-releases.pem are written here): ${commands}`,
    );
    // The staged change is kept for later.
    assert.match((await ok(o.dt, ['status', gun])).stdout, /create +targets\/releases +target +v2/);

    // Run exactly those commands (in the owner's HOME, with its server and trust dir).
    for (const cmd of commands.split(' && ')) {
      const argv = cmd.split(' ');
      assert.equal(argv[0], 'dtrust');
      const step = await ok(o.dt, argv.slice(1), { cwd: o.home, noGlobalFlags: true });
      // Adding a key to a role that already has paths is not the path-less role of cli.md §12 #26.
      assert.doesNotMatch(step.stderr, /has no paths yet/);
    }
    assert.ok(existsSync(join(o.home, 'targets-releases-key.pem')) && existsSync(join(o.home, 'targets-releases.pem')));
    // The staged v2 was published together with the new key.
    assert.match((await ok(o.dt, ['status', gun])).stdout, /^No unpublished changes for /);
    const d = delegations((await ok(o.nt, ['delegation', 'list', gun])).stdout);
    const keys = d.get('targets/releases')!.keys;
    assert.equal(keys.length, 2);
    assert.equal(keys[0], collab.keys.id);
    // Now the owner publishes to the role like any signer.
    const v3 = await file(o.home, 'v3.bin', 'version 3\n');
    await ok(o.dt, ['add', gun, 'v3', v3, '-r', 'targets/releases', '-p']);
    assert.deepEqual((await listBoth(gun)).rows, ['v1 targets/releases', 'v2 targets/releases', 'v3 targets/releases']);
    // The collaborator keeps publishing next to the owner.
    const v4 = await file(collab.home, 'v4.bin', 'version 4\n');
    await ok(collab.dt, ['add', gun, 'v4', v4, '-r', 'targets/releases', '-p']);
    assert.deepEqual(listed((await ok(o.nt, ['list', gun])).stdout).slice(-1), ['v4 targets/releases']);
  });

  test('(a2) the owner already holds a targets/releases key: the hint adds that key, not a new one', T, async () => {
    const gun = newGun('a2');
    const o = await owner(gun);
    const collab = await collaborator('collab2');
    await ok(o.dt, ['delegation', 'add', gun, 'targets/releases', collab.keys.cert, '--all-paths', '-p']);
    // A key made for the role earlier (into the key store, no files written).
    const generated = await ok(o.dt, ['key', 'generate', 'ecdsa', '-r', 'targets/releases']);
    const held = /ID: ([0-9a-f]{64})/.exec(generated.stdout)![1]!;

    const v1 = await file(o.home, 'v1.bin', 'version 1\n');
    await ok(o.dt, ['add', gun, 'v1', v1, '-r', 'targets/releases']);
    const r = await fails(o.dt, ['publish', gun]);
    const pre = `dtrust -s ${o.dt.serverUrl} -d ${o.dt.trustDir}`;
    const commands = `${pre} key export --key ${held} --public -o ./targets-releases.pem && ${pre} delegation add ${gun} targets/releases ./targets-releases.pem --publish`;
    assert.equal(
      hintOf(r),
      `targets/releases accepts only those keys; import one of them (${pre} key import <key.pem> -r targets/releases), ` +
        `or add the targets/releases key held here (${held}) to the role (its public key is written to ./targets-releases.pem): ${commands}`,
    );
    for (const cmd of commands.split(' && ')) {
      const argv = cmd.split(' ');
      assert.equal(argv[0], 'dtrust');
      await ok(o.dt, argv.slice(1), { cwd: o.home, noGlobalFlags: true });
    }
    const pem = await readFile(join(o.home, 'targets-releases.pem'), 'utf8');
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----\nrole: targets\/releases\n\n/);
    assert.doesNotMatch(pem, /PRIVATE/);
    // No new key was made: the role now lists the held key, and v1 is signed with it.
    assert.equal((await ok(o.dt, ['key', 'list'])).stdout.split('targets/releases').length - 1, 1);
    const d = delegations((await ok(o.nt, ['delegation', 'list', gun])).stdout);
    assert.deepEqual(d.get('targets/releases')!.keys.sort(), [collab.keys.id, held].sort());
    assert.deepEqual((await listBoth(gun)).rows, ['v1 targets/releases']);
  });

  test('(b) an operator delegates releases and qa to two collaborators at once; both sign', T, async () => {
    const gun = newGun('b');
    const op = await owner(gun);
    const alice = await collaborator('alice', 'delegation');
    const bob = await collaborator('bob', 'delegation');
    // One command per role, both collaborators' certificates in each.
    let r = await ok(op.dt, ['delegation', 'add', gun, 'targets/releases', alice.keys.cert, bob.keys.cert, '--all-paths', '-p']);
    assert.match(r.stdout, new RegExp(`with keys \\[${alice.keys.id} ${bob.keys.id}\\], with paths \\["" <all paths>\\]`));
    r = await ok(op.dt, ['delegation', 'add', gun, 'targets/qa', alice.keys.cert, bob.keys.cert, '--paths', 'qa/', '-p']);
    const d = delegations((await ok(op.nt, ['delegation', 'list', gun])).stdout);
    assert.deepEqual(d.get('targets/releases'), { paths: ['"" <all paths>'], keys: [alice.keys.id, bob.keys.id], threshold: '1' });
    assert.deepEqual(d.get('targets/qa'), { paths: ['qa/'], keys: [alice.keys.id, bob.keys.id], threshold: '1' });

    const a = await file(alice.home, 'a.bin', 'alice\n');
    await ok(alice.dt, ['add', gun, 'app-1.0', a, '-r', 'targets/releases', '-p']);
    await ok(alice.dt, ['add', gun, 'qa/app-1.0-rc1', a, '-r', 'targets/qa', '-p']);
    const b = await file(bob.home, 'b.bin', 'bob\n');
    // bob signs into both roles in one publish (one target each), on top of alice's versions
    await ok(bob.dt, ['add', gun, 'app-1.1', b, '-r', 'targets/releases']);
    await ok(bob.dt, ['add', gun, 'qa/app-1.1-rc1', b, '-r', 'targets/qa']);
    await ok(bob.dt, ['publish', gun]);
    assert.deepEqual((await listBoth(gun)).rows, [
      'app-1.0 targets/releases',
      'app-1.1 targets/releases',
      'qa/app-1.0-rc1 targets/qa',
      'qa/app-1.1-rc1 targets/qa',
    ]);
    // Both signed each role at some point: the current files carry bob's signature.
    for (const role of ['targets/releases', 'targets/qa']) {
      const res = await httpGet(`${server().url}/v2/${gun}/_trust/tuf/${role}.json`);
      assert.equal(res.status, 200);
      assert.equal(parseEnvelope(Buffer.from(res.body), role).signatures.length, 1);
    }
    // And alice keeps working on top of bob's versions (the same files, newer versions).
    await ok(alice.dt, ['add', gun, 'app-1.2', a, '-r', 'targets/releases', '-p']);
    assert.ok((await listBoth(gun)).rows.includes('app-1.2 targets/releases'));
  });

  test('threshold 2: one signature does not publish; the co-signer adds the second and publishes', T, async () => {
    const gun = newGun('t2');
    const o = await owner(gun);
    const alice = await collaborator('alice');
    const bob = await collaborator('bob');
    await ok(o.dt, ['delegation', 'add', gun, 'targets/releases', alice.keys.cert, bob.keys.cert, '--all-paths', '--threshold', '2', '-p']);
    assert.equal(delegations((await ok(o.nt, ['delegation', 'list', gun])).stdout).get('targets/releases')?.threshold, '2');

    const v1 = await file(alice.home, 'v1.bin', 'needs two\n');
    const r = await fails(alice.dt, ['add', gun, 'v1', v1, '-r', 'targets/releases', '-p']);
    const pending = pendingPath(alice, gun, 'targets/releases');
    assert.equal(fatalOf(r), 'targets/releases needs 2 signatures and this machine holds 1 of its keys; nothing was published');
    assert.equal(
      hintOf(r),
      `the role, signed with 1, was saved to ${pending}; give it to another signer of targets/releases, who runs: ` +
        `dtrust delegation cosign ${gun} targets/releases <file> --publish; your changes stay staged here until then, and your next publish after it clears them`,
    );
    assert.equal(parseEnvelope(await readFile(pending), 'targets/releases').signatures.length, 1);
    assert.deepEqual((await listBoth(gun)).rows, [], 'nothing reached the server');

    // alice cannot co-sign her own file again
    const again = await fails(alice.dt, ['delegation', 'cosign', gun, 'targets/releases', pending]);
    assert.match(fatalOf(again), /this machine holds none of the keys of targets\/releases that have not signed yet/);

    // The file travels to bob, who adds his signature, looks, then publishes.
    const handoff = join(bob.home, 'releases-handoff.json');
    await copyFile(pending, handoff);
    const look = await ok(bob.dt, ['delegation', 'cosign', gun, 'targets/releases', handoff]);
    assert.equal(
      look.stdout,
      `targets/releases version 1 now carries 2 of the 2 signatures it needs; saved to ${handoff}\n` +
        `The threshold is met; publish it with: dtrust delegation cosign ${gun} targets/releases ${handoff} --publish\n`,
    );
    const pub = await ok(bob.dt, ['delegation', 'cosign', gun, 'targets/releases', handoff, '--publish']);
    assert.match(pub.stdout, new RegExp(`Successfully published changes for repository ${gun.replace(/\./g, '\\.')}\\n$`));
    assert.deepEqual((await listBoth(gun)).rows, ['v1 targets/releases']);
    // alice's next publish finds her staged change already published: nothing is signed or
    // uploaded, the change is cleared.
    const before = (await httpGet(`${server().url}/v2/${gun}/_trust/tuf/targets/releases.json`)).body;
    const done = await ok(alice.dt, ['publish', gun]);
    assert.equal(done.stdout, `Pushing changes to ${gun}\nThe staged changes are already published; cleared them\n`);
    assert.match((await ok(alice.dt, ['status', gun])).stdout, /No unpublished changes/);
    assert.deepEqual((await httpGet(`${server().url}/v2/${gun}/_trust/tuf/targets/releases.json`)).body, before, 'the role was not signed again');
    assert.deepEqual(listed((await ok(alice.dt, ['list', gun])).stdout), ['v1 targets/releases']);
    // A change that is not yet published still needs both signatures.
    const v2 = await file(alice.home, 'v2.bin', 'needs two again\n');
    assert.equal(fatalOf(await fails(alice.dt, ['add', gun, 'v2', v2, '-r', 'targets/releases', '-p'])), 'targets/releases needs 2 signatures and this machine holds 1 of its keys; nothing was published');
  });

  test('threshold raised to 2: a file with one signature is skipped by both readers until co-signed', T, async () => {
    const gun = newGun('raise');
    const o = await owner(gun);
    const alice = await collaborator('alice');
    const bob = await collaborator('bob');
    await ok(o.dt, ['delegation', 'add', gun, 'targets/qa', alice.keys.cert, bob.keys.cert, '--paths', 'qa/', '-p']);
    const f = await file(alice.home, 'q.bin', 'qa build\n');
    await ok(alice.dt, ['add', gun, 'qa/1', f, '-r', 'targets/qa', '-p']);
    assert.deepEqual((await listBoth(gun)).rows, ['qa/1 targets/qa']);

    // Threshold only (beyond notary): `delegation add <gun> <role> --threshold N`.
    await ok(o.dt, ['delegation', 'add', gun, 'targets/qa', '--threshold', '2', '-p']);
    assert.equal(delegations((await ok(o.nt, ['delegation', 'list', gun])).stdout).get('targets/qa')?.threshold, '2');
    // The server still holds qa version 1 with alice's signature only: not enough for readers.
    const one = await listBoth(gun);
    assert.deepEqual(one.rows, []);
    assert.match(one.dtStderr, /skipping delegation targets\/qa: valid signatures did not meet threshold for targets\/qa: 1 of 2 required/);
    assert.match(one.ntStderr, /Error getting targets\/qa: valid signatures did not meet threshold for targets\/qa/);

    // An owner's unrelated publish keeps the (invalid) role in the snapshot, as notary does.
    const t = await file(o.home, 't.bin', 'top\n');
    await ok(o.dt, ['add', gun, 'top', t, '-p']);
    const snap = JSON.parse((await httpGet(`${server().url}/v2/${gun}/_trust/tuf/snapshot.json`)).body) as { signed: { meta: Record<string, unknown> } };
    assert.ok('targets/qa' in snap.signed.meta, 'targets/qa is still in the snapshot');

    // alice re-signs the role as it is (witness revives it, as notary); bob co-signs.
    const w = await fails(alice.dt, ['witness', gun, 'targets/qa', '-p']);
    assert.match(fatalOf(w), /^targets\/qa needs 2 signatures and this machine holds 1 of its keys/);
    await ok(bob.dt, ['delegation', 'cosign', gun, 'targets/qa', pendingPath(alice, gun, 'targets/qa'), '-o', join(bob.home, 'qa.json'), '--publish']);
    assert.deepEqual((await listBoth(gun)).rows, ['qa/1 targets/qa', 'top targets']);
    await ok(alice.dt, ['reset', gun, '--all']);

    // A new target: alice signs version 3, bob co-signs; both readers list it.
    const f2 = await file(alice.home, 'q2.bin', 'qa build 2\n');
    await fails(alice.dt, ['add', gun, 'qa/2', f2, '-r', 'targets/qa', '-p']);
    await ok(bob.dt, ['delegation', 'cosign', gun, 'targets/qa', pendingPath(alice, gun, 'targets/qa'), '-o', join(bob.home, 'qa3.json'), '--publish']);
    assert.deepEqual((await listBoth(gun)).rows, ['qa/1 targets/qa', 'qa/2 targets/qa', 'top targets']);
  });

  test('an invalid delegation stays in a client-signed snapshot; edits to it start over at a newer version', T, async () => {
    const gun = newGun('keep');
    const o = await party(server().url, 'owner');
    await ok(o.dt, ['init', gun, '-p']); // the owner keeps the snapshot key
    const a = await keyFiles(o.home, 'a');
    const b = await keyFiles(o.home, 'b');
    await ok(o.dt, ['key', 'import', a.key, '-r', 'targets/qa']);
    await ok(o.dt, ['delegation', 'add', gun, 'targets/qa', a.cert, b.cert, '--paths', 'qa/', '-p']);
    const f = await file(o.home, 'f.bin', 'f\n');
    await ok(o.dt, ['add', gun, 'qa/1', f, '-r', 'targets/qa', '-p']);
    await ok(o.dt, ['delegation', 'add', gun, 'targets/qa', '--threshold', '2', '-p']);
    const snapshotRoles = async (): Promise<string[]> =>
      Object.keys((JSON.parse((await httpGet(`${server().url}/v2/${gun}/_trust/tuf/snapshot.json`)).body) as { signed: { meta: object } }).signed.meta).sort();
    assert.deepEqual(await snapshotRoles(), ['root', 'targets', 'targets/qa']);

    // qa (1 of 2 signatures) is invalid now; publishing something else keeps it, as notary does.
    await ok(o.dt, ['add', gun, 'top', f, '-p']);
    assert.deepEqual(await snapshotRoles(), ['root', 'targets', 'targets/qa']);
    await ok(o.nt, ['add', gun, 'top2', f, '-p']);
    assert.deepEqual(await snapshotRoles(), ['root', 'targets', 'targets/qa']);

    // Editing it does not carry its untrusted content over, but writes a newer version.
    const r = await fails(o.dt, ['add', gun, 'qa/2', f, '-r', 'targets/qa', '-p']);
    assert.match(r.stderr, /targets\/qa on the server is not valid \(too few signatures or expired\), so its 1 target\(s\) are not carried over; to keep them, re-sign it first: witness targets\/qa/);
    const pending = JSON.parse(await readFile(pendingPath(o, gun, 'targets/qa'), 'utf8')) as { signed: { version: number; targets: object } };
    assert.equal(pending.signed.version, 2);
    assert.deepEqual(Object.keys(pending.signed.targets), ['qa/2']);
    await ok(o.dt, ['reset', gun, '--all']);

    // Deleting the role removes it from the snapshot.
    await ok(o.dt, ['delegation', 'remove', gun, 'targets/qa', '-y', '-p']);
    assert.deepEqual(await snapshotRoles(), ['root', 'targets']);
    assert.deepEqual((await listBoth(gun)).rows, ['top targets', 'top2 targets']);
  });

  test('one key listed under two key IDs (certificate + public key) does not count twice; notary 0.7 counts it twice', T, async () => {
    const gun = newGun('dup');
    const o = await owner(gun);
    const carol = await party(server().url, 'carol');
    const ck = await keyFiles(carol.home, 'carol');
    const r = await ok(o.dt, ['delegation', 'add', gun, 'targets/dup', ck.cert, ck.pub, '--all-paths', '--threshold', '2', '-p']);
    assert.match(r.stderr, /role targets\/dup has fewer keys than its threshold of 2/);
    const d = delegations((await ok(o.nt, ['delegation', 'list', gun])).stdout).get('targets/dup');
    assert.deepEqual(d, { paths: ['"" <all paths>'], keys: [ck.id, ck.id], threshold: '2' });

    // carol publishes with the REAL notary: it signs under both key IDs, and the server accepts.
    await ok(carol.nt, ['key', 'import', ck.key, '-r', 'targets/dup']);
    const f = await file(carol.home, 'd.bin', 'dup\n');
    await ok(carol.nt, ['add', gun, 'd1', f, '-r', 'targets/dup', '-p']);
    const res = await httpGet(`${server().url}/v2/${gun}/_trust/tuf/targets/dup.json`);
    const sigs = parseEnvelope(Buffer.from(res.body), 'targets/dup').signatures;
    assert.equal(new Set(sigs.map((s) => s.keyid)).size, 2, 'two signatures under two key IDs, from one key pair');

    const home = await tempDir('dup-reader-');
    const nt = await NotaryClient.create({ serverUrl: server().url, home, trustDir: join(home, 'n') });
    const dt = await DtrustClient.create({ serverUrl: server().url, home, trustDir: join(home, 'd'), env: FAST_KDF });
    assert.deepEqual(listed((await ok(nt, ['list', gun])).stdout), ['d1 targets/dup'], 'notary 0.7 counts the two key IDs');
    const dl = await ok(dt, ['list', gun]);
    assert.deepEqual(listed(dl.stdout), [], 'dtrust counts distinct keys (SEC-V1)');
    assert.match(dl.stderr, /skipping delegation targets\/dup: valid signatures did not meet threshold for targets\/dup: 1 of 2 required/);
    // And dtrust does not author such a file either.
    const again = await fails(carol.dt, ['add', gun, 'd2', f, '-r', 'targets/dup', '-p']);
    assert.match(fatalOf(again), /^targets\/dup needs 2 signatures and this machine holds 1 of its keys/);
  });

  test('engine: a threshold-2 delegation signed by one key under two IDs is skipped by the builder', T, async () => {
    const now = Date.now();
    const repo = await MemRepo.create('example.com/engine/dup', now);
    const k = ecdsaKey();
    const { createRootCertificate } = await import('../../src/crypto/certgen.js');
    const der = await createRootCertificate({ privateKey: k.priv, publicKey: k.pub.keyObject(), commonName: 'k', notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) });
    const cert = new PublicKey('ecdsa-x509', Buffer.from(goPemCertificates([der]), 'latin1'));
    const asCert = { priv: k.priv, pub: cert, signer: keyObjectSigner(k.priv, cert) };
    repo.delegate('targets', 'targets/dup', [k, asCert], [''], 2);
    repo.addTarget('d1', 'x', 'targets/dup');
    const other = ecdsaKey();
    repo.delegate('targets', 'targets/two', [k, other], [''], 2);
    repo.addTarget('t1', 'y', 'targets/two');
    await repo.sign();
    const b = new TrustedCollectionBuilder({ gun: repo.gun, now });
    b.loadRoot(repo.files.get('root')!, 'remote');
    b.updateTimestamp(repo.files.get('timestamp')!);
    b.updateSnapshot(repo.files.get('snapshot')!);
    b.updateTargets(repo.files.get('targets')!);
    assert.equal(parseEnvelope(repo.files.get('targets/dup')!, 'targets/dup').signatures.length, 2);
    assert.equal(b.updateDelegation('targets/dup', repo.files.get('targets/dup')!), false);
    assert.match(b.warnings.join('\n'), /targets\/dup: 1 of 2 required/);
    assert.equal(b.updateDelegation('targets/two', repo.files.get('targets/two')!), true, 'two distinct keys meet threshold 2');
    assert.deepEqual(b.listTargets().map((t) => t.name), ['t1']);
  });
});
