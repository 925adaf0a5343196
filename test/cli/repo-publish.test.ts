// Where dtrust's init/publish deliberately differ from notary (cli.md §12 #17-#20), checked against
// the real notary-server and client:
//  - `init` of a GUN the server already has is refused with a hint, creating nothing;
//  - `publish` / `add -p` of a GUN that exists nowhere create it as notary does, saying so on stderr,
//    and without the root passphrase fail at once, creating nothing;
//  - `publish` with nothing staged says so and uploads nothing;
//  - the owner without the targets key gets an error naming the key IDs and a hint;
//  - reads work offline right after `init -p` (notary fails with `client is offline`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DtrustClient, NotaryClient, runProcess } from '../rig/notary.js';
import { useNotaryServer } from '../rig/server.js';
import { FAST_KDF, clients, fails, fatal, file, freshNotary, keyIdsOf, ok, tableRows } from './repo-helpers.js';

const server = useNotaryServer();

function keyFiles(trustDir: string): string[] {
  const p = join(trustDir, 'private');
  return existsSync(p) ? readdirSync(p).sort() : [];
}

async function serverVersion(gun: string, role: string): Promise<number | undefined> {
  const res = await fetch(`${server().url}/v2/${gun}/_trust/tuf/${role}.json`);
  if (res.status === 404) return undefined;
  return ((await res.json()) as { signed: { version: number } }).signed.version;
}

test('init of a GUN that exists on the server is refused with a hint, and creates nothing', async () => {
  const url = server().url;
  const { notary, dtrust } = await clients(url, { prefix: 'repo-init-exists-' });
  const gun = 'example.com/publish/exists';
  ok('notary', ['init'], await notary.run(['init', gun, '-p']));

  const r = fails('dtrust', ['init'], await dtrust.run(['init', gun]));
  assert.equal(r.stdout, '');
  assert.equal(fatal(r.stderr), `repository ${gun} already exists on ${new URL(url).host}`);
  assert.match(r.stderr, new RegExp(`\n  hint: to use it: dtrust list ${gun}; to replace it: dtrust delete ${gun} --remote, then init again\n$`));
  assert.deepEqual(keyFiles(dtrust.trustDir), [], 'no key was generated');
  assert.equal(existsSync(join(dtrust.trustDir, 'tuf', gun, 'metadata', 'root.json')), false);
  // With -p too; and the repository on the server is untouched.
  fails('dtrust', ['init', '-p'], await dtrust.run(['init', gun, '-p']));
  assert.equal(await serverVersion(gun, 'root'), 1);
  ok('notary', ['list'], await (await freshNotary(url)).run(['list', gun]));
});

const CREATED = /^time="[^"]+" level=warning msg="repository (\S+) was new \(not on the server, not initialized here\): initialized it with root key ([0-9a-f]{64})"\n$/;

test('add -p and publish on a GUN that exists nowhere create and publish it, as notary, with one line on stderr naming the root key', async () => {
  const url = server().url;
  const { home, notary, dtrust } = await clients(url, { prefix: 'repo-new-gun-' });
  const f = file(home, 'f.txt', 'x\n');
  const staged = (gun: string): string => `Addition of target "v" to repository "${gun}" staged for next publish.\nAuto-publishing changes to ${gun}\n`;
  const published = (gun: string): string => `${staged(gun)}Successfully published changes for repository ${gun}\n`;

  // The real notary creates the repository silently (an info-level log only).
  const n = ok('notary', ['add', '-p'], await notary.run(['add', 'example.com/publish/new-by-notary', 'v', f, '-p']));
  assert.equal(n.stdout, published('example.com/publish/new-by-notary'));
  assert.equal(n.stderr, '');

  // dtrust: the same output, and one line on stderr; a root key is generated.
  const gun = 'example.com/publish/new';
  const a = ok('dtrust', ['add', '-p'], await dtrust.run(['add', gun, 'v', f, '-p']));
  assert.equal(a.stdout, published(gun));
  const m = CREATED.exec(a.stderr);
  assert.ok(m && m[1] === gun, a.stderr);
  const rootIds = keyIdsOf(ok('dtrust', ['key', 'list'], await dtrust.run(['key', 'list'])).stdout, 'root');
  assert.deepEqual(rootIds, [m[2]]);
  assert.deepEqual(tableRows(ok('notary', ['list'], await (await freshNotary(url)).run(['list', gun])).stdout).map((r) => r[0]), ['v']);
  assert.equal(ok('dtrust', ['status'], await dtrust.run(['status', gun])).stdout, `No unpublished changes for ${gun}\n`);

  // publish of another new GUN reuses that root key (as notary: the first root key found).
  const gun2 = 'example.com/publish/new-2';
  const p = ok('dtrust', ['publish'], await dtrust.run(['publish', gun2]));
  assert.equal(p.stdout, `Pushing changes to ${gun2}\nSuccessfully published changes for repository ${gun2}\n`);
  assert.deepEqual(CREATED.exec(p.stderr)?.slice(1), [gun2, m[2]]);
  assert.deepEqual(keyIdsOf(ok('dtrust', ['key', 'list'], await dtrust.run(['key', 'list'])).stdout, 'root'), rootIds);
  ok('notary', ['list'], await (await freshNotary(url)).run(['list', gun2]));

  // Run as `notary`: the same.
  const asNotary = await DtrustClient.create({ serverUrl: url, home, trustDir: join(home, 'as-notary'), env: FAST_KDF, invokeAs: 'notary' });
  const gun3 = 'example.com/publish/new-as-notary';
  const r = ok('dtrust as notary', ['add', '-p'], await asNotary.run(['add', gun3, 'v', f, '-p']));
  assert.equal(r.stdout, published(gun3));
  assert.equal(CREATED.exec(r.stderr)?.[1], gun3, r.stderr);
  assert.deepEqual(tableRows(ok('notary', ['list'], await (await freshNotary(url)).run(['list', gun3])).stdout).map((row) => row[0]), ['v']);
});

test('without NOTARY_ROOT_PASSPHRASE and no terminal, add -p on a new GUN fails at once naming it: no key, no cache, the change stays staged', async () => {
  const url = server().url;
  const { home, dtrust } = await clients(url, { prefix: 'repo-new-gun-nopass-' });
  const f = file(home, 'f.txt', 'x\n');
  const gun = 'example.com/publish/new-nopass';
  const noRoot = { env: { NOTARY_ROOT_PASSPHRASE: undefined } };
  const metadata = (trustDir: string, g: string): string[] => {
    const dir = join(trustDir, 'tuf', g, 'metadata');
    return existsSync(dir) ? readdirSync(dir) : [];
  };

  const a = fails('dtrust', ['add', '-p'], await dtrust.run(['add', gun, 'v', f, '-p'], noRoot));
  assert.equal(a.stdout, `Addition of target "v" to repository "${gun}" staged for next publish.\nAuto-publishing changes to ${gun}\n`);
  assert.equal(fatal(a.stderr), 'no passphrase for the new root key: NOTARY_ROOT_PASSPHRASE is not set and stdin is not a terminal');
  assert.match(a.stderr, /\n  hint: set NOTARY_ROOT_PASSPHRASE or DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE, or run the command on a terminal to be prompted\n$/);
  assert.doesNotMatch(a.stderr, /was new/);
  assert.deepEqual(keyFiles(dtrust.trustDir), [], 'no key file');
  assert.deepEqual(metadata(dtrust.trustDir, gun), [], 'no cached metadata');
  assert.deepEqual(tableRows(ok('dtrust', ['status'], await dtrust.run(['status', gun])).stdout).map((r) => r[4]), ['v'], 'the change stays staged');
  assert.equal(await serverVersion(gun, 'root'), undefined);

  // A missing targets passphrase is found before the root key is made, too (notary makes it, then fails).
  const t = fails('dtrust', ['publish'], await dtrust.run(['publish', gun], { env: { NOTARY_TARGETS_PASSPHRASE: undefined } }));
  assert.equal(fatal(t.stderr), 'no passphrase for the new targets key: NOTARY_TARGETS_PASSPHRASE is not set and stdin is not a terminal');
  assert.deepEqual(keyFiles(dtrust.trustDir), []);

  // With the passphrase, the staged change is published with the new repository.
  ok('dtrust', ['publish'], await dtrust.run(['publish', gun]));
  assert.deepEqual(tableRows(ok('notary', ['list'], await (await freshNotary(url)).run(['list', gun])).stdout).map((r) => r[0]), ['v']);

  // An existing root key needs its passphrase as well: nothing is made for the next new GUN.
  const keys = keyFiles(dtrust.trustDir);
  const gun2 = 'example.com/publish/new-nopass-2';
  const b = fails('dtrust', ['publish'], await dtrust.run(['publish', gun2], noRoot));
  assert.match(fatal(b.stderr), /^no passphrase for the root key [0-9a-f]{7}: NOTARY_ROOT_PASSPHRASE is not set and stdin is not a terminal$/);
  assert.deepEqual(keyFiles(dtrust.trustDir), keys);
  assert.deepEqual(metadata(dtrust.trustDir, gun2), []);
});

test('publish with nothing staged prints "No unpublished changes" and uploads nothing', async () => {
  const url = server().url;
  const { dtrust } = await clients(url, { prefix: 'repo-nothing-' });
  const gun = 'example.com/publish/nothing';
  ok('dtrust', ['init', '-p'], await dtrust.run(['init', gun, '-p']));
  const snap = await serverVersion(gun, 'snapshot');
  const ts = await serverVersion(gun, 'timestamp');
  const r = ok('dtrust', ['publish'], await dtrust.run(['publish', gun]));
  assert.equal(r.stdout, `Pushing changes to ${gun}\nNo unpublished changes for ${gun}\n`);
  assert.equal(r.stderr, '');
  assert.equal(await serverVersion(gun, 'snapshot'), snap, 'snapshot not re-signed (cli.md §12 #19)');
  assert.equal(await serverVersion(gun, 'timestamp'), ts);
});

test('the owner without the targets key: the error names the key IDs, with a hint; nothing is lost', async () => {
  const url = server().url;
  const { home, notary } = await clients(url, { prefix: 'repo-no-targets-key-' });
  const gun = 'example.com/publish/no-targets-key';
  const f = file(home, 'f.txt', 'x\n');
  ok('notary', ['init'], await notary.run(['init', gun, '-p']));
  const targetsIds = keyIdsOf(ok('notary', ['key', 'list'], await notary.run(['key', 'list'])).stdout, 'targets');
  assert.equal(targetsIds.length, 1);

  // A copy of notary's trust dir that holds root and snapshot keys but not the targets key.
  const trust = join(home, 'owner-without-targets');
  cpSync(notary.trustDir, trust, { recursive: true });
  rmSync(join(trust, 'private', `${targetsIds[0]}.key`));
  const dtrust = await DtrustClient.create({ serverUrl: url, home, trustDir: trust, env: FAST_KDF });
  const targetsBefore = await serverVersion(gun, 'targets');
  const r = fails('dtrust', ['add', '-p'], await dtrust.run(['add', gun, 'v', f, '-p']));
  assert.equal(r.stdout, `Addition of target "v" to repository "${gun}" staged for next publish.\nAuto-publishing changes to ${gun}\n`);
  assert.equal(fatal(r.stderr), `could not find necessary signing keys, at least one of these keys must be available: ${targetsIds[0]}`);
  const hint = /\n {2}hint: (.*)\n$/.exec(r.stderr)?.[1];
  assert.ok(hint, r.stderr);
  assert.match(hint, new RegExp(`targets key of ${gun}`), 'the hint names the role and the GUN');
  assert.match(hint, /dtrust key import/);
  // The change is kept, and nothing reached the server.
  assert.equal(ok('dtrust', ['status'], await dtrust.run(['status', gun])).stdout.includes('    v\n'), true);
  assert.equal(await serverVersion(gun, 'targets'), targetsBefore);
  // Invoked as notary, the same fatal line is on stdout, as notary prints it.
  const asNotary = await DtrustClient.create({ serverUrl: url, home, trustDir: trust, env: FAST_KDF, invokeAs: 'notary' });
  const an = fails('notary-dtrust', ['publish'], await asNotary.run(['publish', gun]));
  const real = fails('notary', ['publish'], await (await NotaryClient.create({ serverUrl: url, home, trustDir: trust })).run(['publish', gun]));
  assert.equal(fatal(an.stdout), fatal(real.stdout));
});

test('reads work offline right after init -p and publish (cli.md §12 #20); notary\'s do not', async () => {
  const url = server().url;
  const { home, dtrust, notary } = await clients(url, { prefix: 'repo-offline-' });
  const f = file(home, 'f.txt', 'offline\n');
  const gun = 'example.com/publish/offline';
  ok('dtrust', ['init', '-p'], await dtrust.run(['init', gun, '-p']));
  ok('dtrust', ['add', '-p'], await dtrust.run(['add', gun, 'v', f, '-p']));
  const online = ok('dtrust', ['list'], await dtrust.run(['list', gun]));
  const offlineArgs = ['-s', 'http://127.0.0.1:1', '-d', dtrust.trustDir];
  const off = ok('dtrust', ['list'], await dtrust.run([...offlineArgs, 'list', gun], { noGlobalFlags: true }));
  assert.equal(off.stdout, online.stdout);
  assert.match(off.stderr, /could not reach http:\/\/127\.0\.0\.1:1/);
  const lk = ok('dtrust', ['lookup'], await dtrust.run([...offlineArgs, 'lookup', gun, 'v'], { noGlobalFlags: true }));
  assert.match(lk.stdout, /^v sha256:[0-9a-f]{64} 8\n$/);

  // notary 0.7: publish does not cache, so the same offline read fails.
  const ngun = 'example.com/publish/offline-notary';
  ok('notary', ['init', '-p'], await notary.run(['init', ngun, '-p']));
  const n = fails('notary', ['list'], await notary.run(['-s', 'http://127.0.0.1:1', '-d', notary.trustDir, 'list', ngun], { noGlobalFlags: true }));
  assert.equal(fatal(n.stdout), 'client is offline');
});

test('a staged change for an unknown role blocks the publish with a hint naming the reset; after it, publish works', async () => {
  const url = server().url;
  const { home, dtrust } = await clients(url, { prefix: 'repo-bad-change-' });
  const gun = 'example.com/publish/bad-change';
  const f = file(home, 'f.txt', 'x\n');
  ok('dtrust', ['init', '-p'], await dtrust.run(['init', gun, '-p']));
  ok('dtrust', ['add'], await dtrust.run(['add', gun, 'v', f]));
  const w = fails('dtrust', ['witness', '-p'], await dtrust.run(['witness', gun, 'targets/releases', '-p']));
  assert.equal(fatal(w.stderr), 'tuf: invalid role targets/releases. this role is not known');
  assert.match(w.stderr, new RegExp(`\n  hint: staged change #1 \\(update witness targets/releases\\) cannot be published; drop it with: dtrust reset ${gun} -n 1\n$`));
  // root/snapshot/timestamp are refused at staging time.
  for (const role of ['root', 'snapshot', 'timestamp', 'bogus']) {
    const r = fails('dtrust', ['witness', role], await dtrust.run(['witness', gun, role]));
    assert.match(fatal(r.stderr), new RegExp(`^cannot witness "${role}"`));
  }
  ok('dtrust', ['reset'], await dtrust.run(['reset', gun, '-n', '1']));
  ok('dtrust', ['publish'], await dtrust.run(['publish', gun]));
  const nl = ok('notary', ['list'], await (await freshNotary(url)).run(['list', gun]));
  assert.deepEqual(tableRows(nl.stdout).map((r) => r[0]), ['v']);
});

test('init --rootcert uses the key store\'s key for that certificate, even with other root keys; a mismatch prints no "Root key found"', async () => {
  const url = server().url;
  const { home, dtrust, notary } = await clients(url, { prefix: 'repo-rootcert-' });
  const key = join(home, 'root-key.pem');
  const cert = join(home, 'root.pem');
  const ssl = await runProcess('openssl', ['req', '-new', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '3650', '-subj', '/CN=example.com\\/publish\\/rootcert', '-addext', 'basicConstraints=critical,CA:FALSE']);
  assert.equal(ssl.code, 0, ssl.stderr);
  const other = join(home, 'other.pem');
  const ssl2 = await runProcess('openssl', ['req', '-new', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(home, 'other-key.pem'), '-out', other, '-days', '3650', '-subj', '/CN=other', '-addext', 'basicConstraints=critical,CA:FALSE']);
  const ca = join(home, 'ca.pem');
  const ssl3 = await runProcess('openssl', ['req', '-new', '-x509', '-key', key, '-out', ca, '-days', '3650', '-subj', '/CN=example.com\\/publish\\/rootcert', '-addext', 'basicConstraints=critical,CA:TRUE']);
  assert.equal(ssl3.code, 0, ssl3.stderr);
  assert.equal(ssl2.code, 0, ssl2.stderr);

  // Two root keys: the certificate's, and one generated that sorts first or not, whatever.
  ok('dtrust', ['key', 'import'], await dtrust.run(['key', 'import', key, '-r', 'root']));
  ok('dtrust', ['key', 'generate'], await dtrust.run(['key', 'generate', 'ecdsa']));
  ok('dtrust', ['key', 'generate'], await dtrust.run(['key', 'generate', 'ecdsa']));
  const rootIds = keyIdsOf(ok('dtrust', ['key', 'list'], await dtrust.run(['key', 'list'])).stdout, 'root');
  assert.equal(rootIds.length, 3);

  // A certificate for another name: refused before anything is made (notary-server would refuse it at publish).
  const wrongName = fails('dtrust', ['init', '--rootcert'], await dtrust.run(['init', 'example.com/publish/other', '--rootcert', cert]));
  assert.equal(fatal(wrongName.stderr), 'the root certificate is for "example.com/publish/rootcert", not for example.com/publish/other');
  const isCa = fails('dtrust', ['init', '--rootcert'], await dtrust.run(['init', 'example.com/publish/rootcert', '--rootcert', ca]));
  assert.match(fatal(isCa.stderr), /^the root certificate is a CA certificate/);
  const bad = fails('dtrust', ['init', '--rootcert'], await dtrust.run(['init', 'other', '--rootcert', other]));
  assert.equal(bad.stdout, '', 'no "Root key found" line before the failure (cli.md §12 #18)');
  assert.equal(fatal(bad.stderr), 'error initializing repository with certificate: cannot find matching private key id');

  const gun = 'example.com/publish/rootcert';
  const r = ok('dtrust', ['init', '--rootcert'], await dtrust.run(['init', gun, '--rootcert', cert, '-p']));
  const used = /^Root key found, using: ([0-9a-f]{64})$/m.exec(r.stdout)?.[1];
  assert.ok(used && rootIds.includes(used), r.stdout);
  // The published root lists exactly the given certificate; notary trusts it.
  const fresh = await freshNotary(url);
  ok('notary', ['list'], await fresh.run(['list', gun]));
  const root = JSON.parse(readFileSync(join(fresh.trustDir, 'tuf', gun, 'metadata', 'root.json'), 'utf8')) as {
    signed: { roles: { root: { keyids: string[] } }; keys: Record<string, { keyval: { public: string } }> };
  };
  const pem = Buffer.from(root.signed.keys[root.signed.roles.root.keyids[0]!]!.keyval.public, 'base64').toString('utf8');
  assert.equal(pem.replace(/\s+/g, ''), readFileSync(cert, 'utf8').replace(/\s+/g, ''));
  // notary, on the same key store (a copy), picks the same key for the same certificate.
  const copy = join(home, 'notary-copy');
  cpSync(dtrust.trustDir, copy, { recursive: true });
  const n = await NotaryClient.create({ serverUrl: url, home, trustDir: copy });
  // (notary prints "Root key found" for the first root key of its map, not necessarily the one it uses.)
  ok('notary', ['init', '--rootcert'], await n.run(['init', gun, '--rootcert', cert]));
  const nRoot = JSON.parse(readFileSync(join(copy, 'tuf', gun, 'metadata', 'root.json'), 'utf8')) as typeof root;
  assert.deepEqual(nRoot.signed.roles.root.keyids, root.signed.roles.root.keyids, 'the same root key ID as dtrust');
  void notary;
});
